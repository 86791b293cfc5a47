"""zalo: tokens, users and links, handled webhook events; notices.tracking_id and sending_since

Revision ID: 0003
Revises: 0001 (the lead re-chains it at merge)
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "zalo_events",
        sa.Column("event_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("event_name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("received_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_key"),
    )
    op.create_table(
        "zalo_tokens",
        sa.Column("app_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("access_token", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("refresh_token", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("access_expires_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("seed_fingerprint", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("refresh_count", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "zalo_users",
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("following", sa.Boolean(), nullable=True),
        sa.Column("follow_changed_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_interaction_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("lookup_failures", sa.Integer(), nullable=False),
        sa.Column("lookup_window_started_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "zalo_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("dossier_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("linked_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["dossier_code"],
            ["dossiers.code"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["zalo_users.user_id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "dossier_code", name="uq_zalo_links_user_dossier"),
    )
    with op.batch_alter_table("zalo_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_zalo_links_dossier_code"), ["dossier_code"], unique=False)

    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tracking_id", sqlmodel.sql.sqltypes.AutoString(length=48), nullable=True)
        )
        batch_op.add_column(sa.Column("sending_since", db.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_notices_tracking_id"), ["tracking_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_tracking_id"))
        batch_op.drop_column("sending_since")
        batch_op.drop_column("tracking_id")

    with op.batch_alter_table("zalo_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zalo_links_dossier_code"))

    op.drop_table("zalo_links")
    op.drop_table("zalo_users")
    op.drop_table("zalo_tokens")
    op.drop_table("zalo_events")
