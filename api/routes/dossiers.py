"""The TTHC system's dossier endpoints: register, read, and every transition of the lifecycle."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from sqlalchemy.exc import IntegrityError
from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from api.deps import ClientDep, SessionDep, SettingsDep, TemporalDep, require_agency
from api.dossiers import (
    CodePath,
    OpenDossierDep,
    fingerprint,
    input_from_row,
    release_connection,
    run_update,
    unavailable,
    view,
    workflow_id,
)
from api.problems import Problem
from api.schemas import (
    ApologyIn,
    DossierCreate,
    DossierView,
    FeeIn,
    PaymentIn,
    RejectionIn,
    ResultIn,
    ReturnIn,
    SupplementIn,
    SupplementRequestIn,
    WithdrawalIn,
)
from db.models import Dossier
from domain.dossier import (
    Apology,
    Delivery,
    FeeItem,
    FeeRequest,
    PaymentReceived,
    Pickup,
    Register,
    Rejection,
    ResultReady,
    Returned,
    SupplementReceived,
    SupplementRequest,
    Withdrawal,
)
from domain.status import DossierStatus
from workflows.dossier import DossierWorkflow

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

PROBLEM = {"model": dict[str, Any], "content": {"application/problem+json": {}}}
TRANSITION_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or bad API key", **PROBLEM},
    403: {"description": "The key may not act for this dossier's agency", **PROBLEM},
    404: {"description": "No dossier with this code", **PROBLEM},
    409: {"description": "Not allowed in the current state (the body names it)", **PROBLEM},
    422: {"description": "Invalid body, event time, or event_id reused with another body", **PROBLEM},
    503: {"description": "The workflow engine did not answer; retry with the same event_id", **PROBLEM},
}


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DossierView,
    responses={
        200: {"description": "Already registered with this same body", "model": DossierView},
        **TRANSITION_RESPONSES,
    },
)
async def register_dossier(
    body: DossierCreate,
    response: Response,
    client: ClientDep,
    session: SessionDep,
    temporal: TemporalDep,
    settings: SettingsDep,
) -> DossierView:
    """Register a received dossier: starts its workflow and answers with the appointment date."""
    require_agency(client, body.agency_code)
    digest = fingerprint(body)
    row = await session.get(Dossier, body.code)
    created = False
    if row is None:
        row = Dossier(
            code=body.code,
            agency_code=body.agency_code,
            procedure_code=body.procedure.code,
            procedure_name=body.procedure.name,
            working_days=body.procedure.working_days,
            channel=body.channel.value,
            applicant_name=body.applicant.name,
            applicant_phone=body.applicant.phone,
            applicant_zalo_user_id=body.applicant.zalo_user_id,
            received_at=body.received_at,
            fingerprint=digest,
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
    if not created:
        response.status_code = status.HTTP_200_OK
    return await view(session, settings, body.code)


@router.get("/{code}", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def get_dossier(
    code: CodePath, client: ClientDep, session: SessionDep, settings: SettingsDep
) -> DossierView:
    """One dossier with its timeline and notices, from the database."""
    result = await view(session, settings, code)
    require_agency(client, result.agency_code)
    return result


@router.post("/{code}/supplement-request", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def request_supplement(body: SupplementRequestIn, dossier: OpenDossierDep) -> DossierView:
    """Ask the citizen for more documents (received → supplement_required): the clock stops."""
    command = SupplementRequest(
        event_id=body.event_id, at=body.at, by=dossier.client.name, items=body.items, note=body.note
    )
    return await dossier.apply(DossierWorkflow.request_supplement, command)


@router.post("/{code}/supplement", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def supplement_received(body: SupplementIn, dossier: OpenDossierDep) -> DossierView:
    """The supplement arrived (supplement_required → received): the count restarts from zero."""
    command = SupplementReceived(event_id=body.event_id, at=body.at, by=dossier.client.name, note=body.note)
    return await dossier.apply(DossierWorkflow.supplement_received, command)


@router.post("/{code}/fee", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def request_fee(body: FeeIn, dossier: OpenDossierDep) -> DossierView:
    """Notify the fees due (received → fee_due): the clock pauses until payment."""
    command = FeeRequest(
        event_id=body.event_id,
        at=body.at,
        by=dossier.client.name,
        items=[FeeItem(item.name, item.amount_vnd) for item in body.items],
        pay_within_days=body.pay_within_days,
        pay_url=str(body.pay_url) if body.pay_url else None,
    )
    return await dossier.apply(DossierWorkflow.request_fee, command)


@router.post("/{code}/payment", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def record_payment(body: PaymentIn, dossier: OpenDossierDep) -> DossierView:
    """A payment (fee_due → received once fully paid); a repeated transaction id changes nothing."""
    handle: WorkflowHandle[Any, Any] = dossier.temporal.get_workflow_handle(workflow_id(dossier.row.code))
    status = dossier.row.status
    await release_connection(dossier.session)
    try:
        known = await handle.query(DossierWorkflow.payment, body.transaction_id)
        if known is None:
            if status != DossierStatus.FEE_DUE.value:
                raise Problem(
                    409,
                    f"no fee is due for dossier {dossier.row.code} (state '{status}')",
                    slug="illegal-transition",
                    current_status=status,
                )
            await handle.signal(
                DossierWorkflow.payment_received,
                PaymentReceived(body.transaction_id, body.amount_vnd, body.at, source=dossier.client.name),
            )

            async def applied() -> bool:
                return await handle.query(DossierWorkflow.payment, body.transaction_id) is not None

            await dossier.wait_for(applied)
    except RPCError as err:
        raise unavailable(err) from err
    return await view(dossier.session, dossier.settings, dossier.row.code)


@router.post("/{code}/result", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def mark_result_ready(body: ResultIn, dossier: OpenDossierDep) -> DossierView:
    """The result is ready (received → result_ready), to pick up or to be delivered."""
    command = ResultReady(
        event_id=body.event_id,
        at=body.at,
        by=dossier.client.name,
        pickup=Pickup(body.pickup.place, body.pickup.note) if body.pickup else None,
        delivery=Delivery(body.delivery.address, body.delivery.note) if body.delivery else None,
    )
    return await dossier.apply(DossierWorkflow.mark_result_ready, command)


@router.post("/{code}/return", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def mark_returned(body: ReturnIn, dossier: OpenDossierDep) -> DossierView:
    """The result was handed over (result_ready → returned, final)."""
    command = Returned(event_id=body.event_id, at=body.at, by=dossier.client.name, to=body.to)
    return await dossier.apply(DossierWorkflow.mark_returned, command)


@router.post("/{code}/rejection", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def reject(body: RejectionIn, dossier: OpenDossierDep) -> DossierView:
    """Refuse the dossier with a reason (received or supplement_required → rejected, final)."""
    command = Rejection(event_id=body.event_id, at=body.at, by=dossier.client.name, reason=body.reason)
    return await dossier.apply(DossierWorkflow.reject, command)


@router.post("/{code}/withdrawal", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def withdraw(body: WithdrawalIn, dossier: OpenDossierDep) -> DossierView:
    """The citizen withdrew the dossier (any open state → withdrawn, final)."""
    command = Withdrawal(event_id=body.event_id, at=body.at, by=dossier.client.name, reason=body.reason)
    return await dossier.apply(DossierWorkflow.withdraw, command)


@router.post("/{code}/apology", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def apologize(body: ApologyIn, dossier: OpenDossierDep) -> DossierView:
    """The formal apology (Mẫu 04) with a new appointment: once, before the due time."""
    command = Apology(
        event_id=body.event_id,
        at=body.at,
        by=dossier.client.name,
        new_due_at=body.new_due_at,
        reason=body.reason,
    )
    return await dossier.apply(DossierWorkflow.apologize, command)
