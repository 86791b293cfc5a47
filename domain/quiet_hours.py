"""Quiet hours for notices (22:00–06:00 office time by default): pure, safe inside workflows."""

from __future__ import annotations

from datetime import datetime, time, timedelta, tzinfo


def in_quiet_hours(at: datetime, start: time, end: time, tz: tzinfo) -> bool:
    """True when `at` (aware) falls in [start, end) office time; the window may cross midnight."""
    local = at.astimezone(tz).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end_after(at: datetime, start: time, end: time, tz: tzinfo) -> datetime:
    """When sending may resume: the next `end` o'clock after `at`, or `at` itself outside quiet hours."""
    if not in_quiet_hours(at, start, end, tz):
        return at
    return next_local_time(at, end, tz)


def next_local_time(at: datetime, clock: time, tz: tzinfo) -> datetime:
    """The first moment strictly after `at` when the office clock shows `clock`."""
    local = at.astimezone(tz)
    candidate = datetime.combine(local.date(), clock, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), clock, tzinfo=tz)
    return candidate


def next_day_at(at: datetime, clock: time, tz: tzinfo) -> datetime:
    """`clock` o'clock on the calendar day after `at` (office time): when daily quotas have reset."""
    local = at.astimezone(tz)
    return datetime.combine(local.date() + timedelta(days=1), clock, tzinfo=tz)
