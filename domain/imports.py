"""Open dossiers brought over from the TTHC system or the national portal when going live (pure).

One JSON object per line (docs/import.md has the format): the registration as received, the appointment
the citizen holds (`due_at`), the state the dossier is in and its past events. `parse` checks one line and
turns it into an `Imported` dossier, or raises `ImportRefused` with every problem found; `state_of` builds
the workflow's state from it (the timeline of its past, the timers that came due before the import applied
without their notices), which the workflow starts from (`DossierInput.carried`), as after a
continue-as-new. Nothing here does I/O: the catalogue's procedures, the agency directory, the calendar and
the import's instant are given.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from domain import rules, timers
from domain.calendar import WorkingCalendar
from domain.codes import agency_of, belongs_to, is_dossier_code, normalize_phone
from domain.digest import digest
from domain.dossier import (
    Actor,
    Applicant,
    Command,
    Delivery,
    DossierInput,
    DossierPolicy,
    DossierState,
    EventRecord,
    FeeInfo,
    FeeItem,
    FeeRequest,
    IntakeChannel,
    PaymentReceived,
    PaymentRecord,
    Pickup,
    Procedure,
    ResultInfo,
    ResultReady,
    SupplementInfo,
    SupplementReceived,
    SupplementRequest,
    TimelineEntry,
)
from domain.limits import (
    DEFAULT_PAY_WITHIN_DAYS,
    EVENT_ID_MAX,
    MAX_AMOUNT_VND,
    MAX_IMPORT_EVENTS,
    MAX_ITEMS,
    MAX_PAY_WITHIN_DAYS,
    SHORT_TEXT_MAX,
    is_in_future,
    is_plausible,
)
from domain.status import DossierStatus, EventKind, IllegalTransition, Transition, next_status
from domain.timefmt import iso

# Every imported timeline entry says so in its detail (the pages show it as any other entry).
IMPORTED = "imported"
# The event id an imported event gets when the file names none: unique within its dossier.
EVENT_ID_PREFIX = "import-"

# The past events a file may hold, and the transition each one is (a payment is the fee's payment).
EVENT_KINDS: dict[str, Transition] = {
    EventKind.SUPPLEMENT_REQUESTED.value: Transition.REQUEST_SUPPLEMENT,
    EventKind.SUPPLEMENT_RECEIVED.value: Transition.SUPPLEMENT_RECEIVED,
    EventKind.FEE_REQUESTED.value: Transition.REQUEST_FEE,
    EventKind.PAYMENT_RECEIVED.value: Transition.PAYMENT_RECEIVED,
    EventKind.RESULT_READY.value: Transition.MARK_RESULT_READY,
}
KEYS = {
    "code",
    "agency_code",
    "procedure",
    "applicant",
    "received_at",
    "channel",
    "due_at",
    "status",
    "events",
}


class ImportRefusal(StrEnum):
    """Why a line of an import file is not imported (the Vietnamese: domain/vocabulary.py)."""

    NOT_JSON = "not_json"
    MALFORMED = "malformed"  # a field missing, of the wrong type, or out of its limits
    DOSSIER_CODE = "dossier_code"
    UNKNOWN_AGENCY = "unknown_agency"
    UNKNOWN_PROCEDURE = "unknown_procedure"
    PHONE = "phone"
    DATE = "date"  # not an aware ISO time, or implausible
    FUTURE = "future"  # a past event (or the receipt) after the import's instant
    DUE_BEFORE_RECEIVED = "due_before_received"
    OUT_OF_ORDER = "out_of_order"
    UNKNOWN_EVENT = "unknown_event"
    EVENT_BODY = "event_body"
    UNREACHABLE_STATE = "unreachable_state"  # the transition table does not lead there from the events
    STATE_MISMATCH = "state_mismatch"  # the events lead to another state than the one declared
    CLOSED = "closed"  # returned, rejected, withdrawn: nothing left to track
    DUPLICATE_IN_FILE = "duplicate_in_file"
    CODE_TAKEN = "code_taken"  # the code is registered here with another body
    TRANSACTION_TAKEN = "transaction_taken"  # a payment's transaction id belongs to another dossier
    NOT_STARTED = "not_started"  # written, but the workflow engine did not answer: run the import again


@dataclass(frozen=True)
class Problem:
    reason: ImportRefusal
    message: str  # English, with the offending value (never a phone number)
    value: str = ""  # the offending value as given (a code, a date), shown beside the Vietnamese


class ImportRefused(Exception):
    """A line that is not imported: every problem found in it (nothing of it is written)."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


