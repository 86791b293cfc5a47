"""The worker's tuning settings, its split into a pair of processes (WORKER_RUNS) and its graceful shutdown
(what SIGTERM does in `python worker.py`)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace, TracebackType
from typing import Any

import httpx
import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from db.engine import SessionFactory
from db.models import Notice
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import dossier_input, register
from worker import build_worker


class _HeldSession:
    def __init__(self, session: AsyncSession, gate: HeldSessions) -> None:
        self.session = session
        self.gate = gate

    async def __aenter__(self) -> AsyncSession:
        self.gate.entered.set()
        await self.gate.release.wait()
        return await self.session.__aenter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.session.__aexit__(kind, error, tb)


class HeldSessions:
    """A session factory whose first use by `notices.send` waits for `release`: an activity in flight."""

    def __init__(self, inner: SessionFactory) -> None:
        self.inner = inner
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.armed = True

    def __call__(self) -> Any:
        if self.armed and activity.in_activity() and activity.info().activity_type == "notices.send":
            self.armed = False
            return _HeldSession(self.inner(), self)
        return self.inner()


async def test_shutdown_lets_the_running_activity_finish(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    held = HeldSessions(session_factory)
    worker = build_worker(workflow_env.client, settings, held, fake_zalo)  # type: ignore[arg-type]
    running = asyncio.create_task(worker.run())
    input = dossier_input(settings)
    handle, _ = await register(workflow_env.client, settings, input)
    await asyncio.wait_for(held.entered.wait(), timeout=20)  # notices.send is running

    stopping = asyncio.create_task(worker.shutdown())  # what SIGTERM does
    await asyncio.sleep(1.0)
    assert not stopping.done()  # it waits for the activity instead of abandoning it
    held.release.set()
    await asyncio.wait_for(stopping, timeout=settings.worker_graceful_shutdown_seconds)
    await running

    # The activity finished its work and reported it: the notice went out once, no retry was needed.
    async with session_factory() as session:
        notices = (await session.exec(select(Notice).where(Notice.dossier_code == input.code))).all()
    assert [(n.kind, n.status, n.attempts) for n in notices] == [("received", "sent", 1)]
    async with build_worker(workflow_env.client, settings, session_factory, fake_zalo):
        events = (await handle.fetch_history()).events
    sends = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and events[
            e.activity_task_started_event_attributes.scheduled_event_id - 1
        ].activity_task_scheduled_event_attributes.activity_type.name
        == "notices.send"
    ]
    assert [e.activity_task_started_event_attributes.attempt for e in sends] == [1]
    types = {e.event_type for e in events}
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT not in types
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED not in types


async def test_a_worker_pair_splits_the_task_queue_and_each_takes_only_its_part(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    client = workflow_env.client
    as_workflows = settings.model_copy(update={"worker_runs": "workflows"})
    as_activities = settings.model_copy(update={"worker_runs": "activities"})
    input = dossier_input(settings)

    async def notices() -> list[tuple[str, str, int]]:
        async with session_factory() as session:
            rows = (await session.exec(select(Notice).where(Notice.dossier_code == input.code))).all()
        return [(n.kind, n.status, n.attempts) for n in rows]

    async with build_worker(client, as_workflows, session_factory, fake_zalo):
        # The registration answers (its workflow task and local activities ran here) and its notice is
        # recorded, but this process takes no activity task: the send waits for the other one.
        handle, outcome = await register(client, settings, input)
        assert outcome.seq == 1
        await asyncio.sleep(1.5)
        assert await notices() == [("received", "queued", 0)]
        async with build_worker(client, as_activities, session_factory, fake_zalo):

            async def sent_and_reported() -> bool:
                completed = EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                reported = any(e.event_type == completed for e in (await handle.fetch_history()).events)
                return reported and await notices() == [("received", "sent", 1)]

            await eventually(sent_and_reported)

    # The history names the process that took each task (the Temporal UI shows it to officers).
    events = (await handle.fetch_history()).events
    took_workflow_tasks = {
        e.workflow_task_completed_event_attributes.identity.rsplit("/", 1)[-1]
        for e in events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    }
    took_activities = {
        e.activity_task_started_event_attributes.identity.rsplit("/", 1)[-1]
        for e in events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    }
    assert (took_workflow_tasks, took_activities) == ({"workflows"}, {"activities"})


def test_tuning_settings_reach_the_worker(
    settings: Settings, session_factory: SessionFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    tuned = settings.model_copy(
        update={
            "worker_max_concurrent_activities": 7,
            "worker_max_concurrent_workflow_tasks": 5,
            "worker_max_concurrent_local_activities": 3,
            "worker_max_cached_workflows": 11,
            "worker_graceful_shutdown_seconds": 42.0,
        }
    )
    captured: dict[str, Any] = {}
    monkeypatch.setattr("worker.Worker", lambda _client, **options: captured.update(options))
    client = SimpleNamespace(identity="1234@host")
    build_worker(client, tuned, session_factory, httpx.AsyncClient())  # type: ignore[arg-type]
    assert captured["max_concurrent_activities"] == 7
    assert captured["max_concurrent_workflow_tasks"] == 5
    assert captured["max_concurrent_local_activities"] == 3
    assert captured["max_cached_workflows"] == 11
    assert captured["graceful_shutdown_timeout"].total_seconds() == 42.0
    assert captured["identity"] == "1234@host/all"
