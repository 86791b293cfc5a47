"""What the workflows exchange with their activities and their callers: names, signatures, dataclasses.

The dossier workflow (workflows/dossier.py) imports this module and `domain/`, nothing that does I/O; the
notice resend workflow (workflows/resend.py) imports only this module. They call the activity signatures
at the end of this module; their implementations live in activities/ under the same names and the worker
registers them (a signature's body never runs). The gateway (workflows/gateway.py) calls the workflows by
the names below. Every name and field is in running workflows' histories: add fields with defaults, never
rename or remove one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.common import RetryPolicy

from domain.dossier import DossierInput, PaymentRecord, TimelineEntry
from domain.notices import NoticeOrder, NoticeStatus
from domain.status import Transition

# ---------------------------------------------------------------- how long activities are tried

# The database's small steps (the record, a failed notice marked, a notice requeued).
# What a worker killed with work in hand costs the callers waiting on it (`make chaos` measures it): a
# workflow task it held goes to another worker after WORKFLOW_TASK_TIMEOUT (a task running local
# activities past it is extended by the SDK, so this bounds a dead worker, not slow work); a task queued
# for its sticky queue moves to the shared queue after STICKY_QUEUE_TIMEOUT.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=5)
STICKY_QUEUE_TIMEOUT = timedelta(seconds=3)
DB_STEP_TIMEOUT = timedelta(seconds=30)
DB_STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
# A notice send, by both workflows: Zalo may be down (or it is night) for a while, so it is tried for two
# days, then the notice is recorded as failed.
NOTICE_SEND_TIMEOUT = timedelta(seconds=60)
# The send heartbeats (activities/heartbeat.py): a worker killed mid-send is known after this, and the
# send is retried elsewhere (it waits out the row's claim, ZALO_SEND_LEASE_SECONDS, before sending again).
NOTICE_SEND_HEARTBEAT = timedelta(seconds=10)
NOTICE_GIVE_UP_AFTER = timedelta(days=2)
NOTICE_SEND_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_interval=timedelta(minutes=10)
)

# ---------------------------------------------------------------- the workflow, as callers see it

WORKFLOW = "DossierWorkflow"
# Updates besides the transitions (each `Transition` value but PAYMENT_RECEIVED is an update of that name).
REGISTER = "register"  # answers once the due date is known
RECORD_PAYMENT = "record_payment"  # a payment, answered once recorded
RATE = "rate"  # the citizen's satisfaction rating, after the result was returned
# The payment signal of the first release: kept so that histories holding it still replay.
PAYMENT_SIGNAL = Transition.PAYMENT_RECEIVED.value
# The transitions that are updates of their own name.
UPDATES: tuple[Transition, ...] = tuple(t for t in Transition if t is not Transition.PAYMENT_RECEIVED)

# The workflow that sends one failed notice again (an officer asked for it on the desk).
RESEND_WORKFLOW = "NoticeResendWorkflow"
RESEND_WORKFLOW_ID_PREFIX = "notice-resend-"


def resend_workflow_id(notice_key: str) -> str:
    """The resend workflow of a notice row, `notice-resend-<notice key>`: one at a time per notice."""
    return f"{RESEND_WORKFLOW_ID_PREFIX}{notice_key}"


# ---------------------------------------------------------------- activities

RECORD = "records.record"
CALENDAR_DUE_AT = "calendar.due_at"
CALENDAR_SHIFT = "calendar.shift"
CALENDAR_WORKING_SECONDS = "calendar.working_seconds_between"
CALENDAR_ANSWER = "calendar.answer"
NOTICE_SEND = "notices.send"
NOTICE_MARK_FAILED = "notices.mark_failed"
NOTICE_REQUEUE = "notices.requeue"
# Refused by the calendar at once (no retry): a naive datetime, a negative day count.
INVALID_CALENDAR_REQUEST = "InvalidCalendarRequest"


@dataclass
class DueAtRequest:
    """A due time to compute: `working_days` counted from `start` (cut-off rules apply to `start`)."""

    start: datetime  # received or supplement-arrival time (legal time of the event)
    working_days: int


@dataclass
class ShiftRequest:
    """An instant to move by working time."""

    at: datetime
    working_seconds: int  # negative walks backwards


@dataclass
class SpanRequest:
    """An interval whose working time to measure, [start, end)."""

    start: datetime
    end: datetime


@dataclass
class CalendarStep:
    """One question of a calendar batch (`calendar.answer`), answered in order:

    - "start": when a count from `at` starts (the cut-off rules: `DueAtRequest(at, 0)`);
    - "shift": `at` moved by `working_seconds` of working time (backwards when negative);
    - "span": whole seconds of working time inside [`at`, `end`).

    `at_from` names an earlier step whose time to use as `at`, `seconds_from` one whose span to use as
    `working_seconds`: a transition's chained questions (start, then the due time from it, then the
    reminder before that) go in one call."""

    op: str
    at: datetime | None = None
    working_seconds: int = 0
    end: datetime | None = None
    at_from: int | None = None
    seconds_from: int | None = None


@dataclass
class CalendarQuestions:
    steps: list[CalendarStep]


@dataclass
class CalendarAnswers:
    """One answer per step: `times[i]` for a start or a shift, `seconds[i]` for a span (None elsewhere)."""

    times: list[datetime | None]
    seconds: list[int | None]


@dataclass
class Projection:
    """The dossier row's current-state columns (same names), as the workflow sees them after an entry."""

    status: str
    dvcqg_status: int
    due_at: datetime | None
    overdue: bool
    apologized: bool
    escalation_level: int
    on_time: bool | None
    finished_at: datetime | None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecordRequest:
    """One timeline entry to project to the database, with the notices and payment it causes."""

    workflow_id: str
    code: str
    entry: TimelineEntry
    projection: Projection
    notices: list[NoticeOrder] = field(default_factory=list)
    payment: PaymentRecord | None = None
    registration: DossierInput | None = None  # with the first entry: the dossier as received


