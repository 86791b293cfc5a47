"""api: idempotency keys; payments of unknown dossiers, their references, BIGINT amounts; list indexes

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The dossier list reads in (due_at, code) order: every index it uses ends with both.
LIST_INDEXES = {
    "ix_dossiers_status_due_at": "status",
    "ix_dossiers_agency_due_at": "agency_code",
    "ix_dossiers_overdue_due_at": "overdue",
}


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("method", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("request_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response_headers", db.types.JSONType, nullable=False),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("locked_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["api_clients.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_id", "key", name="uq_idempotency_keys_client_key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False)

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True)
        )
        batch_op.add_column(
            sa.Column("error_code", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True)
        )
        batch_op.alter_column("dossier_code", existing_type=sa.VARCHAR(length=40), nullable=True)
        batch_op.alter_column(
            "amount_vnd", existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=False
        )

    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        batch_op.create_index("ix_dossiers_due_at_code", ["due_at", "code"], unique=False)
        for name, column in LIST_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [column, "due_at", "code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("dossiers", schema=None) as batch_op:
        for name, column in LIST_INDEXES.items():
            batch_op.drop_index(name)
            batch_op.create_index(name, [column, "due_at"], unique=False)
        batch_op.drop_index("ix_dossiers_due_at_code")

    # Payments of unknown dossiers have no place in the older schema.
    op.execute("DELETE FROM payments WHERE dossier_code IS NULL")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.alter_column("dossier_code", existing_type=sa.VARCHAR(length=40), nullable=False)
        batch_op.alter_column(
            "amount_vnd", existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=False
        )
        batch_op.drop_column("error_code")
        batch_op.drop_column("reference")

    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))

    op.drop_table("idempotency_keys")
