"""The legal clock: office hours, working days and working-time arithmetic (Asia/Ho_Chi_Minh).

Pure and deterministic: no I/O, no clock reads. Every public method takes timezone-aware datetimes and
returns them in the office time zone. Arithmetic runs on UTC instants, so the answer never depends on the
time zone a caller happened to use.

The rules, in terms of W(t), the working time elapsed up to instant t (flat outside office periods):
- `add_working_time(t, d)` for d > 0 is the *earliest* instant u with W(u) = W(t) + d, so a result on a
  period's end stays there (17:00, 11:30) rather than jumping to the next period's start;
- for d < 0 it is the *latest* instant u with W(u) = W(t) - |d|, so a result on a period's start stays
  there (07:00, 13:30) rather than jumping back to the previous period's end;
- for d == 0 it is t itself (in the office time zone).

Workflows get calendar answers from activities/calendar.py (the overrides table can change while a
dossier runs).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from domain.timefmt import OFFICE_TZ

# A calendar without a single working day in this many consecutive days is misconfigured, not slow.
_MAX_IDLE_DAYS = 400

HolidaySource = Collection[date] | Callable[[int], Collection[date]]
"""Public holidays: a fixed collection of dates, or a function from a year to that year's dates."""


@dataclass(frozen=True)
class OfficeHours:
    """When the one-stop office works: its periods of a working day, the cut-off and the working weekdays.

    `periods` are (start, end) local times, in order and not overlapping; `weekdays` are
    `date.weekday()` numbers (Monday = 0); `cutoff` is the latest local time at which a receipt still
    counts from the same day.
    """

    periods: tuple[tuple[time, time], ...] = ((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0)))
    cutoff: time = time(15, 0)
    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    tz: tzinfo = field(default=OFFICE_TZ)

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("office hours need at least one period")
        previous_end: time | None = None
        for start, end in self.periods:
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office periods are local times without a time zone")
            if not start < end:
                raise ValueError(f"office period {start}-{end} does not end after it starts")
            if previous_end is not None and start < previous_end:
                raise ValueError("office periods must be in order and must not overlap")
            previous_end = end
        if self.cutoff.tzinfo is not None:
            raise ValueError("the cut-off is a local time without a time zone")
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError("working weekdays must be a non-empty subset of 0 (Monday) .. 6 (Sunday)")

    @property
    def day_length(self) -> timedelta:
        """The working time of one working day (8 hours with the default periods)."""
        return sum(
            (
                datetime.combine(date.min, end) - datetime.combine(date.min, start)
                for start, end in self.periods
            ),
            timedelta(0),
        )


@lru_cache(maxsize=64)
def vietnam_public_holidays(year: int) -> frozenset[date]:
    """Vietnam's days off in `year` from the `holidays` package: holidays, observed and substituted days.

    The package lists the days off of a government swap (e.g. 2026-08-31) but not the Saturday worked in
    exchange (2026-08-22): those come from the override table.
    """
    return frozenset(vietnam_holiday_names(year))


@lru_cache(maxsize=64)
def _holiday_names(year: int, language: str) -> tuple[tuple[date, str], ...]:
    # Imported late: keeps the package out of workflow sandboxes that import this module.
    import holidays

    # Neighbouring years too: an observed or substituted day may be listed under the year of its holiday.
    table = holidays.country_holidays("VN", years=range(year - 1, year + 2), language=language)
    return tuple(sorted((day, str(name)) for day, name in table.items() if day.year == year))


def vietnam_holiday_names(year: int, language: str = "vi") -> dict[date, str]:
    """Vietnam's days off in `year`, each with its name (Vietnamese by default), in date order."""
    return dict(_holiday_names(year, language))


