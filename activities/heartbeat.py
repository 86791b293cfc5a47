"""Heartbeats while an activity works, so that a worker killed mid-activity is noticed within the
activity's heartbeat timeout (workflows/contracts.py), not at the end of its start-to-close timeout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

from temporalio import activity


@contextlib.asynccontextmanager
async def heartbeating(every: timedelta) -> AsyncIterator[None]:
    """Heartbeat now and every `every` until the block ends; nothing outside an activity (a direct call)."""
    if not activity.in_activity():
        yield
        return

    async def beat() -> None:
        while True:
            activity.heartbeat()
            await asyncio.sleep(every.total_seconds())

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
