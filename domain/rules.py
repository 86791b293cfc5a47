"""The rules a command must meet: the workflow's validators and the officer forms check the same ones.

Pure. `check_turn` decides from the dossier's state whether an event is new, a repeat, or refused (an
event id used for another body, a transition the state does not allow, a time earlier than the previous
event); `check_body` checks what a transition's body must hold. A broken rule is `Broken`: its `refusal`
says how callers answer it (domain/refusals.py), its `rule` which rule it was, its message is English for
the machine API (the pages word their own).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.digest import digest
from domain.dossier import (
    Apology,
    Command,
    DossierState,
    FeeRequest,
    Handover,
    PaymentReceived,
    Rating,
    ReceptionRefusal,
    Rejection,
    ResultReady,
    SupplementRequest,
    SupplementRule,
)
from domain.limits import RATING_COMMENT_MAX, RATING_MAX, RATING_MIN
from domain.refusals import Refusal
from domain.status import DossierStatus, IllegalTransition, Transition, next_status


class Rule(StrEnum):
    EVENT_ID_REUSED = "event_id_reused"
    ILLEGAL_TRANSITION = "illegal_transition"
    EVENT_TIME = "event_time"
    SUPPLEMENT_ITEMS = "supplement_items"
    FEE_ITEMS = "fee_items"
    PAY_WITHIN_DAYS = "pay_within_days"
    HANDOVER = "handover"
    REJECTION_REASON = "rejection_reason"
    APOLOGY_ONCE = "apology_once"
    APOLOGY_CLOCK_STOPPED = "apology_clock_stopped"
    APOLOGY_BEFORE_DUE = "apology_before_due"
    APOLOGY_NEW_DUE_LATER = "apology_new_due_later"
    APOLOGY_REASON = "apology_reason"
    PAYMENT_AMOUNT = "payment_amount"
    NO_FEE_DUE = "no_fee_due"
    SUPPLEMENT_ONCE = "supplement_once"
    RATING_SCORE = "rating_score"
    RATING_COMMENT = "rating_comment"
    RATING_NOT_OPEN = "rating_not_open"
    RATING_ONCE = "rating_once"
    RATING_CLOSED = "rating_closed"
    STEP_KNOWN = "step_known"
    STEP_ORDER = "step_order"


class Broken(Exception):
    """A command that breaks `rule`; `details` travel with the refusal (the current state, for a 409)."""

    def __init__(self, rule: Rule, refusal: Refusal, message: str, *details: Any) -> None:
        super().__init__(message)
        self.rule = rule
        self.refusal = refusal
        self.message = message
        self.details = details


def fingerprint(command: Command | PaymentReceived) -> str:
    """A stable hash of a command's body, to tell a repeated event from a reused event id."""
    return digest(asdict(command))


def check_turn(s: DossierState, transition: Transition, command: Command) -> bool:
    """True for a repeat of an event already applied (same id, same body), False for a new legal one."""
    earlier = s.events.get(command.event_id)
    if earlier is not None:
        if earlier.transition == transition and earlier.fingerprint == fingerprint(command):
            return True
        raise Broken(
            Rule.EVENT_ID_REUSED,
            Refusal.EVENT_ID_REUSED,
            f"event_id {command.event_id} was used for another event",
        )
    try:
        next_status(transition, s.status)
    except IllegalTransition as err:
        raise Broken(Rule.ILLEGAL_TRANSITION, Refusal.ILLEGAL_TRANSITION, str(err), s.status.value) from None
    if s.last_command_at is not None and command.at < s.last_command_at:
        raise Broken(
            Rule.EVENT_TIME,
            Refusal.EVENT_TIME,
            f"at {command.at.isoformat()} is earlier than the previous event "
            f"({s.last_command_at.isoformat()})",
        )
    return False


def check_body(command: Command, *, due_at: datetime | None, apologized: bool) -> None:
    """What the body of a transition must hold; `due_at` and `apologized` are the dossier's now."""
    if isinstance(command, SupplementRequest) and not command.items:
        raise Broken(
            Rule.SUPPLEMENT_ITEMS, Refusal.INVALID_COMMAND, "a supplement request lists at least one item"
        )
    if isinstance(command, FeeRequest):
        if not command.items or any(item.amount_vnd <= 0 for item in command.items):
            raise Broken(
                Rule.FEE_ITEMS,
                Refusal.INVALID_COMMAND,
                "a fee lists at least one item, each with a positive amount",
            )
        if command.pay_within_days <= 0:
            raise Broken(Rule.PAY_WITHIN_DAYS, Refusal.INVALID_COMMAND, "pay_within_days must be positive")
    if isinstance(command, ResultReady) and (command.pickup is None) == (command.delivery is None):
        raise Broken(
            Rule.HANDOVER,
            Refusal.INVALID_COMMAND,
            "a result is either picked up or delivered: give one of them",
        )
    if isinstance(command, Rejection | ReceptionRefusal) and not command.reason.strip():
        raise Broken(Rule.REJECTION_REASON, Refusal.INVALID_COMMAND, "a rejection states its reason")
    if isinstance(command, Apology):
        check_apology(command, due_at=due_at, apologized=apologized)


