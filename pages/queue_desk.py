"""Queue numbers on the officer desk (`/can-bo/lay-so`): an agency's queue of the day, "call next" and a
called number marked served or absent.

Only officers whose scope holds the agency see its queue (another agency's: 403); viewers see it but do not
call. "Call next" carries the number the officer last saw called, so a repeated click or a second officer
calls nobody twice (db/queue.py `call_next`). The called holder and the holders with QUEUE_NEAR_AHEAD or
fewer numbers ahead get an OA message (the web process's Zalo client, as the feedback answers), each
notice claimed in the table before it is sent: once each, whatever is clicked again.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from db import queue
from db.agencies import AgencyCard, agency_card, list_agencies
from db.models import Agency, QueueTicket
from domain import vocabulary
from domain.codes import in_scope
from domain.queue import TicketStatus, office_day
from pages.auth import CheckedFormDep, SignedIn, SignedInDep
from pages.render import PageError, PageRoute, Redirect, render
from web.deps import SessionDep, SettingsDep, now
from zalo.client import ZaloClient
from zalo.errors import ZaloError

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PATH = "/can-bo/lay-so"
NOTE_PARAM = "ghi-chu"
NOTES: dict[str, tuple[str, str]] = {
    "da-goi": ("ok", "Đã gọi số tiếp theo."),
    "khong-ai": ("info", "Không còn số nào đang chờ."),
    "da-goi-truoc": (
        "info",
        "Đã có số khác được gọi trước đó (bấm lại hoặc cán bộ khác gọi); không gọi thêm.",
    ),
    "da-cap-nhat": ("ok", "Đã cập nhật số thứ tự."),
    "khong-doi": ("info", "Số thứ tự này không còn ở trạng thái đã gọi; không có gì thay đổi."),
}
FINISH = {"da-phuc-vu": TicketStatus.SERVED, "vang-mat": TicketStatus.NO_SHOW}


async def _agency(session: AsyncSession, who: SignedIn, agency_code: str, settings: Any) -> AgencyCard:
    if await session.get(Agency, agency_code) is None:
        raise PageError(404, "Không tìm thấy cơ quan", "Không có cơ quan nào với mã này trong danh bạ.")
    if not in_scope(who.officer.agencies, agency_code):
        raise PageError(403, "Không có quyền", "Hàng đợi của cơ quan này không thuộc phạm vi của ông/bà.")
    return await agency_card(session, agency_code, settings.notice_office_name)


@router.get(PATH, response_class=HTMLResponse)
async def agencies(request: Request, session: SessionDep, who: SignedInDep) -> HTMLResponse:
    """The directory's agencies in the officer's scope, each with a link to its queue."""
    rows = [a for a in await list_agencies(session) if in_scope(who.officer.agencies, a.code)]
    return render(request, "queue_desk.html", {"choices": rows, "agency": None})


@router.get(PATH + "/{agency_code}", response_class=HTMLResponse)
async def queue_page(
    request: Request, agency_code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> HTMLResponse:
    """The agency's numbers of the day: those called, those waiting in order, those done."""
    agency = await _agency(session, who, agency_code, settings)
    day = office_day(now(request))
    rows = await queue.of_day(session, agency_code, day)
    return render(
        request,
        "queue_desk.html",
        {
            "choices": [],
            "agency": agency,
            "day": day,
            "called": [t for t in rows if t.status == TicketStatus.CALLED.value],
            "waiting": [t for t in rows if t.status == TicketStatus.WAITING.value],
            "done": [
                t for t in rows if t.status not in (TicketStatus.WAITING.value, TicketStatus.CALLED.value)
            ],
            "last_called": await queue.last_called(session, agency_code, day),
            "statuses": vocabulary.QUEUE_STATUS,
            "channels": vocabulary.QUEUE_CHANNEL,
            "note": NOTES.get(request.query_params.get(NOTE_PARAM, "")),
            "may_act": who.may_act,
            "counter_default": vocabulary.QUEUE_COUNTER_DEFAULT,
            "notice_error": vocabulary.feedback_reply_error,
        },
    )


