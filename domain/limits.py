"""Limits that every way in enforces alike: the machine API's schemas, the officer forms, the workflow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# An event time may lie this far ahead of our clock (the TTHC system's clock may run a little fast).
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Times outside these bounds are typing errors (and near year 1 or 9999 an offset overflows).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# Money: whole VND, positive; a land-use fee can reach hundreds of billions.
MAX_AMOUNT_VND = 1_000_000_000_000
MAX_PAY_WITHIN_DAYS = 90
DEFAULT_PAY_WITHIN_DAYS = 5

# Lists and texts in commands.
MAX_ITEMS = 50  # documents asked for, fee items
SHORT_TEXT_MAX = 500  # an item, a place, a name
LONG_TEXT_MAX = 2000  # a note, a reason

# JSON bodies nest no deeper than this (the deepest real one, the portal's sync, has 4 levels); deeper
# is refused before any parser recurses into it.
MAX_JSON_DEPTH = 32

# The caller's id of an event (a repeat with the same id changes nothing).
EVENT_ID_PATTERN = r"^[0-9A-Za-z._:\-]+$"
EVENT_ID_MAX = 100


def is_plausible(at: datetime) -> bool:
    """True when an aware `at` lies between EARLIEST and LATEST."""
    try:
        return EARLIEST <= at.astimezone(UTC) < LATEST
    except OverflowError:
        return False


def is_in_future(at: datetime, now: datetime) -> bool:
    """True when `at` lies further ahead of `now` than the clock skew allows."""
    return at > now + MAX_CLOCK_SKEW
