"""Kinds of notice, who receives them, and the idempotency key every send carries."""

from __future__ import annotations

from enum import StrEnum


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
