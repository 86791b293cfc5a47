"""The TTHC system's dossier endpoints: register, read, and every transition of the lifecycle."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import listing
from api.keys import ClientDep, require_agency
from api.listing import DEFAULT_LIMIT, MAX_LIMIT, ListFilters
from api.openapi import problems
from api.registration import register
from api.schemas.commands import (
    ApologyIn,
    DossierCreate,
    FeeIn,
    HandoverIn,
    PaymentIn,
    ReceptionIn,
    ReceptionRefusalIn,
    RejectionIn,
    ResultIn,
    ReturnIn,
    SupplementIn,
    SupplementRequestIn,
    WithdrawalIn,
)
from api.schemas.common import DossierCodePath, PlausibleTime
from api.schemas.views import DossierPage, DossierView
from api.views import OpenDossierDep, require_visible, view
from db.models import Dossier
from domain.codes import AGENCY_CODE_PATTERN
from domain.status import DossierStatus
from web.deps import GatewayDep, SessionDep, SettingsDep

router = APIRouter(prefix="/api/v1/dossiers", tags=["dossiers"])

NOT_VISIBLE = "No dossier with this code among the key's agencies (another agency's code answers the same)"
TRANSITION_RESPONSES = problems(
    401,
    404,
    409,
    422,
    503,
    descriptions={
        404: NOT_VISIBLE,
        422: "Invalid body, an event time earlier than the last event or in the future, "
        "or an event_id reused with another body",
    },
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DossierView,
    responses={
        200: {"description": "Already registered with this same body", "model": DossierView},
        **problems(
            401,
            403,
            409,
            422,
            503,
            descriptions={
                409: "Already registered with another body",
                403: "The key may not act for this agency",
            },
        ),
    },
)
async def register_dossier(
    body: DossierCreate,
    response: Response,
    client: ClientDep,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
) -> DossierView:
    """Register a received dossier: starts its workflow and answers with the appointment date. A
    dossier submitted online and not yet received (`submitted`) waits for the desk's check instead,
    with no appointment yet."""
    require_agency(client, body.agency_code)
    if not await register(session, gateway, body.registration()):
        response.status_code = status.HTTP_200_OK
    return await view(session, settings, body.code)


@router.get(
    "",
    response_model=DossierPage,
    responses=problems(401, 403, 422, descriptions={403: "The key may not see this agency"}),
)
async def list_dossiers(
    client: ClientDep,
    session: SessionDep,
    status: Annotated[
        list[DossierStatus] | None, Query(description="Only these states (repeat for several)")
    ] = None,
    agency: Annotated[str | None, Query(pattern=AGENCY_CODE_PATTERN, max_length=40)] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (true) or not overdue (false)")] = None,
    due_before: Annotated[
        PlausibleTime | None, Query(description="Only dossiers due before this time (ISO 8601 with offset)")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            pattern=r"^[0-9A-Za-z.\-]+$",
            description="Part of the dossier code (any case), e.g. 261123 or H21.65-2611",
        ),
    ] = None,
    cursor: Annotated[
        str | None, Query(max_length=300, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DossierPage:
    """Dossiers of the caller's agencies, by due date (no running clock last), a page at a time."""
    filters = ListFilters(tuple(status or ()), agency, overdue, due_before, q)
    return await listing.list_dossiers(session, client, filters, cursor, limit)


@router.get(
    "/{code}", response_model=DossierView, responses=problems(401, 404, 422, descriptions={404: NOT_VISIBLE})
)
async def get_dossier(
    code: DossierCodePath, client: ClientDep, session: SessionDep, settings: SettingsDep
) -> DossierView:
    """One dossier with its timeline and notices, from the database."""
    require_visible(client, await session.get(Dossier, code), code)
    return await view(session, settings, code)


@router.post("/{code}/reception", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def receive(body: ReceptionIn, dossier: OpenDossierDep) -> DossierView:
    """The desk received an online submission (submitted → received): the count starts at `at`, and
    the citizen gets the receipt notice with the appointment."""
    return await dossier.apply(body)


@router.post("/{code}/reception-refusal", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def refuse_reception(body: ReceptionRefusalIn, dossier: OpenDossierDep) -> DossierView:
    """The desk refused to receive an online submission (submitted → rejected, final; Mẫu 03, DVCQG 3):
    the citizen is told the reasons."""
    return await dossier.apply(body)


@router.post("/{code}/supplement-request", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def request_supplement(body: SupplementRequestIn, dossier: OpenDossierDep) -> DossierView:
    """Ask the citizen for more documents (received or submitted → supplement_required): the clock
    stops (before reception it never started; the supplement goes back to the desk's check)."""
    return await dossier.apply(body)


@router.post("/{code}/supplement", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def supplement_received(body: SupplementIn, dossier: OpenDossierDep) -> DossierView:
    """The supplement arrived (supplement_required → received): the count restarts from zero."""
    return await dossier.apply(body)


@router.post("/{code}/fee", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def request_fee(body: FeeIn, dossier: OpenDossierDep) -> DossierView:
    """Notify the fees due (received → fee_due): the clock pauses until payment."""
    return await dossier.apply(body)


@router.post("/{code}/payment", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def record_payment(body: PaymentIn, dossier: OpenDossierDep) -> DossierView:
    """A payment (fee_due → received once fully paid); a repeated transaction id changes nothing."""
    return await dossier.pay(body)


@router.post("/{code}/result", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def mark_result_ready(body: ResultIn, dossier: OpenDossierDep) -> DossierView:
    """The result is ready (received → result_ready), to pick up or to be delivered."""
    return await dossier.apply(body)


@router.post("/{code}/return", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def mark_returned(body: ReturnIn, dossier: OpenDossierDep) -> DossierView:
    """The result was handed over (result_ready → returned, final)."""
    return await dossier.apply(body)


@router.post("/{code}/rejection", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def reject(body: RejectionIn, dossier: OpenDossierDep) -> DossierView:
    """Refuse the dossier with a reason (received or supplement_required → rejected, final)."""
    return await dossier.apply(body)


@router.post("/{code}/withdrawal", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def withdraw(body: WithdrawalIn, dossier: OpenDossierDep) -> DossierView:
    """The citizen withdrew the dossier (any open state → withdrawn, final)."""
    return await dossier.apply(body)


@router.post("/{code}/apology", response_model=DossierView, responses=TRANSITION_RESPONSES)
async def apologize(body: ApologyIn, dossier: OpenDossierDep) -> DossierView:
    """The formal apology (Mẫu 04) with a new appointment: once, before the due time."""
    return await dossier.apply(body)


@router.post(
    "/{code}/handover",
    response_model=DossierView,
    responses=problems(
        401,
        403,
        404,
        409,
        422,
        503,
        descriptions={
            403: "The officer is not an active officer of the dossier's agency",
            404: NOT_VISIBLE + "; or the dossier's procedure has no such step (slug unknown-step)",
            409: "Not the next step (slug step-out-of-order), or the dossier is closed",
            422: "Invalid body, an unknown officer, an event time earlier than the last event or in the "
            "future, or an event_id reused with another body",
        },
    ),
)
async def handover(body: HandoverIn, dossier: OpenDossierDep) -> DossierView:
    """An internal step begins (the state stays): the officer holds the dossier until the next hand-over;
    the step before ends, judged early, on time or late against its working-hours deadline."""
    return await dossier.hand_over(body)
