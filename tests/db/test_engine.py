"""SQLite's one writer per process (db/engine.py): writers queue on the process's lock, and a transaction
that ends badly (its connection invalidated, its task cancelled) does not keep it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from db.engine import make_engine


async def test_concurrent_writers_queue_and_a_broken_transaction_lets_go(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one-writer.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (n INTEGER)"))

        broken = await engine.connect()
        await broken.execute(text("INSERT INTO t VALUES (-1)"))  # holds the lock
        await broken.invalidate()
        await broken.close()

        async def cancelled() -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t VALUES (-2)"))
                await asyncio.sleep(60)

        task = asyncio.create_task(cancelled())
        await asyncio.sleep(0.2)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        async def write(n: int) -> None:
            async with engine.begin() as conn:
                await conn.execute(text("SELECT count(*) FROM t"))  # reads do not take the lock
                await conn.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})

        await asyncio.wait_for(asyncio.gather(*(write(n) for n in range(20))), timeout=10)
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM t WHERE n >= 0"))).scalar() == 20
            assert (await conn.execute(text("SELECT count(*) FROM t WHERE n < 0"))).scalar() == 0
    finally:
        await engine.dispose()
