"""Queue numbers (domain/queue.py) in the database: allocation, the queue of a day, calls, and the OA
notices claimed once.

A number is allocated in one transaction that first increments the agency's `queue_days` row for the
day: on PostgreSQL the UPDATE locks that row until the commit, on SQLite the transaction starts with
`BEGIN IMMEDIATE` (the database's write lock). Everything else the allocation decides (the holder's
limits, the numbers ahead, the closing rule) is read under that lock, so two takers at the same moment are
decided one after the other and never get the same number; a refused taker's transaction is rolled back,
so a refusal uses no number. The unique (agency, day, number) constraint stands behind it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.calendar import office_calendar
from db.engine import SessionFactory
from db.models import QueueDay, QueueTicket
from db.upsert import insert_ignoring_conflict
from domain.limits import QUEUE_NEAR_AHEAD, QUEUE_OPEN_PER_AGENCY, QUEUE_TICKETS_PER_DAY
from domain.queue import OPEN, Channel, Opening, Refused, TicketStatus, office_day, opening
from settings import Settings

_OPEN = [status.value for status in OPEN]


def holder_hash(secret: bytes, holder: str) -> str:
    """Who holds a number, as the table keeps it: an HMAC of `phone:84…` or `zalo:<user id>` under
    SECRET_KEY (the limits compare holders; nobody reads them back)."""
    return hmac.new(secret, f"queue-holder:{holder}".encode(), hashlib.sha256).hexdigest()


def link_hash(token: str) -> str:
    return hashlib.sha256(f"queue-link:{token}".encode()).hexdigest()


@dataclass(frozen=True)
class Taken:
    """A number given (`ticket`, its status page's `token`, `ahead` numbers before it), or why not."""

    ticket: QueueTicket | None
    token: str = ""
    ahead: int = 0
    refused: Refused | None = None
    opening: Opening | None = None


@asynccontextmanager
async def _writing(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    async with sessions() as session:
        if session.get_bind().dialect.name == "sqlite":
            connection = await session.connection()
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield session
        finally:
            if session.in_transaction():
                await session.rollback()


async def _lock_day(session: AsyncSession, agency_code: str, day: date) -> QueueDay:
    """The agency's row for the day (made on first use), locked until the transaction ends."""
    await insert_ignoring_conflict(
        session,
        QueueDay,
        ["agency_code", "day"],
        agency_code=agency_code,
        day=day,
        last_number=0,
        last_called=0,
    )
    return (
        await session.exec(
            select(QueueDay)
            .where(QueueDay.agency_code == agency_code, QueueDay.day == day)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()


async def waiting_before(session: AsyncSession, agency_code: str, day: date, number: int | None) -> int:
    """How many numbers of the day still wait before `number` (None: all those waiting)."""
    query = (
        select(func.count())
        .select_from(QueueTicket)
        .where(
            col(QueueTicket.agency_code) == agency_code,
            col(QueueTicket.day) == day,
            col(QueueTicket.status) == TicketStatus.WAITING.value,
        )
    )
    if number is not None:
        query = query.where(col(QueueTicket.number) < number)
    return int((await session.exec(query)).one())


async def take(
    sessions: SessionFactory,
    *,
    agency_code: str,
    day: date,
    at: datetime,
    holder: str,
    channel: str,
    opening_for: Callable[[int], Opening],
    phone_last4: str | None = None,
    zalo_user_id: str | None = None,
) -> Taken:
    """Give `holder` the agency's next number of `day`, unless the holder's limits or `opening_for(waiting)`
    (domain/queue.py `opening`) refuse it (then nothing is written). Committed."""
    async with _writing(sessions) as session:
        queue = await _lock_day(session, agency_code, day)
        mine = (
            select(func.count())
            .select_from(QueueTicket)
            .where(col(QueueTicket.holder_hash) == holder, col(QueueTicket.day) == day)
        )
        open_here = mine.where(
            col(QueueTicket.agency_code) == agency_code, col(QueueTicket.status).in_(_OPEN)
        )
        if int((await session.exec(mine)).one()) >= QUEUE_TICKETS_PER_DAY:
            return Taken(None, refused=Refused.DAILY_LIMIT)
        if int((await session.exec(open_here)).one()) >= QUEUE_OPEN_PER_AGENCY:
            return Taken(None, refused=Refused.OPEN_AT_AGENCY)
        ahead = await waiting_before(session, agency_code, day, None)
        verdict = opening_for(ahead)
        if verdict.refused is not None:
            return Taken(None, refused=verdict.refused, opening=verdict)
        queue.last_number += 1
        session.add(queue)
        token = secrets.token_urlsafe(24)
        ticket = QueueTicket(
            agency_code=agency_code,
            day=day,
            number=queue.last_number,
            status=TicketStatus.WAITING.value,
            channel=channel,
            holder_hash=holder,
            phone_last4=phone_last4,
            zalo_user_id=zalo_user_id,
            link_hash=link_hash(token),
            taken_at=at,
            # Told how many are ahead when taking it: no "turn near" notice when that is already near.
            near_notice_at=at if ahead <= QUEUE_NEAR_AHEAD else None,
        )
        session.add(ticket)
        await session.commit()
        await session.refresh(ticket)
        session.expunge(ticket)  # as committed: the context's closing rollback must not expire it
        return Taken(ticket, token, ahead)


async def by_link(session: AsyncSession, token: str) -> QueueTicket | None:
    found = select(QueueTicket).where(QueueTicket.link_hash == link_hash(token))
    return (await session.exec(found.execution_options(populate_existing=True))).first()


async def of_day(session: AsyncSession, agency_code: str, day: date) -> list[QueueTicket]:
    """The day's numbers of the agency, in order."""
    query = select(QueueTicket).where(QueueTicket.agency_code == agency_code, QueueTicket.day == day)
    return list((await session.exec(query.order_by(col(QueueTicket.number)))).all())


async def last_called(session: AsyncSession, agency_code: str, day: date) -> int:
    row = await session.get(QueueDay, (agency_code, day), populate_existing=True)
    return row.last_called if row is not None else 0


async def call_next(
    sessions: SessionFactory, agency_code: str, day: date, seen: int, by: str, counter: str, at: datetime
) -> QueueTicket | None:
    """Call the lowest waiting number, if the last number called is still the one the officer saw
    (`seen`): a repeated click or a second officer calls nobody twice. None: nobody called (nobody waits,
    or somebody was called since)."""
    async with _writing(sessions) as session:
        queue = await _lock_day(session, agency_code, day)
        if queue.last_called != seen:
            return None
        ticket = (
            await session.exec(
                select(QueueTicket)
                .where(
                    QueueTicket.agency_code == agency_code,
                    QueueTicket.day == day,
                    QueueTicket.status == TicketStatus.WAITING.value,
                )
                .order_by(col(QueueTicket.number))
                .limit(1)
            )
        ).first()
        if ticket is None:
            return None
        queue.last_called = ticket.number
        ticket.status = TicketStatus.CALLED.value
        ticket.called_at, ticket.called_by, ticket.counter = at, by, counter or None
        session.add(queue)
        session.add(ticket)
        await session.commit()
        await session.refresh(ticket)
        session.expunge(ticket)
        return ticket


async def finish(
    session: AsyncSession,
    ticket_id: int,
    status: TicketStatus,
    at: datetime,
    *,
    from_: tuple[TicketStatus, ...],
) -> bool:
    """Move a ticket to `status` if it is in one of `from_` (committed); False when it was not."""
    done = await session.exec(
        update(QueueTicket)
        .where(col(QueueTicket.id) == ticket_id, col(QueueTicket.status).in_([s.value for s in from_]))
        .values(status=status.value, finished_at=at)
    )
    await session.commit()
    return bool(done.rowcount)


async def near_to_tell(session: AsyncSession, agency_code: str, day: date) -> list[QueueTicket]:
    """The waiting numbers with QUEUE_NEAR_AHEAD or fewer ahead whose holder was not told yet and can be
    (an OA account)."""
    waiting = select(QueueTicket).where(
        QueueTicket.agency_code == agency_code,
        QueueTicket.day == day,
        QueueTicket.status == TicketStatus.WAITING.value,
    )
    first = (await session.exec(waiting.order_by(col(QueueTicket.number)).limit(QUEUE_NEAR_AHEAD + 1))).all()
    return [t for t in first if t.near_notice_at is None and t.zalo_user_id]


async def claim_notice(session: AsyncSession, ticket_id: int, which: str, at: datetime) -> bool:
    """Claim one of a ticket's OA notices (`near_notice_at` or `call_notice_at`) before sending it
    (committed): only the first claim sends, so a repeated click or a retry sends nothing twice."""
    column = getattr(QueueTicket, which)
    claimed = await session.exec(
        update(QueueTicket).where(col(QueueTicket.id) == ticket_id, col(column).is_(None)).values({which: at})
    )
    await session.commit()
    return bool(claimed.rowcount)


async def notice_failed(session: AsyncSession, ticket_id: int, error: str) -> None:
    await session.exec(
        update(QueueTicket).where(col(QueueTicket.id) == ticket_id).values(notice_error=error[:500])
    )
    await session.commit()


async def give(
    sessions: SessionFactory,
    settings: Settings,
    *,
    agency_code: str,
    at: datetime,
    holder: str,
    channel: Channel,
    phone_last4: str | None = None,
    zalo_user_id: str | None = None,
) -> Taken:
    """A number at `agency_code` for `holder` (`phone:84…` or `zalo:<id>`) at `at`, by the office calendar's
    hours (domain/queue.py `opening`), whichever way it was asked for."""
    async with sessions() as session:
        calendar = await office_calendar(session, settings.office_hours())
    return await take(
        sessions,
        agency_code=agency_code,
        day=office_day(at),
        at=at,
        holder=holder_hash(settings.secret_key.get_secret_value().encode(), holder),
        channel=channel.value,
        opening_for=lambda waiting: opening(calendar, at, waiting),
        phone_last4=phone_last4,
        zalo_user_id=zalo_user_id,
    )
