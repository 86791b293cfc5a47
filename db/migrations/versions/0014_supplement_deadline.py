"""a dossier's supplement deadline as its procedure gave it at registration (working days; None: the
law's default, domain/limits.py)

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("supplement_supply_within_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("supplement_supply_within_days")
