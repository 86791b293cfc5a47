"""the procedure catalogue, versioned; a dossier keeps the version it was received under and its
supplement rule

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "procedure_catalogues",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("loaded_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("about", db.types.JSONType, nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )
    op.create_table(
        "catalogue_procedures",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("working_days", sa.Integer(), nullable=False),
        sa.Column("supplement_max_requests", sa.Integer(), nullable=False),
        sa.Column("supplement_restarts", sa.Boolean(), nullable=False),
        sa.Column("entry", db.types.JSONType, nullable=False),
        sa.ForeignKeyConstraint(["version"], ["procedure_catalogues.version"]),
        sa.PrimaryKeyConstraint("version", "code"),
    )
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("catalogue_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("supplement_max_requests", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("supplement_restarts", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("supplement_restarts")
        batch.drop_column("supplement_max_requests")
        batch.drop_column("catalogue_version")
    op.drop_table("catalogue_procedures")
    op.drop_table("procedure_catalogues")
