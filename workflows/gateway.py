"""The one way to apply a command to a dossier: register it, run a transition, record a payment.

Every entry point (the TTHC system's JSON routes, the national-portal sync, the payment platform's
callback, the officer desk) turns its own input into a domain command, calls the gateway, and turns what
comes back into its own answer: a problem detail, a Vietnamese page. The gateway alone knows how:

- it starts the workflow `dossier-<code>` with every update (update-with-start, conflict policy *use
  existing*), so a transition lands even when the registration's own start was lost; a code is used once,
  ever (*reject duplicate*), so an ended dossier answers `Closed`. A dossier whose workflow has reported
  (its row's `last_seq` > 0) gets a plain update, which costs the server less; only when the server does
  not find the workflow running (ended, or gone) is the update sent again with its start, which answers
  as above;
- it recognises a repeat: a repeated event is the workflow's duplicate refusal, answered as a repeat;
  after the dossier ended, the event's id or the payment's transaction id is found in the database;
- it maps every refusal and failure to one of the errors below, never to HTTP;
- it lets go of the caller's database connection before it waits on the workflow (under load the pool
  would otherwise run dry while workflows answer);
- it names every update after what it carries (`<update>:<event_id>:<body digest>`, `record_payment:<
  transaction id>`), so a retry that arrives while the first call is still running joins that call on the
  server instead of racing it, and a retry after it finished gets its outcome again;
- it waits at most REQUEST_DEADLINE for all of it (connecting included): past that, Unavailable ("retry
  with the same event_id"), whatever the engine was doing.

A payment is the `record_payment` update: it answers once the workflow has recorded the payment (and the
`payments` row exists), so nothing polls.

Besides the dossiers' commands, the desk asks here for a failed notice to be sent again: the gateway starts
NoticeResendWorkflow (`notice-resend-<notice key>`, workflows/resend.py), which the worker runs, since only
the worker holds a Zalo client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowFailureError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from db.dossiers import dossier_row, event_recorded, stranded_registrations
from db.engine import SessionFactory
from db.models import Dossier, PaymentConflict
from db.payments import held_elsewhere, payment_of, record_conflict
from db.procedures import steps_of, supplement_rule_of
from db.types import utcnow
from domain import details, rules
from domain.codes import workflow_id
from domain.digest import digest
from domain.dossier import (
    Applicant,
    Command,
    DossierInput,
    DossierResult,
    Outcome,
    PaymentAnswer,
    PaymentReceived,
    Procedure,
    Rating,
    Register,
)
from domain.limits import RECONCILE_EVERY, STRANDED_AFTER
from domain.refusals import Refusal
from domain.status import DossierStatus, Transition
from settings import Settings
from workflows import contracts
from workflows import search_attributes as sa
from workflows.client import TemporalConnection

# The one deadline of a request's wait on the workflow engine (connecting, the update, its answer): past
# it the request answers 503 "retry with the same event_id". Shorter than common client timeouts (30 s),
# so a client always gets our answer rather than its own timeout. docs/api.md documents it.
REQUEST_DEADLINE = timedelta(seconds=20)
# How long the desk waits for a resend's outcome before it says "being sent" (the send goes on).
RESEND_WAIT = timedelta(seconds=5)
DID_NOT_ANSWER = "the dossier workflow did not answer in time; retry with the same event_id"

T = TypeVar("T")
log = logging.getLogger(__name__)


class GatewayError(Exception):
    """Something the entry point answers in its own words; the message is English, for the machine API."""


class Refused(GatewayError):
    """The dossier's rules refuse the command (domain/rules.py); nothing changed."""

    def __init__(self, refusal: Refusal, message: str, current: DossierStatus | None = None) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message
        self.current = current  # for an illegal transition: the state it is illegal in


class Closed(GatewayError):
    """The dossier has ended: nothing more can be applied to it."""

    def __init__(self, code: str) -> None:
        super().__init__(f"dossier {code} is closed")


