"""The legal clock (domain/calendar.py): concrete cases computed by hand, then properties.

Office hours are the defaults: 07:00-11:30 and 13:30-17:00 (4.5 h + 3.5 h = 8 h a day), cut-off 15:00,
Monday to Friday, Asia/Ho_Chi_Minh (ICT, UTC+7). Holidays come from the `holidays` package as pinned.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.calendar import (
    OFFICE_TZ,
    OfficeHours,
    WorkingCalendar,
    vietnam_holiday_names,
    vietnam_public_holidays,
)

HOURS = OfficeHours()
CALENDAR = WorkingCalendar(HOURS)
DAY = timedelta(hours=8)


def ict(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """A local time of the office (ICT)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=OFFICE_TZ)


# ---------------------------------------------------------------- the holidays the package gives


def test_package_holidays_2026() -> None:
    # Tết Bính Ngọ: Lunar New Year is Tue 17/02/2026; eve Mon 16/02 to the 4th day Fri 20/02.
    # Hùng Kings falls on Sun 26/04, observed Mon 27/04. National Day: Tue 01/09 and Wed 02/09, plus
    # Mon 31/08 given off in exchange for working Sat 22/08 (the package lists only the day off).
    # 24/11 is the new Vietnam Cultural Day.
    assert sorted(vietnam_public_holidays(2026)) == [
        date(2026, 1, 1),
        date(2026, 2, 16),
        date(2026, 2, 17),
        date(2026, 2, 18),
        date(2026, 2, 19),
        date(2026, 2, 20),
        date(2026, 4, 26),
        date(2026, 4, 27),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 8, 31),
        date(2026, 9, 1),
        date(2026, 9, 2),
        date(2026, 11, 24),
    ]
    assert vietnam_holiday_names(2026)[date(2026, 8, 31)] == "Ngày nghỉ (thay cho ngày 22/08/2026)"


def test_package_holidays_2027() -> None:
    # Tết Đinh Mùi: Lunar New Year is Sat 06/02/2027. Days off: Thu 04/02 (29 Tết, for the Saturday),
    # Fri 05/02 (eve), Sat 06 and Sun 07, Mon 08 and Tue 09 (2nd-4th day), Wed 10/02 (5th day, for the
    # Sunday). Labour Day is a Saturday, observed Mon 03/05. National Day Thu 02/09 and Fri 03/09.
    assert sorted(vietnam_public_holidays(2027)) == [
        date(2027, 1, 1),
        date(2027, 2, 4),
        date(2027, 2, 5),
        date(2027, 2, 6),
        date(2027, 2, 7),
        date(2027, 2, 8),
        date(2027, 2, 9),
        date(2027, 2, 10),
        date(2027, 4, 16),
        date(2027, 4, 30),
        date(2027, 5, 1),
        date(2027, 5, 3),
        date(2027, 9, 2),
        date(2027, 9, 3),
        date(2027, 11, 24),
    ]


