"""queue numbers (lấy số thứ tự): each agency's queue per office day, and the tickets

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "queue_days",
        sa.Column("agency_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.Column("last_called", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("agency_code", "day"),
    )
    op.create_table(
        "queue_tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("agency_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("holder_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("phone_last4", sqlmodel.sql.sqltypes.AutoString(length=4), nullable=True),
        sa.Column("zalo_user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("link_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("taken_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("called_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("called_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("counter", sqlmodel.sql.sqltypes.AutoString(length=50), nullable=True),
        sa.Column("finished_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("near_notice_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("call_notice_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notice_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("agency_code", "day", "number", name="uq_queue_tickets_number"),
        sa.UniqueConstraint("link_hash"),
    )
    with op.batch_alter_table("queue_tickets", schema=None) as batch_op:
        batch_op.create_index("ix_queue_tickets_holder", ["holder_hash", "day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("queue_tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_tickets_holder")
    op.drop_table("queue_tickets")
    op.drop_table("queue_days")