class Unavailable(GatewayError):
    """The workflow engine did not answer; the same call may be retried (it applies at most once)."""


class TransactionConflict(GatewayError):
    """The payment's transaction id is recorded for another dossier: not applied, recorded for officers.

    `new` is False when this very report was recorded before (a resend): officers were told already."""

    def __init__(self, conflict: PaymentConflict, new: bool) -> None:
        super().__init__(
            f"transaction {conflict.transaction_id} is already recorded for another dossier; "
            "it was not applied and officers have been told"
        )
        self.conflict = conflict
        self.new = new


class UpdateFailed(GatewayError):
    """The workflow failed the update in a way no rule explains (a bug); it is in the worker's log."""


@dataclass(frozen=True)
class Applied:
    """A transition's result: the state after it, or None when it was recognised as a repeat."""

    outcome: Outcome | None

    @property
    def repeat(self) -> bool:
        return self.outcome is None or self.outcome.duplicate


@dataclass(frozen=True)
class Paid:
    """A payment's result: how it went (applied, underpaid, not_due) and whether this call applied it."""

    outcome: str
    applied_now: bool


@dataclass(frozen=True)
class Reconciled:
    """What a reconciliation did: the codes it started, and those it could not (with why)."""

    started: list[str]
    failed: dict[str, str]


