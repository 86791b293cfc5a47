"""The `dossiers` row and its timeline as the API, the pages and the gateway read them."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Dossier, DossierEvent, Notice
from domain.dossier import DossierInput
from domain.status import DVCQG_CODES, DossierStatus


def dossier_row(registration: DossierInput) -> Dossier:
    """A `dossiers` row for a registration, before the workflow has reported anything."""
    return Dossier(
        code=registration.code,
        agency_code=registration.agency_code,
        procedure_code=registration.procedure.code,
        procedure_name=registration.procedure.name,
        working_days=registration.procedure.working_days,
        channel=registration.channel,
        applicant_name=registration.applicant.name,
        applicant_phone=registration.applicant.phone,
        applicant_zalo_user_id=registration.applicant.zalo_user_id,
        received_at=registration.received_at,
        fingerprint=registration.fingerprint,
        supplement_max_requests=registration.supplement.max_requests if registration.supplement else None,
        supplement_restarts=registration.supplement.restart_count if registration.supplement else None,
        supplement_supply_within_days=(
            registration.supplement.supply_within_days if registration.supplement else None
        ),
        steps=[asdict(step) for step in registration.steps] or None,
        submitted=registration.submitted,
        # Until the workflow reports: an online submission waits for the desk's check (DVCQG 1).
        status=DossierStatus.SUBMITTED.value if registration.submitted else DossierStatus.RECEIVED.value,
        dvcqg_status=DVCQG_CODES[DossierStatus.SUBMITTED] if registration.submitted else 2,
    )


async def events_of(session: AsyncSession, code: str) -> list[DossierEvent]:
    """The dossier's timeline, in order."""
    found = await session.exec(
        select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(col(DossierEvent.seq))
    )
    return list(found.all())


async def notices_of(session: AsyncSession, code: str) -> list[Notice]:
    """The dossier's delivery log, oldest first."""
    found = await session.exec(select(Notice).where(Notice.dossier_code == code).order_by(col(Notice.id)))
    return list(found.all())


async def event_recorded(session: AsyncSession, code: str, event_id: str) -> bool:
    """Whether the event with this caller's id is in the dossier's timeline."""
    found = await session.exec(
        select(DossierEvent.id).where(DossierEvent.dossier_code == code, DossierEvent.event_id == event_id)
    )
    return found.first() is not None


async def events_with_prefix(session: AsyncSession, code: str, prefix: str) -> bool:
    """Whether any of the dossier's events has a caller's id starting with `prefix`."""
    found = await session.exec(
        select(DossierEvent.id)
        .where(DossierEvent.dossier_code == code, col(DossierEvent.event_id).startswith(prefix))
        .limit(1)
    )
    return found.first() is not None


def not_started(before: datetime) -> tuple[ColumnElement[bool], ...]:
    """Registered rows whose workflow never reported anything (its start was lost: the engine was down
    and the caller gave up), written before `before`: the reconciliation starts them, the desk lists
    those it could not."""
    return (col(Dossier.last_seq) == 0, col(Dossier.created_at) < before)


async def stranded_registrations(session: AsyncSession, before: datetime, limit: int = 100) -> list[Dossier]:
    """The rows `not_started` before `before`, the oldest first."""
    found = await session.exec(
        select(Dossier)
        .where(*not_started(before))
        .order_by(col(Dossier.created_at), col(Dossier.code))
        .limit(limit)
    )
    return list(found.all())