@dataclass
class NoticeBatch:
    """The notice rows of one (dossier, seq, kind) to send: one per recipient."""

    dossier_code: str
    seq: int
    kind: str  # NoticeKind value
    # The workflow's now (activities see the wall clock; a workflow may run on a virtual one).
    workflow_time: datetime
    # Only these rows (a resend); empty: every row of (dossier, seq, kind).
    keys: list[str] = field(default_factory=list)


@dataclass
class NoticeOutcome:
    key: str
    status: str  # NoticeStatus value after this attempt
    channel: str | None
    error: str | None


@dataclass
class ResendRequest:
    """Send a failed notice row again, once its cause is fixed."""

    key: str  # the notice row's key
    by: str  # who asked (an officer's user name), for the log


@dataclass
class Requeued:
    """What `notices.requeue` did. Requeued: the rows to send (the row itself, or for an officer notice
    that had no recipient, one row per officer named now). Not requeued: the row's status and error as
    they are (it was not failed-permanent, or still has nobody to go to)."""

    requeued: bool
    status: str  # NoticeStatus value ("" for a key no row has)
    error: str | None
    dossier_code: str = ""
    seq: int = 0
    kind: str = ""
    keys: list[str] = field(default_factory=list)


@dataclass
class ResendResult:
    """How a resend ended: `status` and `error` of the row asked for, after the send (or as found)."""

    key: str
    requeued: bool
    status: str  # NoticeStatus value
    error: str | None
    outcomes: list[NoticeOutcome] = field(default_factory=list)


# A row given up again after its resend (the send's retry budget was spent).
GAVE_UP = NoticeStatus.FAILED_PERMANENT.value


# ---------------------------------------------------------------- the activity signatures the workflows call

_ELSEWHERE = "a contract: the worker runs the implementation registered under this name (activities/)"


@activity.defn(name=RECORD)
async def record(request: RecordRequest) -> bool:
    """Project one timeline entry, its notices and payment to the database; False if it was already."""
    raise NotImplementedError(_ELSEWHERE)


@activity.defn(name=CALENDAR_DUE_AT)
async def calendar_due_at(request: DueAtRequest) -> datetime:
    """The legal due time of `working_days` counted from `start` (0 days: when the count starts)."""
    raise NotImplementedError(_ELSEWHERE)


@activity.defn(name=CALENDAR_SHIFT)
async def calendar_shift(request: ShiftRequest) -> datetime:
    """An instant moved by working time."""
    raise NotImplementedError(_ELSEWHERE)


@activity.defn(name=CALENDAR_WORKING_SECONDS)
async def calendar_working_seconds(request: SpanRequest) -> int:
    """Whole seconds of working time inside [start, end)."""
    raise NotImplementedError(_ELSEWHERE)


@activity.defn(name=CALENDAR_ANSWER)
async def calendar_answer(questions: CalendarQuestions) -> CalendarAnswers:
    """Several calendar questions in one call, each may use an earlier one's answer (CalendarStep)."""
    raise NotImplementedError(_ELSEWHERE)


@activity.defn(name=NOTICE_SEND)
async def notice_send(batch: NoticeBatch) -> list[NoticeOutcome]:
    """Send every pending notice row of (dossier, seq, kind) through Zalo, once."""
    raise NotImplementedError(_ELSEWHERE)


@activity.defn(name=NOTICE_MARK_FAILED)
async def notice_mark_failed(batch: NoticeBatch, reason: str) -> None:
    """Record the unfinished rows of a batch as failed for good (the retry budget is spent)."""
    raise NotImplementedError(_ELSEWHERE)


@activity.defn(name=NOTICE_REQUEUE)
async def notice_requeue(request: ResendRequest) -> Requeued:
    """Put a failed-permanent notice row back in the queue (attempts from zero), its recipient resolved
    again if it had none; nothing for a row in any other state."""
    raise NotImplementedError(_ELSEWHERE)


SIGNATURES = (
    record,
    calendar_due_at,
    calendar_shift,
    calendar_working_seconds,
    calendar_answer,
    notice_send,
    notice_mark_failed,
    notice_requeue,
)
