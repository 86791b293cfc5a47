"""Queue numbers asked for over the Zalo OA ("STT <agency code>", domain/queue.py): the Zalo account is the
holder (it replaces the phone of the public page) and gets the number, how many wait before it and the
link to its status page as the answer; later the OA notices of the desk (turn near, called)."""

from __future__ import annotations

import structlog
from fastapi import Request

from api.zalo_linking import OaText, Outgoing
from db import queue
from db.engine import SessionFactory
from db.models import Agency
from domain import vocabulary
from domain.queue import Channel, OaQueueAsk
from settings import Settings
from web.deps import now

log = structlog.get_logger(__name__)


async def on_queue_message(request: Request, user_id: str, ask: OaQueueAsk) -> list[Outgoing]:
    settings: Settings = request.app.state.settings
    sessions: SessionFactory = request.app.state.session_factory
    if not ask.agency_code:
        return [OaText(user_id, vocabulary.QUEUE_OA_HOW)]
    async with sessions() as session:
        agency = await session.get(Agency, ask.agency_code)
    if agency is None:
        return [OaText(user_id, vocabulary.QUEUE_UNKNOWN_AGENCY.format(code=ask.agency_code))]
    taken = await queue.give(
        sessions,
        settings,
        agency_code=agency.code,
        at=now(request),
        holder=f"zalo:{user_id}",
        channel=Channel.OA,
        zalo_user_id=user_id,
    )
    if taken.ticket is None:
        assert taken.refused is not None
        opening = taken.opening.next_opening if taken.opening else None
        log.info("queue.refused", agency_code=agency.code, refused=taken.refused.value)
        text = vocabulary.QUEUE_REFUSED[taken.refused].format(opening=vocabulary.vn_day_datetime(opening))
        return [OaText(user_id, text)]
    log.info("queue.taken", agency_code=agency.code, number=taken.ticket.number, channel=Channel.OA.value)
    text = vocabulary.QUEUE_TAKEN.format(
        agency=agency.name,
        number=taken.ticket.number,
        ahead=taken.ahead,
        url=settings.queue_ticket_url(taken.token),
    )
    return [OaText(user_id, text)]
