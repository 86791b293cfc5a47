"""security: payment conflicts, rate-limit counters, Zalo links by proven phone and their one-time codes

The old `zalo_links` (a Zalo user and a dossier, made by guessing the last four digits of a phone) are
dropped, not converted: they were never proof of anything. Linked citizens link again with a one-time
code; until then their notices go by ZNS to their phone, as for everyone unlinked. The per-user lookup
counters of `zalo_users` go too (the counters are `rate_counters` now).

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("zalo_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zalo_links_dossier_code"))
    op.drop_table("zalo_links")
    with op.batch_alter_table("zalo_users", schema=None) as batch_op:
        batch_op.drop_column("lookup_window_started_at")
        batch_op.drop_column("lookup_failures")
    op.create_table(
        "zalo_links",
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("linked_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["zalo_users.user_id"]),
        sa.PrimaryKeyConstraint("phone"),
    )
    with op.batch_alter_table("zalo_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zalo_links_user_id"), ["user_id"], unique=False)
    op.create_table(
        "zalo_link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("phone", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("code_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dossier_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["zalo_users.user_id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("zalo_link_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zalo_link_codes_user_id"), ["user_id"], unique=False)
    op.create_table(
        "rate_counters",
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("key_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_allowed_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key_hash"),
    )
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.create_index("ix_rate_counters_scope_last", ["scope", "last_attempt_at"], unique=False)
    op.create_table(
        "payment_conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("named", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("held_by", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("amount_vnd", sa.BigInteger(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("notified_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("transaction_id", "named", name="uq_payment_conflicts_named"),
    )
    with op.batch_alter_table("payment_conflicts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payment_conflicts_named"), ["named"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("zalo_link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zalo_link_codes_user_id"))
    op.drop_table("zalo_link_codes")
    with op.batch_alter_table("zalo_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zalo_links_user_id"))
    op.drop_table("zalo_links")
    with op.batch_alter_table("zalo_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookup_failures", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("lookup_window_started_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "zalo_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dossier_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("linked_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["dossier_code"], ["dossiers.code"]),
        sa.ForeignKeyConstraint(["user_id"], ["zalo_users.user_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "dossier_code", name="uq_zalo_links_user_dossier"),
    )
    with op.batch_alter_table("zalo_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zalo_links_dossier_code"), ["dossier_code"], unique=False)
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_counters_scope_last")
    op.drop_table("rate_counters")
    with op.batch_alter_table("payment_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_conflicts_named"))
    op.drop_table("payment_conflicts")
