"""Kinds of notice, who receives them, and the idempotency key every send carries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from domain.dossier import DossierState


class NoticeKind(StrEnum):
    # To the citizen.
    RECEIVED = "received"
    SUPPLEMENT_REQUIRED = "supplement_required"
    SUPPLEMENT_RECEIVED = "supplement_received"  # the supplement is complete: the count restarts
    FEE_DUE = "fee_due"
    FEE_REMINDER = "fee_reminder"
    PAYMENT_CONFIRMED = "payment_confirmed"
    RESULT_READY = "result_ready"
    PICKUP_REMINDER = "pickup_reminder"
    REJECTED = "rejected"  # after examination: the dossier cannot be granted
    RECEPTION_REFUSED = "reception_refused"  # at reception: the dossier is not taken in
    APOLOGY = "apology"
    WITHDRAWN = "withdrawn"
    RATING_INVITE = "rating_invite"  # the result was returned: a one-tap link to rate the service
    SUPPLEMENT_RESUMED = "supplement_resumed"  # the supplement is complete: the count resumes
    SUPPLEMENT_REMINDER = "supplement_reminder"  # the supplement's deadline is near
    STOPPED = "stopped"  # the supplement's deadline passed: the dossier stops; the citizen may apply anew
    # To officers.
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    FEE_UNPAID = "fee_unpaid"
    PAYMENT_MISMATCH = "payment_mismatch"
    LOW_RATING = "low_rating"  # to the agency head: a citizen rated the service low
    STEP_LATE = "step_late"  # an internal step passed its deadline: its holder and their head
    # To officers: the desk's check of an online submission is due soon / late.
    CHECK_DUE_SOON = "check_due_soon"
    CHECK_OVERDUE = "check_overdue"
    # To officers: a dossier stopped because the supplement asked was not supplied in time.
    SUPPLEMENT_LAPSED = "supplement_lapsed"

    @property
    def audience(self) -> Audience:
        return Audience.OFFICER if self in OFFICER_KINDS else Audience.CITIZEN


class Audience(StrEnum):
    CITIZEN = "citizen"
    OFFICER = "officer"


OFFICER_KINDS = frozenset(
    {
        NoticeKind.DUE_SOON,
        NoticeKind.OVERDUE,
        NoticeKind.ESCALATION,
        NoticeKind.FEE_UNPAID,
        NoticeKind.PAYMENT_MISMATCH,
        NoticeKind.LOW_RATING,
        NoticeKind.STEP_LATE,
        NoticeKind.CHECK_DUE_SOON,
        NoticeKind.CHECK_OVERDUE,
        NoticeKind.SUPPLEMENT_LAPSED,
    }
)


class OfficerRole(StrEnum):
    """The rungs of the escalation ladder: who an officer notice goes to (OFFICER_ZALO_IDS by role)."""

    OFFICER = "officer"  # the handling officer
    DEPARTMENT_HEAD = "department_head"
    AGENCY_HEAD = "agency_head"


class NoticeChannel(StrEnum):
    OA = "oa"  # a message from the Official Account to a follower
    ZNS = "zns"  # a template message to a phone number


class NoticeFailure(StrEnum):
    """Why a notice could not go out; `last_error` reads `<failure>: <detail>` (the detail for operators)."""

    DOSSIER_MISSING = "dossier_missing"
    NO_OFFICER_ID = "no_officer_id"  # OFFICER_ZALO_IDS names nobody for this role and agency
    NO_RECIPIENT = "no_recipient"  # no linked follower and no phone
    NO_ZNS_TEMPLATE = "no_zns_template"  # ZNS_TEMPLATE_IDS lacks this kind
    UNCOMPOSABLE = "uncomposable"  # a row from before a deploy whose stored context no template fits
    ZALO_REFUSED = "zalo_refused"  # Zalo said no for good (blocked, bad phone, bad template, …)
    ZALO_UNAVAILABLE = "zalo_unavailable"  # no answer or a passing error: being retried
    GAVE_UP = "gave_up"  # retried for as long as allowed
    INTERNAL = "internal"  # our own fault; in the worker's log


def failure(kind: NoticeFailure, detail: str) -> str:
    """A `last_error` value: the failure's kind, then the operator's detail."""
    return f"{kind.value}: {detail}"[:2000]


class NoticeStatus(StrEnum):
    SCHEDULED = "scheduled"  # waiting for the end of quiet hours
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED_RETRYING = "failed-retrying"
    FAILED_PERMANENT = "failed-permanent"


def notice_key(workflow_id: str, seq: int, kind: NoticeKind, recipient: str = "") -> str:
    """`<workflow id>:<event seq>:<kind>`, plus the officer's id when one event notifies several."""
    key = f"{workflow_id}:{seq}:{kind.value}"
    return f"{key}:{recipient}" if recipient else key


@dataclass
class NoticeOrder:
    """A notice a timeline entry causes; officer notices name the escalation role that receives them."""

    kind: str
    context: dict[str, Any]
    role: str | None = None
    scheduled_for: datetime | None = None


def citizen_notice(state: DossierState, kind: NoticeKind, /, **context: Any) -> NoticeOrder:
    """A notice to the applicant, its template's context holding the dossier's code and procedure."""
    return NoticeOrder(kind.value, _context(state, context))


def officer_notice(state: DossierState, kind: NoticeKind, to_role: str, /, **context: Any) -> NoticeOrder:
    """A notice to the officers of `to_role` (a rung of the escalation ladder) of the dossier's agency."""
    return NoticeOrder(kind.value, _context(state, context), role=to_role)


def _context(state: DossierState, extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": state.code,
        "procedure_name": state.procedure_name,
        "agency_code": state.agency_code,
        **extra,
    }