@pytest.mark.parametrize(
    ("day", "working"),
    [
        pytest.param(date(2026, 8, 21), True, id="fri-2026-08-21"),
        pytest.param(date(2026, 8, 22), False, id="sat-2026-08-22-swap-not-in-package"),
        pytest.param(date(2026, 8, 31), False, id="mon-2026-08-31-substituted"),
        pytest.param(date(2026, 9, 1), False, id="tue-2026-09-01"),
        pytest.param(date(2026, 9, 2), False, id="wed-2026-09-02"),
        pytest.param(date(2026, 9, 3), True, id="thu-2026-09-03"),
        pytest.param(date(2026, 4, 27), False, id="mon-2026-04-27-hung-kings-observed"),
        pytest.param(date(2027, 2, 3), True, id="wed-2027-02-03"),
        pytest.param(date(2027, 2, 10), False, id="wed-2027-02-10-tet-5th-day"),
        pytest.param(date(2027, 2, 11), True, id="thu-2027-02-11"),
        pytest.param(date(2027, 5, 3), False, id="mon-2027-05-03-labour-day-observed"),
        pytest.param(date(2026, 10, 18), False, id="sunday"),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


# ---------------------------------------------------------------- when the count starts


@pytest.mark.parametrize(
    ("received", "start"),
    [
        pytest.param(ict(2026, 10, 12, 6, 10), ict(2026, 10, 12, 7), id="before-07h-starts-07h"),
        pytest.param(ict(2026, 10, 12, 7), ict(2026, 10, 12, 7), id="exactly-07h"),
        pytest.param(ict(2026, 10, 12, 9, 20), ict(2026, 10, 12, 9, 20), id="inside-morning"),
        pytest.param(ict(2026, 10, 12, 11, 30), ict(2026, 10, 12, 13, 30), id="exactly-11h30-is-lunch"),
        pytest.param(ict(2026, 10, 12, 12, 15), ict(2026, 10, 12, 13, 30), id="lunch-gap-starts-13h30"),
        pytest.param(ict(2026, 10, 12, 14, 59), ict(2026, 10, 12, 14, 59), id="14h59"),
        # "After 15:00" is strict: 15:00:00 still counts from itself, 15:00:01 from the next working day.
        pytest.param(ict(2026, 10, 12, 15), ict(2026, 10, 12, 15), id="exactly-15h-same-day"),
        pytest.param(ict(2026, 10, 12, 15, 0, 1), ict(2026, 10, 13, 7), id="15h00m01-next-day"),
        pytest.param(ict(2026, 10, 12, 17, 30), ict(2026, 10, 13, 7), id="evening-next-day"),
        pytest.param(ict(2026, 10, 16, 16), ict(2026, 10, 19, 7), id="friday-16h-monday"),
        pytest.param(ict(2026, 10, 17, 9), ict(2026, 10, 19, 7), id="saturday-monday"),
        pytest.param(ict(2026, 9, 1, 9), ict(2026, 9, 3, 7), id="national-day-next-working-day"),
        # 02:00 UTC is 09:00 ICT: the caller's time zone does not matter.
        pytest.param(datetime(2026, 10, 12, 2, tzinfo=UTC), ict(2026, 10, 12, 9), id="given-in-utc"),
    ],
)
def test_clock_start(received: datetime, start: datetime) -> None:
    result = CALENDAR.clock_start(received)
    assert result == start
    assert result.tzinfo == OFFICE_TZ


# ---------------------------------------------------------------- due dates


@pytest.mark.parametrize(
    ("received", "working_days", "due"),
    [
        # Fri 16:00 is after the cut-off: count from Mon 19/10 07:00; 16 h = Mon and Tue, ends Tue 17:00.
        pytest.param(ict(2026, 10, 16, 16), 2, ict(2026, 10, 20, 17), id="friday-16h"),
        # Fri 14:00 counts the same day: Fri 3 h (14-17) + Mon 8 h + Tue 5 h (4.5 h morning + 13:30-14:00).
        pytest.param(ict(2026, 10, 16, 14), 2, ict(2026, 10, 20, 14), id="friday-14h"),
        # Wed 03/02/2027 09:00: 6 h that day (2.5 h + 3.5 h); Thu 04 to Wed 10 are Tết and the weekend;
        # Thu 11 (14 h) and Fri 12 (22 h); weekend; Mon 15/02 07:00 + 2 h = 09:00.
        pytest.param(ict(2027, 2, 3, 9), 3, ict(2027, 2, 15, 9), id="tet-2027"),
        # Wed 03/02/2027 16:00 is after the cut-off; the next working day is Thu 11/02 after Tết.
        pytest.param(ict(2027, 2, 3, 16), 1, ict(2027, 2, 11, 17), id="tet-2027-after-cutoff"),
        # Fri 28/08/2026 10:00: 5 h that day; Mon 31/08, Tue 01/09 and Wed 02/09 are off;
        # Thu 03/09 (13 h); Fri 04/09 07:00 + 3 h = 10:00.
        pytest.param(ict(2026, 8, 28, 10), 2, ict(2026, 9, 4, 10), id="national-day-2026"),
        # Fri 24/04/2026 16:00: after the cut-off, and Mon 27/04 is Hùng Kings observed: count from
        # Tue 28/04; Tue and Wed 29/04 are two days; Thu 30/04, Fri 01/05 and the weekend are off;
        # the third day is Mon 04/05.
        pytest.param(ict(2026, 4, 24, 16), 3, ict(2026, 5, 4, 17), id="hung-kings-30-4-1-5-2026"),
        # Mon 23/11/2026 09:00: 6 h that day; Tue 24/11 is Vietnam Cultural Day; Wed 25/11 07:00 + 2 h.
        pytest.param(ict(2026, 11, 23, 9), 1, ict(2026, 11, 25, 9), id="cultural-day-2026"),
        # Mon 07:00 + 8 h ends exactly at 17:00: that is the due time, not Tue 07:00.
        pytest.param(ict(2026, 10, 12, 7), 1, ict(2026, 10, 12, 17), id="due-exactly-17h"),
        # Mon 13:30: 3.5 h that day, Tue 07:00 + 4.5 h ends exactly at 11:30, not 13:30.
        pytest.param(ict(2026, 10, 12, 13, 30), 1, ict(2026, 10, 13, 11, 30), id="due-exactly-11h30"),
        # Lunch gap: count from 13:30; 3.5 h Mon + 8 h Tue + 4.5 h Wed = 16 h, ends Wed 11:30.
        pytest.param(ict(2026, 10, 12, 12, 15), 2, ict(2026, 10, 14, 11, 30), id="lunch-gap"),
        # Before opening: count from 07:00, one day ends 17:00 the same day.
        pytest.param(ict(2026, 10, 12, 6, 10), 1, ict(2026, 10, 12, 17), id="before-07h"),
        # Exactly 15:00 still counts that day: Mon 2 h + Tue 4.5 h + 1.5 h from 13:30 = Tue 15:00.
        pytest.param(ict(2026, 10, 12, 15), 1, ict(2026, 10, 13, 15), id="exactly-15h"),
        # One second later counts from Tue 07:00: Tue 17:00.
        pytest.param(ict(2026, 10, 12, 15, 0, 1), 1, ict(2026, 10, 13, 17), id="15h00m01"),
        # Saturday: count from Mon 07:00.
        pytest.param(ict(2026, 10, 17, 9), 1, ict(2026, 10, 19, 17), id="saturday"),
        # 02:00 UTC = 09:00 ICT Mon: 6 h Mon + 2 h Tue; the answer is in ICT.
        pytest.param(datetime(2026, 10, 12, 2, tzinfo=UTC), 1, ict(2026, 10, 13, 9), id="given-in-utc"),
        # Zero working days: the due time is the clock start.
        pytest.param(ict(2026, 10, 16, 16), 0, ict(2026, 10, 19, 7), id="zero-days"),
        # 15 working days from Mon 12/10/2026 09:00: three weeks later, Mon 02/11 09:00.
        pytest.param(ict(2026, 10, 12, 9), 15, ict(2026, 11, 2, 9), id="fifteen-days"),
    ],
)
def test_due_at(received: datetime, working_days: int, due: datetime) -> None:
    result = CALENDAR.due_at(received, working_days)
    assert result == due
    assert result.tzinfo == OFFICE_TZ


@pytest.mark.parametrize(
    ("received", "working_days", "overrides", "due"),
    [
        # Without an override Fri 21/08/2026 10:00 + 1 day = Fri 5 h + Mon 24/08 3 h = Mon 10:00.
        pytest.param(ict(2026, 8, 21, 10), 1, {}, ict(2026, 8, 24, 10), id="no-override"),
        # Sat 22/08/2026 is worked (swap for Mon 31/08): Fri 5 h + Sat 07:00 + 3 h = Sat 10:00.
        pytest.param(
            ict(2026, 8, 21, 10),
            1,
            {date(2026, 8, 22): True},
            ict(2026, 8, 22, 10),
            id="saturday-made-working",
        ),
        # Received on the worked Saturday 08:00: 3.5 h + 3.5 h on Sat, Mon 24/08 07:00 + 1 h.
        pytest.param(
            ict(2026, 8, 22, 8),
            1,
            {date(2026, 8, 22): True},
            ict(2026, 8, 24, 8),
            id="received-on-worked-saturday",
        ),
        # Tết 2027 case (due Mon 15/02 09:00) with Mon 15/02 made a day off: the 2 h move to Tue 16/02.
        pytest.param(
            ict(2027, 2, 3, 9), 3, {date(2027, 2, 15): False}, ict(2027, 2, 16, 9), id="weekday-made-day-off"
        ),
        # An override beats the package, Wed 10/02/2027 worked: Wed 03 6 h, Wed 10 14 h, Thu 22 h, Fri +2 h.
        pytest.param(
            ict(2027, 2, 3, 9), 3, {date(2027, 2, 10): True}, ict(2027, 2, 12, 9), id="holiday-made-working"
        ),
    ],
)
def test_due_at_with_overrides(
    received: datetime, working_days: int, overrides: dict[date, bool], due: datetime
) -> None:
    assert WorkingCalendar(HOURS, overrides=overrides).due_at(received, working_days) == due


def test_fee_pause_across_a_weekend_moves_the_due_time_by_the_working_time_waited() -> None:
    # Received Mon 12/10/2026 09:00 with 5 working days: Mon 6 h + Tue-Fri 32 h + Mon 19/10 2 h = 09:00.
    due = CALENDAR.due_at(ict(2026, 10, 12, 9), 5)
    assert due == ict(2026, 10, 19, 9)
    # Fee requested Fri 16/10 14:00, paid Mon 19/10 08:00: Fri 14-17 (3 h) + weekend (0) + Mon 07-08 (1 h).
    fee_at, paid_at = ict(2026, 10, 16, 14), ict(2026, 10, 19, 8)
    paused = CALENDAR.working_time_between(fee_at, paid_at)
    assert paused == timedelta(hours=4)
    # Mon 09:00 + 4 h: 2.5 h to 11:30, then 13:30 + 1.5 h.
    assert CALENDAR.add_working_time(due, paused) == ict(2026, 10, 19, 15)
    # Same answer counted the other way: the 5 h left at the pause, counted from the payment.
    left = CALENDAR.working_time_between(fee_at, due)
    assert left == timedelta(hours=5)
    assert CALENDAR.add_working_time(paid_at, left) == ict(2026, 10, 19, 15)


@pytest.mark.parametrize(
    ("supplement_at", "due"),
    [
        # Arrives Thu 15/10 10:00: 5 h Thu + Fri, Mon, Tue, Wed (32 h) + Thu 22/10 07:00 + 3 h.
        pytest.param(ict(2026, 10, 15, 10), ict(2026, 10, 22, 10), id="before-cutoff"),
        # Arrives Thu 15/10 15:30, after the cut-off: count five whole days from Fri 16/10 07:00.
        pytest.param(ict(2026, 10, 15, 15, 30), ict(2026, 10, 22, 17), id="after-cutoff"),
    ],
)
def test_supplement_restarts_the_count_from_zero(supplement_at: datetime, due: datetime) -> None:
    received, working_days = ict(2026, 10, 12, 9), 5
    assert CALENDAR.due_at(received, working_days) == ict(2026, 10, 19, 9)
    # Whatever had been used before the supplement request, the count restarts in full.
    assert CALENDAR.due_at(supplement_at, working_days) == due


def test_supplement_request_limit_is_three_working_days_after_receipt() -> None:
    # Received Mon 12/10/2026 09:00: a request up to Thu 15/10 09:00 is on time.
    limit = CALENDAR.due_at(ict(2026, 10, 12, 9), 3)
    assert limit == ict(2026, 10, 15, 9)
    assert CALENDAR.working_time_between(ict(2026, 10, 12, 9), ict(2026, 10, 15, 9, 1)) > 3 * DAY


# ---------------------------------------------------------------- shifting and measuring


@pytest.mark.parametrize(
    ("start", "duration", "result"),
    [
        pytest.param(
            ict(2026, 10, 12, 10), timedelta(hours=1, minutes=30), ict(2026, 10, 12, 11, 30), id="to-11h30"
        ),
        pytest.param(
            ict(2026, 10, 12, 10),
            timedelta(hours=1, minutes=30, microseconds=1),
            datetime(2026, 10, 12, 13, 30, 0, 1, tzinfo=OFFICE_TZ),
            id="just-past-11h30",
        ),
        # From the lunch gap, forward counts from 13:30.
        pytest.param(
            ict(2026, 10, 13, 12), timedelta(hours=1), ict(2026, 10, 13, 14, 30), id="from-lunch-gap"
        ),
        pytest.param(ict(2026, 10, 17, 10), timedelta(hours=1), ict(2026, 10, 19, 8), id="from-saturday"),
        # Zero leaves the instant as it is, even outside working time.
        pytest.param(ict(2026, 10, 13, 12), timedelta(0), ict(2026, 10, 13, 12), id="zero-in-lunch-gap"),
        # Backwards: landing on a period's start stays there (Fri 07:00, not Thu 17:00).
        pytest.param(ict(2026, 10, 16, 17), -DAY, ict(2026, 10, 16, 7), id="back-one-day-from-17h"),
        pytest.param(ict(2026, 10, 13, 9), -DAY, ict(2026, 10, 12, 9), id="back-one-day-from-09h"),
        pytest.param(
            ict(2026, 10, 13, 14), -timedelta(minutes=30), ict(2026, 10, 13, 13, 30), id="back-to-13h30"
        ),
        pytest.param(
            ict(2026, 10, 13, 14), -timedelta(minutes=31), ict(2026, 10, 13, 11, 29), id="back-past-lunch"
        ),
        # Mon 08:00 - 2 h: 1 h back to Mon 07:00, the weekend is skipped, 1 h back from Fri 17:00.
        pytest.param(
            ict(2026, 10, 19, 8), -timedelta(hours=2), ict(2026, 10, 16, 16), id="back-over-weekend"
        ),
        pytest.param(
            ict(2026, 10, 17, 10), -timedelta(hours=1), ict(2026, 10, 16, 16), id="back-from-saturday"
        ),
        # Mon 12/10 07:00 - 4.5 h: Fri 09/10 13:30-17:00 (3.5 h), then 1 h back from 11:30.
        pytest.param(
            ict(2026, 10, 12, 7),
            -timedelta(hours=4, minutes=30),
            ict(2026, 10, 9, 10, 30),
            id="back-to-friday",
        ),
    ],
)
def test_add_working_time(start: datetime, duration: timedelta, result: datetime) -> None:
    assert CALENDAR.add_working_time(start, duration) == result


@pytest.mark.parametrize(
    ("start", "end", "working_time"),
    [
        pytest.param(
            ict(2026, 10, 16, 14), ict(2026, 10, 19, 8), timedelta(hours=4), id="fri-14h-to-mon-08h"
        ),
        pytest.param(ict(2026, 10, 12), ict(2026, 10, 13), DAY, id="whole-monday"),
        pytest.param(ict(2026, 10, 12, 11, 45), ict(2026, 10, 12, 13), timedelta(0), id="inside-lunch-gap"),
        pytest.param(ict(2026, 10, 17, 8), ict(2026, 10, 18, 16), timedelta(0), id="weekend"),
        pytest.param(ict(2026, 10, 12, 9), ict(2026, 10, 12, 9), timedelta(0), id="empty"),
        pytest.param(ict(2026, 10, 13, 9), ict(2026, 10, 12, 9), timedelta(0), id="reversed"),
        # 03/02/2027 to 12/02/2027: only Wed 03 and Thu 11 are worked.
        pytest.param(ict(2027, 2, 3), ict(2027, 2, 12), 2 * DAY, id="over-tet-2027"),
        # 01:00 UTC to 07:00 UTC is 08:00-14:00 ICT: 3.5 h + 0.5 h.
        pytest.param(
            datetime(2026, 10, 12, 1, tzinfo=UTC),
            datetime(2026, 10, 12, 7, tzinfo=UTC),
            timedelta(hours=4),
            id="utc",
        ),
    ],
)
def test_working_time_between(start: datetime, end: datetime, working_time: timedelta) -> None:
    assert CALENDAR.working_time_between(start, end) == working_time


# ---------------------------------------------------------------- configuration and refusals


def test_office_hours_come_from_configuration() -> None:
    # An office that also works Saturdays, with a 12:00 cut-off and no holidays.
    hours = OfficeHours(
        periods=((time(7, 0), time(11, 30)), (time(13, 30), time(17, 0))),
        cutoff=time(12, 0),
        weekdays=frozenset({0, 1, 2, 3, 4, 5}),
    )
    calendar = WorkingCalendar(hours, holidays=())
    assert hours.day_length == DAY
    # Fri 16/10 12:30 is after this cut-off: count from Sat 17/10 07:00, one day ends Sat 17:00.
    assert calendar.due_at(ict(2026, 10, 16, 12, 30), 1) == ict(2026, 10, 17, 17)


def test_holidays_from_a_function_are_built_once_per_year() -> None:
    years: list[int] = []

    def holidays_of(year: int) -> frozenset[date]:
        years.append(year)
        return frozenset({date(year, 10, 13)})

    calendar = WorkingCalendar(HOURS, holidays=holidays_of)
    # Mon 12/10 09:00 + 2 days: 6 h Mon, Tue 13/10 is a holiday here, Wed 8 h, Thu 07:00 + 2 h.
    assert calendar.due_at(ict(2026, 10, 12, 9), 2) == ict(2026, 10, 15, 9)
    assert calendar.due_at(ict(2026, 10, 12, 9), 2) == ict(2026, 10, 15, 9)
    assert years == [2026]


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: CALENDAR.clock_start(datetime(2026, 10, 12, 9)), id="naive-clock-start"),
        pytest.param(lambda: CALENDAR.due_at(datetime(2026, 10, 12, 9), 1), id="naive-due-at"),
        pytest.param(lambda: CALENDAR.add_working_time(datetime(2026, 10, 12, 9), DAY), id="naive-add"),
        pytest.param(
            lambda: CALENDAR.working_time_between(ict(2026, 10, 12), datetime(2026, 10, 13)),
            id="naive-between",
        ),
        pytest.param(lambda: CALENDAR.due_at(ict(2026, 10, 12, 9), -1), id="negative-days"),
        pytest.param(lambda: OfficeHours(periods=()), id="no-periods"),
        pytest.param(lambda: OfficeHours(periods=((time(11), time(7)),)), id="backwards-period"),
        pytest.param(
            lambda: OfficeHours(periods=((time(7), time(12)), (time(11), time(17)))), id="overlapping-periods"
        ),
        pytest.param(lambda: OfficeHours(weekdays=frozenset()), id="no-weekdays"),
        pytest.param(lambda: OfficeHours(weekdays=frozenset({7})), id="bad-weekday"),
        pytest.param(
            lambda: WorkingCalendar(
                HOURS, overrides=dict.fromkeys(_days(date(2026, 1, 1), 500), False)
            ).due_at(ict(2026, 1, 1, 9), 1),
            id="no-working-day-in-sight",
        ),
        pytest.param(
            lambda: WorkingCalendar(
                HOURS, overrides=dict.fromkeys(_days(date(2026, 1, 1), 500), False)
            ).add_working_time(ict(2026, 1, 1, 9), DAY),
            id="no-working-day-ahead",
        ),
        pytest.param(
            lambda: WorkingCalendar(
                HOURS, overrides=dict.fromkeys(_days(date(2024, 8, 1), 520), False)
            ).add_working_time(ict(2026, 1, 1, 9), -DAY),
            id="no-working-day-behind",
        ),
    ],
)
def test_refuses(call: object) -> None:
    assert callable(call)
    with pytest.raises(ValueError):  # noqa: PT011  (each case is a different refusal)
        call()


