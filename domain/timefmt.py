"""Office time: Asia/Ho_Chi_Minh (UTC+7 all year, no daylight saving), and how Vietnamese texts write it."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

# A fixed offset rather than a tz database lookup: Vietnam has kept UTC+7 since 1975, and workflow code
# must not read files.
OFFICE_TZ = timezone(timedelta(hours=7), "ICT")


def to_office(at: datetime) -> datetime:
    return at.astimezone(OFFICE_TZ)


def vn_datetime(at: datetime | None) -> str:
    """dd/MM/yyyy HH:mm in office time, as notices and pages print it."""
    return to_office(at).strftime("%d/%m/%Y %H:%M") if at else ""


def parse_hhmm(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def next_send_time(now: datetime, quiet_start: str, quiet_end: str) -> datetime | None:
    """When a notice may go out if `now` is inside quiet hours (e.g. 22:00–06:00); None if it may go now."""
    start, end = parse_hhmm(quiet_start), parse_hhmm(quiet_end)
    local = to_office(now)
    t = local.timetz().replace(tzinfo=None)
    overnight = start > end
    inside = (t >= start or t < end) if overnight else (start <= t < end)
    if not inside:
        return None
    day = local.date() + timedelta(days=1) if overnight and t >= start else local.date()
    return datetime.combine(day, end, tzinfo=OFFICE_TZ)
