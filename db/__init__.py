"""The project's own database: SQLModel tables, engine and Alembic migrations."""
