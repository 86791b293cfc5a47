"""The Temporal worker: runs DossierWorkflow and its activities. Start it with `python worker.py`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from activities.notices import NoticeActivities
from temporalio.client import Client
from temporalio.worker import Worker
from zalo.client import ZaloClient

from activities.calendar import CalendarActivities
from activities.records import RecordActivities
from db.engine import SessionFactory, make_engine, make_session_factory
from settings import Settings, configure_logging, get_settings
from workflows.client import connect
from workflows.dossier import DossierWorkflow

log = logging.getLogger("worker")


def activities(
    settings: Settings, sessions: SessionFactory, http: httpx.AsyncClient
) -> list[Callable[..., Any]]:
    """Every activity the dossier workflow calls, built with its dependencies."""
    records = RecordActivities(sessions, settings)
    calendar = CalendarActivities(sessions, settings)
    notices = NoticeActivities(sessions, ZaloClient(settings, sessions, http), settings)
    return [
        records.record,
        calendar.due_at,
        calendar.shift,
        calendar.working_seconds_between,
        notices.send,
        notices.mark_failed,
    ]


def build_worker(
    client: Client,
    settings: Settings,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
    *,
    task_queue: str | None = None,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[DossierWorkflow],
        activities=activities(settings, sessions, http),
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def main() -> None:
    settings = get_settings()
    configure_logging(settings, "worker")
    engine = make_engine(settings.database_url)
    client = await connect(settings, attempts=60)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient(timeout=settings.zalo_timeout_seconds) as http:
        worker = build_worker(client, settings, make_session_factory(engine), http)
        log.info("worker polling task queue %s on %s", settings.task_queue, settings.temporal_address)
        async with worker:
            await stop.wait()
            log.info("shutting down: finishing running activities")
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