@dataclass
class PastEvent:
    kind: EventKind
    transition: Transition
    command: Command | PaymentReceived
    pay_by: datetime | None = None  # a fee's payment deadline as the file gives it


@dataclass
class Imported:
    """One dossier of the file, checked: the registration, its appointment, state and past events."""

    input: DossierInput  # `fingerprint`: the digest of the line's object
    due_at: datetime | None
    status: DossierStatus
    events: list[PastEvent] = field(default_factory=list)


class _Line:
    """Collects a line's problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def refuse(self, reason: ImportRefusal, message: str, value: Any = "") -> None:
        self.problems.append(Problem(reason, message, str(value)[:SHORT_TEXT_MAX]))

    def text(self, data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> str:
        value = data.get(key)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip() or len(value) > SHORT_TEXT_MAX:
            self.refuse(ImportRefusal.MALFORMED, f"{where}{key}: a text of 1 to {SHORT_TEXT_MAX} characters")
            return ""
        return value.strip()

    def whole(self, data: Mapping[str, Any], key: str, where: str, low: int, high: int) -> int:
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            self.refuse(ImportRefusal.MALFORMED, f"{where}{key}: a whole number from {low} to {high}")
            return low
        return value

    def time(
        self, data: Mapping[str, Any], key: str, where: str, *, optional: bool = False
    ) -> datetime | None:
        value = data.get(key)
        if value is None and optional:
            return None
        try:
            at = datetime.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            at = None
        if at is None or at.tzinfo is None or not is_plausible(at):
            self.refuse(
                ImportRefusal.DATE, f"{where}{key}: an ISO 8601 time with its offset (e.g. +07:00)", value
            )
            return None
        return at


def parse(
    data: Any,
    *,
    procedures: Mapping[str, int],
    agencies: Collection[str] | None,
    now: datetime,
) -> Imported:
    """One line's object, checked against the catalogue's procedures (code -> working days) and the
    agency directory (None: no directory loaded, any well-formed code goes); ImportRefused otherwise."""
    line = _Line()
    if not isinstance(data, dict):
        raise ImportRefused([Problem(ImportRefusal.MALFORMED, "a line is one JSON object")])
    unknown = sorted(set(data) - KEYS)
    if unknown:
        line.refuse(ImportRefusal.MALFORMED, f"unknown fields: {', '.join(unknown)}")
    code = data.get("code")
    agency = data.get("agency_code")
    if not isinstance(code, str) or not is_dossier_code(code):
        line.refuse(ImportRefusal.DOSSIER_CODE, "code: not a dossier code (e.g. H21.65-261123-0001)", code)
        code = ""
    if not isinstance(agency, str) or (code and not belongs_to(code, agency)):
        line.refuse(ImportRefusal.MALFORMED, f"agency_code: the agency part of the code ({agency_of(code)})")
        agency = ""
    elif agencies is not None and agency not in agencies:
        line.refuse(ImportRefusal.UNKNOWN_AGENCY, f"agency {agency} is not in the agency directory", agency)
    raw_procedure = data.get("procedure")
    procedure = Procedure("", "", 0)
    if isinstance(raw_procedure, dict):
        procedure = Procedure(
            line.text(raw_procedure, "code", "procedure."),
            line.text(raw_procedure, "name", "procedure."),
            line.whole(raw_procedure, "working_days", "procedure.", 1, 365),
        )
        if procedure.code and procedure.code not in procedures:
            line.refuse(
                ImportRefusal.UNKNOWN_PROCEDURE,
                f"procedure {procedure.code} is not in the catalogue in force",
                procedure.code,
            )
    else:
        line.refuse(ImportRefusal.MALFORMED, "procedure: an object with code, name and working_days")
    raw_applicant = data.get("applicant")
    applicant = Applicant("", "")
    if isinstance(raw_applicant, dict):
        name = line.text(raw_applicant, "name", "applicant.")
        phone = ""
        try:
            phone = normalize_phone(str(raw_applicant.get("phone") or ""))
        except ValueError:
            line.refuse(ImportRefusal.PHONE, "applicant.phone: not a Vietnamese mobile number")
        zalo = line.text(raw_applicant, "zalo_user_id", "applicant.", optional=True) or None
        applicant = Applicant(name, phone, zalo)
    else:
        line.refuse(ImportRefusal.MALFORMED, "applicant: an object with name and phone")
    channel = data.get("channel")
    if channel not in IntakeChannel._value2member_map_:
        line.refuse(ImportRefusal.MALFORMED, f"channel: one of {', '.join(IntakeChannel)}", channel)
        channel = IntakeChannel.ONLINE.value
    received_at = line.time(data, "received_at", "")
    due_at = line.time(data, "due_at", "", optional=True)
    status_raw = data.get("status")
    status = DossierStatus.RECEIVED
    if status_raw not in DossierStatus._value2member_map_:
        line.refuse(ImportRefusal.MALFORMED, f"status: one of {', '.join(DossierStatus)}", status_raw)
    else:
        status = DossierStatus(str(status_raw))
        if status.is_final:
            line.refuse(
                ImportRefusal.CLOSED, f"status {status.value}: only open dossiers are imported", status
            )
    if received_at is not None:
        if is_in_future(received_at, now):
            line.refuse(ImportRefusal.FUTURE, "received_at is in the future", iso(received_at))
        if status is not DossierStatus.SUPPLEMENT_REQUIRED:
            if due_at is None and "due_at" not in data:
                line.refuse(ImportRefusal.MALFORMED, "due_at: the appointment the citizen holds is missing")
            elif due_at is not None and due_at <= received_at:
                line.refuse(
                    ImportRefusal.DUE_BEFORE_RECEIVED,
                    f"due_at {iso(due_at)} is not after received_at {iso(received_at)}",
                    iso(due_at),
                )
    events = _events(line, data.get("events", []), received_at, now)
    imported = Imported(
        DossierInput(
            code=code,
            procedure=procedure,
            agency_code=agency,
            applicant=applicant,
            received_at=received_at or now,
            channel=str(channel),
            fingerprint=digest(data),
        ),
        due_at if status is not DossierStatus.SUPPLEMENT_REQUIRED else None,
        status,
        events,
    )
    if not line.problems:
        _check_path(line, imported)
    if line.problems:
        raise ImportRefused(line.problems)
    return imported


def _events(line: _Line, raw: Any, received_at: datetime | None, now: datetime) -> list[PastEvent]:
    if not isinstance(raw, list) or len(raw) > MAX_IMPORT_EVENTS:
        line.refuse(ImportRefusal.MALFORMED, f"events: a list of at most {MAX_IMPORT_EVENTS} events")
        return []
    events: list[PastEvent] = []
    previous = received_at
    ids: set[str] = set()
    for n, item in enumerate(raw, start=1):
        where = f"events[{n}]."
        if not isinstance(item, dict):
            line.refuse(ImportRefusal.MALFORMED, f"{where[:-1]}: an object with kind and at")
            continue
        kind = item.get("kind")
        if kind not in EVENT_KINDS:
            line.refuse(ImportRefusal.UNKNOWN_EVENT, f"{where}kind: one of {', '.join(EVENT_KINDS)}", kind)
            continue
        at = line.time(item, "at", where)
        if at is None:
            continue
        if is_in_future(at, now):
            line.refuse(ImportRefusal.FUTURE, f"{where}at {iso(at)} is in the future", iso(at))
        if previous is not None and at < previous:
            line.refuse(
                ImportRefusal.OUT_OF_ORDER,
                f"{where}at {iso(at)} is earlier than the event before it ({iso(previous)})",
                iso(at),
            )
        previous = at
        event_id = item.get("event_id") or f"{EVENT_ID_PREFIX}{n}"
        if not isinstance(event_id, str) or len(event_id) > EVENT_ID_MAX or event_id in ids:
            line.refuse(
                ImportRefusal.MALFORMED, f"{where}event_id: unique, at most {EVENT_ID_MAX} characters"
            )
            continue
        ids.add(event_id)
        event = _event(line, EventKind(kind), item, where, event_id, at)
        if event is not None:
            events.append(event)
    return events


def _event(
    line: _Line, kind: EventKind, item: Mapping[str, Any], where: str, event_id: str, at: datetime
) -> PastEvent | None:
    transition = EVENT_KINDS[kind.value]
    command: Command | PaymentReceived
    pay_by: datetime | None = None
    if kind is EventKind.SUPPLEMENT_REQUESTED:
        items = item.get("items")
        if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
            line.refuse(ImportRefusal.EVENT_BODY, f"{where}items: 1 to {MAX_ITEMS} documents asked for")
            return None
        command = SupplementRequest(
            event_id=event_id, at=at, items=[str(i) for i in items], note=str(item.get("note") or "")
        )
    elif kind is EventKind.SUPPLEMENT_RECEIVED:
        command = SupplementReceived(event_id=event_id, at=at, note=str(item.get("note") or ""))
    elif kind is EventKind.FEE_REQUESTED:
        raw_items = item.get("items")
        if not isinstance(raw_items, list) or not 0 < len(raw_items) <= MAX_ITEMS:
            line.refuse(ImportRefusal.EVENT_BODY, f"{where}items: 1 to {MAX_ITEMS} fee items")
            return None
        fees = [
            FeeItem(line.text(i, "name", where), line.whole(i, "amount_vnd", where, 1, MAX_AMOUNT_VND))
            for i in raw_items
            if isinstance(i, dict)
        ]
        days = item.get("pay_within_days", DEFAULT_PAY_WITHIN_DAYS)
        days = line.whole({"pay_within_days": days}, "pay_within_days", where, 1, MAX_PAY_WITHIN_DAYS)
        command = FeeRequest(event_id=event_id, at=at, items=fees, pay_within_days=days)
        pay_by = line.time(item, "pay_by", where, optional=True)
        if pay_by is not None and pay_by <= at:
            line.refuse(ImportRefusal.EVENT_BODY, f"{where}pay_by is not after the fee's time", iso(pay_by))
    elif kind is EventKind.PAYMENT_RECEIVED:
        transaction = line.text(item, "transaction_id", where)
        amount = line.whole(item, "amount_vnd", where, 1, MAX_AMOUNT_VND)
        command = PaymentReceived(transaction, amount, at, source=Actor.TTHC.value)
    else:
        pickup, delivery = item.get("pickup"), item.get("delivery")
        command = ResultReady(
            event_id=event_id,
            at=at,
            pickup=Pickup(str(pickup.get("place", "")), str(pickup.get("note", "")))
            if isinstance(pickup, dict)
            else None,
            delivery=Delivery(str(delivery.get("address", "")), str(delivery.get("note", "")))
            if isinstance(delivery, dict)
            else None,
        )
    if isinstance(command, Command):
        try:
            rules.check_body(command, due_at=None, apologized=False)
        except rules.Broken as broken:
            line.refuse(ImportRefusal.EVENT_BODY, f"{where[:-1]}: {broken.message}")
            return None
    return PastEvent(kind, transition, command, pay_by)


def _check_path(line: _Line, imported: Imported) -> None:
    """The state the events lead to through the transition table, against the one declared."""
    status = DossierStatus.RECEIVED
    total = paid = 0
    for n, event in enumerate(imported.events, start=1):
        if isinstance(event.command, PaymentReceived):
            if status is not DossierStatus.FEE_DUE:
                line.refuse(
                    ImportRefusal.UNREACHABLE_STATE,
                    f"events[{n}]: a payment while no fee is due (state {status.value})",
                    event.kind.value,
                )
                return
            paid += event.command.amount_vnd
            if paid < total:
                continue  # a partial payment: the fee stays due
        elif isinstance(event.command, FeeRequest):
            total, paid = sum(i.amount_vnd for i in event.command.items), 0
        try:
            status = next_status(event.transition, status)
        except IllegalTransition as error:
            line.refuse(ImportRefusal.UNREACHABLE_STATE, f"events[{n}]: {error}", event.kind.value)
            return
    if status is not imported.status:
        line.refuse(
            ImportRefusal.STATE_MISMATCH,
            f"status {imported.status.value} declared, but the events lead to {status.value}",
            imported.status.value,
        )


# ---------------------------------------------------------------- the workflow's state


def state_of(
    imported: Imported,
    *,
    calendar: WorkingCalendar,
    policy: DossierPolicy,
    now: datetime,
) -> DossierState:
    """The state the workflow starts from: the timeline of the dossier's past (the receipt, its events,
    and the reminders and escalations whose time came before `now`, applied without their notices), the
    appointment of the file and the timers still to come (the workflow plans them from this state)."""
    source = imported.input
    day = timedelta(seconds=policy.working_day_seconds)
    s = DossierState(
        code=source.code,
        agency_code=source.agency_code,
        procedure_code=source.procedure.code,
        procedure_name=source.procedure.name,
        working_days=source.procedure.working_days,
        received_at=source.received_at,
    )

    def append(kind: EventKind, at: datetime, by: str, event_id: str | None = None, **detail: Any) -> None:
        s.timeline.append(TimelineEntry(s.seq + 1, at, kind.value, by, detail | {IMPORTED: True}, event_id))

    def start_count(at: datetime) -> None:
        s.clock_started_at = calendar.due_at(at, 0)
        s.due_at = calendar.due_at(at, s.working_days)

    start_count(source.received_at)
    # What the receipt printed: the appointment held, unless events since may have moved it.
    first_due = imported.due_at if not imported.events else s.due_at
    append(
        EventKind.RECEIVED,
        source.received_at,
        Actor.TTHC.value,
        due_at=iso(first_due),
        working_days=s.working_days,
        channel=source.channel,
    )
    for event in imported.events:
        command = event.command
        if isinstance(command, PaymentReceived):
            _pay(s, command, append)
            continue
        if isinstance(command, SupplementRequest):
            assert s.clock_started_at is not None
            spent = calendar.working_time_between(s.clock_started_at, command.at)
            late = spent > policy.supplement_request_within_working_days * day
            s.supplement = SupplementInfo(command.items, command.at, command.note, late)
            s.supplement_count += 1
            s.due_at = None
            detail: dict[str, Any] = {"items": command.items, "note": command.note, "late": late}
        elif isinstance(command, SupplementReceived):
            start_count(command.at)
            s.supplement = None
            detail = {"note": command.note, "due_at": iso(s.due_at)}
        elif isinstance(command, FeeRequest):
            total = sum(i.amount_vnd for i in command.items)
            pay_by = event.pay_by or calendar.add_working_time(command.at, command.pay_within_days * day)
            s.fee = FeeInfo(command.items, total, command.pay_within_days, command.at, None, pay_by)
            s.paused_since = command.at
            detail = {"items": [asdict(i) for i in command.items], "total_vnd": total, "pay_by": iso(pay_by)}
        else:
            assert isinstance(command, ResultReady)
            due = imported.due_at or s.due_at
            s.on_time = due is None or command.at <= due
            s.result = ResultInfo(command.at, command.pickup, command.delivery)
            detail = {"on_time": s.on_time, "due_at": iso(due)}
            if command.pickup:
                detail["pickup"] = asdict(command.pickup)
            if command.delivery:
                detail["delivery"] = asdict(command.delivery)
        s.status = next_status(event.transition, s.status)
        append(event.kind, command.at, command.by, command.event_id, **detail)
        s.events[command.event_id] = EventRecord(event.transition, rules.fingerprint(command), s.seq)
        s.last_command_at = command.at
    s.last_command_at = s.last_command_at or source.received_at
    if s.status is not DossierStatus.SUPPLEMENT_REQUIRED:
        s.due_at = imported.due_at  # the appointment the citizen holds, whatever moved it
    _catch_up(s, calendar, policy, now, append)
    return s


def _pay(s: DossierState, payment: PaymentReceived, append: Any) -> None:
    fee = s.fee
    assert fee is not None
    fee.paid_vnd += payment.amount_vnd
    if fee.paid_vnd < fee.total_vnd:
        outcome, kind = "underpaid", EventKind.PAYMENT_PARTIAL
    else:
        outcome, kind = "applied", EventKind.PAYMENT_RECEIVED
        s.paused_since = None
        s.status = next_status(Transition.PAYMENT_RECEIVED, s.status)
    s.payments[payment.transaction_id] = PaymentRecord(
        payment.transaction_id, payment.amount_vnd, payment.at, outcome, s.seq + 1, payment.source
    )
    append(
        kind,
        payment.at,
        payment.source,
        transaction_id=payment.transaction_id,
        amount_vnd=payment.amount_vnd,
        outcome=outcome,
    )
    s.last_command_at = payment.at


def _catch_up(
    s: DossierState, calendar: WorkingCalendar, policy: DossierPolicy, now: datetime, append: Any
) -> None:
    """Apply the timers whose time came before `now` as the workflow would have (its `_fire`), recording
    each on the timeline at its legal moment, and dropping its notices: they are past."""
    while True:
        planned = [
            (
                calendar.add_working_time(t.base, timedelta(seconds=t.working_seconds))
                if t.working_seconds
                else t.base,
                t,
            )
            for t in timers.plan(s, policy)
        ]
        if not planned:
            return
        at, timer = min(planned, key=lambda p: p[0])
        if at > now:
            return
        firing = timers.fire(s, policy, timer.kind)
        append(timer.kind, at, Actor.SYSTEM.value, **firing.detail)
