"""Queue numbers for citizens (lấy số thứ tự), `/lay-so`: choose an agency of the directory, give a phone,
get a number and how many wait before it; then the number's status page, reached only by its random link
(`/lay-so/ve/{token}`), where it can be cancelled while it waits.

The rules are domain/queue.py's and the allocation db/queue.py's. The phone is not kept: the ticket holds
an HMAC of it (for the per-phone limits) and its last 4 digits; when the phone is linked to a Zalo account
(docs/notices.md), the ticket keeps that account, which gets the OA notices (turn near, called). Numbers
taken from one client address are limited (Counted.QUEUE_ADDRESS), against one address typing many phones.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from db import queue, zalo_links
from db.agencies import agency_card, list_agencies
from db.models import Agency, QueueTicket
from domain import vocabulary
from domain.codes import normalize_phone, phone_last4
from domain.limits import Counted
from domain.queue import Channel, Refused, TicketStatus, office_day, shown_status
from pages.render import PageError, PageRoute, Redirect, render
from web.deps import SessionDep, SettingsDep, now
from web.ratelimit import Limiter, client_address

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PATH = "/lay-so"
# Refusals that are the holder's limits (429) rather than the office's hours (409).
HOARDING = (Refused.OPEN_AT_AGENCY, Refused.DAILY_LIMIT)


def ticket_path(token: str) -> str:
    return f"{PATH}/ve/{token}"


async def _form(
    request: Request,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> HTMLResponse:
    async with request.app.state.session_factory() as session:
        agencies = await list_agencies(session)
    context = {
        "agencies": agencies,
        "agency": "",
        "phone": "",
        "errors": {},
        "refusal": "",
    }
    return render(request, "queue_take.html", context | extra, status=status, headers=headers)


@router.get(PATH, response_class=HTMLResponse)
async def take_form(request: Request) -> HTMLResponse:
    """The form: an agency of the directory and a phone."""
    return await _form(request, agency=request.query_params.get("co-quan", "")[:40])


@router.post(PATH, response_class=HTMLResponse)
async def take(request: Request, settings: SettingsDep) -> Response:
    """Take a number; the status page on success, the reason in Vietnamese otherwise (nothing written).
    Every database session here is short (none is held while the number is allocated)."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    code, raw_phone = form.get("agency", "").strip()[:40], form.get("phone", "").strip()[:40]
    sessions = request.app.state.session_factory
    async with sessions() as session:
        known = bool(code) and await session.get(Agency, code) is not None
    if not known:
        raise PageError(404, "Không tìm thấy cơ quan", "Không có cơ quan nào với mã này trong danh bạ.")
    try:
        phone = normalize_phone(raw_phone)
    except ValueError:
        error = "Vui lòng nhập đúng số điện thoại di động, ví dụ: 0905123456."
        return await _form(request, status=422, agency=code, phone=raw_phone, errors={"phone": error})
    wait = await Limiter(request).take((Counted.QUEUE_ADDRESS, client_address(request)))
    if wait is not None:
        log.info("queue.rate_limited", channel=Channel.WEB.value)
        text = vocabulary.QUEUE_WAIT.format(minutes=max(1, -(-wait // 60)))
        return await _form(request, status=429, agency=code, refusal=text, headers={"Retry-After": str(wait)})
    at = now(request)
    async with sessions() as session:
        linked = await zalo_links.linked_user(session, phone)
    taken = await queue.give(
        sessions,
        settings,
        agency_code=code,
        at=at,
        holder=f"phone:{phone}",
        channel=Channel.WEB,
        phone_last4=phone_last4(phone),
        zalo_user_id=linked,
    )
    if taken.ticket is None:
        assert taken.refused is not None
        opening = taken.opening.next_opening if taken.opening else None
        text = vocabulary.QUEUE_REFUSED[taken.refused].format(opening=vocabulary.vn_day_datetime(opening))
        log.info("queue.refused", agency_code=code, refused=taken.refused.value)
        return await _form(
            request, status=429 if taken.refused in HOARDING else 409, agency=code, refusal=text
        )
    log.info("queue.taken", agency_code=code, number=taken.ticket.number, channel=Channel.WEB.value)
    raise Redirect(ticket_path(taken.token))


async def _ticket(session: SessionDep, token: str) -> QueueTicket:
    row = await queue.by_link(session, token[:100])
    if row is None:
        raise PageError(
            404, "Không tìm thấy số thứ tự", "Đường dẫn số thứ tự không đúng hoặc đã hết hiệu lực."
        )
    return row


@router.get(PATH + "/ve/{token}", response_class=HTMLResponse)
async def ticket_page(
    request: Request, token: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    """A number's status: waiting (how many ahead, the number last called), called (the counter), done."""
    row = await _ticket(session, token)
    status = shown_status(row.status, row.day, office_day(now(request)))
    agency = await agency_card(session, row.agency_code, settings.notice_office_name)
    ahead = await queue.waiting_before(session, row.agency_code, row.day, row.number)
    return render(
        request,
        "queue_ticket.html",
        {
            "ticket": row,
            "token": token,
            "agency": agency,
            "status": status.value,
            "status_label": vocabulary.QUEUE_STATUS[status],
            "waiting": status == TicketStatus.WAITING,
            "called": status == TicketStatus.CALLED,
            "ahead": ahead,
            "last_called": await queue.last_called(session, row.agency_code, row.day),
            "counter": row.counter or vocabulary.QUEUE_COUNTER_DEFAULT,
            "cancelled": request.query_params.get("da-huy") == "1",
        },
    )


@router.post(PATH + "/ve/{token}/huy", response_class=HTMLResponse)
async def cancel(request: Request, token: str, session: SessionDep) -> Response:
    """The holder gives the number up while it waits (the link is the proof)."""
    row = await _ticket(session, token)
    assert row.id is not None
    if row.day == office_day(now(request)):
        await queue.finish(
            session, row.id, TicketStatus.CANCELLED, now(request), from_=(TicketStatus.WAITING,)
        )
    raise Redirect(ticket_path(token) + "?da-huy=1")
