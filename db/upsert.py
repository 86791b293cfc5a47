"""INSERT … ON CONFLICT DO NOTHING on both backends (SQLite and PostgreSQL spell it the same way)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession


async def insert_ignoring_conflict(
    session: AsyncSession, model: type[SQLModel], conflict_columns: list[str], **values: Any
) -> bool:
    """Insert one row unless one with the same `conflict_columns` exists; True when this call inserted it.
    A Core insert: Python-side defaults (default_factory) are not applied, so pass every required value.

    Safe under concurrency: of two sessions inserting the same key, one waits for the other and then
    does nothing, instead of failing with an IntegrityError."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = model.__table__  # type: ignore[attr-defined]
    result = await session.exec(
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        # RETURNING, not rowcount: psycopg reports -1 for inserts run this way.
        .returning(*(table.c[name] for name in conflict_columns))
    )
    return result.first() is not None
