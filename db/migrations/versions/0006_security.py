"""security: payment conflicts (a transaction id reported for a second dossier), rate-limit counters

Revision ID: 0006_security
Revises: 0005 (the lead re-chains it at merge)
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0006_security"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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
    with op.batch_alter_table("rate_counters", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_counters_scope_last")
    op.drop_table("rate_counters")
    with op.batch_alter_table("payment_conflicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_conflicts_named"))
    op.drop_table("payment_conflicts")
