"""Feedback on the officer desk (`/can-bo/phan-anh`): the open items of the officer's agencies, soonest
due first (the province's queue, feedback that names no dossier, only for officers of every agency), the
answered ones, and one item with its answer form.

The answer is a POST with the session's CSRF token, written once (a second answer changes nothing and
says so). It goes back the way the feedback came: shown on the lookup page for feedback sent there, sent
over the OA (the web process's Zalo client, as the webhook's replies) for feedback sent to the OA, and how
that went is recorded on the item: a refused message can be sent again, or the officer calls the citizen.
"""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from db import feedback
from db.agencies import agency_cards
from db.models import Feedback
from db.types import utcnow
from domain import vocabulary
from domain.feedback import ANSWER_MAX, ANSWER_MIN, Channel, Reply, Status, clean, text_problem
from pages.auth import CheckedFormDep, SignedIn, SignedInDep
from pages.render import PageError, PageRoute, Redirect, render
from web.deps import SessionDep, SettingsDep
from zalo.client import ZaloClient
from zalo.errors import ZaloError

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LIST_PATH = "/can-bo/phan-anh"
ANSWERED_PARAM = "da-tra-loi"
NOTE_PARAM = "ghi-chu"
NOTES: dict[str, tuple[str, str]] = {
    "da-tra-loi": ("ok", "Đã ghi câu trả lời; người dân xem được trên trang tra cứu hồ sơ."),
    "da-gui": ("ok", "Đã ghi câu trả lời và gửi qua Zalo OA cho người đã phản ánh."),
    "gui-loi": (
        "error",
        "Đã ghi câu trả lời nhưng chưa gửi được qua Zalo OA (lý do ở bên dưới). Có thể gửi lại, hoặc gọi "
        "điện cho người dân.",
    ),
    "tra-loi-truoc": ("info", "Phản ánh này đã được trả lời trước đó; không có gì thay đổi."),
    "khong-gui-lai": ("info", "Câu trả lời đã được gửi; không gửi lại."),
}


def _path(item_id: int | None) -> str:
    return f"{LIST_PATH}/{item_id}"


def _note(request: Request) -> tuple[str, str] | None:
    return NOTES.get(request.query_params.get(NOTE_PARAM, ""))


async def _item(session: AsyncSession, who: SignedIn, item_id: str) -> Feedback:
    row = await session.get(Feedback, int(item_id), populate_existing=True) if item_id.isdigit() else None
    if row is None or not feedback.visible(who.officer.agencies, row):
        # The same page for another agency's item as for one that does not exist.
        raise PageError(
            404, "Không tìm thấy phản ánh", "Không có phản ánh nào với số này trong phạm vi của ông/bà."
        )
    return row


async def _names(session: AsyncSession, settings: Any, rows: list[Feedback]) -> dict[str, str]:
    cards = await agency_cards(
        session, [r.agency_code for r in rows if r.agency_code], settings.notice_office_name
    )
    return {code: card.name for code, card in cards.items()}


def _labels() -> dict[str, Any]:
    return {
        "channels": vocabulary.FEEDBACK_CHANNEL,
        "statuses": vocabulary.FEEDBACK_STATUS,
        "replies": vocabulary.FEEDBACK_REPLY,
        "verified_labels": vocabulary.FEEDBACK_VERIFIED,
        "province_queue": vocabulary.FEEDBACK_PROVINCE_QUEUE,
        "reply_error": vocabulary.feedback_reply_error,
    }


