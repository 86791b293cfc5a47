"""Dossier states, the one table of legal transitions, and their national-portal (DVCQG) codes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class DossierStatus(StrEnum):
    RECEIVED = "received"
    SUPPLEMENT_REQUIRED = "supplement_required"
    FEE_DUE = "fee_due"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    # Submitted online, waiting for the one-stop desk's check (DVCQG 1): no legal clock yet.
    SUBMITTED = "submitted"
    # Final: the citizen did not supply what was asked by the supplement's deadline (DVCQG 8, "Dừng xử lý").
    STOPPED = "stopped"

    @property
    def is_final(self) -> bool:
        return self in FINAL_STATES


FINAL_STATES = frozenset(
    {DossierStatus.RETURNED, DossierStatus.REJECTED, DossierStatus.WITHDRAWN, DossierStatus.STOPPED}
)
OPEN_STATES = frozenset(DossierStatus) - FINAL_STATES


class Transition(StrEnum):
    """Every way a dossier changes state; each name is also the workflow update (or signal) name."""

    REQUEST_SUPPLEMENT = "request_supplement"
    SUPPLEMENT_RECEIVED = "supplement_received"
    REQUEST_FEE = "request_fee"
    PAYMENT_RECEIVED = "payment_received"
    MARK_RESULT_READY = "mark_result_ready"
    MARK_RETURNED = "mark_returned"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    APOLOGIZE = "apologize"
    HANDOVER = "handover"  # an internal step begins (the dossier's state stays)
    # The desk's check of an online submission: received (the count starts), or refused (Mẫu 03).
    RECEIVE = "receive"
    REFUSE_RECEPTION = "refuse_reception"


@dataclass(frozen=True)
class TransitionRule:
    transition: Transition
    sources: frozenset[DossierStatus]
    target: DossierStatus | None  # None: the state stays as it is
    # Where it leads for a dossier the desk has not received yet (its count never started); None: `target`.
    target_before_reception: DossierStatus | None = None


_S = DossierStatus

TRANSITIONS: dict[Transition, TransitionRule] = {
    rule.transition: rule
    for rule in (
        # Also before reception (an online submission the desk found incomplete, Mẫu 02): the count has
        # not started, and the supplement takes the dossier back to the desk's check.
        TransitionRule(
            Transition.REQUEST_SUPPLEMENT,
            frozenset({_S.RECEIVED, _S.SUBMITTED}),
            _S.SUPPLEMENT_REQUIRED,
        ),
        TransitionRule(
            Transition.SUPPLEMENT_RECEIVED,
            frozenset({_S.SUPPLEMENT_REQUIRED}),
            _S.RECEIVED,
            target_before_reception=_S.SUBMITTED,
        ),
        TransitionRule(
            Transition.REQUEST_FEE,
            frozenset({_S.RECEIVED}),
            _S.FEE_DUE,
        ),
        TransitionRule(
            Transition.PAYMENT_RECEIVED,
            frozenset({_S.FEE_DUE}),
            _S.RECEIVED,
        ),
        TransitionRule(
            Transition.MARK_RESULT_READY,
            frozenset({_S.RECEIVED}),
            _S.RESULT_READY,
        ),
        TransitionRule(
            Transition.MARK_RETURNED,
            frozenset({_S.RESULT_READY}),
            _S.RETURNED,
        ),
        TransitionRule(
            Transition.REJECT,
            frozenset({_S.RECEIVED, _S.SUPPLEMENT_REQUIRED}),
            _S.REJECTED,
        ),
        TransitionRule(
            Transition.WITHDRAW,
            OPEN_STATES,
            _S.WITHDRAWN,
        ),
        # An apology moves the appointment; it needs a running deadline, so not while the clock is
        # stopped for a supplement (the count restarts from zero anyway) nor once the result is ready.
        TransitionRule(
            Transition.APOLOGIZE,
            frozenset({_S.RECEIVED, _S.FEE_DUE}),
            None,
        ),
        # A hand-over between internal steps: in any open state (a step may start while a fee is due or
        # a supplement awaited; the return step while the result waits for the citizen).
        TransitionRule(
            Transition.HANDOVER,
            OPEN_STATES,
            None,
        ),
        TransitionRule(
            Transition.RECEIVE,
            frozenset({_S.SUBMITTED}),
            _S.RECEIVED,
        ),
        TransitionRule(
            Transition.REFUSE_RECEPTION,
            frozenset({_S.SUBMITTED}),
            _S.REJECTED,
        ),
    )
}


class IllegalTransition(Exception):
    """A transition that the dossier's current state does not allow."""

    def __init__(self, transition: Transition, current: DossierStatus) -> None:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[transition].sources))
        super().__init__(
            f"'{transition.value}' is not allowed in state '{current.value}' (allowed from: {allowed})"
        )
        self.transition = transition
        self.current = current


