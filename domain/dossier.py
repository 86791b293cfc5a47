"""The dossier's data as the workflow, its activities and the API exchange it (dataclasses only).

Fields are added, never renamed or removed: running workflows and saved histories hold these shapes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain import limits
from domain.notices import OfficerRole
from domain.status import DossierStatus, Transition

# A payment recorded at the office's counter: its transaction id is this prefix and the receipt's number
# (apart from the payment platform's own transaction ids).
COUNTER_RECEIPT_PREFIX = "quay:"


class IntakeChannel(StrEnum):
    """How the dossier reached the office."""

    COUNTER = "counter"
    ONLINE = "online"
    POST = "post"


class Actor(StrEnum):
    """Who caused a timeline entry, besides the API clients and officers named by their own names."""

    TTHC = "tthc"  # the registration, as the TTHC system sent it
    API = "api"  # a payment reported through the machine API without a client name
    SYSTEM = "system"  # the workflow's own timers
    WEBHOOK = "webhook"  # the payment platform's callback
    DVCQG = "dvcqg"  # the national portal's sync
    CITIZEN = "citizen"  # the applicant, through a page of ours (a satisfaction rating)


@dataclass
class Procedure:
    code: str
    name: str
    working_days: int


@dataclass
class Applicant:
    """Personal data: travels only in encrypted payloads, never in search attributes, memo or logs."""

    name: str
    phone: str  # normalised, 84xxxxxxxxx
    zalo_user_id: str | None = None


@dataclass
class DossierPolicy:
    """The office's rules for this dossier, fixed when it starts (visible in its history)."""

    quiet_hours_start: str = "22:00"
    quiet_hours_end: str = "06:00"
    working_day_seconds: int = 8 * 3600
    due_soon_working_days: int = 1
    escalate_every_working_days: int = 2
    escalation_ladder: list[str] = field(default_factory=lambda: [role.value for role in OfficerRole])
    fee_reminder_working_days: list[int] = field(default_factory=lambda: [1, 3])
    pickup_reminder_working_days: list[int] = field(default_factory=lambda: [3])
    supplement_request_within_working_days: int = 3
    continue_as_new_after_events: int = 0  # 0: when the server suggests it
    # The desk's check of an online submission (domain/limits.py), in working hours.
    check_within_working_hours: int = limits.ONLINE_CHECK_WORKING_HOURS
    check_reminder_working_hours: int = limits.ONLINE_CHECK_REMINDER_WORKING_HOURS
    # Reminders to the citizen before a supplement's deadline, in working days before it.
    supply_reminder_working_days: list[int] = field(
        default_factory=lambda: list(limits.SUPPLY_REMINDER_WORKING_DAYS)
    )


@dataclass(frozen=True)
class SupplementRule:
    """How a procedure lets the office ask for a supplement (the province's catalogue says, per procedure).

    The law's default (Decree 118/2025/NĐ-CP, as Decree 61/2018/NĐ-CP before it; docs/legal.md): the
    office asks once, listing everything missing, and the count restarts from zero once the dossier is
    complete. `restart_count` False: the count resumes, the due date moved by the working time the dossier
    waited for the supplement. `supply_within_days`: the citizen's deadline to supply, in working days
    after the request; when it passes the dossier stops (domain/limits.py holds the default).
    """

    max_requests: int = 1
    restart_count: bool = True
    supply_within_days: int = limits.SUPPLY_WITHIN_WORKING_DAYS


@dataclass(frozen=True)
class Step:
    """One internal step of the procedure (reception, review, approval, return…) and its time budget in
    working hours, as the province's catalogue gives it (domain/procedures.py)."""

    name: str
    unit: str
    hours: float


@dataclass
class DossierInput:
    code: str
    procedure: Procedure
    agency_code: str
    applicant: Applicant
    received_at: datetime
    channel: str
    fingerprint: str
    policy: DossierPolicy = field(default_factory=DossierPolicy)
    carried: DossierState | None = None  # set by continue-as-new
    # The procedure's supplement rule as the catalogue gave it at registration; None for dossiers
    # registered before the catalogue existed (their requests stay unlimited, as they were).
    supplement: SupplementRule | None = None
    # The procedure's internal steps as the catalogue gave them at registration; empty for dossiers
    # registered before steps were followed, or whose procedure the catalogue lacks (no hand-overs then).
    steps: list[Step] = field(default_factory=list)
    # True: submitted online and not yet received; the workflow starts in `submitted`, without a clock,
    # until the desk receives it (its `received_at` is then the submission time).
    submitted: bool = False


# --- Commands: the body of each transition update (besides the dossier code) ---


@dataclass(kw_only=True)
class Command:
    event_id: str
    at: datetime  # the legal time of the event as the TTHC system recorded it
    by: str = Actor.TTHC.value


@dataclass
class Register:
    """Sent with every registration: answers once the due date is known; another body is refused."""

    fingerprint: str


@dataclass(kw_only=True)
class SupplementRequest(Command):
    items: list[str]
    note: str = ""


@dataclass(kw_only=True)
class SupplementReceived(Command):
    note: str = ""


@dataclass
class FeeItem:
    name: str
    amount_vnd: int


@dataclass(kw_only=True)
class FeeRequest(Command):
    items: list[FeeItem]
    pay_within_days: int
    pay_url: str | None = None


@dataclass
class Pickup:
    place: str
    note: str = ""


@dataclass
class Delivery:
    address: str = ""
    note: str = ""


@dataclass(kw_only=True)
class ResultReady(Command):
    pickup: Pickup | None = None
    delivery: Delivery | None = None


@dataclass(kw_only=True)
class Returned(Command):
    to: str


