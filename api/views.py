"""The dossier as the machine API shows it, and the registered dossier a transition route acts on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from api.keys import ClientDep
from api.officer_alerts import alert_payment_conflict
from api.problems import Problem
from api.schemas.commands import CommandIn, HandoverIn, PaymentIn
from api.schemas.common import DossierCodePath
from api.schemas.views import DossierCore, DossierView, Links, NoticeItem, TimelineItem
from db.dossiers import events_of, notices_of
from db.models import ApiClient, Dossier
from db.officers import find_officer
from domain.access import DeskRole
from domain.codes import in_scope
from domain.status import DossierStatus
from settings import Settings
from web.deps import GatewayDep, SessionDep, SettingsDep
from workflows.gateway import Gateway, TransactionConflict


def self_link(code: str) -> str:
    return f"/api/v1/dossiers/{code}"


def not_found(code: str) -> Problem:
    """The one answer for a code that does not exist and for another agency's code alike."""
    return Problem(404, f"no dossier with code {code}", slug="dossier-not-found")


def require_visible(client: ApiClient, row: Dossier | None, code: str) -> Dossier:
    """The dossier if the client's agencies include it; otherwise the same 404 as for no dossier at all."""
    if row is None or not in_scope(client.agencies, row.agency_code):
        raise not_found(code)
    return row


async def view(session: AsyncSession, settings: Settings, code: str) -> DossierView:
    """The dossier with its timeline and notices, as the projection holds them now."""
    row = await session.get(Dossier, code, populate_existing=True)
    if row is None:
        raise not_found(code)
    detail = row.detail or {}
    return DossierView(
        **DossierCore.columns(row),
        fee=detail.get("fee"),
        supplement=detail.get("supplement"),
        result=detail.get("result"),
        check_due_at=detail.get("check_due_at") if row.status == DossierStatus.SUBMITTED.value else None,
        timeline=[
            TimelineItem(seq=e.seq, at=e.at, kind=e.kind, by=e.by, detail=e.detail)
            for e in await events_of(session, code)
        ],
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
            for n in await notices_of(session, code)
        ],
        links=Links(temporal_ui=settings.temporal_ui_link(row.code), self=self_link(row.code)),
    )


@dataclass
class OpenDossier:
    """A registered dossier the calling client may act on: a transition route's whole work."""

    row: Dossier
    client: ApiClient
    session: AsyncSession
    gateway: Gateway
    settings: Settings
    app: FastAPI

    async def apply(self, body: CommandIn) -> DossierView:
        """Run the body's transition; a repeated event answers the current view and changes nothing."""
        await self.gateway.apply(self.session, self.row, body.transition, body.command(self.client.name))
        return await view(self.session, self.settings, self.row.code)

    async def hand_over(self, body: HandoverIn) -> DossierView:
        """A hand-over to an active officer (not a read-only viewer) of the dossier's agency; the workflow
        judges the step and its order. Refused before the workflow sees it otherwise: nothing changes."""
        officer = await find_officer(self.session, body.officer)
        if officer is None:
            raise Problem(422, f"no officer with user name {body.officer}", slug="unknown-officer")
        if (
            not officer.active
            or officer.role != DeskRole.OFFICER.value
            or not in_scope(officer.agencies, self.row.agency_code)
        ):
            raise Problem(
                403,
                f"officer {body.officer} is not an active officer of agency {self.row.agency_code}",
                slug="officer-of-another-agency",
            )
        return await self.apply(body)

    async def pay(self, body: PaymentIn) -> DossierView:
        """Record a payment once applied; a known transaction id changes nothing; another dossier's
        transaction id is refused (409) and officers are told."""
        try:
            await self.gateway.pay(self.session, self.row, body.payment(self.client.name))
        except TransactionConflict as conflict:
            if conflict.new:  # before the 409: an error answer runs no background task
                await alert_payment_conflict(self.app, conflict.conflict)
            raise
        return await view(self.session, self.settings, self.row.code)


async def get_open_dossier(
    code: DossierCodePath,
    client: ClientDep,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    request: Request,
) -> OpenDossier:
    row = require_visible(client, await session.get(Dossier, code), code)
    return OpenDossier(row, client, session, gateway, settings, request.app)


OpenDossierDep = Annotated[OpenDossier, Depends(get_open_dossier)]