def _days(first: date, count: int) -> list[date]:
    return [first + timedelta(days=offset) for offset in range(count)]


# ---------------------------------------------------------------- properties

FIRST, LAST = datetime(2025, 1, 1), datetime(2028, 12, 31)
instants = st.datetimes(min_value=FIRST, max_value=LAST, timezones=st.just(OFFICE_TZ))
working_days_counts = st.integers(min_value=1, max_value=60)
durations = st.integers(min_value=1, max_value=40 * 8 * 3600).map(lambda seconds: timedelta(seconds=seconds))


@st.composite
def working_instants(draw: st.DrawFn, *, closed: bool = True) -> datetime:
    """An instant inside a period of a working day; `closed` allows the period's end itself."""
    day = draw(st.dates(min_value=FIRST.date(), max_value=LAST.date()))
    assume(CALENDAR.is_working_day(day))
    start, end = draw(st.sampled_from(CALENDAR.working_periods(day)))
    length = int((end - start).total_seconds())
    offset = draw(st.integers(min_value=0, max_value=length if closed else length - 1))
    return start + timedelta(seconds=offset)


def _inside_working_time(instant: datetime) -> bool:
    """period start < instant <= period end, for a period of a working day."""
    periods = CALENDAR.working_periods(instant.astimezone(OFFICE_TZ).date())
    return any(start < instant <= end for start, end in periods)


