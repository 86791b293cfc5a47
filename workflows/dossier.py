"""DossierWorkflow: one administrative-procedure dossier, from receipt to its end.

Transitions are updates with validators (refused before they reach history); a payment is an update that
answers once recorded; the legal clock's answers come from calendar activities and its timers run on
`workflow.now()`; every timeline entry is projected to the database by an activity; notices leave through
the notice activity, after quiet hours.

The rules themselves are pure and live in `domain/` (what a command must hold: domain/rules.py; which
timers the state calls for and what firing one changes: domain/timers.py; what officers read in the UI:
domain/details.py). This module imports only those and the contracts (workflows/contracts.py), never an
activity's implementation. It is one class over 400 lines because a workflow's handlers share its state
and its lock: split, they would only pass `self` around.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # `import a.b as c`, not `from a import b`: the workflow's own package is re-imported in the sandbox,
    # and only a dotted import passes its modules through from outside.
    import workflows.contracts as contracts
    import workflows.search_attributes as sa
    from domain import details, rules, steps, timers
    from domain.dossier import (
        Actor,
        Apology,
        Command,
        DossierInput,
        DossierResult,
        DossierState,
        EventRecord,
        FeeInfo,
        FeeRequest,
        Handover,
        OutboxItem,
        Outcome,
        PaymentAnswer,
        PaymentReceived,
        PaymentRecord,
        Rating,
        Reception,
        ReceptionRefusal,
        Register,
        Rejection,
        ResultInfo,
        ResultReady,
        Returned,
        StepInfo,
        SupplementInfo,
        SupplementReceived,
        SupplementRequest,
        SupplementRule,
        TimelineEntry,
        Withdrawal,
    )
    from domain.limits import LOW_RATING_MAX, RATING_WINDOW_DAYS
    from domain.notices import Audience, NoticeKind, NoticeOrder, OfficerRole, citizen_notice, officer_notice
    from domain.refusals import Refusal
    from domain.status import FINAL_STATES, DossierStatus, EventKind, Transition, next_status
    from domain.timefmt import iso, next_send_time, vn_datetime
    from workflows.contracts import (
        CalendarAnswers,
        CalendarQuestions,
        CalendarStep,
        DueAtRequest,
        NoticeBatch,
        Projection,
        RecordRequest,
        ShiftRequest,
        SpanRequest,
    )

# Patches: each guards a change that running dossiers' histories would otherwise not replay through.
PATCH_RECORD_LOCALLY = "record-projection-as-local-activity"
PATCH_CLEAR_OVERDUE = "clear-overdue-when-handled"
PATCH_SUPPLEMENT_NOTICE = "supplement-received-notice"
PATCH_NOTICES_BY_AUDIENCE = "notices-by-audience"
PATCH_SUPPLEMENT_RULE = "supplement-rule-per-procedure"
PATCH_ONE_CALENDAR_CALL = "one-calendar-call-per-transition"
PATCH_WAIT_FOR_RATING = "wait-for-rating"
PATCH_INTERNAL_STEPS = "internal-steps-and-handovers"
# An online submission starts in `submitted`, without a clock, until the desk receives it. Only inputs
# with `submitted` ever take this path (and every branch on `submitted` state behind it).
PATCH_ONLINE_SUBMISSION = "online-submission-before-reception"
# A supplement request sets the citizen's deadline to supply (reminders before it, `stopped` when it passes
# unsupplied), and a procedure whose count resumes keeps its due date to move. Requests from before it
# keep no deadline and restart the count, as they did.
PATCH_SUPPLEMENT_DEADLINE = "supplement-deadline-stops-dossier"

CALENDAR_TIMEOUT = timedelta(seconds=10)
CALENDAR_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=20))


def refuse(refusal: Refusal, message: str, *details: Any) -> ApplicationError:
    """A business refusal: its `type` is the Refusal, which the gateway hands to callers."""
    return ApplicationError(message, *details, type=refusal.value, non_retryable=True)


def refused(broken: rules.Broken) -> ApplicationError:
    return refuse(broken.refusal, broken.message, *broken.details)


@dataclass
class _Timer:
    at: datetime
    kind: EventKind
    label: str
    version: int  # the state version it was planned for; a change since makes it stale


@workflow.defn(name=contracts.WORKFLOW)
class DossierWorkflow:
    @workflow.init
    def __init__(self, input: DossierInput) -> None:
        self._input = input
        self._policy = input.policy
        self._day = self._policy.working_day_seconds
        self._lock = asyncio.Lock()
        self._version = 0
        self._stopping = False
        self._sends_in_flight = 0
        self._shift_cache: dict[tuple[datetime, int], datetime] = {}
        self._upserted: dict[str, Any] = {}
        if input.carried is not None:
            self.s = input.carried
            self._ready = True
        else:
            self.s = DossierState(
                code=input.code,
                agency_code=input.agency_code,
                procedure_code=input.procedure.code,
                procedure_name=input.procedure.name,
                working_days=input.procedure.working_days,
                received_at=input.received_at,
            )
            self._ready = False

    # ---------------------------------------------------------------- run

    @workflow.run
    async def run(self, input: DossierInput) -> DossierResult:
        if not self._ready:
            if self._input.submitted and workflow.patched(PATCH_ONLINE_SUBMISSION):
                await self._submit()
            else:
                await self._receive()
        self._publish()
        if workflow.patched(PATCH_NOTICES_BY_AUDIENCE):
            # Citizens' and officers' notices go out independently: an officer's Zalo id that keeps
            # failing holds up no citizen's notice (order is kept within each audience).
            senders = [asyncio.create_task(self._deliver_notices(audience)) for audience in Audience]
        else:
            senders = [asyncio.create_task(self._deliver_notices(None))]
        while not self.s.status.is_final:
            version = self._version
            timer = await self._next_timer()
            try:
                await workflow.wait_condition(
                    lambda: self._version != version,  # noqa: B023 (awaited at once, in this iteration)
                    timeout=max(timer.at - workflow.now(), timedelta(milliseconds=1)) if timer else None,
                    timeout_summary=timer.label if timer else None,
                )
            except TimeoutError:
                assert timer is not None
                await self._fire(timer)
            if self._continue_as_new_due():
                # Not while a handler or a notice send is under way: the new run would not see its end.
                await workflow.wait_condition(
                    lambda: (
                        workflow.all_handlers_finished()
                        and not self._lock.locked()
                        and not self._sends_in_flight
                    )
                )
                workflow.continue_as_new(replace(self._input, carried=self.s))
        if self.s.rate_by is not None:  # returned after the wait-for-rating patch: a rating is asked
            await self._await_rating(self.s.rate_by)
        self._stopping = True
        for sender in senders:
            await sender
        await workflow.wait_condition(workflow.all_handlers_finished)
        return DossierResult(self.s.code, self.s.status, self.s.on_time, self.s.finished_at)

    async def _receive(self) -> None:
        async with self._lock:
            self._take_steps()
            await self._start_count(self.s.received_at)
            entry = self._append(
                EventKind.RECEIVED,
                self.s.received_at,
                Actor.TTHC.value,
                due_at=iso(self.s.due_at),
                working_days=self.s.working_days,
                channel=self._input.channel,
            )
            self.s.last_command_at = self.s.received_at
            await self._record(
                entry,
                [citizen_notice(self.s, NoticeKind.RECEIVED, due_at=iso(self.s.due_at))],
                registration=True,
            )
            self._ready = True

    async def _await_rating(self, rate_by: datetime) -> None:
        """Wait (a visible timer) until the citizen rated or the window closed, whichever comes first."""
        left = rate_by - workflow.now()
        if self.s.rating is not None or left <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):  # no rating in time: the dossier ends without one
            await workflow.wait_condition(
                lambda: self.s.rating is not None,
                timeout=left,
                timeout_summary=f"waiting for the citizen's rating until {vn_datetime(rate_by)}",
            )
        # A rating that was being recorded as the window closed finishes first (its entry and notice queued
        # before the senders stop); the handler itself refuses it if it came too late.
        await workflow.wait_condition(lambda: not self._lock.locked())

    # ---------------------------------------------------------------- online submission (before reception)

    async def _submit(self) -> None:
        """An online submission reaches the desk: no legal clock, a check deadline in working hours."""
        async with self._lock:
            self._take_steps()
            self.s.status = DossierStatus.SUBMITTED
            await self._plan_check(self.s.received_at)
            entry = self._append(
                EventKind.SUBMITTED,
                self.s.received_at,
                Actor.TTHC.value,
                check_due_at=iso(self.s.check_due_at),
                working_days=self.s.working_days,
                channel=self._input.channel,
            )
            self.s.last_command_at = self.s.received_at
            await self._record(entry, [], registration=True)
            self._ready = True

    async def _plan_check(self, at: datetime) -> None:
        """The desk's check is due this many working hours after `at` (the submission, or the arrival of a
        supplement asked before reception)."""
        self.s.check_due_at = await self._shift(at, self._policy.check_within_working_hours * 3600)
        self.s.check_reminded = False
        self.s.overdue = False

    @workflow.update
    async def receive(self, command: Reception) -> Outcome:
        """The desk received an online submission: the count starts now; the receipt notice (Mẫu 01)."""
        async with self._turn(Transition.RECEIVE, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            check_due_at = self.s.check_due_at
            on_time_check = check_due_at is None or command.at <= check_due_at
            await self._start_count(command.at)
            self.s.check_due_at = None
            self.s.overdue = False
            return await self._commit(
                Transition.RECEIVE,
                command,
                EventKind.RECEIVED,
                {
                    "due_at": iso(self.s.due_at),
                    "working_days": self.s.working_days,
                    "channel": self._input.channel,
                    "submitted_at": iso(self.s.received_at),
                    "check_due_at": iso(check_due_at),
                    "checked_in_time": on_time_check,
                    "note": command.note,
                },
                [citizen_notice(self.s, NoticeKind.RECEIVED, due_at=iso(self.s.due_at))],
            )

    @receive.validator
    def _validate_receive(self, command: Reception) -> None:
        self._validate(Transition.RECEIVE, command)

    @workflow.update
    async def refuse_reception(self, command: ReceptionRefusal) -> Outcome:
        """The desk refused an online submission (Mẫu 03): final, the citizen told why."""
        async with self._turn(Transition.REFUSE_RECEPTION, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            self.s.finished_at = command.at
            self.s.check_due_at = None
            return await self._commit(
                Transition.REFUSE_RECEPTION,
                command,
                EventKind.REJECTED,
                {"reason": command.reason, "at_reception": True},
                [citizen_notice(self.s, NoticeKind.RECEPTION_REFUSED, reason=command.reason)],
            )

    @refuse_reception.validator
    def _validate_refuse_reception(self, command: ReceptionRefusal) -> None:
        self._validate(Transition.REFUSE_RECEPTION, command)

    async def _supplement_before_reception(self, command: SupplementRequest) -> Outcome:
        """Asked at the desk's check (Mẫu 02): the count never started; it counts as a request."""
        supply_by = await self._supply_by(command.at)
        self.s.supplement = SupplementInfo(command.items, command.at, command.note, False, supply_by)
        self.s.supplement_count += 1
        self.s.check_due_at = None
        self.s.overdue = False
        deadline = {"supply_by": iso(supply_by)} if supply_by is not None else {}
        return await self._commit(
            Transition.REQUEST_SUPPLEMENT,
            command,
            EventKind.SUPPLEMENT_REQUESTED,
            {
                "items": command.items,
                "note": command.note,
                "late": False,
                "before_reception": True,
                **deadline,
            },
            [
                citizen_notice(
                    self.s,
                    NoticeKind.SUPPLEMENT_REQUIRED,
                    items=command.items,
                    note=command.note,
                    before_reception=True,
                    **deadline,
                )
            ],
        )

    def _supplement_rule(self) -> SupplementRule:
        """The procedure's rule; a dossier registered before the catalogue follows the law's defaults."""
        return self._input.supplement or SupplementRule()

    async def _supply_by(self, at: datetime) -> datetime | None:
        """The citizen's deadline to supply a supplement asked at `at` (None: a request from before the
        supplement-deadline patch, which keeps none)."""
        if not workflow.patched(PATCH_SUPPLEMENT_DEADLINE):
            return None
        return await self._shift(at, self._supplement_rule().supply_within_days * self._day)

    async def _supplemented_before_reception(self, command: SupplementReceived) -> Outcome:
        """The supplement asked before reception arrived: back to the desk's check, a new check deadline."""
        await self._plan_check(command.at)
        self.s.supplement = None
        return await self._commit(
            Transition.SUPPLEMENT_RECEIVED,
            command,
            EventKind.SUPPLEMENT_RECEIVED,
            {"note": command.note, "before_reception": True, "check_due_at": iso(self.s.check_due_at)},
            [],
        )

    def _continue_as_new_due(self) -> bool:
        info = workflow.info()
        limit = self._policy.continue_as_new_after_events
        return info.is_continue_as_new_suggested() or bool(
            limit and info.get_current_history_length() >= limit
        )

    # ---------------------------------------------------------------- queries

    @workflow.query
    def state(self) -> DossierState:
        return self.s

    @workflow.query
    def timeline(self) -> list[TimelineEntry]:
        return self.s.timeline

    # ---------------------------------------------------------------- updates

    @workflow.update(name=contracts.REGISTER)
    async def register(self, command: Register) -> Outcome:
        """Answers a registration once the due date is known (the counter prints it on the receipt)."""
        await workflow.wait_condition(lambda: self._ready)
        return self._outcome()

    @register.validator
    def _validate_register(self, command: Register) -> None:
        if command.fingerprint != self._input.fingerprint:
            raise refuse(
                Refusal.REGISTRATION_CONFLICT, f"dossier {self.s.code} was registered with another body"
            )

    @workflow.update
    async def request_supplement(self, command: SupplementRequest) -> Outcome:
        async with self._turn(Transition.REQUEST_SUPPLEMENT, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            if self._input.supplement is not None and workflow.patched(PATCH_SUPPLEMENT_RULE):
                # Re-checked under the lock; dossiers without a rule (registered before the catalogue)
                # and histories from before the patch keep asking as often as they did.
                try:
                    rules.check_supplement_limit(self.s, self._input.supplement)
                except rules.Broken as broken:
                    raise refused(broken) from None
            if self.s.status is DossierStatus.SUBMITTED:  # only online submissions (patched) get here
                return await self._supplement_before_reception(command)
            assert self.s.clock_started_at is not None
            spent = await self._working_seconds(self.s.clock_started_at, command.at)
            late = spent > self._policy.supplement_request_within_working_days * self._day
            supply_by = await self._supply_by(command.at)
            deadline: dict[str, Any] = {}
            paused_due_at = None
            if supply_by is not None:
                # Under the patch: the deadline, and (a procedure whose count resumes) the due date to move.
                resume = not self._supplement_rule().restart_count
                paused_due_at = self.s.due_at if resume else None
                deadline = {"supply_by": iso(supply_by), "resume": resume}
            self.s.supplement = SupplementInfo(
                command.items, command.at, command.note, late, supply_by, paused_due_at=paused_due_at
            )
            self.s.supplement_count += 1
            self.s.due_at = None  # the clock stops; it restarts (or resumes) when the supplement arrives
            self.s.overdue = False
            return await self._commit(
                Transition.REQUEST_SUPPLEMENT,
                command,
                EventKind.SUPPLEMENT_REQUESTED,
                {"items": command.items, "note": command.note, "late": late, **deadline},
                [
                    citizen_notice(
                        self.s,
                        NoticeKind.SUPPLEMENT_REQUIRED,
                        items=command.items,
                        note=command.note,
                        **deadline,
                    )
                ],
            )

    @request_supplement.validator
    def _validate_request_supplement(self, command: SupplementRequest) -> None:
        self._validate(Transition.REQUEST_SUPPLEMENT, command)
        try:  # a validator leaves no history: no patch needed here
            rules.check_supplement_limit(self.s, self._input.supplement)
        except rules.Broken as broken:
            raise refused(broken) from None

    @workflow.update
    async def supplement_received(self, command: SupplementReceived) -> Outcome:
        async with self._turn(Transition.SUPPLEMENT_RECEIVED, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            if self.s.clock_started_at is None:  # asked before reception (online submissions only)
                return await self._supplemented_before_reception(command)
            asked = self.s.supplement
            if asked is not None and asked.paused_due_at is not None:
                # The procedure's count resumes (set only under the supplement-deadline patch): the due
                # date moves by the working time the dossier waited, as after a fee (one arithmetic).
                old_due_at = asked.paused_due_at
                self.s.due_at, self.s.paused_since = old_due_at, asked.requested_at
                await self._resume_clock(command.at)
                self.s.supplement = None
                return await self._commit(
                    Transition.SUPPLEMENT_RECEIVED,
                    command,
                    EventKind.SUPPLEMENT_RECEIVED,
                    {
                        "note": command.note,
                        "due_at": iso(self.s.due_at),
                        "resumed": True,
                        "old_due_at": iso(old_due_at),
                    },
                    [citizen_notice(self.s, NoticeKind.SUPPLEMENT_RESUMED, due_at=iso(self.s.due_at))],
                )
            await self._start_count(command.at)
            self.s.supplement = None
            if workflow.patched(PATCH_SUPPLEMENT_NOTICE):
                notice = citizen_notice(self.s, NoticeKind.SUPPLEMENT_RECEIVED, due_at=iso(self.s.due_at))
            else:
                notice = citizen_notice(
                    self.s, NoticeKind.RECEIVED, due_at=iso(self.s.due_at), restarted=True
                )
            return await self._commit(
                Transition.SUPPLEMENT_RECEIVED,
                command,
                EventKind.SUPPLEMENT_RECEIVED,
                {"note": command.note, "due_at": iso(self.s.due_at)},
                [notice],
            )

    @supplement_received.validator
    def _validate_supplement_received(self, command: SupplementReceived) -> None:
        self._validate(Transition.SUPPLEMENT_RECEIVED, command)

    @workflow.update
    async def request_fee(self, command: FeeRequest) -> Outcome:
        async with self._turn(Transition.REQUEST_FEE, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            total = sum(item.amount_vnd for item in command.items)
            if workflow.patched(PATCH_ONE_CALENDAR_CALL):
                # The first fee reminder's time is asked in the same call (the timer plan finds it kept).
                reminders = self._policy.fee_reminder_working_days[:1]
                steps = [CalendarStep("shift", command.at, command.pay_within_days * self._day)]
                steps += [CalendarStep("shift", command.at, days * self._day) for days in reminders]
                answers = await self._calendar(steps, "pay-by date and the first fee reminder")
                pay_by = self._kept(answers, steps, 0)
                for n in range(1, len(steps)):
                    self._kept(answers, steps, n)
            else:
                pay_by = await self._shift(command.at, command.pay_within_days * self._day)
            self.s.fee = FeeInfo(
                command.items, total, command.pay_within_days, command.at, command.pay_url, pay_by
            )
            self.s.paused_since = command.at  # the clock pauses while the fee is due
            return await self._commit(
                Transition.REQUEST_FEE,
                command,
                EventKind.FEE_REQUESTED,
                {"items": [asdict(i) for i in command.items], "total_vnd": total, "pay_by": iso(pay_by)},
                [
                    citizen_notice(
                        self.s,
                        NoticeKind.FEE_DUE,
                        items=[asdict(i) for i in command.items],
                        total_vnd=total,
                        pay_url=command.pay_url,
                        pay_by=iso(pay_by),
                    )
                ],
            )

    @request_fee.validator
    def _validate_request_fee(self, command: FeeRequest) -> None:
        self._validate(Transition.REQUEST_FEE, command)

    @workflow.update
    async def mark_result_ready(self, command: ResultReady) -> Outcome:
        async with self._turn(Transition.MARK_RESULT_READY, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            self.s.on_time = self.s.due_at is None or command.at <= self.s.due_at
            self.s.result = ResultInfo(command.at, command.pickup, command.delivery)
            where = {"pickup": asdict(command.pickup)} if command.pickup else {}
            if command.delivery:
                where["delivery"] = asdict(command.delivery)
            return await self._commit(
                Transition.MARK_RESULT_READY,
                command,
                EventKind.RESULT_READY,
                {"on_time": self.s.on_time, "due_at": iso(self.s.due_at), **where},
                [citizen_notice(self.s, NoticeKind.RESULT_READY, **where)],
            )

    @mark_result_ready.validator
    def _validate_mark_result_ready(self, command: ResultReady) -> None:
        self._validate(Transition.MARK_RESULT_READY, command)

    @workflow.update
    async def mark_returned(self, command: Returned) -> Outcome:
        async with self._turn(Transition.MARK_RETURNED, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            self.s.finished_at = command.at
            notices: list[NoticeOrder] = []
            if workflow.patched(PATCH_WAIT_FOR_RATING):
                # The citizen is asked to rate the service, and the dossier waits for it (after the loop).
                self.s.rate_by = workflow.now() + timedelta(days=RATING_WINDOW_DAYS)
                notices.append(citizen_notice(self.s, NoticeKind.RATING_INVITE, rate_by=iso(self.s.rate_by)))
            return await self._commit(
                Transition.MARK_RETURNED,
                command,
                EventKind.RETURNED,
                {"to": command.to, "on_time": self.s.on_time},
                notices,
            )

    @mark_returned.validator
    def _validate_mark_returned(self, command: Returned) -> None:
        self._validate(Transition.MARK_RETURNED, command)

    @workflow.update
    async def reject(self, command: Rejection) -> Outcome:
        async with self._turn(Transition.REJECT, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            self.s.finished_at = command.at
            detail: dict[str, Any] = {"reason": command.reason}
            kind = NoticeKind.REJECTED
            if command.at_reception:  # refused at reception (Mẫu 03): its own notice and wording
                detail["at_reception"] = True
                kind = NoticeKind.RECEPTION_REFUSED
            return await self._commit(
                Transition.REJECT,
                command,
                EventKind.REJECTED,
                detail,
                [citizen_notice(self.s, kind, reason=command.reason)],
            )

    @reject.validator
    def _validate_reject(self, command: Rejection) -> None:
        self._validate(Transition.REJECT, command)

    @workflow.update
    async def withdraw(self, command: Withdrawal) -> Outcome:
        async with self._turn(Transition.WITHDRAW, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            self.s.finished_at = command.at
            return await self._commit(
                Transition.WITHDRAW,
                command,
                EventKind.WITHDRAWN,
                {"reason": command.reason},
                [citizen_notice(self.s, NoticeKind.WITHDRAWN, reason=command.reason)],
            )

    @withdraw.validator
    def _validate_withdraw(self, command: Withdrawal) -> None:
        self._validate(Transition.WITHDRAW, command)

    @workflow.update
    async def apologize(self, command: Apology) -> Outcome:
        async with self._turn(Transition.APOLOGIZE, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            try:  # checked again under the lock: the validator may have run before another update
                rules.check_apology(command, due_at=self.s.due_at, apologized=self.s.apologized)
            except rules.Broken as broken:
                raise refused(broken) from None
            old_due_at = self.s.due_at
            self.s.due_at = command.new_due_at
            self.s.apologized = True
            self.s.overdue = False
            self.s.escalation_level = 0
            return await self._commit(
                Transition.APOLOGIZE,
                command,
                EventKind.APOLOGY,
                {
                    "reason": command.reason,
                    "old_due_at": iso(old_due_at),
                    "new_due_at": iso(command.new_due_at),
                },
                [
                    citizen_notice(
                        self.s,
                        NoticeKind.APOLOGY,
                        reason=command.reason,
                        old_due_at=iso(old_due_at),
                        new_due_at=iso(command.new_due_at),
                    )
                ],
            )

    @apologize.validator
    def _validate_apologize(self, command: Apology) -> None:
        self._validate(Transition.APOLOGIZE, command)

    # ---------------------------------------------------------------- the citizen's rating

    @workflow.update(name=contracts.RATE)
    async def rate(self, rating: Rating) -> Outcome:
        """The citizen's satisfaction rating, once, after the result was returned and before `rate_by`;
        a low one notifies the agency head. Recorded before it counts as given, so the dossier does not
        end (and its senders stop) before the entry and its notice are queued."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            try:  # checked again under the lock: another rating may have been recorded meanwhile
                rules.check_rating(self.s, rating, workflow.now())
            except rules.Broken as broken:
                raise refused(broken) from None
            notices: list[NoticeOrder] = []
            if rating.score <= LOW_RATING_MAX:
                notices.append(
                    officer_notice(
                        self.s, NoticeKind.LOW_RATING, OfficerRole.AGENCY_HEAD.value, score=rating.score
                    )
                )
            entry = self._append(
                EventKind.RATED, rating.at, Actor.CITIZEN.value, score=rating.score, comment=rating.comment
            )
            await self._record(entry, notices)
            self.s.rating = rating
            self._changed()
            return self._outcome()

    @rate.validator
    def _validate_rate(self, rating: Rating) -> None:
        try:
            rules.check_rating(self.s, rating, workflow.now())
        except rules.Broken as broken:
            raise refused(broken) from None

    # ---------------------------------------------------------------- internal steps

    @workflow.update
    async def handover(self, command: Handover) -> Outcome:
        """The dossier passes to an officer for the next internal step: the step before it ends (judged
        early, on time or late against its deadline), the new one's deadline is its working hours from
        `at` (one calendar call); a timer tells its holder and their head once when it passes."""
        async with self._turn(Transition.HANDOVER, command) as repeat:
            if repeat:
                return self._outcome(duplicate=True)
            try:  # checked again under the lock: another hand-over may have run since the validator
                rules.check_handover(self.s, command)
            except rules.Broken as broken:
                raise refused(broken) from None
            step = self.s.steps[command.step - 1]
            asked = [CalendarStep("shift", command.at, round(step.hours * 3600))]
            due_at = self._kept(await self._calendar(asked, f"step {command.step} deadline"), asked, 0)
            detail: dict[str, Any] = {
                "step": command.step,
                "name": step.name,
                "unit": step.unit,
                "hours": step.hours,
                "holder": command.officer,
                "from": self.s.step.holder if self.s.step is not None else None,
                "step_due_at": iso(due_at),
            }
            ended = self._end_step(command.at)
            if ended is not None:
                detail["closed"] = ended
            self.s.step = StepInfo(command.step, step.name, command.officer, command.at, due_at)
            return await self._commit(Transition.HANDOVER, command, EventKind.HANDOVER, detail, [])

    @handover.validator
    def _validate_handover(self, command: Handover) -> None:
        self._validate(Transition.HANDOVER, command)
        try:
            rules.check_handover(self.s, command)
        except rules.Broken as broken:
            raise refused(broken) from None

    def _take_steps(self) -> None:
        """The procedure's internal steps, as the catalogue gave them at registration; a dossier without
        them (and every history from before) never takes a hand-over."""
        if self._input.steps and workflow.patched(PATCH_INTERNAL_STEPS):
            self.s.steps = list(self._input.steps)

    def _end_step(self, at: datetime) -> dict[str, Any] | None:
        """End the step the dossier is in (a hand-over, or the dossier's end): its record for the entry
        that ends it, a late one attributed to it."""
        if self.s.step is None:
            return None
        ended = steps.closed(self.s.step, at)
        if ended["outcome"] == steps.StepOutcome.LATE:
            self.s.late_steps.append(self.s.step.number)
        self.s.step = None
        return ended

    # ---------------------------------------------------------------- payments

    @workflow.update(name=contracts.RECORD_PAYMENT)
    async def record_payment(self, payment: PaymentReceived) -> PaymentAnswer:
        """A payment, answered once its record (and the `payments` row) exists; a known transaction id is
        answered with its record and changes nothing."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            known = self.s.payments.get(payment.transaction_id)
            if known is not None:
                return PaymentAnswer(known, applied_now=False)
            try:  # checked again under the lock: the state may have moved since the validator ran
                rules.check_payment(self.s, payment)
            except rules.Broken as broken:
                raise refused(broken) from None
            return PaymentAnswer(await self._apply_payment(payment), applied_now=True)

    @record_payment.validator
    def _validate_record_payment(self, payment: PaymentReceived) -> None:
        if payment.transaction_id not in self.s.payments:
            try:
                rules.check_payment(self.s, payment)
            except rules.Broken as broken:
                raise refused(broken) from None

    @workflow.signal(name=contracts.PAYMENT_SIGNAL)
    async def payment_received(self, payment: PaymentReceived) -> None:
        """The payment signal of the first release, kept for the histories that hold it."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            if payment.transaction_id in self.s.payments or payment.amount_vnd <= 0:
                return
            await self._apply_payment(payment)

    async def _apply_payment(self, payment: PaymentReceived) -> PaymentRecord:
        """Record a payment of a new transaction (under the lock): applied, underpaid or not due."""
        fee = self.s.fee
        notices: list[NoticeOrder] = []
        if self.s.status is not DossierStatus.FEE_DUE or fee is None:
            outcome, kind = "not_due", EventKind.PAYMENT_NOT_DUE
            notices.append(
                officer_notice(
                    self.s,
                    NoticeKind.PAYMENT_MISMATCH,
                    OfficerRole.OFFICER.value,
                    amount_vnd=payment.amount_vnd,
                    transaction_id=payment.transaction_id,
                )
            )
        elif fee.paid_vnd + payment.amount_vnd < fee.total_vnd:
            fee.paid_vnd += payment.amount_vnd
            outcome, kind = "underpaid", EventKind.PAYMENT_PARTIAL
            notices.append(
                officer_notice(
                    self.s,
                    NoticeKind.PAYMENT_MISMATCH,
                    OfficerRole.OFFICER.value,
                    amount_vnd=payment.amount_vnd,
                    total_vnd=fee.total_vnd,
                    transaction_id=payment.transaction_id,
                )
            )
        else:
            fee.paid_vnd += payment.amount_vnd
            outcome, kind = "applied", EventKind.PAYMENT_RECEIVED
            await self._resume_clock(payment.at)
            self.s.status = next_status(Transition.PAYMENT_RECEIVED, self.s.status)
            notices.append(
                citizen_notice(
                    self.s,
                    NoticeKind.PAYMENT_CONFIRMED,
                    amount_vnd=fee.paid_vnd,
                    transaction_id=payment.transaction_id,
                    due_at=iso(self.s.due_at),
                )
            )
        record = PaymentRecord(
            payment.transaction_id,
            payment.amount_vnd,
            payment.at,
            outcome,
            self.s.seq + 1,
            payment.source,
        )
        entry = self._append(
            kind,
            payment.at,
            payment.source,
            transaction_id=payment.transaction_id,
            amount_vnd=payment.amount_vnd,
            outcome=outcome,
            due_at=iso(self.s.due_at),
        )
        # Known before it is recorded: a retry that arrives meanwhile (the record may take a while, or
        # be re-run by another worker after a crash) passes the validator as a known transaction, waits
        # for the lock, and answers this record, never "no fee is due" for the state this payment made.
        self.s.payments[payment.transaction_id] = record
        await self._record(entry, notices, payment=record)
        self._changed()
        return record

    # ---------------------------------------------------------------- transitions: shared steps

    def _validate(self, transition: Transition, command: Command) -> None:
        """Validator body: refuse what must not reach history, a repeated event included."""
        try:
            if rules.check_turn(self.s, transition, command):
                raise refuse(Refusal.DUPLICATE_EVENT, f"event {command.event_id} was already applied")
            rules.check_body(command, due_at=self.s.due_at, apologized=self.s.apologized)
        except rules.Broken as broken:
            raise refused(broken) from None

    @asynccontextmanager
    async def _turn(self, transition: Transition, command: Command) -> AsyncIterator[bool]:
        """One transition at a time, re-checked under the lock (validators may race each other); yields
        True for a repeat of an event already applied."""
        await workflow.wait_condition(lambda: self._ready)
        async with self._lock:
            try:
                repeat = rules.check_turn(self.s, transition, command)
            except rules.Broken as broken:
                raise refused(broken) from None
            yield repeat

    async def _commit(
        self,
        transition: Transition,
        command: Command,
        kind: EventKind,
        detail: dict[str, Any],
        notices: list[NoticeOrder],
    ) -> Outcome:
        self.s.status = next_status(transition, self.s.status, received=self.s.clock_started_at is not None)
        if self.s.status in (DossierStatus.RESULT_READY, *FINAL_STATES) and workflow.patched(
            PATCH_CLEAR_OVERDUE
        ):
            # Overdue means "late and still being handled": officers' `Overdue=true` lists what needs them;
            # whether it ended late stays in `on_time` and the timeline.
            self.s.overdue = False
        if self.s.status.is_final and self.s.step is not None:
            # The dossier ends in a step (the return, say): the step ends with it. Only dossiers that
            # follow steps hold one; the others record what they always did.
            detail = {**detail, "closed": self._end_step(command.at)}
        entry = self._append(kind, command.at, command.by, **detail)
        entry.event_id = command.event_id
        self.s.events[command.event_id] = EventRecord(transition, rules.fingerprint(command), entry.seq)
        self.s.last_command_at = command.at
        await self._record(entry, notices)
        self._changed()
        return self._outcome()

    def _outcome(self, duplicate: bool = False) -> Outcome:
        return Outcome(self.s.status, self.s.due_at, self.s.seq, duplicate)

    def _append(self, kind: EventKind, at: datetime, by: str, **detail: Any) -> TimelineEntry:
        entry = TimelineEntry(self.s.seq + 1, at, kind.value, by, detail)
        self.s.timeline.append(entry)
        return entry

    def _changed(self) -> None:
        self._version += 1
        self._publish()

    # ---------------------------------------------------------------- the legal clock

    async def _start_count(self, at: datetime) -> None:
        """The count starts at receipt, and restarts from zero when a supplement completes the dossier
        (the same cut-off rules both times)."""
        if workflow.patched(PATCH_ONE_CALENDAR_CALL):
            # One call: the start, the due time from it, and the due-soon reminder's time before that.
            steps = [
                CalendarStep("start", at),
                CalendarStep("shift", working_seconds=self.s.working_days * self._day, at_from=0),
                self._due_soon_step(at_from=1),
            ]
            answers = await self._calendar(steps, "count start, due time, due-soon reminder")
            start = answers.times[0]
            assert start is not None
            self.s.clock_started_at = start
            self.s.due_at = self._kept(answers, steps, 1)
            self._kept(answers, steps, 2)
        else:
            start = await self._clock_start(at)
            self.s.clock_started_at = start
            self.s.due_at = await self._shift(start, self.s.working_days * self._day)
        self._reset_escalation()

    async def _resume_clock(self, at: datetime) -> None:
        """The fee is paid (or the supplement of a procedure whose count resumes arrived): the due date
        moves by the working time spent waiting since `paused_since`."""
        assert self.s.due_at is not None
        assert self.s.paused_since is not None
        if workflow.patched(PATCH_ONE_CALENDAR_CALL):
            # One call: the wait's working time, the due time moved by it, the due-soon reminder's time.
            steps = [
                CalendarStep("span", self.s.paused_since, end=at),
                CalendarStep("shift", self.s.due_at, seconds_from=0),
                self._due_soon_step(at_from=1),
            ]
            answers = await self._calendar(steps, "fee wait, due time moved, due-soon reminder")
            self.s.due_at = self._kept(answers, steps, 1)
            self._kept(answers, steps, 2)
        else:
            waited = await self._working_seconds(self.s.paused_since, at)
            self.s.due_at = await self._shift(self.s.due_at, waited)
        self.s.paused_since = None
        self._reset_escalation()

    def _due_soon_step(self, at_from: int) -> CalendarStep:
        """The due-soon reminder's time before the due time answered by step `at_from` (timers.plan asks
        for it right after the transition; asked ahead, the plan finds it kept)."""
        return CalendarStep(
            "shift", working_seconds=-self._policy.due_soon_working_days * self._day, at_from=at_from
        )

    async def _calendar(self, steps: list[CalendarStep], what: str) -> CalendarAnswers:
        """A transition's calendar questions in one local activity."""
        return await workflow.execute_local_activity(
            contracts.calendar_answer,
            CalendarQuestions(steps),
            start_to_close_timeout=CALENDAR_TIMEOUT,
            retry_policy=CALENDAR_RETRY,
            summary=f"calendar: {what}",
        )

    def _kept(self, answers: CalendarAnswers, steps: list[CalendarStep], n: int) -> datetime:
        """Step `n`'s answer (a shift), kept in the shift cache under the question it answers."""
        step, answer = steps[n], answers.times[n]
        at = answers.times[step.at_from] if step.at_from is not None else step.at
        seconds = (
            answers.seconds[step.seconds_from] if step.seconds_from is not None else step.working_seconds
        )
        assert answer is not None
        assert at is not None
        assert seconds is not None
        self._shift_cache[(at, seconds)] = answer
        return answer

    def _reset_escalation(self) -> None:
        assert self.s.due_at is not None
        if self.s.due_at > workflow.now():
            self.s.overdue = False
            self.s.escalation_level = 0

    async def _clock_start(self, at: datetime) -> datetime:
        return await workflow.execute_local_activity(
            contracts.calendar_due_at,
            DueAtRequest(at, 0),
            start_to_close_timeout=CALENDAR_TIMEOUT,
            retry_policy=CALENDAR_RETRY,
            summary="calendar: when the count starts",
        )

    async def _shift(self, at: datetime, working_seconds: int) -> datetime:
        key = (at, working_seconds)
        if key not in self._shift_cache:
            self._shift_cache[key] = await workflow.execute_local_activity(
                contracts.calendar_shift,
                ShiftRequest(at, working_seconds),
                start_to_close_timeout=CALENDAR_TIMEOUT,
                retry_policy=CALENDAR_RETRY,
                summary=f"calendar: {working_seconds / self._day:+g} working days",
            )
        return self._shift_cache[key]

    async def _working_seconds(self, start: datetime, end: datetime) -> int:
        return await workflow.execute_local_activity(
            contracts.calendar_working_seconds,
            SpanRequest(start, end),
            start_to_close_timeout=CALENDAR_TIMEOUT,
            retry_policy=CALENDAR_RETRY,
            summary="calendar: working time between",
        )

    # ---------------------------------------------------------------- timers

    async def _next_timer(self) -> _Timer | None:
        """The earliest reminder or escalation the current state calls for."""
        version = self._version
        # The plan is read from the state in one go: updates may run while the calendar answers below.
        candidates = [
            _Timer(
                await self._shift(t.base, t.working_seconds) if t.working_seconds else t.base,
                t.kind,
                t.label,
                version,
            )
            for t in timers.plan(self.s, self._policy)
        ]
        return min(candidates, key=lambda t: t.at) if candidates else None

    async def _fire(self, timer: _Timer) -> None:
        async with self._lock:
            if timer.version != self._version:
                return  # the state changed while the timer ran out; the loop plans again
            firing = timers.fire(self.s, self._policy, timer.kind)
            if self.s.status.is_final and self.s.step is not None:
                # A lapse ended the dossier (a supplement never supplied) in a step: the step ends with it.
                firing.detail = {**firing.detail, "closed": self._end_step(timer.at)}
            # The entry's time is the legal moment the rule fired for (the timer may run a little late).
            entry = self._append(timer.kind, timer.at, Actor.SYSTEM.value, **firing.detail)
            await self._record(entry, firing.notices)
            self._changed()

    # ---------------------------------------------------------------- projection and notices

    async def _record(
        self,
        entry: TimelineEntry,
        notices: list[NoticeOrder],
        *,
        payment: PaymentRecord | None = None,
        registration: bool = False,
    ) -> None:
        """Project the entry (and its notices, in the delivery log) to the database, then queue the sends."""
        send_at = next_send_time(workflow.now(), self._policy.quiet_hours_start, self._policy.quiet_hours_end)
        for order in notices:
            order.context["at"] = iso(entry.at)
            order.scheduled_for = send_at
        request = RecordRequest(
            workflow.info().workflow_id,
            self.s.code,
            entry,
            self._projection(),
            notices,
            payment,
            replace(self._input, carried=None) if registration else None,
        )
        summary = f"record #{entry.seq} {entry.kind}"
        if workflow.patched(PATCH_RECORD_LOCALLY):
            # A local activity: the update answers within one workflow task, with no round trip through a
            # task queue (the write is short and idempotent on seq, so a re-run after a crash is harmless).
            await workflow.execute_local_activity(
                contracts.record,
                request,
                start_to_close_timeout=contracts.DB_STEP_TIMEOUT,
                retry_policy=contracts.DB_STEP_RETRY,
                summary=summary,
            )
        else:
            await workflow.execute_activity(
                contracts.record,
                request,
                start_to_close_timeout=contracts.DB_STEP_TIMEOUT,
                retry_policy=contracts.DB_STEP_RETRY,
                summary=summary,
            )
        self.s.outbox.extend(OutboxItem(entry.seq, order.kind, send_at) for order in notices)

    def _projection(self) -> Projection:
        return Projection(**details.projection(self.s))

    async def _deliver_notices(self, audience: Audience | None) -> None:
        """Hand queued notices of `audience` (None: all) to the send activity in order, after quiet hours
        (a visible timer)."""

        def mine(item: OutboxItem) -> bool:
            return audience is None or NoticeKind(item.kind).audience is audience

        while True:
            await workflow.wait_condition(lambda: any(mine(i) for i in self.s.outbox) or self._stopping)
            item = next((i for i in self.s.outbox if mine(i)), None)
            if item is None:
                return
            if item.send_at is not None and item.send_at > workflow.now():
                await workflow.sleep(
                    item.send_at - workflow.now(),
                    summary=f"quiet hours: {item.kind} #{item.seq} waits until {vn_datetime(item.send_at)}",
                )
            batch = NoticeBatch(self.s.code, item.seq, item.kind, workflow.now())
            self._sends_in_flight += 1
            try:
                await workflow.execute_activity(
                    contracts.notice_send,
                    batch,
                    start_to_close_timeout=contracts.NOTICE_SEND_TIMEOUT,
                    heartbeat_timeout=contracts.NOTICE_SEND_HEARTBEAT,
                    schedule_to_close_timeout=contracts.NOTICE_GIVE_UP_AFTER,
                    retry_policy=contracts.NOTICE_SEND_RETRY,
                    summary=f"notice {item.kind} #{item.seq}",
                )
            except ActivityError as err:
                await workflow.execute_activity(
                    contracts.notice_mark_failed,
                    args=[batch, str(err.cause or err)],
                    start_to_close_timeout=contracts.DB_STEP_TIMEOUT,
                    retry_policy=contracts.DB_STEP_RETRY,
                    summary=f"notice {item.kind} #{item.seq}: give up",
                )
            self.s.outbox.remove(item)
            self._sends_in_flight -= 1
            workflow.set_current_details(details.current_details(self.s))  # no history event

    # ---------------------------------------------------------------- what officers see in the UI

    def _publish(self) -> None:
        """Search attributes and current details, upserted only when they change."""
        s = self.s
        values: dict[str, Any] = {"status": s.status.value, "due_at": s.due_at, "overdue": s.overdue}
        if values != self._upserted:
            updates: list[SearchAttributeUpdate[Any]] = [
                sa.DOSSIER_STATUS.value_set(s.status.value),
                sa.OVERDUE.value_set(s.overdue),
                sa.DUE_AT.value_set(s.due_at) if s.due_at else sa.DUE_AT.value_unset(),
            ]
            workflow.upsert_search_attributes(updates)
            self._upserted = values
        workflow.set_current_details(details.current_details(self.s))
