"""the agency directory; notices keep their composed ZNS parameters and who handled a failure

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agencies",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("address", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("hotline", sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
        sa.Column("opening_hours", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("oa_url", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("zns_params", db.types.JSONType, nullable=True))
        batch.add_column(sa.Column("handled_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch.add_column(sa.Column("handled_at", db.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("handled_at")
        batch.drop_column("handled_by")
        batch.drop_column("zns_params")
    op.drop_table("agencies")
