"""Limits that every way in enforces alike: the machine API's schemas, the officer forms, the workflow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# An event time may lie this far ahead of our clock (the TTHC system's clock may run a little fast).
MAX_CLOCK_SKEW = timedelta(minutes=5)
# Times outside these bounds are typing errors (and near year 1 or 9999 an offset overflows).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# The one-stop desk's check of a dossier submitted online, before it is received (or asked to supplement,
# or refused): within this many working hours of the submission, one working day. The decree's figure
# was NOT found by the search (neither Decree 118/2025/NĐ-CP nor 45/2020/NĐ-CP on electronic
# procedures); docs/legal.md §3 says so. The officers are reminded this many working hours before it.
ONLINE_CHECK_WORKING_HOURS = 8
ONLINE_CHECK_REMINDER_WORKING_HOURS = 2

# A supplement's deadline: the citizen supplies what was asked within this many working days of the
# request, or the dossier stops (`stopped`). The catalogue may set it per procedure (its supplement rule's
# `supply_within_days`, up to MAX_SUPPLY_WITHIN_WORKING_DAYS). The law's figure was NOT found by the search
# (neither Decree 118/2025/NĐ-CP nor Circular 03/2025 as searched): 30 working days is this system's
# assumption, in one place to change; docs/legal.md §3 says so. The citizen is reminded this many working
# days before it (one reminder each, in this order).
SUPPLY_WITHIN_WORKING_DAYS = 30
MAX_SUPPLY_WITHIN_WORKING_DAYS = 365
SUPPLY_REMINDER_WORKING_DAYS = (2, 1)

# Money: whole VND, positive; a land-use fee can reach hundreds of billions.
MAX_AMOUNT_VND = 1_000_000_000_000
MAX_PAY_WITHIN_DAYS = 90
DEFAULT_PAY_WITHIN_DAYS = 5

# Lists and texts in commands.
MAX_ITEMS = 50  # documents asked for, fee items
MAX_IMPORT_EVENTS = 200  # past events of one imported dossier (domain/imports.py)
SHORT_TEXT_MAX = 500  # an item, a place, a name
LONG_TEXT_MAX = 2000  # a note, a reason

# JSON bodies nest no deeper than this (the deepest real one, the portal's sync, has 4 levels); deeper
# is refused before any parser recurses into it.
MAX_JSON_DEPTH = 32

# The caller's id of an event (a repeat with the same id changes nothing).
EVENT_ID_PATTERN = r"^[0-9A-Za-z._:\-]+$"
EVENT_ID_MAX = 100


# A registration row still without a workflow STRANDED_AFTER after it was written lost its start (the
# engine was down and the caller gave up): the worker's reconciliation, every RECONCILE_EVERY, starts it.
# The desk lists those still not started after two more passes: the reconciliation could not start them.
STRANDED_AFTER = timedelta(minutes=2)
RECONCILE_EVERY = timedelta(minutes=1)
NOT_STARTED_LISTED_AFTER = STRANDED_AFTER + 2 * RECONCILE_EVERY

# Queue numbers (domain/queue.py): the average time between two numbers served at an agency's desk, all
# its counters together (no number is given when the working time left in the day cannot serve everyone
# waiting plus it: 5 minutes is about 95 numbers a day), how many open numbers a holder (a phone or a Zalo
# account) may hold at one agency and take in a day, and how close to their turn a holder is told over
# the OA.
QUEUE_SERVICE_TIME = timedelta(minutes=5)
QUEUE_OPEN_PER_AGENCY = 1
QUEUE_TICKETS_PER_DAY = 3
QUEUE_NEAR_AHEAD = 3
# The public page's numbers per client address (with backoff, Settings.backoff), against one address
# typing many phones: QUEUE_PER_ADDRESS go through in QUEUE_ADDRESS_WINDOW.
QUEUE_PER_ADDRESS = 10
QUEUE_ADDRESS_WINDOW = timedelta(hours=1)
# Satisfaction ratings (docs/citizen-services.md): after the result is returned, the citizen may rate the
# service once, 1 (very dissatisfied) to 5 (very satisfied), with an optional comment, for
# RATING_WINDOW_DAYS calendar days; the workflow waits that long (a visible timer), then completes.
RATING_WINDOW_DAYS = 7
RATING_MIN = 1
RATING_MAX = 5
RATING_COMMENT_MAX = 1000
# A rating at or below this notifies the agency head.
LOW_RATING_MAX = 2
# Decision 766/QĐ-TTg counts "hài lòng" as the satisfied answers: here 4 and 5.
SATISFIED_MIN = 4


def is_plausible(at: datetime) -> bool:
    """True when an aware `at` lies between EARLIEST and LATEST."""
    try:
        return EARLIEST <= at.astimezone(UTC) < LATEST
    except OverflowError:
        return False


def is_in_future(at: datetime, now: datetime) -> bool:
    """True when `at` lies further ahead of `now` than the clock skew allows."""
    return at > now + MAX_CLOCK_SKEW


# ---------------------------------------------------------------- attempts that slow down


class Counted(StrEnum):
    """What the rate limits count, each per key (db/ratelimit.py keeps the counters)."""

    LOOKUP = "lookup"  # every lookup with a code and digits, per client address
    LOOKUP_MISS_ADDRESS = "lookup-miss-address"  # wrong code or digits, per client address
    LOOKUP_MISS_CODE = "lookup-miss-code"  # wrong digits for a code, from anywhere
    LOGIN_FAIL_ADDRESS = "login-fail-address"  # wrong officer passwords, per client address
    LOGIN_FAIL_USER = "login-fail-user"  # wrong passwords for a user name, from anywhere
    LINK_CODE_USER = "link-code-user"  # one-time codes a Zalo user asked for
    LINK_CODE_PHONE = "link-code-phone"  # one-time codes sent to a phone
    LINK_VERIFY_USER = "link-verify-user"  # wrong one-time codes from a Zalo user
    LINK_VERIFY_PHONE = "link-verify-phone"  # wrong one-time codes for a phone, from any Zalo user
    FEEDBACK_ADDRESS = "feedback-address"  # feedback sent from the lookup page, per client address
    FEEDBACK_PHONE = "feedback-phone"  # feedback about the dossiers of one phone, from the lookup page
    FEEDBACK_ZALO_USER = "feedback-zalo-user"  # feedback sent to the OA, per Zalo account
    QUEUE_ADDRESS = "queue-address"  # queue numbers taken on the public page, per client address
    RATING_MISS_ADDRESS = "rating-miss-address"  # forged or malformed rating links, per client address


# Feedback is limited alike whichever way it comes (Settings.backoff).
FEEDBACK_COUNTED = (Counted.FEEDBACK_ADDRESS, Counted.FEEDBACK_PHONE, Counted.FEEDBACK_ZALO_USER)


@dataclass(frozen=True)
class Backoff:
    """How attempts on one key slow down instead of locking it: `free` attempts go through at once; after
    that, each must wait twice as long as the one before (`first_wait`, …) up to `ceiling`. A key left
    alone for `window` starts afresh. The attempt is counted before the secret is checked, and a success
    takes its own attempt back (db/ratelimit.py), so only failures add up."""

    free: int
    first_wait: timedelta
    ceiling: timedelta
    window: timedelta

    def wait_after(self, attempts: int) -> timedelta:
        """How long the next attempt waits once `attempts` were counted."""
        if attempts < self.free:
            return timedelta(0)
        doubled: timedelta = self.first_wait * (1 << min(attempts - self.free, 30))
        return min(self.ceiling, doubled)


# Internal steps: a procedure has no more than this many (the hand-over's step number is bounded by it).
MAX_STEPS = 20
