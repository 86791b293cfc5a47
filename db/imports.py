"""An imported dossier's rows: its `dossiers` row, its past timeline and payments, in one transaction.

The import (admin/dossiers.py) writes these before it starts the workflow from the same state: a crash
between the two leaves a row that the next run finds (same fingerprint) and starts; a crash before leaves
nothing. No notice row is written: the past sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.dossiers import dossier_row
from db.models import Dossier, DossierEvent, Payment
from domain.details import projection
from domain.dossier import DossierInput, DossierState


class Written(StrEnum):
    NEW = "new"  # written by this call
    KNOWN = "known"  # written before with the same body (an earlier run): to start, if not started
    TAKEN = "taken"  # the code is registered with another body
    TRANSACTION_TAKEN = "transaction_taken"  # a payment's transaction id belongs to another dossier


@dataclass(frozen=True)
class Existing:
    """What an earlier run (or a registration) left under a code."""

    fingerprint: str
    created_at: datetime  # the instant its state was built for


async def existing(session: AsyncSession, codes: list[str]) -> dict[str, Existing]:
    """The rows already registered under `codes`."""
    found: dict[str, Existing] = {}
    for start in range(0, len(codes), 500):
        rows = await session.exec(select(Dossier).where(col(Dossier.code).in_(codes[start : start + 500])))
        for row in rows.all():
            found[row.code] = Existing(row.fingerprint, row.created_at)
    return found


async def write_imported(
    session: AsyncSession, registration: DossierInput, s: DossierState, catalogue_version: int | None
) -> Written:
    """The dossier's row (its state's columns), timeline and payments, all or nothing (commits)."""
    row = await session.get(Dossier, registration.code)
    if row is not None:
        return Written.KNOWN if row.fingerprint == registration.fingerprint else Written.TAKEN
    if s.payments:
        held = await session.exec(
            select(Payment.transaction_id).where(col(Payment.transaction_id).in_(list(s.payments)))
        )
        if held.first() is not None:
            return Written.TRANSACTION_TAKEN
    row = dossier_row(replace(registration, carried=None))
    for column, value in projection(s).items():
        setattr(row, column, value)
    row.last_seq = s.seq
    row.catalogue_version = catalogue_version
    session.add(row)
    await session.flush()  # the row before the rows that name it (PostgreSQL checks the foreign key)
    for entry in s.timeline:
        session.add(
            DossierEvent(
                dossier_code=registration.code,
                seq=entry.seq,
                at=entry.at,
                kind=entry.kind,
                by=entry.by,
                event_id=entry.event_id,
                detail=entry.detail,
            )
        )
    for payment in s.payments.values():
        session.add(
            Payment(
                transaction_id=payment.transaction_id,
                dossier_code=registration.code,
                amount_vnd=payment.amount_vnd,
                outcome=payment.outcome,
                source=payment.source,
                at=payment.at,
            )
        )
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()  # written meanwhile by a registration or another import
        row = await session.get(Dossier, registration.code)
        if row is None:
            return Written.TRANSACTION_TAKEN
        return Written.KNOWN if row.fingerprint == registration.fingerprint else Written.TAKEN
    return Written.NEW
