"""The one way to apply a command to a dossier: register it, run a transition, record a payment.

Every entry point (the TTHC system's JSON routes, the national-portal sync, the payment platform's
callback, the officer desk) turns its own input into a domain command, calls the gateway, and turns what
comes back into its own answer: a problem detail, a Vietnamese page. The gateway alone knows how:

- it starts the workflow `dossier-<code>` with every update (update-with-start, conflict policy *use
  existing*), so a transition lands even when the registration's own start was lost; a code is used once,
  ever (*reject duplicate*), so an ended dossier answers `Closed`;
- it recognises a repeat: a repeated event is the workflow's duplicate refusal, answered as a repeat;
  after the dossier ended, the event's id or the payment's transaction id is found in the database;
- it maps every refusal and failure to one of the errors below, never to HTTP;
- it lets go of the caller's database connection before it waits on the workflow (under load the pool
  would otherwise run dry while workflows answer).

A payment is the `record_payment` update: it answers once the workflow has recorded the payment (and the
`payments` row exists), so nothing polls.

Besides the dossiers' commands, the desk asks here for a failed notice to be sent again: the gateway starts
NoticeResendWorkflow (`notice-resend-<notice key>`, workflows/resend.py), which the worker runs, since only
the worker holds a Zalo client.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
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

from db.dossiers import dossier_row, event_recorded
from db.models import Dossier, PaymentConflict
from db.payments import held_elsewhere, payment_of, record_conflict
from db.procedures import supplement_rule_of
from domain import details
from domain.codes import workflow_id
from domain.dossier import (
    Applicant,
    Command,
    DossierInput,
    DossierResult,
    Outcome,
    PaymentAnswer,
    PaymentReceived,
    Procedure,
    Register,
)
from domain.refusals import Refusal
from domain.status import DossierStatus, Transition
from settings import Settings
from workflows import contracts
from workflows import search_attributes as sa
from workflows.client import TemporalConnection

# How long a request waits for the workflow's answer before it says "unavailable, retry the same call".
UPDATE_TIMEOUT = timedelta(seconds=30)
# How long the desk waits for a resend's outcome before it says "being sent" (the send goes on).
RESEND_WAIT = timedelta(seconds=5)

T = TypeVar("T")


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
        if created or row.due_at is None:
            input = self.input_of(row)
            await _let_go(session)
            await self.update(input, contracts.REGISTER, Register(row.fingerprint), Outcome)
        return created

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
        return Applied(await self.update(input, transition.value, command, Outcome))

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
        answer = await self.update(input, contracts.RECORD_PAYMENT, payment, PaymentAnswer)
        assert answer is not None  # a payment is never refused as a duplicate: its record answers
        return Paid(answer.record.outcome, answer.applied_now)

    async def resend_notice(
        self, session: AsyncSession, key: str, by: str, wait: timedelta | None = None
    ) -> contracts.ResendResult | None:
        """Send a failed notice row again through the worker; its outcome, or None while it is still being
        sent after `wait` (RESEND_WAIT; retries go on in the workflow). A resend of this notice already
        running is joined, not doubled; one of a row that is not failed-permanent answers `requeued=False`
        with its status."""
        await _let_go(session)
        temporal = await self.client()
        try:
            handle = await temporal.start_workflow(
                contracts.RESEND_WORKFLOW,
                contracts.ResendRequest(key, by),
                id=contracts.resend_workflow_id(key),
                task_queue=self._settings.task_queue,
                result_type=contracts.ResendResult,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
                static_summary=f"resend notice {key} (asked by {by})",
            )
        except RPCError as err:
            raise Unavailable(_unavailable_detail(err)) from err
        try:
            return await asyncio.wait_for(handle.result(), (wait or RESEND_WAIT).total_seconds())
        except TimeoutError:
            return None
        except WorkflowFailureError as err:
            raise UpdateFailed("the notice resend workflow failed; it has been logged") from err

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
        )

    def start_operation(self, input: DossierInput) -> WithStartWorkflowOperation[Any, DossierResult]:
        """Start the dossier's workflow unless it runs already; a finished dossier's id is never reused."""
        return WithStartWorkflowOperation(
            contracts.WORKFLOW,
            input,
            id=workflow_id(input.code),
            task_queue=self._settings.task_queue,
            result_type=DossierResult,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(sa.DOSSIER_STATUS, DossierStatus.RECEIVED.value),
                    SearchAttributePair(sa.AGENCY_CODE, input.agency_code),
                    SearchAttributePair(sa.PROCEDURE_CODE, input.procedure.code),
                    SearchAttributePair(sa.OVERDUE, False),
                ]
            ),
            static_summary=details.start_summary(input),
            static_details=details.start_details(input),
        )

    async def client(self) -> Client:
        """The Temporal client, connected on first use; Unavailable while the server cannot be reached."""
        try:
            return await self._temporal.get()
        except Exception as err:  # whatever connecting raised: the server is not there to answer
            raise Unavailable(f"the workflow engine is not reachable: {err}") from err

    async def update(self, input: DossierInput, update: str, argument: Any, result_type: type[T]) -> T | None:
        """One update of the dossier's workflow, starting it if needed (the building block of the commands
        above); None for an event the workflow already applied."""
        temporal = await self.client()
        try:
            result: T = await temporal.execute_update_with_start_workflow(
                update,
                argument,
                start_workflow_operation=self.start_operation(input),
                result_type=result_type,
                rpc_timeout=UPDATE_TIMEOUT,
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
        except WorkflowUpdateRPCTimeoutOrCancelledError as err:
            raise Unavailable(
                "the dossier workflow did not answer in time; retry with the same event_id"
            ) from err
        except RPCError as err:
            raise Unavailable(_unavailable_detail(err)) from err


# What the workflow records in `payments` (the webhook's own rows say failed or unknown_dossier).
_WORKFLOW_OUTCOMES = frozenset({"applied", "underpaid", "not_due"})


def _unavailable_detail(err: RPCError) -> str:
    if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        return "the dossier workflow did not answer in time; retry with the same event_id"
    if err.status is RPCStatusCode.UNAVAILABLE:
        return f"the workflow engine is not available: {err.message}"
    # E.g. an update that met the workflow's continue-as-new: nothing was applied, a retry lands.
    return f"the dossier workflow could not take this now ({err.message}); retry with the same event_id"


async def _let_go(session: AsyncSession) -> None:
    """End the caller's read transaction before waiting on a workflow: no pooled connection is held for
    the seconds a workflow may take."""
    await session.commit()
