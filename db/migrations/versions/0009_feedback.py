"""feedback: citizens' feedback and complaints (phản ánh, kiến nghị) and the officers' answers

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dossier_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("agency_code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("zalo_user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("sender_verified", sa.Boolean(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("received_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer_due_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("answer", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("answered_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("answered_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reply", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("reply_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("reply_message_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.ForeignKeyConstraint(["dossier_code"], ["dossiers.code"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_dossier_code"), ["dossier_code"], unique=False)
        batch_op.create_index("ix_feedback_queue", ["agency_code", "status", "answer_due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index("ix_feedback_queue")
        batch_op.drop_index(batch_op.f("ix_feedback_dossier_code"))
    op.drop_table("feedback")
