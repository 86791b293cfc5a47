"""Queue numbers (lấy số thứ tự) at an agency's one-stop desk: when a number may be taken, who may hold
how many, how many are ahead, and what an OA message asking for one says.

Pure: no clock reads, no I/O. The numbers themselves are allocated in the database (db/queue.py).

The rules (the figures are in domain/limits.py):
- a number belongs to an agency and an office day (Vietnam time): the first of each day is 1, so numbers
  reset daily;
- numbers are given on working days of the office calendar (holidays and overrides included), from the
  start of the day's first office period to its end, and only while the working time left in the day
  (the lunch break does not count) can still serve everyone waiting plus the new number at
  QUEUE_SERVICE_TIME each; otherwise the taker is told when numbers are given again;
- a holder (a phone, or a Zalo account over the OA) has at most QUEUE_OPEN_PER_AGENCY open numbers (waiting
  or called) at one agency, and takes at most QUEUE_TICKETS_PER_DAY numbers a day in all;
- a holder is told over the OA when QUEUE_NEAR_AHEAD or fewer numbers are ahead, and when called: once each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from domain.calendar import WorkingCalendar
from domain.limits import QUEUE_SERVICE_TIME
from domain.linking import after_keyword
from domain.timefmt import to_office

# "STT H21.65", "lấy số H21.65", "so thu tu H21.65": the keyword, with or without diacritics, any case.
_KEYWORD = re.compile(r"^\s*(stt|lay\s*so|so\s*thu\s*tu)(?![0-9a-z])[\s:.,\-]*", re.IGNORECASE)
_AGENCY = re.compile(r"^[A-Za-z0-9.\-]{1,40}$")


class TicketStatus(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no-show"
    CANCELLED = "cancelled"
    # Never stored: a number still waiting or called when its day is over reads as expired.
    EXPIRED = "expired"


OPEN = (TicketStatus.WAITING, TicketStatus.CALLED)


class Channel(StrEnum):
    WEB = "web"  # the public page /lay-so: the holder is a phone
    OA = "oa"  # "STT <agency>" to the Zalo OA: the holder is the Zalo account


class Refused(StrEnum):
    """Why no number is given (each has its Vietnamese explanation in domain/vocabulary.py)."""

    CLOSED_DAY = "closed-day"  # not a working day
    NOT_YET_OPEN = "not-yet-open"  # before the day's first office period
    CLOSED = "closed"  # after closing, or too little working time left to serve one more
    OPEN_AT_AGENCY = "open-at-agency"  # the holder already holds an open number at this agency
    DAILY_LIMIT = "daily-limit"  # the holder took QUEUE_TICKETS_PER_DAY numbers today


def office_day(at: datetime) -> date:
    """The office day `at` falls on (numbers reset when it changes)."""
    return to_office(at).date()


@dataclass(frozen=True)
class Opening:
    """Whether a number may be given at `at` with `waiting` numbers ahead; if not, why, and when numbers are
    given again (the next working day's opening)."""

    refused: Refused | None
    next_opening: datetime | None = None


def _next_opening(calendar: WorkingCalendar, after: date) -> datetime:
    day = calendar.next_working_day(after)
    return calendar.working_periods(day)[0][0]


def opening(calendar: WorkingCalendar, at: datetime, waiting: int) -> Opening:
    """Whether a number may be taken at `at` while `waiting` numbers wait before it (the module's rule)."""
    day = office_day(at)
    if not calendar.is_working_day(day):
        return Opening(Refused.CLOSED_DAY, _next_opening(calendar, day))
    periods = calendar.working_periods(day)
    if at < periods[0][0]:
        return Opening(Refused.NOT_YET_OPEN, periods[0][0])
    left = calendar.working_time_between(at, periods[-1][1]) if at < periods[-1][1] else timedelta(0)
    if left < QUEUE_SERVICE_TIME * (waiting + 1):
        return Opening(Refused.CLOSED, _next_opening(calendar, day))
    return Opening(None)


def shown_status(status: str, day: date, today: date) -> TicketStatus:
    """A ticket's status as people read it: an open number of a past day has expired."""
    stored = TicketStatus(status)
    return TicketStatus.EXPIRED if stored in OPEN and day < today else stored


@dataclass(frozen=True)
class OaQueueAsk:
    """An OA message asking for a number: the agency code it names ("" when none)."""

    agency_code: str


def read_oa_queue(message: str) -> OaQueueAsk | None:
    """The number an OA message asks for, when it starts with the keyword; None for any other message."""
    rest = after_keyword(_KEYWORD, message)
    if rest is None:
        return None
    word = rest.strip().split()[0] if rest.strip() else ""
    return OaQueueAsk(word.upper() if _AGENCY.match(word) else "")
