"""What the dossier routes do: start and drive workflows, map refusals to HTTP, read the projection."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Path
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from activities.records import dossier_row
from api.deps import ClientDep, SessionDep, SettingsDep, TemporalDep, require_agency
from api.problems import Problem
from api.schemas import DossierCore, DossierCreate, DossierView, Links, NoticeItem, TimelineItem
from db.models import ApiClient, Dossier, DossierEvent, Notice
from domain.codes import DOSSIER_CODE_PATTERN
from domain.dossier import (
    Applicant,
    DossierInput,
    DossierPolicy,
    Outcome,
    PaymentReceived,
    PaymentRecord,
    Procedure,
    Register,
)
from domain.refusals import HTTP_STATUS, Refusal
from domain.status import DossierStatus, allowed_transitions
from settings import Settings
from workflows import search_attributes as sa
from workflows.dossier import DossierWorkflow

# How long a request waits for the workflow's answer before it says 503 (retry with the same event_id).
UPDATE_TIMEOUT = timedelta(seconds=30)


def workflow_id(code: str) -> str:
    return f"dossier-{code}"


def temporal_ui_link(settings: Settings, code: str) -> str:
    return (
        f"{settings.temporal_ui_url}/namespaces/{settings.temporal_namespace}/workflows/{workflow_id(code)}"
    )


def working_day_seconds(settings: Settings) -> int:
    return sum(
        (end.hour * 3600 + end.minute * 60) - (start.hour * 3600 + start.minute * 60)
        for start, end in settings.office_periods
    )


def policy_from_settings(settings: Settings) -> DossierPolicy:
    return DossierPolicy(
        quiet_hours_start=settings.quiet_hours_start.strftime("%H:%M"),
        quiet_hours_end=settings.quiet_hours_end.strftime("%H:%M"),
        working_day_seconds=working_day_seconds(settings),
    )


def fingerprint(body: DossierCreate) -> str:
    """SHA-256 of the registration in its normal form: the same dossier sent twice hashes the same."""
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def input_from_row(row: Dossier, settings: Settings) -> DossierInput:
    """The workflow input of a registered dossier (the row holds the registration as received)."""
    return DossierInput(
        code=row.code,
        procedure=Procedure(row.procedure_code, row.procedure_name, row.working_days),
        agency_code=row.agency_code,
        applicant=Applicant(row.applicant_name, row.applicant_phone, row.applicant_zalo_user_id),
        received_at=row.received_at,
        channel=row.channel,
        fingerprint=row.fingerprint,
        policy=policy_from_settings(settings),
    )


def start_operation(input: DossierInput, settings: Settings) -> WithStartWorkflowOperation[Any, Any]:
    """Start the dossier's workflow unless it runs already; a finished dossier's id is never reused."""
    summary = f"{input.code} · {input.procedure.code} {input.procedure.name}"
    return WithStartWorkflowOperation(
        DossierWorkflow.run,
        input,
        id=workflow_id(input.code),
        task_queue=settings.task_queue,
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
        static_summary=summary.encode()[:200].decode(errors="ignore"),
        static_details=(
            f"**Hồ sơ** `{input.code}`\n\n**Thủ tục:** {input.procedure.code} — {input.procedure.name} "
            f"({input.procedure.working_days} ngày làm việc)\n\n**Cơ quan:** {input.agency_code}\n\n"
            f"**Kênh nộp:** {input.channel}"
        ),
    )


async def run_update(
    temporal: Client, settings: Settings, input: DossierInput, update: Any, argument: Any
) -> Outcome | None:
    """Send one update, starting the workflow if its start is still in flight; None for a repeated event."""
    try:
        outcome: Outcome = await temporal.execute_update_with_start_workflow(
            update,
            argument,
            start_workflow_operation=start_operation(input, settings),
            rpc_timeout=UPDATE_TIMEOUT,
        )
        return outcome
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type in Refusal._value2member_map_:
            refusal = Refusal(str(cause.type))
            if refusal is Refusal.DUPLICATE_EVENT:
                return None
            raise refusal_problem(refusal, cause) from err
        raise Problem(500, "the dossier workflow failed this update; it has been logged") from err
    except WorkflowAlreadyStartedError as err:
        raise Problem(409, f"dossier {input.code} is closed", slug="dossier-closed") from err
    except RPCError as err:
        raise unavailable(err) from err


def refusal_problem(refusal: Refusal, cause: ApplicationError) -> Problem:
    status = HTTP_STATUS[refusal]
    if refusal is Refusal.ILLEGAL_TRANSITION:
        current = DossierStatus(cause.details[0]) if cause.details else None
        return Problem(
            status,
            cause.message,
            slug="illegal-transition",
            title="Transition not allowed in the current state",
            current_status=current.value if current else None,
            allowed=[t.value for t in allowed_transitions(current)] if current else [],
        )
    return Problem(status, cause.message, slug=refusal.value)


def unavailable(err: RPCError) -> Problem:
    if err.status in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
        detail = "the dossier workflow did not answer in time; retry with the same event_id"
    elif err.status is RPCStatusCode.UNAVAILABLE:
        detail = f"the workflow engine is not available: {err.message}"
    else:
        # E.g. an update that met the workflow's continue-as-new: nothing was applied, a retry lands.
        detail = f"the dossier workflow could not take this now ({err.message}); retry with the same event_id"
    problem = Problem(503, detail, slug="workflow-unavailable")
    problem.headers = {"Retry-After": "5"}
    return problem


async def release_connection(session: AsyncSession) -> None:
    """End the request's read transaction before waiting on a workflow, so no pooled connection is held
    for the seconds a workflow may take (under load the pool would run dry)."""
    await session.commit()


# ---------------------------------------------------------------- registration


async def register_dossier(
    body: DossierCreate, client: ApiClient, session: AsyncSession, temporal: Client, settings: Settings
) -> tuple[DossierView, bool]:
    """Register a received dossier and start its workflow; the view holds the due date. True: new."""
    require_agency(client, body.agency_code)
    digest = fingerprint(body)
    row = await session.get(Dossier, body.code)
    created = False
    if row is None:
        row = dossier_row(
            DossierInput(
                code=body.code,
                procedure=Procedure(body.procedure.code, body.procedure.name, body.procedure.working_days),
                agency_code=body.agency_code,
                applicant=Applicant(body.applicant.name, body.applicant.phone, body.applicant.zalo_user_id),
                received_at=body.received_at,
                channel=body.channel.value,
                fingerprint=digest,
            )
        )
        session.add(row)
        try:
            await session.commit()
            created = True
        except IntegrityError:
            # Registered concurrently by another request (or the workflow's first record): use that row.
            await session.rollback()
            row = await session.get(Dossier, body.code)
            assert row is not None
    if row.fingerprint != digest:
        raise Problem(
            409, f"dossier {body.code} is already registered with another body", slug="registration-conflict"
        )
    if created or row.due_at is None:
        await release_connection(session)
        await run_update(
            temporal, settings, input_from_row(row, settings), DossierWorkflow.register, Register(digest)
        )
    return await view(session, settings, body.code), created


# ---------------------------------------------------------------- reading the projection


async def view(session: AsyncSession, settings: Settings, code: str) -> DossierView:
    row = await session.get(Dossier, code, populate_existing=True)
    if row is None:
        raise Problem(404, f"no dossier with code {code}", slug="dossier-not-found")
    events = (
        await session.exec(
            select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(col(DossierEvent.seq))
        )
    ).all()
    notices = (
        await session.exec(select(Notice).where(Notice.dossier_code == code).order_by(col(Notice.id)))
    ).all()
    detail = row.detail or {}
    return DossierView(
        **DossierCore.columns(row),
        fee=detail.get("fee"),
        supplement=detail.get("supplement"),
        result=detail.get("result"),
        timeline=[TimelineItem(seq=e.seq, at=e.at, kind=e.kind, by=e.by, detail=e.detail) for e in events],
        notices=[
            NoticeItem(
                kind=n.kind,
                audience=n.audience,
                channel=n.channel,
                status=n.status,
                at=n.created_at,
                scheduled_for=n.scheduled_for,
                sent_at=n.sent_at,
            )
            for n in notices
        ],
        links=Links(temporal_ui=temporal_ui_link(settings, row.code), self=f"/api/v1/dossiers/{row.code}"),
    )


# ---------------------------------------------------------------- a registered dossier, for transitions

CodePath = Annotated[
    str,
    Path(
        pattern=DOSSIER_CODE_PATTERN,
        max_length=40,
        description="Dossier code",
        examples=["H21.65-261123-0001"],
    ),
]


@dataclass
class OpenDossier:
    """A registered dossier the calling client may act on, with what a transition needs."""

    row: Dossier
    client: ApiClient
    session: AsyncSession
    temporal: Client
    settings: Settings

    async def apply(self, update: Any, command: Any) -> DossierView:
        """Run a transition update; a repeated event answers the current view and changes nothing."""
        code = self.row.code
        if DossierStatus(self.row.status).is_final and await self._recorded(command.event_id):
            return await view(self.session, self.settings, code)  # a repeat after the workflow has ended
        input = input_from_row(self.row, self.settings)
        await release_connection(self.session)
        await run_update(self.temporal, self.settings, input, update, command)
        return await view(self.session, self.settings, code)

    async def _recorded(self, event_id: str) -> bool:
        return await event_recorded(self.session, self.row.code, event_id)

    async def pay(self, payment: PaymentReceived, *, require_fee_due: bool = True) -> PaymentRecord:
        """Signal a payment and wait until the workflow has recorded it; a known transaction id is
        answered with its record and changes nothing."""
        await release_connection(self.session)
        record, _ = await signal_payment(self.temporal, self.row, payment, require_fee_due=require_fee_due)
        return record


async def event_recorded(session: AsyncSession, code: str, event_id: str) -> bool:
    """Whether the event with this caller's id is in the dossier's timeline (a repeat after the end)."""
    found = await session.exec(
        select(DossierEvent.id).where(DossierEvent.dossier_code == code, DossierEvent.event_id == event_id)
    )
    return found.first() is not None


async def signal_payment(
    temporal: Client,
    row: Dossier,
    payment: PaymentReceived,
    *,
    require_fee_due: bool = True,
    wait_seconds: float = 10.0,
) -> tuple[PaymentRecord, bool]:
    """The `payment_received` signal, answered once the workflow has recorded the payment (its record
    activity writes the `payments` row, so the caller reads its own write). True: this call applied it;
    False: the transaction id was known already, and nothing changed."""
    handle: WorkflowHandle[Any, Any] = temporal.get_workflow_handle(workflow_id(row.code))
    try:
        known: PaymentRecord | None = await handle.query(DossierWorkflow.payment, payment.transaction_id)
        if known is not None:
            return known, False
        if require_fee_due and row.status != DossierStatus.FEE_DUE.value:
            raise Problem(
                409,
                f"no fee is due for dossier {row.code} (state '{row.status}')",
                slug="illegal-transition",
                title="Transition not allowed in the current state",
                current_status=row.status,
                allowed=[t.value for t in allowed_transitions(DossierStatus(row.status))],
            )
        await handle.signal(DossierWorkflow.payment_received, payment)
        deadline = asyncio.get_running_loop().time() + wait_seconds
        while True:
            record: PaymentRecord | None = await handle.query(DossierWorkflow.payment, payment.transaction_id)
            if record is not None:
                return record, True
            if asyncio.get_running_loop().time() > deadline:
                problem = Problem(
                    503,
                    "the payment was accepted but not yet applied; retry the same call shortly",
                    slug="payment-pending",
                )
                problem.headers = {"Retry-After": "5"}
                raise problem
            await asyncio.sleep(0.05)
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:  # the workflow has ended: nothing can be paid any more
            raise Problem(409, f"dossier {row.code} is closed", slug="dossier-closed") from err
        raise unavailable(err) from err


async def get_open_dossier(
    code: CodePath, client: ClientDep, session: SessionDep, temporal: TemporalDep, settings: SettingsDep
) -> OpenDossier:
    row = await session.get(Dossier, code)
    if row is None:
        raise Problem(404, f"no dossier with code {code}", slug="dossier-not-found")
    require_agency(client, row.agency_code)
    return OpenDossier(row, client, session, temporal, settings)


OpenDossierDep = Annotated[OpenDossier, Depends(get_open_dossier)]
