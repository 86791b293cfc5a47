"""Citizens' feedback (phản ánh, kiến nghị) as tracked items: written whole in one commit, listed for the
officers whose scope holds them (the province's queue, `agency_code` NULL, only for every-agency
officers), answered once (a second answer, from a second tab or officer, changes nothing)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Feedback
from domain.codes import ALL_AGENCIES
from domain.feedback import Channel, Reply, Status

PAGE_SIZE = 50


def _scope(agencies: Collection[str]) -> list[Any]:
    return [] if ALL_AGENCIES in agencies else [col(Feedback.agency_code).in_(list(agencies))]


def visible(agencies: Collection[str], row: Feedback) -> bool:
    """Whether an officer of `agencies` may see this item (the province's queue: every-agency officers)."""
    return ALL_AGENCIES in agencies or (row.agency_code is not None and row.agency_code in agencies)


async def add(
    session: AsyncSession,
    *,
    channel: Channel,
    text: str,
    received_at: datetime,
    answer_due_at: datetime,
    dossier_code: str | None = None,
    agency_code: str | None = None,
    zalo_user_id: str | None = None,
    sender_verified: bool = False,
) -> Feedback:
    """One new item, committed."""
    row = Feedback(
        dossier_code=dossier_code,
        agency_code=agency_code,
        channel=channel.value,
        zalo_user_id=zalo_user_id,
        sender_verified=sender_verified,
        text=text,
        received_at=received_at,
        answer_due_at=answer_due_at,
        status=Status.OPEN.value,
    )
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return row


async def listed(
    session: AsyncSession, agencies: Collection[str], *, answered: bool, limit: int = PAGE_SIZE
) -> list[Feedback]:
    """The open items (soonest due first) or the answered ones (latest first) in the officer's scope."""
    status = Status.ANSWERED if answered else Status.OPEN
    order = (
        [col(Feedback.answered_at).desc(), col(Feedback.id).desc()]
        if answered
        else [col(Feedback.answer_due_at), col(Feedback.id)]
    )
    query = select(Feedback).where(col(Feedback.status) == status.value, *_scope(agencies))
    return list((await session.exec(query.order_by(*order).limit(limit))).all())


async def count_open(session: AsyncSession, agencies: Collection[str]) -> int:
    query = select(func.count()).select_from(Feedback)
    query = query.where(col(Feedback.status) == Status.OPEN.value, *_scope(agencies))
    return int((await session.exec(query)).one())


async def of_dossier(session: AsyncSession, code: str, channel: Channel | None = None) -> list[Feedback]:
    """A dossier's items, oldest first: those sent through `channel` (the lookup page shows the web ones),
    or all of them (the officer's dossier page)."""
    query = select(Feedback).where(col(Feedback.dossier_code) == code)
    if channel is not None:
        query = query.where(col(Feedback.channel) == channel.value)
    return list((await session.exec(query.order_by(col(Feedback.id)))).all())


async def answer(
    session: AsyncSession, item_id: int, text: str, by: str, at: datetime, reply: Reply | None
) -> bool:
    """Record the answer if the item is still open (committed); False when it was answered already."""
    result = await session.exec(
        update(Feedback)
        .where(col(Feedback.id) == item_id, col(Feedback.status) == Status.OPEN.value)
        .values(
            status=Status.ANSWERED.value,
            answer=text,
            answered_by=by,
            answered_at=at,
            reply=reply.value if reply is not None else None,
        )
    )
    await session.commit()
    return bool(result.rowcount)


async def replied(
    session: AsyncSession,
    item_id: int,
    reply: Reply,
    *,
    message_id: str | None = None,
    error: str | None = None,
) -> None:
    """How the OA answer went (committed)."""
    await session.exec(
        update(Feedback)
        .where(col(Feedback.id) == item_id)
        .values(reply=reply.value, reply_message_id=message_id, reply_error=(error or None) and error[:500])
    )
    await session.commit()