class Gateway:
    """Built once per process (the API's app state) over a lazily connected Temporal client."""

    def __init__(self, temporal: TemporalConnection, settings: Settings) -> None:
        self._temporal = temporal
        self._settings = settings

    # ---------------------------------------------------------------- commands

    async def register(self, session: AsyncSession, registration: DossierInput) -> bool:
        """Record a received dossier and start its workflow, which computes the due date before this
        returns; True when this call registered it. The same code with another body is refused."""
        row = await session.get(Dossier, registration.code)
        created = False
        if row is None:
            session.add(dossier_row(registration))
            try:
                await session.commit()
                created = True
            except IntegrityError:
                # Registered concurrently by another request (or the workflow's first record): use that row.
                await session.rollback()
            row = await session.get(Dossier, registration.code)
            assert row is not None
        if row.fingerprint != registration.fingerprint:
            raise Refused(
                Refusal.REGISTRATION_CONFLICT,
                f"dossier {registration.code} is already registered with another body",
            )
        # No due date: not started yet (or waiting for a supplement, or an online submission the desk has
        # not received); joining the running workflow answers at once. A finished one is not started again.
        if created or (row.due_at is None and not DossierStatus(row.status).is_final):
            await self.start(session, row)
        return created

    async def start(self, session: AsyncSession, row: Dossier) -> None:
        """Start a registered dossier's workflow (or join it when it runs): its clock and first notices.
        The registration route calls it, and so does the reconciliation of rows whose start was lost."""
        input = self.input_of(row)
        await _let_go(session)
        await self.update(input, contracts.REGISTER, Register(row.fingerprint), Outcome)

    async def apply(
        self, session: AsyncSession, row: Dossier, transition: Transition, command: Command
    ) -> Applied:
        """Run a transition on a registered dossier; a repeated event changes nothing."""
        if transition not in contracts.UPDATES:
            raise ValueError(f"{transition.value} is not a transition update (a payment is `pay`)")
        if DossierStatus(row.status).is_final and await event_recorded(session, row.code, command.event_id):
            return Applied(None)  # a repeat after the workflow has ended
        input = self.input_of(row)
        await _let_go(session)
        try:
            return Applied(
                await self.update(input, transition.value, command, Outcome, started=_reported(row))
            )
        except Unavailable:
            # The engine did not answer, but the projection may know this event: then it was applied, and
            # a retry of it is answered as the repeat it is (the workflow stays the judge while it answers).
            if await event_recorded(session, row.code, command.event_id):
                return Applied(None)
            raise

    async def pay(self, session: AsyncSession, row: Dossier, payment: PaymentReceived) -> Paid:
        """Record a payment once it is applied (or refused); a known transaction id changes nothing.

        A transaction id recorded for another dossier is TransactionConflict (db/payments.py)."""
        known = await payment_of(session, payment.transaction_id)
        if known is not None and held_elsewhere(known, row.code):
            conflict, new = await record_conflict(
                session,
                known,
                named=row.code,
                amount_vnd=payment.amount_vnd,
                source=payment.source,
                reference=None,
            )
            raise TransactionConflict(conflict, new)
        if known is not None and known.dossier_code == row.code and known.outcome in _WORKFLOW_OUTCOMES:
            return Paid(known.outcome, applied_now=False)
        input = self.input_of(row)
        await _let_go(session)
        answer = await self.update(
            input, contracts.RECORD_PAYMENT, payment, PaymentAnswer, started=_reported(row)
        )
        assert answer is not None  # a payment is never refused as a duplicate: its record answers
        return Paid(answer.record.outcome, answer.applied_now)

    async def rate(self, session: AsyncSession, row: Dossier, rating: Rating) -> Outcome:
        """The citizen's satisfaction rating of a returned dossier (the rating page): Refused when the
        dossier takes none now (not returned, rated already, window closed), Closed once it has ended."""
        input = self.input_of(row)
        await _let_go(session)
        outcome = await self.update(input, contracts.RATE, rating, Outcome)
        assert outcome is not None  # a rating is never answered as a repeat: a second one is refused
        return outcome

    async def resend_notice(
        self, session: AsyncSession, key: str, by: str, wait: timedelta | None = None
    ) -> contracts.ResendResult | None:
        """Send a failed notice row again through the worker; its outcome, or None while it is still being
        sent after `wait` (RESEND_WAIT; retries go on in the workflow). A resend of this notice already
        running is joined, not doubled; one of a row that is not failed-permanent answers `requeued=False`
        with its status."""
        await _let_go(session)
        try:
            async with asyncio.timeout(REQUEST_DEADLINE.total_seconds()):
                temporal = await self.client()
                handle = await temporal.start_workflow(
                    contracts.RESEND_WORKFLOW,
                    contracts.ResendRequest(key, by),
                    id=contracts.resend_workflow_id(key),
                    task_queue=self._settings.task_queue,
                    result_type=contracts.ResendResult,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                    task_timeout=contracts.WORKFLOW_TASK_TIMEOUT,
                    static_summary=f"resend notice {key} (asked by {by})",
                )
        except TimeoutError as err:
            raise Unavailable("the workflow engine did not answer in time; try again") from err
        except RPCError as err:
            raise Unavailable(_unavailable_detail(err)) from err
        try:
            return await asyncio.wait_for(handle.result(), (wait or RESEND_WAIT).total_seconds())
        except TimeoutError:
            return None
        except RPCError:
            return None  # the engine went away while we waited: the send goes on in the workflow
        except WorkflowFailureError as err:
            raise UpdateFailed("the notice resend workflow failed; it has been logged") from err

    async def reconcile(self, sessions: SessionFactory, now: datetime) -> Reconciled:
        """Start every registration whose start was lost (no workflow reported on it STRANDED_AFTER after
        its row was written): its clock and notices begin as if the registration had gone through. Those
        it cannot start stay listed on the officer desk (db/desk.py) and are tried again next time."""
        async with sessions() as session:
            stranded = await stranded_registrations(session, now - STRANDED_AFTER)
        started: list[str] = []
        failed: dict[str, str] = {}
        for row in stranded:
            try:
                async with sessions() as session:
                    await self.start(session, row)
                started.append(row.code)
            except GatewayError as error:  # a closed code, a refusal, the engine down: listed, retried later
                failed[row.code] = f"{type(error).__name__}: {error}"
                if isinstance(error, Unavailable):
                    break  # the engine is not answering: the others wait for the next pass
        return Reconciled(started, failed)

    async def reconcile_forever(self, sessions: SessionFactory, stop: asyncio.Event) -> None:
        """Reconcile every RECONCILE_EVERY until `stop` is set; the worker runs it. Every worker does:
        a start is idempotent, so two at once change nothing."""
        while not stop.is_set():
            try:
                done = await self.reconcile(sessions, utcnow())
            except Exception:  # the database is down, say: the next pass tries again
                log.warning("reconciliation failed; trying again in %s", RECONCILE_EVERY, exc_info=True)
            else:
                if done.started or done.failed:
                    log.warning(
                        "reconciliation: started %d stranded registration(s) %s; could not start %s",
                        len(done.started),
                        done.started,
                        done.failed,
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONCILE_EVERY.total_seconds())

    # ---------------------------------------------------------------- how

    def input_of(self, row: Dossier) -> DossierInput:
        """The workflow input of a registered dossier (the row holds the registration as received)."""
        return DossierInput(
            code=row.code,
            procedure=Procedure(row.procedure_code, row.procedure_name, row.working_days),
            agency_code=row.agency_code,
            applicant=Applicant(row.applicant_name, row.applicant_phone, row.applicant_zalo_user_id),
            received_at=row.received_at,
            channel=row.channel,
            fingerprint=row.fingerprint,
            policy=self._settings.dossier_policy(),
            supplement=supplement_rule_of(row),
            steps=steps_of(row),
            submitted=row.submitted,
        )

    def start_operation(self, input: DossierInput) -> WithStartWorkflowOperation[Any, DossierResult]:
        """Start the dossier's workflow unless it runs already; a finished dossier's id is never reused."""
        return WithStartWorkflowOperation(
            contracts.WORKFLOW,
            input,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            **self._start_options(input),
        )

    def _start_options(self, input: DossierInput) -> dict[str, Any]:
        """How every dossier workflow starts (a registration, an import): its id, queue, search attributes
        and what the UI shows of it; a finished dossier's id is never reused."""
        status = input.carried.status if input.carried is not None else DossierStatus.RECEIVED
        return {
            "id": workflow_id(input.code),
            "task_queue": self._settings.task_queue,
            "result_type": DossierResult,
            "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
            "task_timeout": contracts.WORKFLOW_TASK_TIMEOUT,
            "search_attributes": TypedSearchAttributes(
                [
                    SearchAttributePair(sa.DOSSIER_STATUS, status.value),
                    SearchAttributePair(sa.AGENCY_CODE, input.agency_code),
                    SearchAttributePair(sa.PROCEDURE_CODE, input.procedure.code),
                    SearchAttributePair(sa.OVERDUE, input.carried.overdue if input.carried else False),
                ]
            ),
            "static_summary": details.start_summary(input),
            "static_details": details.start_details(input),
        }

    async def start_imported(self, input: DossierInput) -> bool:
        """Start an imported dossier's workflow from its state (`input.carried`, as after a continue-as-new:
        no receipt, no notice for its past); True when this call started it, False when it runs or ran
        already (an earlier import). Its rows are written first (db/imports.py)."""
        assert input.carried is not None
        try:
            async with asyncio.timeout(REQUEST_DEADLINE.total_seconds()):
                temporal = await self.client()
                await temporal.start_workflow(
                    contracts.WORKFLOW,
                    input,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    rpc_timeout=REQUEST_DEADLINE,
                    **self._start_options(input),
                )
        except WorkflowAlreadyStartedError:
            return False
        except TimeoutError as err:
            raise Unavailable("the workflow engine did not answer in time; run the import again") from err
        except RPCError as err:
            raise Unavailable(_unavailable_detail(err)) from err
        return True

    async def client(self) -> Client:
        """The Temporal client, connected on first use; Unavailable while the server cannot be reached."""
        try:
            return await self._temporal.get()
        except Exception as err:  # whatever connecting raised: the server is not there to answer
            raise Unavailable(f"the workflow engine is not reachable: {err}") from err

    async def update(
        self, input: DossierInput, update: str, argument: Any, result_type: type[T], *, started: bool = False
    ) -> T | None:
        """One update of the dossier's workflow, starting it if needed (the building block of the commands
        above), within REQUEST_DEADLINE; None for an event the workflow already applied. `started`: the
        workflow is known to have run (a plain update first; with its start only if it is not found)."""
        operation = self.start_operation(input)
        try:
            async with asyncio.timeout(REQUEST_DEADLINE.total_seconds()):
                temporal = await self.client()
                if started:
                    try:
                        plain: T = await temporal.get_workflow_handle(workflow_id(input.code)).execute_update(
                            update,
                            argument,
                            id=update_id(update, argument),
                            result_type=result_type,
                            rpc_timeout=REQUEST_DEADLINE,
                        )
                        return plain
                    except RPCError as err:
                        if err.status is not RPCStatusCode.NOT_FOUND:
                            raise
                        # Ended (or gone): the same update with its start answers Closed (or starts it).
                result: T = await temporal.execute_update_with_start_workflow(
                    update,
                    argument,
                    id=update_id(update, argument),
                    start_workflow_operation=operation,
                    result_type=result_type,
                    rpc_timeout=REQUEST_DEADLINE,
                )
            return result
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type in Refusal._value2member_map_:
                refusal = Refusal(str(cause.type))
                if refusal is Refusal.DUPLICATE_EVENT:
                    return None
                current = DossierStatus(cause.details[0]) if cause.details else None
                raise Refused(refusal, cause.message, current) from err
            raise UpdateFailed("the dossier workflow failed this update; it has been logged") from err
        except WorkflowAlreadyStartedError as err:
            raise Closed(input.code) from err
        except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError) as err:
            raise Unavailable(DID_NOT_ANSWER) from err
        except RPCError as err:
            raise Unavailable(_unavailable_detail(err)) from err
        finally:
            _settle(operation)