@router.post(PATH + "/{agency_code}/goi", response_class=HTMLResponse)
async def call_next(
    request: Request,
    agency_code: str,
    form: CheckedFormDep,
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
) -> Response:
    """Call the next waiting number (if nobody was called since the page was shown), then the OA notices."""
    agency = await _agency(session, who, agency_code, settings)
    who.require_action_rights()
    seen = form.get("seen", "")
    counter = form.get("counter", "").strip()[:50]
    at = now(request)
    day = office_day(at)
    sessions = request.app.state.session_factory
    called = (
        await queue.call_next(sessions, agency_code, day, int(seen), who.officer.username, counter, at)
        if seen.isdigit() and len(seen) < 7
        else None
    )
    if called is None:
        note = (
            "khong-ai" if await queue.waiting_before(session, agency_code, day, None) == 0 else "da-goi-truoc"
        )
        raise Redirect(f"{PATH}/{agency_code}?{NOTE_PARAM}={note}")
    log.info("queue.called", agency_code=agency_code, number=called.number, username=who.officer.username)
    text = vocabulary.QUEUE_CALLED.format(
        number=called.number, counter=called.counter or vocabulary.QUEUE_COUNTER_DEFAULT, agency=agency.name
    )
    await _tell(request, session, called, "call_notice_at", text)
    for position, ticket in await _near(session, agency_code, day):
        near = vocabulary.QUEUE_NEAR.format(number=ticket.number, ahead=position, agency=agency.name)
        await _tell(request, session, ticket, "near_notice_at", near)
    raise Redirect(f"{PATH}/{agency_code}?{NOTE_PARAM}=da-goi")


async def _near(session: AsyncSession, agency_code: str, day: Any) -> list[tuple[int, QueueTicket]]:
    """The holders near their turn not told yet, with how many wait before each."""
    return [
        (await queue.waiting_before(session, agency_code, day, t.number), t)
        for t in await queue.near_to_tell(session, agency_code, day)
    ]


async def _tell(request: Request, session: AsyncSession, ticket: QueueTicket, which: str, text: str) -> None:
    """One OA notice to the ticket's holder, claimed first: never sent twice; a refusal is recorded."""
    assert ticket.id is not None
    zalo: ZaloClient | None = getattr(request.app.state, "zalo", None)
    if not ticket.zalo_user_id or not await queue.claim_notice(session, ticket.id, which, now(request)):
        return
    try:
        if zalo is None:
            raise ZaloError(None, "no Zalo client", None)
        await zalo.send_oa_text(ticket.zalo_user_id, text)
    except ZaloError as exc:
        log.warning("queue.notice_failed", ticket_id=ticket.id, notice=which, code=exc.code)
        await queue.notice_failed(session, ticket.id, str(exc))
        return
    log.info("queue.notice_sent", ticket_id=ticket.id, notice=which)


@router.post(PATH + "/{agency_code}/so/{ticket_id}/{outcome}", response_class=HTMLResponse)
async def finish(
    request: Request,
    agency_code: str,
    ticket_id: str,
    outcome: str,
    form: CheckedFormDep,
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
) -> Response:
    """A called number served, or absent when called."""
    await _agency(session, who, agency_code, settings)
    who.require_action_rights()
    status = FINISH.get(outcome)
    row = (
        await session.get(QueueTicket, int(ticket_id))
        if ticket_id.isdigit() and len(ticket_id) < 12
        else None
    )
    if status is None or row is None or row.agency_code != agency_code or row.id is None:
        raise PageError(404, "Không tìm thấy số thứ tự", "Không có số thứ tự này trong hàng đợi của cơ quan.")
    changed = await queue.finish(session, row.id, status, now(request), from_=(TicketStatus.CALLED,))
    raise Redirect(f"{PATH}/{agency_code}?{NOTE_PARAM}=" + ("da-cap-nhat" if changed else "khong-doi"))