class WorkingCalendar:
    """Working days and working-time arithmetic for one office.

    `holidays` is a collection of dates or, to build them lazily, a function of the year (each year's set
    is built once and cached). `overrides` win over everything else: True makes a day a working day (a
    Saturday worked in a government swap), False makes it a day off.
    """

    def __init__(
        self,
        hours: OfficeHours,
        holidays: HolidaySource = vietnam_public_holidays,
        overrides: Mapping[date, bool] | None = None,
    ) -> None:
        self.hours = hours
        self.overrides: Mapping[date, bool] = dict(overrides or {})
        self._holiday_source: Callable[[int], Collection[date]] | None = None
        self._fixed_holidays: frozenset[date] = frozenset()
        if callable(holidays):
            self._holiday_source = holidays
        else:
            self._fixed_holidays = frozenset(holidays)
        self._holidays_by_year: dict[int, frozenset[date]] = {}

    def _is_holiday(self, day: date) -> bool:
        if self._holiday_source is None:
            return day in self._fixed_holidays
        year_holidays = self._holidays_by_year.get(day.year)
        if year_holidays is None:
            year_holidays = frozenset(self._holiday_source(day.year))
            self._holidays_by_year[day.year] = year_holidays
        return day in year_holidays

    def is_working_day(self, day: date) -> bool:
        """True when the office works on `day`: an override decides, else weekday and not a holiday."""
        override = self.overrides.get(day)
        if override is not None:
            return override
        return day.weekday() in self.hours.weekdays and not self._is_holiday(day)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for offset in range(1, _MAX_IDLE_DAYS + 1):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_IDLE_DAYS} days after {day}")

    def working_periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The office periods of `day` as aware datetimes in the office time zone; empty on a day off."""
        return [
            (start.astimezone(self.hours.tz), end.astimezone(self.hours.tz))
            for start, end in self._periods(day)
        ]

    def _periods(self, day: date) -> list[tuple[datetime, datetime]]:
        """The office periods of `day` as UTC instants; empty on a day off."""
        if not self.is_working_day(day):
            return []
        tz = self.hours.tz
        return [
            (
                datetime.combine(day, start, tzinfo=tz).astimezone(UTC),
                datetime.combine(day, end, tzinfo=tz).astimezone(UTC),
            )
            for start, end in self.hours.periods
        ]

    def _local_day(self, instant: datetime) -> date:
        return instant.astimezone(self.hours.tz).date()

    def clock_start(self, at: datetime) -> datetime:
        """When the legal count starts for something received at `at`.

        Inside a period of a working day, up to and including the cut-off (15:00:00 exactly still counts
        from that moment, since the rule says "after 15:00"), the count starts at `at`; before a period
        or in the lunch gap it starts at the next period's start that day; after the cut-off, after the
        last period or on a day off it starts at the first period of the next working day.
        """
        instant = _utc(at, "at")
        local = instant.astimezone(self.hours.tz)
        if local.time() <= self.hours.cutoff:
            for start, end in self._periods(local.date()):
                if instant < end:
                    return max(start, instant).astimezone(self.hours.tz)
        next_day = self.next_working_day(local.date())
        return self._periods(next_day)[0][0].astimezone(self.hours.tz)

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """`start` moved by `duration` of working time (backwards when negative).

        Forwards, a result on the end of a period is that end (17:00, 11:30); backwards, a result on the
        start of a period is that start (07:00, 13:30). A zero duration returns `start` unchanged.
        """
        instant = _utc(start, "start")
        if duration > timedelta(0):
            result = self._forward(instant, duration)
        elif duration < timedelta(0):
            result = self._backward(instant, -duration)
        else:
            result = instant
        return result.astimezone(self.hours.tz)

    def _forward(self, instant: datetime, remaining: timedelta) -> datetime:
        day = self._local_day(instant)
        idle_days = 0
        while idle_days <= _MAX_IDLE_DAYS:
            periods = self._periods(day)
            idle_days = 0 if periods else idle_days + 1
            for period_start, period_end in periods:
                if period_end <= instant:
                    continue
                begin = max(period_start, instant)
                available = period_end - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_IDLE_DAYS} days after {day}")

    def _backward(self, instant: datetime, remaining: timedelta) -> datetime:
        day = self._local_day(instant)
        idle_days = 0
        while idle_days <= _MAX_IDLE_DAYS:
            periods = self._periods(day)
            idle_days = 0 if periods else idle_days + 1
            for period_start, period_end in reversed(periods):
                if period_start >= instant:
                    continue
                end = min(period_end, instant)
                available = end - period_start
                if remaining <= available:
                    return end - remaining
                remaining -= available
            day -= timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_IDLE_DAYS} days before {day}")

    def due_at(self, received_at: datetime, working_days: int) -> datetime:
        """The legal due time: `working_days` whole working days counted from `clock_start(received_at)`."""
        if working_days < 0:
            raise ValueError(f"working_days must not be negative, got {working_days}")
        return self.add_working_time(self.clock_start(received_at), working_days * self.hours.day_length)

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """The working time inside [start, end); zero when `end` is not after `start`."""
        begin = _utc(start, "start")
        finish = _utc(end, "end")
        total = timedelta(0)
        if finish <= begin:
            return total
        day, last_day = self._local_day(begin), self._local_day(finish)
        while day <= last_day:
            for period_start, period_end in self._periods(day):
                low, high = max(period_start, begin), min(period_end, finish)
                if high > low:
                    total += high - low
            day += timedelta(days=1)
        return total


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)