# What the workflow records in `payments` (the webhook's own rows say failed or unknown_dossier).
_WORKFLOW_OUTCOMES = frozenset({"applied", "underpaid", "not_due"})


def update_id(update: str, argument: Any) -> str:
    """The update's id, named after what it carries: a registration's body, a payment's transaction id, an
    event's id and body. The server runs an id once per workflow: a retry while the first call runs joins
    it, and one after it finished gets its outcome, instead of racing it through the validators."""
    if isinstance(argument, Register):
        return f"{update}:{argument.fingerprint[:16]}"
    if isinstance(argument, PaymentReceived):
        return f"{update}:{argument.transaction_id}"
    if isinstance(argument, Command):
        return f"{update}:{argument.event_id}:{rules.fingerprint(argument)[:16]}"
    if isinstance(argument, Rating):
        return f"{update}:{digest(asdict(argument))[:16]}"
    raise TypeError(f"no update id for {type(argument).__name__}")


def _settle(operation: WithStartWorkflowOperation[Any, DossierResult]) -> None:
    """Take the start's own outcome off the operation: the SDK sets the error of a refused call (the server
    down, the deadline) on a future that nobody else reads, and asyncio would log each one as "Future
    exception was never retrieved" (the update's error says it all)."""
    start = operation._workflow_handle  # the SDK offers only an awaitable, which would wait when unset
    if start.done() and not start.cancelled():
        start.exception()


def _unavailable_detail(err: RPCError) -> str:
    if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return DID_NOT_ANSWER
    if err.status is RPCStatusCode.UNAVAILABLE:
        return f"the workflow engine is not available: {err.message}"
    # E.g. an update that met the workflow's continue-as-new: nothing was applied, a retry lands.
    return f"the dossier workflow could not take this now ({err.message}); retry with the same event_id"


def _reported(row: Dossier) -> bool:
    """Whether the dossier's workflow has run: it recorded at least one event in the row (db/dossiers.py
    `not_started` is the opposite)."""
    return row.last_seq > 0


async def _let_go(session: AsyncSession) -> None:
    """End the caller's read transaction before waiting on a workflow: no pooled connection is held for
    the seconds a workflow may take."""
    await session.commit()
