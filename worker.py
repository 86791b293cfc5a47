"""The Temporal worker: runs DossierWorkflow and its activities. Start it with `python worker.py`."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.calendar import CalendarActivities
from activities.notices import worker_activities
from activities.records import RecordActivities
from db.engine import SessionFactory, engine_for, make_session_factory
from settings import Settings, configure_logging, get_settings
from workflows.client import connect
from workflows.dossier import DossierWorkflow
from zalo.client import ZaloClient

log = logging.getLogger("worker")


def activities(
    settings: Settings, sessions: SessionFactory, http: httpx.AsyncClient
) -> tuple[list[Callable[..., Any]], ZaloClient]:
    """Every activity the dossier workflow calls, built with its dependencies, and the Zalo client."""
    records = RecordActivities(sessions, settings)
    calendar = CalendarActivities(sessions, settings)
    notices, zalo = worker_activities(sessions, settings, http)
    functions: list[Callable[..., Any]] = [
        records.record,
        calendar.due_at,
        calendar.shift,
        calendar.working_seconds_between,
        *notices.activity_functions(),
    ]
    return functions, zalo


def build_worker(
    client: Client,
    settings: Settings,
    sessions: SessionFactory,
    http: httpx.AsyncClient,
    *,
    task_queue: str | None = None,
) -> Worker:
    """The dossier worker; `http` is the Zalo connection (its owner closes it)."""
    functions, _zalo = activities(settings, sessions, http)
    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[DossierWorkflow],
        activities=functions,
        graceful_shutdown_timeout=timedelta(seconds=30),
    )


async def main() -> None:
    settings = get_settings()
    configure_logging(settings, "worker")
    engine = engine_for(settings)
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
