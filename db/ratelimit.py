"""Rate-limit counters in the database: every API replica counts the same attempts, and an attempt is
counted (committed) before the caller checks the secret it carries, so parallel requests cannot all
pass the check before any of them is counted.

Each (kind, key) row holds the attempts since the key was last left alone for the policy's window, and
until when the next attempt must wait (domain/limits.py `Backoff`). An attempt reads and writes its row
under a lock (PostgreSQL: `SELECT … FOR UPDATE` on the row; SQLite: `BEGIN IMMEDIATE`, the database's
write lock), so concurrent attempts on one key are decided one after the other, on any replica.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import SessionFactory
from db.models import RateCounter
from db.upsert import insert_ignoring_conflict
from domain.limits import Backoff, Counted


@dataclass(frozen=True)
class Verdict:
    """Whether the attempt may go on; if not, the seconds to wait (for Retry-After)."""

    allowed: bool
    retry_after: int = 0


def key_hash(counted: Counted, key: str) -> str:
    """Keys are addresses, phones, user names and codes: the table keeps only their SHA-256."""
    return hashlib.sha256(f"{counted.value}:{key}".encode()).hexdigest()


@asynccontextmanager
async def _locked(
    sessions: SessionFactory, counted: Counted, key: str, policy: Backoff, now: datetime
) -> AsyncIterator[tuple[AsyncSession, RateCounter]]:
    """The key's row (made on first use, with no attempt yet), locked until the session commits."""
    digest = key_hash(counted, key)
    async with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            connection = await session.connection()
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        inserted = await insert_ignoring_conflict(
            session,
            RateCounter,
            ["scope", "key_hash"],
            scope=counted.value,
            key_hash=digest,
            attempts=0,
            last_attempt_at=now,
            next_allowed_at=now,
        )
        if inserted:  # now and then, the keys of this kind left alone long enough are forgotten
            await session.exec(
                delete(RateCounter).where(
                    col(RateCounter.scope) == counted.value,
                    col(RateCounter.last_attempt_at) < now - policy.window - policy.ceiling,
                )
            )
        row = (
            await session.exec(
                select(RateCounter)
                .where(RateCounter.scope == counted.value, RateCounter.key_hash == digest)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).one()
        try:
            yield session, row
        finally:
            if session.in_transaction():
                await session.rollback()


async def attempt(
    sessions: SessionFactory, counted: Counted, key: str, policy: Backoff, now: datetime
) -> Verdict:
    """Count one attempt on `key`, unless it must still wait (then nothing is counted); committed before
    this returns."""
    async with _locked(sessions, counted, key, policy, now) as (session, row):
        # `now` was read before the lock was: one a moment older than the last attempt is that moment.
        now = max(now, row.last_attempt_at)
        if row.next_allowed_at > now:
            await session.commit()
            return Verdict(False, max(1, math.ceil((row.next_allowed_at - now).total_seconds())))
        fresh = row.attempts == 0 or now - row.last_attempt_at >= policy.window
        row.attempts = 1 if fresh else row.attempts + 1
        row.last_attempt_at = now
        row.next_allowed_at = now + policy.wait_after(row.attempts)
        session.add(row)
        await session.commit()
        return Verdict(True)


async def forgive(
    sessions: SessionFactory, counted: Counted, key: str, policy: Backoff, now: datetime
) -> None:
    """The attempt succeeded: it does not count against the key (only failures add up)."""
    async with _locked(sessions, counted, key, policy, now) as (session, row):
        if row.attempts > 0:
            row.attempts -= 1
            row.next_allowed_at = min(
                row.next_allowed_at, row.last_attempt_at + policy.wait_after(row.attempts)
            )
            session.add(row)
        await session.commit()