def next_status(transition: Transition, current: DossierStatus, *, received: bool = True) -> DossierStatus:
    """The state after `transition`, or IllegalTransition when `current` does not allow it; `received`
    False: the desk has not received the dossier yet (an online submission whose count never started)."""
    rule = TRANSITIONS[transition]
    if current not in rule.sources:
        raise IllegalTransition(transition, current)
    if not received and rule.target_before_reception is not None:
        return rule.target_before_reception
    return rule.target or current


def allowed_transitions(current: DossierStatus) -> list[Transition]:
    """What may happen next, in table order (for officer pages and error bodies)."""
    return [t for t, rule in TRANSITIONS.items() if current in rule.sources]


# National public-service portal (Cổng DVCQG) status codes, TrangThaiHoSo 1–10.
DVCQG_CODES: dict[DossierStatus, int] = {
    _S.RECEIVED: 2,  # 4 ("đang xử lý") once anything has happened since receipt
    _S.SUPPLEMENT_REQUIRED: 5,
    _S.FEE_DUE: 6,
    _S.RESULT_READY: 9,
    _S.RETURNED: 10,
    _S.REJECTED: 3,
    _S.WITHDRAWN: 7,
    _S.SUBMITTED: 1,
    _S.STOPPED: 8,  # Dừng xử lý
}


def dvcqg_code(status: DossierStatus, events_since_receipt: int) -> int:
    """The portal's code for a state; a received dossier that has moved on is 'being processed' (4)."""
    if status is DossierStatus.RECEIVED and events_since_receipt > 0:
        return 4
    return DVCQG_CODES[status]


class EventKind(StrEnum):
    """What a timeline entry records."""

    RECEIVED = "received"
    SUPPLEMENT_REQUESTED = "supplement_requested"
    SUPPLEMENT_RECEIVED = "supplement_received"
    FEE_REQUESTED = "fee_requested"
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_PARTIAL = "payment_partial"
    PAYMENT_NOT_DUE = "payment_not_due"
    RESULT_READY = "result_ready"
    RETURNED = "returned"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    APOLOGY = "apology"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    FEE_REMINDER = "fee_reminder"
    FEE_UNPAID = "fee_unpaid"
    PICKUP_REMINDER = "pickup_reminder"
    RATED = "rated"  # the citizen's satisfaction rating, after the result was returned
    # Written at registration by the API (not the workflow), before the receipt (seq 0): the procedure
    # as sent does not match the province's catalogue. The dossier is kept as sent (domain/procedures.py).
    PROCEDURE_UNKNOWN = "procedure_unknown"
    WORKING_DAYS_DIFFER = "working_days_differ"
    # Internal steps: a hand-over starts the next step; a step's deadline passed (holder and head told).
    HANDOVER = "handover"
    STEP_LATE = "step_late"
    # An online submission reaches the desk (the first entry instead of `received`), and its check timers.
    SUBMITTED = "submitted"
    CHECK_DUE_SOON = "check_due_soon"
    CHECK_OVERDUE = "check_overdue"
    # A supplement's deadline: the citizen's reminders before it, and the stop when it passed unsupplied.
    SUPPLEMENT_REMINDER = "supplement_reminder"
    STOPPED = "stopped"


# What a timer that runs out changes by itself (no command: the dossier's own deadline), beside the
# commands' table above: the kind of its entry -> (the states it fires in, the state it leads to).
LAPSES: dict[EventKind, tuple[frozenset[DossierStatus], DossierStatus]] = {
    EventKind.STOPPED: (frozenset({_S.SUPPLEMENT_REQUIRED}), _S.STOPPED),
}


def lapsed(kind: EventKind, current: DossierStatus) -> DossierStatus:
    """The state a lapse of `kind` leads to from `current` (ValueError when it may not fire there)."""
    sources, target = LAPSES[kind]
    if current not in sources:
        raise ValueError(f"'{kind.value}' cannot happen in state '{current.value}'")
    return target
