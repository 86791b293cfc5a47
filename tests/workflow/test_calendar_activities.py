"""The calendar overrides table and the calendar activities, against a real database (every backend)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.calendar import CalendarActivities
from db.calendar import list_overrides, override_days, remove_override, set_override
from db.engine import SessionFactory
from domain.timefmt import OFFICE_TZ
from settings import Settings
from workflows.contracts import (
    INVALID_CALENDAR_REQUEST,
    CalendarQuestions,
    CalendarStep,
    DueAtRequest,
    ShiftRequest,
    SpanRequest,
)


def ict(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=OFFICE_TZ)


# ---------------------------------------------------------------- the shared table operations


async def test_set_list_and_remove_overrides(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        await set_override(session, date(2027, 2, 20), True, "Làm bù cho ngày 10/02/2027", "admin")
        await set_override(session, date(2026, 8, 22), True, "Làm bù cho ngày 31/08/2026", "admin")
        await set_override(session, date(2027, 2, 15), False, "Nghỉ bù", "admin")

    async with session_factory() as session:
        every = await list_overrides(session)
        assert [(row.day, row.is_working_day, row.reason) for row in every] == [
            (date(2026, 8, 22), True, "Làm bù cho ngày 31/08/2026"),
            (date(2027, 2, 15), False, "Nghỉ bù"),
            (date(2027, 2, 20), True, "Làm bù cho ngày 10/02/2027"),
        ]
        assert [row.day for row in await list_overrides(session, year=2027)] == [
            date(2027, 2, 15),
            date(2027, 2, 20),
        ]
        assert await list_overrides(session, year=2028) == []
        assert await override_days(session) == {
            date(2026, 8, 22): True,
            date(2027, 2, 15): False,
            date(2027, 2, 20): True,
        }

    async with session_factory() as session:
        assert await remove_override(session, date(2027, 2, 15)) is True
        assert await remove_override(session, date(2027, 2, 15)) is False
    async with session_factory() as session:
        assert await override_days(session) == {date(2026, 8, 22): True, date(2027, 2, 20): True}


async def test_setting_a_day_again_replaces_its_override(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        first = await set_override(session, date(2027, 2, 15), False, "  Nghỉ bù  ", "admin")
        first_at = first.created_at
    assert first.reason == "Nghỉ bù"
    async with session_factory() as session:
        await set_override(session, date(2027, 2, 15), True, "Nhầm: vẫn làm việc", "lan.nguyen")
    async with session_factory() as session:
        (row,) = await list_overrides(session)
    assert (row.day, row.is_working_day, row.reason, row.created_by) == (
        date(2027, 2, 15),
        True,
        "Nhầm: vẫn làm việc",
        "lan.nguyen",
    )
    assert row.created_at.tzinfo is not None
    assert row.created_at.utcoffset() == timedelta(0)
    assert row.created_at >= first_at


@pytest.mark.parametrize(
    ("reason", "by"),
    [
        pytest.param("", "admin", id="empty-reason"),
        pytest.param("   ", "admin", id="blank-reason"),
        pytest.param("x" * 501, "admin", id="long-reason"),
        pytest.param("Nghỉ bù", "", id="empty-by"),
        pytest.param("Nghỉ bù", "x" * 101, id="long-by"),
    ],
)
async def test_set_override_refuses_bad_text(session_factory: SessionFactory, reason: str, by: str) -> None:
    async with session_factory() as session:
        with pytest.raises(ValueError, match="must have"):
            await set_override(session, date(2027, 2, 15), False, reason, by)
        assert await list_overrides(session) == []


# ---------------------------------------------------------------- the activities


async def test_an_override_changes_the_next_due_date(session_factory: SessionFactory) -> None:
    activities = CalendarActivities(session_factory, Settings(calendar_cache_seconds=0))  # read every call
    request = DueAtRequest(start=ict(2027, 2, 3, 9), working_days=3)
    # Over Tết 2027 (04/02-10/02 off): 6 h Wed 03, Thu 11 and Fri 12, then 2 h on Mon 15/02.
    assert await activities.due_at(request) == ict(2027, 2, 15, 9)

    async with session_factory() as session:
        await set_override(session, date(2027, 2, 15), False, "Nghỉ bù", "admin")
    assert await activities.due_at(request) == ict(2027, 2, 16, 9)

    # Working Wed 10/02 instead: Wed 03 6 h, Wed 10 14 h, Thu 11 22 h, Fri 12 07:00 + 2 h.
    async with session_factory() as session:
        await set_override(session, date(2027, 2, 10), True, "Làm bù", "admin")
    assert await activities.due_at(request) == ict(2027, 2, 12, 9)

    async with session_factory() as session:
        await remove_override(session, date(2027, 2, 10))
        await remove_override(session, date(2027, 2, 15))
    assert await activities.due_at(request) == ict(2027, 2, 15, 9)


async def test_the_calendar_is_kept_for_calendar_cache_seconds(session_factory: SessionFactory) -> None:
    now = [0.0]
    activities = CalendarActivities(
        session_factory, Settings(calendar_cache_seconds=30), clock=lambda: now[0]
    )
    request = DueAtRequest(start=ict(2027, 2, 3, 9), working_days=3)
    assert await activities.due_at(request) == ict(2027, 2, 15, 9)
    async with session_factory() as session:
        await set_override(session, date(2027, 2, 15), False, "Nghỉ bù", "admin")
    now[0] = 29.0
    assert await activities.due_at(request) == ict(2027, 2, 15, 9)  # kept: no read on the hot path
    now[0] = 30.0
    assert await activities.due_at(request) == ict(2027, 2, 16, 9)  # read again
    async with session_factory() as session:
        await remove_override(session, date(2027, 2, 15))
    activities.invalidate()
    assert await activities.due_at(request) == ict(2027, 2, 15, 9)


async def test_one_call_answers_a_chain_of_questions(session_factory: SessionFactory) -> None:
    activities = CalendarActivities(session_factory, Settings())
    steps = [
        CalendarStep("start", ict(2026, 8, 21, 16)),  # after the cut-off: Mon 24/08 07:00
        CalendarStep("shift", working_seconds=8 * 3600, at_from=0),
        CalendarStep("shift", working_seconds=-3600, at_from=1),
        CalendarStep("span", ict(2026, 8, 24, 8), end=ict(2026, 8, 24, 10)),
        CalendarStep("shift", ict(2026, 8, 24, 7), seconds_from=3),
    ]
    answers = await ActivityEnvironment().run(activities.answer, CalendarQuestions(steps))
    assert answers.times == [
        ict(2026, 8, 24, 7),
        ict(2026, 8, 24, 17),
        ict(2026, 8, 24, 16),
        None,
        ict(2026, 8, 24, 9),
    ]
    assert answers.seconds == [None, None, None, 7200, None]
    with pytest.raises(ApplicationError) as caught:
        await activities.answer(CalendarQuestions([CalendarStep("shift", working_seconds=60, at_from=0)]))
    assert caught.value.type == INVALID_CALENDAR_REQUEST


async def test_activities_run_in_an_activity_environment(session_factory: SessionFactory) -> None:
    activities = CalendarActivities(session_factory, Settings())
    env = ActivityEnvironment()
    async with session_factory() as session:
        await set_override(session, date(2026, 8, 22), True, "Làm bù cho ngày 31/08/2026", "admin")

    # Fri 21/08/2026 16:00 is after the cut-off; Sat 22/08 is worked: 07:00-17:00 that Saturday.
    due = await env.run(activities.due_at, DueAtRequest(start=ict(2026, 8, 21, 16), working_days=1))
    assert due == ict(2026, 8, 22, 17)
    assert due.tzinfo == OFFICE_TZ

    # One working day before a Mon 24/08 17:00 due is Mon 07:00 (a period start stays a period start).
    reminder = await env.run(
        activities.shift, ShiftRequest(at=ict(2026, 8, 24, 17), working_seconds=-8 * 3600)
    )
    assert reminder == ict(2026, 8, 24, 7)
    # Back 9 h from there reaches into the worked Saturday: Mon 07:00 - 1 h = Sat 16:00.
    assert await env.run(
        activities.shift, ShiftRequest(at=ict(2026, 8, 24, 7), working_seconds=-3600)
    ) == ict(2026, 8, 22, 16)
    assert await env.run(activities.shift, ShiftRequest(at=ict(2026, 8, 21, 16), working_seconds=0)) == ict(
        2026, 8, 21, 16
    )

    # Fee wait Fri 21/08 14:00 to Mon 24/08 08:00: Fri 3 h + Sat 8 h + Mon 1 h.
    waited = await env.run(
        activities.working_seconds_between, SpanRequest(start=ict(2026, 8, 21, 14), end=ict(2026, 8, 24, 8))
    )
    assert waited == 12 * 3600
    # Fractions of a second are dropped; a reversed span is empty.
    assert (
        await env.run(
            activities.working_seconds_between,
            SpanRequest(start=ict(2026, 8, 24, 8), end=ict(2026, 8, 24, 8) + timedelta(seconds=1.75)),
        )
        == 1
    )
    assert (
        await env.run(
            activities.working_seconds_between,
            SpanRequest(start=ict(2026, 8, 24, 8), end=ict(2026, 8, 21, 14)),
        )
        == 0
    )


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda a: a.due_at(DueAtRequest(start=datetime(2026, 10, 12, 9), working_days=1)), id="naive"
        ),
        pytest.param(
            lambda a: a.due_at(DueAtRequest(start=ict(2026, 10, 12, 9), working_days=-1)), id="negative-days"
        ),
        pytest.param(
            lambda a: a.shift(ShiftRequest(at=datetime(2026, 10, 12, 9), working_seconds=60)),
            id="naive-shift",
        ),
        pytest.param(
            lambda a: a.working_seconds_between(
                SpanRequest(start=ict(2026, 10, 12), end=datetime(2026, 10, 13))
            ),
            id="naive-span",
        ),
    ],
)
async def test_invalid_requests_fail_without_retry(session_factory: SessionFactory, call: object) -> None:
    activities = CalendarActivities(session_factory, Settings())
    assert callable(call)
    with pytest.raises(ApplicationError) as caught:
        await call(activities)
    assert caught.value.non_retryable
    assert caught.value.type == INVALID_CALENDAR_REQUEST


async def test_office_hours_come_from_settings(session_factory: SessionFactory) -> None:
    settings = Settings(
        office_periods=[(time(8, 0), time(12, 0)), (time(13, 0), time(17, 0))],
        cutoff_time=time(16, 0),
        working_weekdays=[0, 1, 2, 3, 4, 5],
    )
    hours = settings.office_hours()
    assert hours.day_length == timedelta(hours=8)
    activities = CalendarActivities(session_factory, settings)
    # Fri 16/10/2026 15:30 is before this cut-off (16:00): 1.5 h Fri, Sat 08:00-12:00, then 13:00 + 2.5 h.
    assert await activities.due_at(DueAtRequest(start=ict(2026, 10, 16, 15, 30), working_days=1)) == ict(
        2026, 10, 17, 15, 30
    )


def test_bad_office_hours_settings_are_refused() -> None:
    # CalendarActivities builds these in __init__, so the worker stops at start-up.
    with pytest.raises(ValueError, match="overlap"):
        Settings(office_periods=[(time(7, 0), time(12, 0)), (time(11, 0), time(17, 0))]).office_hours()


async def test_requests_and_answers_survive_temporal_serialisation() -> None:
    # What the workflow sends and gets back goes through Temporal's default JSON converter.
    converter = DataConverter.default
    request = DueAtRequest(start=datetime(2026, 10, 12, 2, tzinfo=UTC), working_days=15)
    (decoded,) = await converter.decode(await converter.encode([request]), [DueAtRequest])
    assert decoded == request
    assert decoded.start.utcoffset() == timedelta(0)
    due = ict(2026, 11, 2, 9)
    (decoded_due,) = await converter.decode(await converter.encode([due]), [datetime])
    assert decoded_due == due
    assert decoded_due.utcoffset() == timedelta(hours=7)
