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
    FEE_DUE = "fee_due"
    FEE_REMINDER = "fee_reminder"
    PAYMENT_CONFIRMED = "payment_confirmed"
    RESULT_READY = "result_ready"
    PICKUP_REMINDER = "pickup_reminder"
    REJECTED = "rejected"
    APOLOGY = "apology"
    WITHDRAWN = "withdrawn"
    # To officers.
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    ESCALATION = "escalation"
    FEE_UNPAID = "fee_unpaid"
    PAYMENT_MISMATCH = "payment_mismatch"

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
    }
)


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