@settings(max_examples=200, deadline=None)
@given(received=instants, working_days=working_days_counts)
def test_due_at_is_inside_working_time(received: datetime, working_days: int) -> None:
    due = CALENDAR.due_at(received, working_days)
    assert _inside_working_time(due)
    assert due.tzinfo == OFFICE_TZ


@settings(max_examples=200, deadline=None)
@given(received=instants, working_days=st.integers(min_value=0, max_value=60))
def test_due_at_grows_with_working_days(received: datetime, working_days: int) -> None:
    assert CALENDAR.due_at(received, working_days) < CALENDAR.due_at(received, working_days + 1)


@settings(max_examples=200, deadline=None)
@given(start=working_instants(), first=durations, second=durations)
def test_adding_twice_is_adding_the_sum(start: datetime, first: timedelta, second: timedelta) -> None:
    assert CALENDAR.add_working_time(CALENDAR.add_working_time(start, first), second) == (
        CALENDAR.add_working_time(start, first + second)
    )


@settings(max_examples=200, deadline=None)
@given(start=instants, duration=durations)
def test_working_time_between_measures_what_was_added(start: datetime, duration: timedelta) -> None:
    assert CALENDAR.working_time_between(start, CALENDAR.add_working_time(start, duration)) == duration


@settings(max_examples=200, deadline=None)
@given(start=working_instants(closed=False), duration=durations)
def test_shifting_back_undoes_shifting_forward(start: datetime, duration: timedelta) -> None:
    # Holds off period ends: from 11:30 forward and back lands on the equivalent 13:30.
    forward = CALENDAR.add_working_time(start, duration)
    assert CALENDAR.add_working_time(forward, -duration) == start
    assert CALENDAR.working_time_between(CALENDAR.add_working_time(start, -duration), start) == duration
