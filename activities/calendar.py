"""The working-day calendar as Temporal activities (the dossier workflow calls them as local activities).

The calendar (office hours, holidays, the overrides table) is read once and kept for
CALENDAR_CACHE_SECONDS: a transition costs no database read, and an administrator's change applies to every
deadline computed from that many seconds after it (0: every call reads the table afresh). Workflow code
stays deterministic because it only sees the answers. `calendar.answer` answers a transition's questions in
one call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.calendar import office_calendar
from db.engine import SessionFactory
from domain.calendar import WorkingCalendar
from settings import Settings
from workflows import contracts
from workflows.contracts import (
    CalendarAnswers,
    CalendarQuestions,
    DueAtRequest,
    ShiftRequest,
    SpanRequest,
)


@contextmanager
def _refuse_invalid_requests() -> Iterator[None]:
    """A naive datetime or a negative day count will not get better on retry: fail the call at once."""
    try:
        yield
    except ValueError as error:
        raise ApplicationError(
            str(error), type=contracts.INVALID_CALENDAR_REQUEST, non_retryable=True
        ) from error


class CalendarActivities:
    """Calendar answers for workflows: office hours from settings, holidays, overrides from the database."""

    def __init__(
        self,
        session_factory: SessionFactory,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session_factory = session_factory
        # Built once, so bad office-hour settings stop the worker at start-up rather than a workflow later.
        self._hours = settings.office_hours()
        self._keep = settings.calendar_cache_seconds
        self._clock = clock
        self._cached: tuple[float, WorkingCalendar] | None = None
        self._loading = asyncio.Lock()

    def activity_functions(self) -> list[Callable[..., Any]]:
        """What to pass as `Worker(activities=…)`."""
        return [self.due_at, self.shift, self.working_seconds_between, self.answer]

    def invalidate(self) -> None:
        """Forget the kept calendar: the next call reads the overrides table."""
        self._cached = None

    async def load(self) -> WorkingCalendar:
        """The calendar as of now: settings' office hours, the package's holidays, the overrides (read at
        most every CALENDAR_CACHE_SECONDS; one read at a time, which the others wait for)."""
        if self._keep <= 0:
            async with self._session_factory() as session:
                return await office_calendar(session, self._hours)
        async with self._loading:
            if self._cached is None or self._clock() - self._cached[0] >= self._keep:
                async with self._session_factory() as session:
                    self._cached = (self._clock(), await office_calendar(session, self._hours))
            return self._cached[1]

    @activity.defn(name=contracts.CALENDAR_DUE_AT)
    async def due_at(self, request: DueAtRequest) -> datetime:
        """The legal due time of `request.working_days` counted from `request.start`, in office time."""
        calendar = await self.load()
        with _refuse_invalid_requests():
            return calendar.due_at(request.start, request.working_days)

    @activity.defn(name=contracts.CALENDAR_SHIFT)
    async def shift(self, request: ShiftRequest) -> datetime:
        """`request.at` moved by `request.working_seconds` of working time (backwards when negative)."""
        calendar = await self.load()
        with _refuse_invalid_requests():
            return calendar.add_working_time(request.at, timedelta(seconds=request.working_seconds))

    @activity.defn(name=contracts.CALENDAR_WORKING_SECONDS)
    async def working_seconds_between(self, request: SpanRequest) -> int:
        """Whole seconds of working time inside [start, end) (fractions dropped); 0 when end <= start."""
        calendar = await self.load()
        with _refuse_invalid_requests():
            return calendar.working_time_between(request.start, request.end) // timedelta(seconds=1)

    @activity.defn(name=contracts.CALENDAR_ANSWER)
    async def answer(self, questions: CalendarQuestions) -> CalendarAnswers:
        """Every step of `questions` in order, on one calendar (contracts.CalendarStep)."""
        calendar = await self.load()
        times: list[datetime | None] = []
        seconds: list[int | None] = []
        with _refuse_invalid_requests():
            for n, step in enumerate(questions.steps):
                if any(ref is not None and not 0 <= ref < n for ref in (step.at_from, step.seconds_from)):
                    raise ValueError(f"calendar step {n} ({step.op}) refers to no earlier step")
                at = times[step.at_from] if step.at_from is not None else step.at
                span = seconds[step.seconds_from] if step.seconds_from is not None else step.working_seconds
                if at is None or span is None:
                    raise ValueError(f"calendar step {n} ({step.op}) has no time or no span to use")
                if step.op == "start":
                    times.append(calendar.due_at(at, 0))
                    seconds.append(None)
                elif step.op == "shift":
                    times.append(calendar.add_working_time(at, timedelta(seconds=span)))
                    seconds.append(None)
                elif step.op == "span" and step.end is not None:
                    times.append(None)
                    seconds.append(calendar.working_time_between(at, step.end) // timedelta(seconds=1))
                else:
                    raise ValueError(
                        f"calendar step {n}: no such question {step.op!r} (or a span without end)"
                    )
        return CalendarAnswers(times, seconds)