def check_supplement_limit(s: DossierState, rule: SupplementRule | None) -> None:
    """A supplement request within what the procedure allows: by law one, listing everything missing
    (Mẫu 02; the basis and what is still to verify: docs/legal.md); the catalogue may allow more for a
    procedure. None (a dossier registered before the catalogue): no limit, as it was."""
    if rule is None or s.supplement_count < rule.max_requests:
        return
    times = "once" if rule.max_requests == 1 else f"{rule.max_requests} times"
    raise Broken(
        Rule.SUPPLEMENT_ONCE,
        Refusal.SUPPLEMENT_LIMIT,
        f"a supplement was already requested for dossier {s.code} ({s.supplement_count} request(s)); "
        f"procedure {s.procedure_code} allows it {times}, listing every missing document in one request",
    )


def check_apology(command: Apology, *, due_at: datetime | None, apologized: bool) -> None:
    """Mẫu 04: once per dossier, before the due time, with a later date and a reason."""
    if apologized:
        raise Broken(
            Rule.APOLOGY_ONCE,
            Refusal.APOLOGY_REFUSED,
            "an apology (Mẫu 04) was already issued for this dossier",
        )
    if due_at is None:
        raise Broken(
            Rule.APOLOGY_CLOCK_STOPPED,
            Refusal.APOLOGY_REFUSED,
            "the clock is stopped: there is no due time to move",
        )
    if command.at >= due_at:
        raise Broken(
            Rule.APOLOGY_BEFORE_DUE,
            Refusal.APOLOGY_REFUSED,
            f"the apology must come before the due time {due_at.isoformat()}",
        )
    if command.new_due_at <= due_at:
        raise Broken(
            Rule.APOLOGY_NEW_DUE_LATER,
            Refusal.INVALID_COMMAND,
            "new_due_at must be later than the current due time",
        )
    if not command.reason.strip():
        raise Broken(Rule.APOLOGY_REASON, Refusal.INVALID_COMMAND, "an apology states its reason")


def check_payment(s: DossierState, payment: PaymentReceived) -> None:
    """A payment of an unknown transaction: a positive amount and, when the caller asks, a fee due."""
    if payment.amount_vnd <= 0:
        raise Broken(Rule.PAYMENT_AMOUNT, Refusal.INVALID_COMMAND, "a payment has a positive amount")
    if payment.require_fee_due and s.status is not DossierStatus.FEE_DUE:
        raise Broken(
            Rule.NO_FEE_DUE,
            Refusal.ILLEGAL_TRANSITION,
            f"no fee is due for dossier {s.code} (state '{s.status.value}')",
            s.status.value,
        )


def check_rating_body(rating: Rating) -> None:
    """A rating's own content: a score from RATING_MIN to RATING_MAX, a comment within RATING_COMMENT_MAX."""
    if not RATING_MIN <= rating.score <= RATING_MAX:
        raise Broken(
            Rule.RATING_SCORE,
            Refusal.INVALID_COMMAND,
            f"a rating scores from {RATING_MIN} to {RATING_MAX}",
        )
    if len(rating.comment) > RATING_COMMENT_MAX:
        raise Broken(
            Rule.RATING_COMMENT,
            Refusal.INVALID_COMMAND,
            f"a rating's comment has at most {RATING_COMMENT_MAX} characters",
        )


def check_rating(s: DossierState, rating: Rating, now: datetime) -> None:
    """A rating the dossier takes now: its body holds, the result was returned (and a rating asked), none
    was given yet, and the window (`rate_by`) is still open."""
    check_rating_body(rating)
    if s.status is not DossierStatus.RETURNED or s.rate_by is None:
        raise Broken(
            Rule.RATING_NOT_OPEN,
            Refusal.RATING_REFUSED,
            f"dossier {s.code} takes no rating (state '{s.status.value}')",
            s.status.value,
        )
    if s.rating is not None:
        raise Broken(Rule.RATING_ONCE, Refusal.RATING_REFUSED, f"dossier {s.code} was rated already")
    if now > s.rate_by:
        raise Broken(
            Rule.RATING_CLOSED,
            Refusal.RATING_REFUSED,
            f"the rating window of dossier {s.code} closed at {s.rate_by.isoformat()}",
        )


def check_handover(s: DossierState, command: Handover) -> None:
    """A hand-over names a step of the dossier's procedure (as the catalogue gave it at registration) and
    the next one: the first hand-over starts step 1, each later one the step after the current. Steps are
    not skipped nor gone back to (a dossier sent back for more work stays in its step; its lateness is
    that step's). That the officer belongs to the dossier's agency is checked by the caller (the API and
    the desk know the officers; the workflow does not)."""
    if not s.steps:
        raise Broken(
            Rule.STEP_KNOWN,
            Refusal.UNKNOWN_STEP,
            f"dossier {s.code} follows no internal steps (its procedure had none in the catalogue "
            "when it was received)",
        )
    if not 1 <= command.step <= len(s.steps):
        raise Broken(
            Rule.STEP_KNOWN,
            Refusal.UNKNOWN_STEP,
            f"procedure {s.procedure_code} has steps 1 to {len(s.steps)}, not {command.step}",
        )
    expected = (s.step.number if s.step is not None else 0) + 1
    if command.step != expected:
        current = f"step {s.step.number}" if s.step is not None else "no step yet"
        raise Broken(
            Rule.STEP_ORDER,
            Refusal.STEP_OUT_OF_ORDER,
            f"dossier {s.code} is at {current}: the next hand-over is to step {expected}, not {command.step}",
            s.status.value,
        )
