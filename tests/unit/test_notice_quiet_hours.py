"""Quiet hours (22:00–06:00 office time) and the next allowed moments, at their edges."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from domain.quiet_hours import in_quiet_hours, next_day_at, next_local_time, quiet_hours_end_after

VN = ZoneInfo("Asia/Ho_Chi_Minh")
START, END = time(22, 0), time(6, 0)


def vn(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=VN)


@pytest.mark.parametrize(
    ("at", "quiet"),
    [
        (vn(23, 21, 59), False),
        (vn(23, 22, 0), True),
        (vn(23, 23, 30), True),
        (vn(24, 0, 0), True),
        (vn(24, 5, 59), True),
        (vn(24, 6, 0), False),
        (datetime(2026, 11, 23, 15, 30, tzinfo=UTC), True),  # 22:30 in Vietnam
        (datetime(2026, 11, 23, 23, 0, tzinfo=UTC), False),  # 06:00 the next morning in Vietnam
    ],
)
def test_in_quiet_hours(at: datetime, quiet: bool) -> None:
    assert in_quiet_hours(at, START, END, VN) is quiet


def test_a_window_within_one_day_and_an_empty_one() -> None:
    assert in_quiet_hours(vn(23, 12, 30), time(12, 0), time(13, 30), VN)
    assert not in_quiet_hours(vn(23, 13, 30), time(12, 0), time(13, 30), VN)
    assert not in_quiet_hours(vn(23, 3, 0), time(6, 0), time(6, 0), VN)


def test_when_sending_may_resume() -> None:
    assert quiet_hours_end_after(vn(23, 22, 0), START, END, VN) == vn(24, 6, 0)
    assert quiet_hours_end_after(vn(24, 1, 15), START, END, VN) == vn(24, 6, 0)
    assert quiet_hours_end_after(vn(24, 9, 0), START, END, VN) == vn(24, 9, 0)
    assert next_local_time(vn(24, 6, 0), time(6, 0), VN) == vn(25, 6, 0)
    assert next_day_at(vn(24, 1, 0), time(6, 0), VN) == vn(25, 6, 0)
    assert next_day_at(vn(23, 23, 59), time(6, 0), VN) == vn(24, 6, 0)
