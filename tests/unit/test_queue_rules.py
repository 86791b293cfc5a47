"""Queue numbers' pure rules (domain/queue.py): when a number is given, and what an OA message asks for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.calendar import OfficeHours, WorkingCalendar
from domain.queue import OaQueueAsk, Refused, TicketStatus, office_day, opening, read_oa_queue, shown_status

ICT = timezone(timedelta(hours=7))
CALENDAR = WorkingCalendar(OfficeHours(), holidays=frozenset({date(2026, 11, 24)}))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ICT)


@pytest.mark.parametrize(
    ("moment", "waiting", "refused"),
    [
        (at(25, 9), 0, None),
        (at(25, 9), 20, None),  # 8 hours left minus lunch: room for many
        (at(25, 6, 59), 0, Refused.NOT_YET_OPEN),
        (at(25, 7), 0, None),
        (at(25, 12), 0, None),  # lunch: the afternoon's time counts
        (at(25, 16, 55), 0, None),  # exactly 5 minutes left: one fits
        (at(25, 16, 55), 1, Refused.CLOSED),
        (at(25, 16, 56), 0, Refused.CLOSED),
        (at(25, 17, 0), 0, Refused.CLOSED),
        (at(25, 23, 0), 0, Refused.CLOSED),
        (at(24, 9), 0, Refused.CLOSED_DAY),  # a holiday
        (at(28, 9), 0, Refused.CLOSED_DAY),  # a Saturday
        (at(25, 14), 36, Refused.CLOSED),  # 3 h left: 36 fit, not 37
        (at(25, 14), 35, None),
    ],
)
def test_a_number_is_given_only_while_the_day_can_serve_it(
    moment: datetime, waiting: int, refused: Refused | None
) -> None:
    assert opening(CALENDAR, moment, waiting).refused == refused


def test_a_refusal_says_when_numbers_are_given_again() -> None:
    assert opening(CALENDAR, at(23, 17), 0).next_opening == at(25, 7)  # Tuesday is a holiday
    assert opening(CALENDAR, at(25, 6), 0).next_opening == at(25, 7)
    assert opening(CALENDAR, at(27, 16, 58), 0).next_opening == at(30, 7)  # Friday → Monday


def test_numbers_belong_to_the_office_day_and_an_old_open_one_expires() -> None:
    assert office_day(datetime(2026, 11, 25, 17, 30, tzinfo=UTC)) == date(2026, 11, 26)
    assert shown_status("waiting", date(2026, 11, 25), date(2026, 11, 26)) == TicketStatus.EXPIRED
    assert shown_status("called", date(2026, 11, 25), date(2026, 11, 26)) == TicketStatus.EXPIRED
    assert shown_status("served", date(2026, 11, 25), date(2026, 11, 26)) == TicketStatus.SERVED
    assert shown_status("waiting", date(2026, 11, 26), date(2026, 11, 26)) == TicketStatus.WAITING


@pytest.mark.parametrize(
    ("message", "ask"),
    [
        ("STT H21.65", OaQueueAsk("H21.65")),
        ("stt h21.65", OaQueueAsk("H21.65")),
        ("Lấy số H21.65 giúp tôi", OaQueueAsk("H21.65")),
        ("so thu tu: H21.65", OaQueueAsk("H21.65")),
        ("STT", OaQueueAsk("")),
        ("STT <mã>", OaQueueAsk("")),
        ("TT khai sinh", None),
        ("STTX", None),
        ("PA H21.65-261123-0001 chậm", None),
        ("H21.65-261123-0001", None),
    ],
)
def test_what_an_oa_message_asks_for(message: str, ask: OaQueueAsk | None) -> None:
    assert read_oa_queue(message) == ask
