"""the internal steps a dossier follows, as the catalogue gave them at registration

`dossiers.steps` ([{name, unit, hours}], null: none) travels into the dossier's workflow input, so the
hand-overs and step deadlines follow the catalogue the dossier was received under, like its supplement rule.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.add_column(sa.Column("steps", db.types.JSONType, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dossiers") as batch:
        batch.drop_column("steps")