@router.get(LIST_PATH, response_class=HTMLResponse)
async def feedback_list(
    request: Request, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> HTMLResponse:
    """The open feedback of the officer's agencies (with `?da-tra-loi=1`: the answered)."""
    answered = request.query_params.get(ANSWERED_PARAM) == "1"
    rows = await feedback.listed(session, who.officer.agencies, answered=answered)
    return render(
        request,
        "feedback_list.html",
        {
            "rows": rows,
            "answered": answered,
            "names": await _names(session, settings, rows),
            "now": utcnow(),
            "page_size": feedback.PAGE_SIZE,
        }
        | _labels(),
    )


def _item_page(
    request: Request, row: Feedback, names: dict[str, str], *, status: int = 200, **extra: Any
) -> HTMLResponse:
    context = {
        "row": row,
        "names": names,
        "answer_text": "",
        "answer_error": "",
        "answer_min": ANSWER_MIN,
        "answer_max": ANSWER_MAX,
        "note": _note(request),
        "now": utcnow(),
    }
    return render(request, "feedback_item.html", context | _labels() | extra, status=status)


@router.get(LIST_PATH + "/{item_id}", response_class=HTMLResponse)
async def feedback_item(
    request: Request, item_id: str, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> HTMLResponse:
    """One item: the citizen's text, its dossier and deadline, and the answer (or its form)."""
    row = await _item(session, who, item_id)
    return _item_page(request, row, await _names(session, settings, [row]))


@router.post(LIST_PATH + "/{item_id}", response_class=HTMLResponse)
async def answer(
    request: Request,
    item_id: str,
    form: CheckedFormDep,
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
) -> Response:
    """Answer an item (once); feedback from the OA gets the answer over the OA."""
    who.require_action_rights()
    row = await _item(session, who, item_id)
    assert row.id is not None
    text = clean(form.get("answer", "")[: 4 * ANSWER_MAX])
    problem = text_problem(text, least=ANSWER_MIN, most=ANSWER_MAX)
    if problem is not None:
        names = await _names(session, settings, [row])
        return _item_page(request, row, names, status=422, answer_text=text, answer_error=problem)
    on_page = Reply.ON_PAGE if row.channel == Channel.WEB.value else None
    if not await feedback.answer(session, row.id, text, who.officer.username, utcnow(), on_page):
        raise Redirect(f"{_path(row.id)}?{NOTE_PARAM}=tra-loi-truoc")
    log.info("feedback.answered", feedback_id=row.id, channel=row.channel, username=who.officer.username)
    if row.channel != Channel.OA.value:
        raise Redirect(f"{_path(row.id)}?{NOTE_PARAM}=da-tra-loi")
    fresh = await session.get(Feedback, row.id, populate_existing=True)
    assert fresh is not None
    raise Redirect(f"{_path(row.id)}?{NOTE_PARAM}=" + await _send(request, session, fresh))


@router.post(LIST_PATH + "/{item_id}/gui-lai", response_class=HTMLResponse)
async def resend(
    request: Request, item_id: str, form: CheckedFormDep, session: SessionDep, who: SignedInDep
) -> Response:
    """Send an OA answer again (Zalo refused it, or the process stopped before it was sent)."""
    who.require_action_rights()
    row = await _item(session, who, item_id)
    if (
        row.channel != Channel.OA.value
        or row.status != Status.ANSWERED.value
        or row.reply == Reply.SENT.value
    ):
        raise Redirect(f"{_path(row.id)}?{NOTE_PARAM}=khong-gui-lai")
    raise Redirect(f"{_path(row.id)}?{NOTE_PARAM}=" + await _send(request, session, row))


async def _send(request: Request, session: AsyncSession, row: Feedback) -> str:
    """The answer over the OA to whoever sent the feedback; the outcome recorded on the item."""
    assert row.id is not None
    about = vocabulary.FEEDBACK_OA_ABOUT.format(code=row.dossier_code) if row.dossier_code else ""
    text = vocabulary.FEEDBACK_OA_ANSWER.format(id=row.id, about=about, answer=row.answer or "")
    zalo: ZaloClient | None = getattr(request.app.state, "zalo", None)
    try:
        if zalo is None or not row.zalo_user_id:
            raise ZaloError(None, "no Zalo client or no Zalo user", None)
        sent = await zalo.send_oa_text(row.zalo_user_id, text)
    except ZaloError as exc:
        log.warning("feedback.reply_failed", feedback_id=row.id, code=exc.code)
        await feedback.replied(session, row.id, Reply.FAILED, error=str(exc))
        return "gui-loi"
    await feedback.replied(session, row.id, Reply.SENT, message_id=sent.message_id)
    log.info("feedback.reply_sent", feedback_id=row.id)
    return "da-gui"
