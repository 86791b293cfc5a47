"""The working-day calendar as Temporal activities (the dossier workflow calls them as local activities).

Each call reads the overrides table afresh, so an administrator's change applies to every deadline
computed after it; workflow code stays deterministic because it only sees the answers.
"""

from __future__ import annotations

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
from workflows.contracts import DueAtRequest, ShiftRequest, SpanRequest


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

    def __init__(self, session_factory: SessionFactory, settings: Settings) -> None:
        self._session_factory = session_factory
        # Built once, so bad office-hour settings stop the worker at start-up rather than a workflow later.
        self._hours = settings.office_hours()

    def activity_functions(self) -> list[Callable[..., Any]]:
        """What to pass as `Worker(activities=…)`."""
        return [self.due_at, self.shift, self.working_seconds_between]

    async def load(self) -> WorkingCalendar:
        """The calendar as of now: settings' office hours, the package's holidays, the current overrides."""
        async with self._session_factory() as session:
            return await office_calendar(session, self._hours)

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
