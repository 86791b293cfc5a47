"""One async engine per process, and the session factory every activity and route uses."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only
from sqlmodel.ext.asyncio.session import AsyncSession

from settings import Settings

SessionFactory = async_sessionmaker[AsyncSession]


def async_url(url: str) -> str:
    """The async driver's URL for a database URL written with or without one."""
    parsed = make_url(url)
    driver = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+psycopg"}.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def sync_url(url: str) -> str:
    """The sync driver's URL (Alembic runs synchronously)."""
    parsed = make_url(url)
    driver = {"sqlite+aiosqlite": "sqlite", "postgresql+asyncpg": "postgresql+psycopg"}.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def engine_for(settings: Settings) -> AsyncEngine:
    """The process's engine, sized by the settings."""
    return make_engine(
        settings.database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An engine with SQLite set up for a server's life: WAL, a busy timeout, foreign keys on, one writer.

    SQLite has one write lock for the whole file, and its busy handler waits for it by sleeping (up to
    100 ms a try) rather than queueing: under load a workflow task waited seconds on its own worker's other
    writes. So a process's SQLite writes take an asyncio lock first (`_one_writer`): they queue in order
    inside the process, and only the worker and the web process meet at SQLite's lock.

    Error texts never quote a statement's parameters (`hide_parameters`): they hold names and phone numbers,
    and an error's text reaches the logs."""
    url = async_url(url)
    kwargs.setdefault("hide_parameters", True)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA foreign_keys=ON")
            # With WAL, NORMAL loses no commit when the process dies (only on a power cut), and saves a sync
            # per commit.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        _one_writer(engine)
        return engine
    return create_async_engine(url, pool_pre_ping=True, **kwargs)


def _one_writer(engine: AsyncEngine) -> None:
    """A transaction's first write (or its `BEGIN IMMEDIATE`) waits for the process's write lock, held
    until the transaction ends. Reads never wait. A transaction that reads before it writes should start
    with `BEGIN IMMEDIATE` (db/zalo_tokens.py, db/ratelimit.py, activities/records.py): the driver runs
    reads outside a transaction until the first write, so what it read could be changed by another
    connection before it writes."""
    lock = asyncio.Lock()

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _before(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if conn.info.get(_WRITING) or statement.lstrip()[:6].upper() in _READS:
            return
        try:
            await_only(asyncio.wait_for(lock.acquire(), WRITE_LOCK_TIMEOUT_SECONDS))
        except TimeoutError:
            raise OperationalError(statement, None, Exception("the process's SQLite write lock")) from None
        conn.info[_WRITING] = True

    def _end(conn: Any) -> None:
        try:
            info = conn.info
        except SQLAlchemyError:  # invalidated: the pool's invalidate event below has released it
            return
        if info.pop(_WRITING, False):
            lock.release()

    def _returned(_dbapi_connection: Any, record: Any, *_: Any) -> None:
        # A connection back in the pool (or dropped) without a commit or rollback event, as after an
        # error that invalidated it: its transaction is over, so is its hold on the lock.
        if record is not None:
            _end(record)

    event.listen(engine.sync_engine, "commit", _end)
    event.listen(engine.sync_engine, "rollback", _end)
    event.listen(engine.sync_engine.pool, "checkin", _returned)
    event.listen(engine.sync_engine.pool, "invalidate", _returned)


_WRITING = "sqlite_write_lock"
_READS = frozenset({"SELECT", "PRAGMA", "WITH", "EXPLAI"})
# As long as SQLite's own busy timeout: a write that waits longer fails as "database is locked" did.
WRITE_LOCK_TIMEOUT_SECONDS = 30.0


def make_session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def is_unavailable(error: BaseException) -> bool:
    """Whether a database error means "not now" rather than a bug: the server restarting or unreachable, a
    dropped connection, a pool with no connection free in time, SQLite busy past its timeout. The API
    answers those 503 with Retry-After, like an engine that did not answer."""
    if isinstance(error, exc.DBAPIError):
        if error.connection_invalidated or isinstance(error, exc.InterfaceError):
            return True
        if not isinstance(error, exc.OperationalError):
            return False
        if type(error.orig).__module__.startswith("sqlite3"):
            # SQLite calls everything operational, a missing table included: only contention is "not now".
            return any(word in str(error.orig).lower() for word in _SQLITE_BUSY)
        return True  # PostgreSQL: the connection failed, the server is shutting down or starting
    return isinstance(error, exc.TimeoutError)  # the pool's own timeout


_SQLITE_BUSY = ("locked", "busy", "unable to open")
