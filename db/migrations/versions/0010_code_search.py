"""the dossier list's `q` (a part of the code) uses a trigram index on PostgreSQL

`code LIKE '%…%'` cannot use the primary key's B-tree: on 100,000 dossiers PostgreSQL read them all. A GIN
index of the codes' trigrams (the pg_trgm extension, shipped with PostgreSQL) answers any substring of three
characters or more from the index. SQLite has no trigram index; it gets a plain index of the same name, so
both schemas match the models (its list scans the codes there, which bench.list_query measures).

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_dossiers_code_trgm"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # In the database's public schema, so every schema's index finds the operator class.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
        op.execute(f"CREATE INDEX {INDEX} ON dossiers USING gin (code public.gin_trgm_ops)")
    else:
        op.create_index(INDEX, "dossiers", ["code"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="dossiers")
    # The extension stays: other schemas of the database may use it.