@dataclass(kw_only=True)
class Rejection(Command):
    reason: str
    # True: refused at reception (Mẫu 03, "không được tiếp nhận"); False: not granted after examination.
    at_reception: bool = False


@dataclass(kw_only=True)
class Reception(Command):
    """The desk received an online submission: the count starts at `at`."""

    note: str = ""


@dataclass(kw_only=True)
class ReceptionRefusal(Command):
    """The desk refused to receive an online submission (Mẫu 03), with its reasons."""

    reason: str


@dataclass(kw_only=True)
class Withdrawal(Command):
    reason: str | None = None


@dataclass(kw_only=True)
class Apology(Command):
    new_due_at: datetime
    reason: str


@dataclass(kw_only=True)
class Handover(Command):
    """The dossier passes to `officer` for internal step number `step` (1-based, the procedure's order)
    at `at`; the step before it ends then."""

    step: int
    officer: str  # the officer's user name (db/officers.py), checked against the agency by the API


@dataclass
class PaymentReceived:
    """A payment (the `record_payment` update): from the TTHC system, the desk or the payment platform."""

    transaction_id: str
    amount_vnd: int
    at: datetime
    source: str = Actor.API.value
    # True: refused (409) unless a fee is due; False (the payment platform): recorded as not_due instead.
    require_fee_due: bool = False


@dataclass
class Rating:
    """The citizen's satisfaction rating (the `rate` update), from the rating page."""

    score: int  # 1 (very dissatisfied) to 5 (very satisfied)
    comment: str
    at: datetime


# --- State ---


@dataclass
class TimelineEntry:
    seq: int
    at: datetime
    kind: str
    by: str
    detail: dict[str, Any] = field(default_factory=dict)
    event_id: str | None = None


@dataclass
class FeeInfo:
    items: list[FeeItem]
    total_vnd: int
    pay_within_days: int
    requested_at: datetime
    pay_url: str | None = None
    pay_by: datetime | None = None
    paid_vnd: int = 0
    reminders_sent: int = 0
    unpaid_alerted: bool = False


@dataclass
class SupplementInfo:
    items: list[str]
    requested_at: datetime
    note: str = ""
    late: bool = False
    # The citizen's deadline to supply (None: asked before the supplement-deadline patch, no deadline) and
    # how many reminders of it were sent.
    supply_by: datetime | None = None
    reminders_sent: int = 0
    # The count resumes when it arrives (the procedure's rule): the due date when it was asked.
    paused_due_at: datetime | None = None


@dataclass
class ResultInfo:
    ready_at: datetime
    pickup: Pickup | None = None
    delivery: Delivery | None = None
    pickup_reminders_sent: int = 0


@dataclass
class EventRecord:
    """What an `event_id` did, so a repeated call is recognised (same fingerprint) or refused."""

    transition: Transition
    fingerprint: str
    seq: int


@dataclass
class PaymentRecord:
    transaction_id: str
    amount_vnd: int
    at: datetime
    outcome: str  # applied, underpaid, not_due
    seq: int
    source: str = Actor.API.value


@dataclass
class OutboxItem:
    """A notice the workflow still has to hand to the send activity (kept across continue-as-new)."""

    seq: int
    kind: str
    send_at: datetime | None = None  # set when quiet hours defer it


@dataclass
class StepInfo:
    """The internal step the dossier is in now: who holds it since when, and its deadline."""

    number: int  # 1-based
    name: str
    holder: str
    started_at: datetime
    due_at: datetime  # started_at + the step's working hours
    late_notified: bool = False


@dataclass
class DossierState:
    code: str
    agency_code: str
    procedure_code: str
    procedure_name: str
    working_days: int
    received_at: datetime
    status: DossierStatus = DossierStatus.RECEIVED
    clock_started_at: datetime | None = None
    due_at: datetime | None = None
    paused_since: datetime | None = None
    overdue: bool = False
    escalation_level: int = 0
    due_soon_notified_for: datetime | None = None
    apologized: bool = False
    on_time: bool | None = None
    finished_at: datetime | None = None
    supplement_count: int = 0
    fee: FeeInfo | None = None
    supplement: SupplementInfo | None = None
    result: ResultInfo | None = None
    timeline: list[TimelineEntry] = field(default_factory=list)
    events: dict[str, EventRecord] = field(default_factory=dict)
    payments: dict[str, PaymentRecord] = field(default_factory=dict)
    last_command_at: datetime | None = None
    outbox: list[OutboxItem] = field(default_factory=list)
    # Set when the result is returned: the citizen may rate until then (None: no rating asked).
    rate_by: datetime | None = None
    rating: Rating | None = None
    # Internal steps (empty: the dossier does not follow steps, as before they existed).
    steps: list[Step] = field(default_factory=list)
    step: StepInfo | None = None
    late_steps: list[int] = field(default_factory=list)  # the numbers of steps that ended late
    # An online submission: when the desk's check is due, and whether its reminder went out (the flag
    # for a late check is `overdue`, as for a late result).
    check_due_at: datetime | None = None
    check_reminded: bool = False

    @property
    def seq(self) -> int:
        return self.timeline[-1].seq if self.timeline else 0


@dataclass
class Outcome:
    """What a transition answers: the state after it (or, for a repeated event, now)."""

    status: DossierStatus
    due_at: datetime | None
    seq: int
    duplicate: bool = False


@dataclass
class PaymentAnswer:
    """What `record_payment` answers, once the payment is recorded: its record, and whether this call
    applied it (False: the transaction id was known already, and nothing changed)."""

    record: PaymentRecord
    applied_now: bool


@dataclass
class DossierResult:
    code: str
    status: DossierStatus
    on_time: bool | None
    finished_at: datetime | None
