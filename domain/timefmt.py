"""Office time: Asia/Ho_Chi_Minh (UTC+7 all year, no daylight saving), and how Vietnamese texts write it."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from domain.quiet_hours import in_quiet_hours, quiet_hours_end_after

# The office time zone, the one definition (no setting: every Vietnamese office keeps the same time). A
# fixed offset rather than a tz database lookup: Vietnam has kept UTC+7 since 1975, and workflow code must
# not read files.
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
    if not in_quiet_hours(now, start, end, OFFICE_TZ):
        return None
    return quiet_hours_end_after(now, start, end, OFFICE_TZ)


def iso(at: datetime | None) -> str | None:
    """ISO 8601 with its offset, as timeline details and notice contexts hold times (JSON)."""
    return at.isoformat() if at else None
