"""The Zalo accounts linked to phones, and the one-time codes that prove a phone: every query of them.

A link is made only by `use_code` succeeding on a code sent to the phone; counting an answer against a
code (`count_answer`) and using it are single conditional UPDATEs, so concurrent messages can neither
try a code more often than allowed nor use it twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Dossier, ZaloLink, ZaloLinkCode, ZaloUser
from db.upsert import insert_ignoring_conflict


async def ensure_user(session: AsyncSession, user_id: str, now: datetime) -> None:
    """The Zalo user's row, made on first contact (following unknown)."""
    await insert_ignoring_conflict(
        session, ZaloUser, ["user_id"], user_id=user_id, created_at=now, updated_at=now
    )


async def linked_user(session: AsyncSession, phone: str) -> str | None:
    """The Zalo account that proved `phone`, if any."""
    return (await session.exec(select(ZaloLink.user_id).where(ZaloLink.phone == phone))).first()


async def is_linked(session: AsyncSession, phone: str, user_id: str) -> bool:
    return await linked_user(session, phone) == user_id


async def has_dossiers(session: AsyncSession, phone: str) -> bool:
    """Whether any dossier was registered with `phone` (84… form)."""
    found = await session.exec(
        select(func.count()).select_from(Dossier).where(Dossier.applicant_phone == phone)
    )
    return found.one() > 0


async def new_code(
    session: AsyncSession,
    *,
    user_id: str,
    phone: str,
    code_hash: str,
    dossier_code: str | None,
    now: datetime,
    lifetime: timedelta,
) -> ZaloLinkCode:
    """A fresh code for the user (commits). Earlier codes go: the user's own (a new one voids them, a used
    one has done its work) and anyone's expired one, so the table holds only codes still answerable."""
    await ensure_user(session, user_id, now)
    await session.exec(
        delete(ZaloLinkCode).where(
            or_(col(ZaloLinkCode.user_id) == user_id, col(ZaloLinkCode.expires_at) <= now)
        )
    )
    code = ZaloLinkCode(
        user_id=user_id,
        phone=phone,
        code_hash=code_hash,
        dossier_code=dossier_code,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(code)
    await session.commit()
    await session.refresh(code)
    return code


async def pending_code(session: AsyncSession, user_id: str, now: datetime) -> ZaloLinkCode | None:
    """The user's latest code that may still be answered."""
    return (
        await session.exec(
            select(ZaloLinkCode)
            .where(
                ZaloLinkCode.user_id == user_id,
                col(ZaloLinkCode.used_at).is_(None),
                col(ZaloLinkCode.expires_at) > now,
            )
            .order_by(col(ZaloLinkCode.id).desc())
        )
    ).first()


async def count_answer(session: AsyncSession, code_id: int, max_attempts: int, now: datetime) -> bool:
    """Count one answer against the code, if it may still take one (commits); False: it is void."""
    counted = await session.exec(
        update(ZaloLinkCode)
        .where(
            col(ZaloLinkCode.id) == code_id,
            col(ZaloLinkCode.attempts) < max_attempts,
            col(ZaloLinkCode.used_at).is_(None),
            col(ZaloLinkCode.expires_at) > now,
        )
        .values(attempts=col(ZaloLinkCode.attempts) + 1)
    )
    await session.commit()
    return counted.rowcount == 1


async def use_code(session: AsyncSession, code_id: int, now: datetime) -> bool:
    """Mark the code used; False when another message used it first (not committed: the link goes with it)."""
    used = await session.exec(
        update(ZaloLinkCode)
        .where(col(ZaloLinkCode.id) == code_id, col(ZaloLinkCode.used_at).is_(None))
        .values(used_at=now)
    )
    return used.rowcount == 1


async def link(session: AsyncSession, phone: str, user_id: str, now: datetime) -> bool:
    """Link `phone` to `user_id` (not committed); True when this account was not the one linked already
    (a new account for the phone: its holder is told)."""
    await ensure_user(session, user_id, now)
    if await insert_ignoring_conflict(
        session, ZaloLink, ["phone"], phone=phone, user_id=user_id, linked_at=now
    ):
        return True
    moved = await session.exec(
        update(ZaloLink)
        .where(col(ZaloLink.phone) == phone, col(ZaloLink.user_id) != user_id)
        .values(user_id=user_id, linked_at=now)
    )
    return moved.rowcount == 1


async def unlink_user(session: AsyncSession, user_id: str) -> int:
    """Remove every link of the account (not committed); how many there were."""
    removed = await session.exec(delete(ZaloLink).where(col(ZaloLink.user_id) == user_id))
    return int(removed.rowcount or 0)
