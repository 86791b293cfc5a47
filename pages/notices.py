"""Acting on a notice that could not be sent, from the desk's failed-notice list or a dossier's page.

Two POST forms, each with the session's CSRF token: mark the failure handled (who and when; the notice
leaves the list, and `?da-xu-ly=1` shows it), or send it again once its cause is fixed. The web process
has no Zalo client, so a resend goes through the gateway to NoticeResendWorkflow, which the worker runs
through the same send activity as every notice; the page waits a few seconds for its outcome. Officers act
only on notices of their own agencies (others get the 404 of a notice that does not exist); viewers act
on none. Either action repeated changes nothing and says so.
"""

from __future__ import annotations

from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request, Response
from sqlmodel.ext.asyncio.session import AsyncSession

from db.desk import ListKind, mark_handled, notice_in_scope
from db.models import Dossier, Notice
from db.types import utcnow
from domain.notices import NoticeStatus
from pages import labels
from pages.auth import CheckedFormDep, SignedIn, SignedInDep, safe_next
from pages.render import PageError, PageRoute, Redirect
from web.deps import GatewayDep, SessionDep

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FAILED_LIST = f"/can-bo/danh-sach/{ListKind.FAILED_NOTICES.value}"
NOTE_PARAM = "thong-bao"  # which note the page shows after an action (a fixed key, never text)
STATUS_PARAM = "trang-thai"  # with a refused resend: the notice's status, as stored

# After an action: the kind of alert and what it says, by the key in the redirect.
NOTES: dict[str, tuple[str, str]] = {
    "da-xu-ly": ("ok", "Đã đánh dấu thông báo là đã xử lý."),
    "da-xu-ly-truoc": ("info", "Thông báo này đã được đánh dấu đã xử lý trước đó; không có gì thay đổi."),
    "khong-con-loi": ("info", "Thông báo này không còn ở trạng thái không gửi được; không cần đánh dấu."),
    "da-gui-lai": ("ok", "Đã gửi lại thông báo."),
    "dang-gui-lai": (
        "info",
        "Đang gửi lại thông báo; tình trạng gửi sẽ hiện trong lịch sử thông báo của hồ sơ sau ít phút.",
    ),
    "gui-lai-loi": ("error", "Đã gửi lại nhưng vẫn không gửi được; lý do ghi ở dòng của thông báo."),
    "khong-gui-lai": ("info", "Không gửi lại: thông báo không ở trạng thái «Không gửi được»."),
    "chua-co-nguoi-nhan": (
        "error",
        "Chưa gửi lại được: vẫn chưa cấu hình tài khoản Zalo của cán bộ nhận thông báo này cho cơ quan "
        "(OFFICER_ZALO_IDS). Vui lòng báo quản trị hệ thống, rồi gửi lại.",
    ),
}


def notice_note(request: Request) -> tuple[str, str] | None:
    """The note an action left for the page it returned to: (alert kind, text), or None."""
    note = NOTES.get(request.query_params.get(NOTE_PARAM, ""))
    if note is None:
        return None
    kind, text = note
    status = request.query_params.get(STATUS_PARAM, "")
    if status and status in NoticeStatus._value2member_map_:
        text = f"{text.rstrip('.')} (hiện: «{labels.notice_status_vi(status)}»)."
    return kind, text


def _back(target: str | None, note: str, status: str = "") -> str:
    """Where the form came from (a desk path only), with the note to show there."""
    path = safe_next(target)
    if path == "/can-bo":
        path = FAILED_LIST
    query = {NOTE_PARAM: note} | ({STATUS_PARAM: status} if status else {})
    return f"{path}{'&' if '?' in path else '?'}{urlencode(query)}"


async def _notice(session: AsyncSession, who: SignedIn, notice_id: int) -> tuple[Notice, Dossier]:
    found = await notice_in_scope(session, who.officer, notice_id)
    if found is None:
        raise PageError(
            404, "Không tìm thấy thông báo", "Không có thông báo nào như vậy trong phạm vi của ông/bà."
        )
    return found


@router.post("/can-bo/thong-bao/{notice_id}/da-xu-ly")
async def mark_notice_handled(
    notice_id: int, form: CheckedFormDep, session: SessionDep, who: SignedInDep
) -> Response:
    """Record that the officer dealt with a failed notice; the first mark stands."""
    who.require_action_rights()
    notice, _ = await _notice(session, who, notice_id)
    assert notice.id is not None
    if await mark_handled(session, notice.id, who.officer.username, utcnow()):
        log.info("officer.notice_handled", key=notice.key, username=who.officer.username)
        raise Redirect(_back(form.get("next"), "da-xu-ly"))
    current, _ = await _notice(session, who, notice_id)
    raise Redirect(_back(form.get("next"), "da-xu-ly-truoc" if current.handled_at else "khong-con-loi"))


@router.post("/can-bo/thong-bao/{notice_id}/gui-lai")
async def resend_notice(
    notice_id: int, form: CheckedFormDep, session: SessionDep, gateway: GatewayDep, who: SignedInDep
) -> Response:
    """Send a failed notice again through the worker, and say how it went."""
    who.require_action_rights()
    notice, _ = await _notice(session, who, notice_id)
    if notice.status != NoticeStatus.FAILED_PERMANENT.value:
        raise Redirect(_back(form.get("next"), "khong-gui-lai", notice.status))
    result = await gateway.resend_notice(session, notice.key, who.officer.username)
    log.info(
        "officer.notice_resend",
        key=notice.key,
        username=who.officer.username,
        outcome=result.status if result is not None else "pending",
    )
    if result is None:
        raise Redirect(_back(form.get("next"), "dang-gui-lai"))
    if not result.requeued:
        if result.status == NoticeStatus.FAILED_PERMANENT.value:  # still nobody to send it to
            raise Redirect(_back(form.get("next"), "chua-co-nguoi-nhan"))
        raise Redirect(_back(form.get("next"), "khong-gui-lai", result.status))
    if result.status in (NoticeStatus.SENT.value, NoticeStatus.DELIVERED.value):
        raise Redirect(_back(form.get("next"), "da-gui-lai"))
    if result.status == NoticeStatus.FAILED_PERMANENT.value:
        raise Redirect(_back(form.get("next"), "gui-lai-loi"))
    raise Redirect(_back(form.get("next"), "dang-gui-lai"))  # waiting: quiet hours, a Zalo retry
