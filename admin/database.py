"""How every admin tool reaches the database: one session, and a plain answer when it is not migrated."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import make_engine, make_session_factory
from settings import Settings


async def with_database(settings: Settings, work: Callable[[AsyncSession], Awaitable[int]]) -> int:
    """Run `work` with a session on DATABASE_URL; its exit status, or 2 when the database cannot serve."""
    engine = make_engine(settings.database_url)
    try:
        async with make_session_factory(engine)() as session:
            return await work(session)
    except (OperationalError, ProgrammingError) as error:
        print(f"Lỗi cơ sở dữ liệu: {error.orig}", file=sys.stderr)
        print("Cơ sở dữ liệu đã được nâng cấp chưa? Chạy: python -m db.migrate", file=sys.stderr)
        return 2
    finally:
        await engine.dispose()
