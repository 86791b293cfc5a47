"""INSERT … ON CONFLICT DO NOTHING (… RETURNING) on SQLite and PostgreSQL (both spell it the same way)."""

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
    return await inserted_value(session, model, conflict_columns, conflict_columns[0], **values) is not None


async def inserted_value(
    session: AsyncSession, model: type[SQLModel], conflict_columns: list[str], returning: str, **values: Any
) -> Any | None:
    """As `insert_ignoring_conflict`, in the same one statement, but the inserted row's `returning` column
    (its generated id, say), or None when a row with the same `conflict_columns` was there."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = model.__table__  # type: ignore[attr-defined]
    result = await session.exec(
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict_columns)
        # RETURNING, not rowcount: psycopg reports -1 for inserts run this way.
        .returning(table.c[returning])
    )
    return result.scalar_one_or_none()
