"""The `payments` table: one row per transaction id, written by the workflow's record activity or, for
what no workflow sees (failed payments, unknown dossiers, closed ones), by the payment callback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Payment, PaymentConflict
from db.types import utcnow
from db.upsert import insert_ignoring_conflict


async def payment_of(session: AsyncSession, transaction_id: str) -> Payment | None:
    """The recorded payment of a transaction id, if any (ids are unique across dossiers)."""
    return (await session.exec(select(Payment).where(Payment.transaction_id == transaction_id))).first()


def held_elsewhere(known: Payment | None, dossier_code: str | None) -> bool:
    """Whether a transaction id already recorded (`known`) belongs to another dossier than `dossier_code`.

    A transaction pays one dossier: the same id reported again is a repeat only for that same dossier;
    for another it is a mismatch, recorded and told to officers (`record_conflict`), never applied and
    never answered as the first dossier's repeat."""
    return known is not None and known.dossier_code != dossier_code


async def record_conflict(
    session: AsyncSession,
    known: Payment,
    *,
    named: str,
    amount_vnd: int,
    source: str,
    reference: str | None,
) -> tuple[PaymentConflict, bool]:
    """Record that `named` reported `known`'s transaction id (commits); the row, and whether it is new
    (a resent report finds the row it left, and officers are not told twice)."""
    now = utcnow()
    created = await insert_ignoring_conflict(
        session,
        PaymentConflict,
        ["transaction_id", "named"],
        transaction_id=known.transaction_id,
        named=named,
        held_by=known.dossier_code,
        amount_vnd=amount_vnd,
        source=source,
        reference=reference,
        at=now,
    )
    await session.commit()
    row = (
        await session.exec(
            select(PaymentConflict).where(
                PaymentConflict.transaction_id == known.transaction_id, PaymentConflict.named == named
            )
        )
    ).one()
    return row, created


async def conflict_notified(session: AsyncSession, conflict_id: int) -> None:
    """Officers were told of this conflict (commits)."""
    await session.exec(
        update(PaymentConflict).where(col(PaymentConflict.id) == conflict_id).values(notified_at=utcnow())
    )
    await session.commit()


async def record_payment(
    session: AsyncSession,
    *,
    transaction_id: str,
    dossier_code: str | None,
    amount_vnd: int,
    outcome: str,
    source: str,
    reference: str | None,
    error_code: str | None,
    at: datetime,
) -> str:
    """Insert a payment unless its transaction id is recorded already (commits); the outcome kept."""
    await insert_ignoring_conflict(
        session,
        Payment,
        ["transaction_id"],
        transaction_id=transaction_id,
        dossier_code=dossier_code,
        amount_vnd=amount_vnd,
        outcome=outcome,
        source=source,
        reference=reference,
        error_code=error_code,
        at=at,
        created_at=at,
    )
    await session.commit()
    stored = await payment_of(session, transaction_id)
    return stored.outcome if stored is not None else outcome


async def forget_payment(session: AsyncSession, payment: Payment) -> None:
    """Delete a recorded payment (a failure that a success of the same transaction replaces); commits."""
    await session.exec(delete(Payment).where(col(Payment.id) == payment.id))
    await session.commit()


async def set_reference(session: AsyncSession, transaction_id: str, reference: str) -> None:
    """Keep the payment platform's reference on a payment the workflow recorded (commits)."""
    await session.exec(
        update(Payment)
        .where(col(Payment.transaction_id) == transaction_id, col(Payment.reference).is_(None))
        .values(reference=reference)
    )
    await session.commit()
