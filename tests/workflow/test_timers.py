"""The legal clock's timers under time skipping: reminders, overdue escalation, fee and pick-up reminders,
and notices held back by quiet hours. Each workflow has its own virtual clock; days pass in a blink.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from db.engine import SessionFactory
from db.models import Dossier, Notice
from domain.dossier import DossierPolicy, DossierState
from domain.status import DossierStatus
from domain.timefmt import OFFICE_TZ
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import (
    CALENDAR,
    WORKING_DAY,
    Moments,
    dossier_input,
    due_after,
    fee,
    register,
    result,
    supplement_request,
)
from workflows.dossier import DossierWorkflow

pytestmark = pytest.mark.usefixtures("time_skipping_worker")


async def state(handle: WorkflowHandle[Any, Any]) -> DossierState:
    result: DossierState = await handle.query(DossierWorkflow.state)
    return result


async def timeline_of_length(handle: WorkflowHandle[Any, Any], length: int) -> DossierState | None:
    """The state once its timeline has `length` entries (a timer due in the past fires within a second)."""
    s = await state(handle)
    return s if len(s.timeline) >= length else None


async def projected_through(session_factory: SessionFactory, code: str, seq: int) -> None:
    """Wait until the database holds the timeline up to `seq`: a query sees the state a moment before
    the projection of that same step is committed."""

    async def done() -> bool:
        async with session_factory() as session:
            row = await session.get(Dossier, code)
        return row is not None and row.last_seq >= seq

    await eventually(done)


async def officer_notices(session_factory: SessionFactory, code: str) -> list[tuple[int, str, str | None]]:
    async with session_factory() as session:
        rows = (
            await session.exec(
                select(Notice)
                .where(Notice.dossier_code == code, Notice.audience == "officer")
                .order_by(col(Notice.id))
            )
        ).all()
    return [(n.seq, n.kind, n.recipient) for n in rows]


async def test_overdue_escalation_fires_at_the_right_moments(
    time_skipping_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    due = due_after(t(0))
    # Idle timers are skipped at once: the dossier runs through its reminder and every escalation.
    handle, _ = await register(time_skipping_env.client, settings, input)

    async def escalated_to_the_top() -> DossierState | None:
        s = await state(handle)
        return s if s.escalation_level == 2 else None

    s = await eventually(escalated_to_the_top)
    assert s.status is DossierStatus.RECEIVED  # overdue does not change the state
    assert s.overdue is True
    timers = [(e.kind, e.at, e.detail.get("level"), e.detail.get("role")) for e in s.timeline[1:]]
    assert timers == [
        ("due_soon", CALENDAR.add_working_time(due, -WORKING_DAY), None, None),
        ("overdue", due, 1, "department_head"),
        ("escalation", CALENDAR.add_working_time(due, 2 * WORKING_DAY), 2, "agency_head"),
    ]
    await projected_through(session_factory, input.code, 4)
    assert await officer_notices(session_factory, input.code) == [
        (2, "due_soon", "officer-1"),
        (3, "overdue", "head-1"),
        (4, "escalation", "director-1"),
    ]

    query = f'WorkflowId = "{handle.id}" AND Overdue = true AND DossierStatus = "received"'

    async def listed() -> list[Any]:
        return [wf async for wf in time_skipping_env.client.list_workflows(query)]

    assert await eventually(listed)


async def test_a_result_after_the_due_time_is_late_and_one_before_is_on_time(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    with time_skipping_env.with_time_skipping_disabled():
        early, _ = await register(
            time_skipping_env.client, settings, dossier_input(settings, received_at=t(0))
        )
        late, _ = await register(
            time_skipping_env.client, settings, dossier_input(settings, received_at=t(0))
        )
    due = due_after(t(0))
    on_time = await early.execute_update(DossierWorkflow.mark_result_ready, result(t(1)))
    assert on_time.status is DossierStatus.RESULT_READY
    assert (await state(early)).on_time is True
    await late.execute_update(DossierWorkflow.mark_result_ready, result(due + timedelta(minutes=1)))
    s = await state(late)
    assert s.on_time is False
    assert s.timeline[-1].detail["on_time"] is False


async def test_fee_reminders_then_an_officer_alert_when_unpaid(
    time_skipping_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    with time_skipping_env.with_time_skipping_disabled():
        handle, _ = await register(time_skipping_env.client, settings, input)
    requested = t(1)
    await handle.execute_update(DossierWorkflow.request_fee, fee(requested, pay_within_days=5))
    await time_skipping_env.fast_forward(handle, timedelta(days=30))

    s = await eventually(lambda: timeline_of_length(handle, 5))
    assert s.status is DossierStatus.FEE_DUE  # the clock is paused: no overdue while the fee is due
    assert [(e.kind, e.at) for e in s.timeline[2:]] == [
        ("fee_reminder", CALENDAR.add_working_time(requested, WORKING_DAY)),
        ("fee_reminder", CALENDAR.add_working_time(requested, 3 * WORKING_DAY)),
        ("fee_unpaid", CALENDAR.add_working_time(requested, 5 * WORKING_DAY)),
    ]
    await projected_through(session_factory, input.code, 5)
    assert await officer_notices(session_factory, input.code) == [(5, "fee_unpaid", "officer-1")]
    async with session_factory() as session:
        reminders = (
            await session.exec(
                select(Notice.seq).where(Notice.dossier_code == input.code, Notice.kind == "fee_reminder")
            )
        ).all()
    assert sorted(reminders) == [3, 4]


async def test_a_result_not_collected_gets_a_pickup_reminder(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    with time_skipping_env.with_time_skipping_disabled():
        handle, _ = await register(
            time_skipping_env.client, settings, dossier_input(settings, received_at=t(0))
        )
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(1)))
    await time_skipping_env.fast_forward(handle, timedelta(days=20))
    s = await eventually(lambda: timeline_of_length(handle, 3))
    assert [(e.kind, e.at) for e in s.timeline[2:]] == [
        ("pickup_reminder", CALENDAR.add_working_time(t(1), 3 * WORKING_DAY))
    ]


async def test_a_notice_at_night_waits_for_six_in_the_morning(
    time_skipping_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    policy = replace(DossierPolicy(), quiet_hours_start="22:00", quiet_hours_end="06:00")
    input = dossier_input(settings, received_at=t(0), policy=policy)
    with time_skipping_env.with_time_skipping_disabled():
        handle, _ = await register(time_skipping_env.client, settings, input)
    # Move this workflow's clock to the next noon (whatever the receipt notice waited for has gone out by
    # then), then on to 22:30 office time, and ask for a supplement.
    for hour, minute in ((12, 0), (22, 30)):
        local = (await time_skipping_env.get_current_time(handle)).astimezone(OFFICE_TZ)
        target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if target <= local:
            target += timedelta(days=1)
        await time_skipping_env.fast_forward(handle, target - local)
    night = target
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(1)))

    async with session_factory() as session:
        row = (
            await session.exec(select(Notice).where(Notice.dossier_code == input.code, Notice.seq == 2))
        ).one()
    assert row.status == "scheduled"
    morning = (night + timedelta(hours=7, minutes=30)).astimezone(OFFICE_TZ)
    assert row.scheduled_for == morning
    assert (morning.hour, morning.minute) == (6, 0)

    await time_skipping_env.fast_forward(handle, timedelta(hours=8))

    async def sent() -> Notice | None:
        async with session_factory() as session:
            notice = await session.get(Notice, row.id)
        return notice if notice is not None and notice.status == "sent" else None

    await eventually(sent)
    history = await handle.fetch_history()
    events = list(history.events)
    [timer] = [
        e
        for e in events
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED
        and b"quiet hours: supplement_required #2" in e.user_metadata.summary.data
    ]
    wait = timer.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
    assert timedelta(hours=7, minutes=29) < wait <= timedelta(hours=7, minutes=30)
    fired = next(
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
        and e.timer_fired_event_attributes.started_event_id == timer.event_id
    )
    sends = [
        i
        for i, e in enumerate(events)
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
        and e.activity_task_scheduled_event_attributes.activity_type.name == "notices.send"
    ]
    # The supplement notice was handed to Zalo only after the 06:00 timer fired.
    assert len(sends) == 2
    assert sends[0] < events.index(timer) < fired < sends[1]
    assert "06:00" in timer.user_metadata.summary.data.decode()


async def test_a_late_result_leaves_the_overdue_list_and_is_recorded_late(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(time_skipping_env.client, settings, dossier_input(settings, received_at=t(0)))

    async def overdue() -> DossierState | None:
        s = await state(handle)
        return s if s.overdue else None

    s = await eventually(overdue)
    assert s.due_at is not None
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(s.due_at + timedelta(days=3)))
    s = await state(handle)
    assert (s.status, s.overdue, s.on_time) == (DossierStatus.RESULT_READY, False, False)
    query = f'WorkflowId = "{handle.id}" AND Overdue = false AND DossierStatus = "result_ready"'

    async def listed() -> list[Any]:
        return [wf async for wf in time_skipping_env.client.list_workflows(query)]

    assert await eventually(listed)
