"""The working-day calendar as Temporal activities (the dossier workflow calls them as local activities).

Each call reads the overrides table afresh, so an administrator's change applies to every deadline
computed after it; workflow code stays deterministic because it only sees the answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.calendar import override_days
from db.engine import SessionFactory
from domain.calendar import OfficeHours, WorkingCalendar
from settings import Settings

INVALID_CALENDAR_REQUEST = "InvalidCalendarRequest"


@dataclass
class DueAtRequest:
    """A due time to compute: `working_days` counted from `start` (cut-off rules apply to `start`)."""

    start: datetime  # received or supplement-arrival time (legal time of the event)
    working_days: int


@dataclass
class ShiftRequest:
    """An instant to move by working time."""

    at: datetime
    working_seconds: int  # negative walks backwards


@dataclass
class SpanRequest:
    """An interval whose working time to measure, [start, end)."""

    start: datetime
    end: datetime


def office_hours(settings: Settings) -> OfficeHours:
    """The office's hours as the settings describe them (raises ValueError when they make no sense)."""
    return OfficeHours(
        periods=tuple((start, end) for start, end in settings.office_periods),
        cutoff=settings.cutoff_time,
        weekdays=frozenset(settings.working_weekdays),
        tz=ZoneInfo(settings.office_timezone),
    )


@contextmanager
def _refuse_invalid_requests() -> Iterator[None]:
    """A naive datetime or a negative day count will not get better on retry: fail the call at once."""
    try:
        yield
    except ValueError as error:
        raise ApplicationError(str(error), type=INVALID_CALENDAR_REQUEST, non_retryable=True) from error


class CalendarActivities:
    """Calendar answers for workflows: office hours from settings, holidays, overrides from the database."""

    def __init__(self, session_factory: SessionFactory, settings: Settings) -> None:
        self._session_factory = session_factory
        # Built once, so bad office-hour settings stop the worker at start-up rather than a workflow later.
        self._hours = office_hours(settings)

    async def load(self) -> WorkingCalendar:
        """The calendar as of now: settings' office hours, the package's holidays, the current overrides."""
        async with self._session_factory() as session:
            overrides = await override_days(session)
        return WorkingCalendar(self._hours, overrides=overrides)

    @activity.defn(name="calendar.due_at")
    async def due_at(self, request: DueAtRequest) -> datetime:
        """The legal due time of `request.working_days` counted from `request.start`, in office time."""
        calendar = await self.load()
        with _refuse_invalid_requests():
            return calendar.due_at(request.start, request.working_days)

    @activity.defn(name="calendar.shift")
    async def shift(self, request: ShiftRequest) -> datetime:
        """`request.at` moved by `request.working_seconds` of working time (backwards when negative)."""
        calendar = await self.load()
        with _refuse_invalid_requests():
            return calendar.add_working_time(request.at, timedelta(seconds=request.working_seconds))

    @activity.defn(name="calendar.working_seconds_between")
    async def working_seconds_between(self, request: SpanRequest) -> int:
        """Whole seconds of working time inside [start, end) (fractions dropped); 0 when end <= start."""
        calendar = await self.load()
        with _refuse_invalid_requests():
            return calendar.working_time_between(request.start, request.end) // timedelta(seconds=1)
