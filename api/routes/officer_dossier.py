"""One dossier on the officer desk: state, how its due date was computed, timeline, notices, and the
actions the current state allows, each through a form, a confirmation step and the workflow's update.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.deps import SessionDep, SettingsDep, get_temporal
from api.dossiers import (
    event_recorded,
    input_from_row,
    release_connection,
    run_update,
    signal_payment,
    temporal_ui_link,
)
from api.pages import deadline
from api.pages.actions import BY_SLUG, SPECS, ActionSpec, Payment, Prepared, defaults, prepare
from api.pages.auth import CheckedFormDep, SignedIn, SignedInDep
from api.pages.labels import vn_dt
from api.pages.queries import office_calendar
from api.pages.render import PageError, PageRoute, Redirect, render
from api.pages.timeline import notice_rows, timeline_rows
from api.problems import Problem
from db.models import Dossier, DossierEvent, Notice
from db.models import Payment as PaymentRow
from db.types import utcnow
from domain.codes import is_dossier_code, mask_phone
from domain.dossier import PaymentReceived
from domain.refusals import Refusal
from domain.status import DossierStatus, Transition, allowed_transitions
from settings import Settings
from workflows.dossier import DossierWorkflow

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

UPDATES: dict[Transition, Any] = {
    Transition.REQUEST_SUPPLEMENT: DossierWorkflow.request_supplement,
    Transition.SUPPLEMENT_RECEIVED: DossierWorkflow.supplement_received,
    Transition.REQUEST_FEE: DossierWorkflow.request_fee,
    Transition.MARK_RESULT_READY: DossierWorkflow.mark_result_ready,
    Transition.MARK_RETURNED: DossierWorkflow.mark_returned,
    Transition.REJECT: DossierWorkflow.reject,
    Transition.WITHDRAW: DossierWorkflow.withdraw,
    Transition.APOLOGIZE: DossierWorkflow.apologize,
}
# Notes after an action, chosen by a fixed key in the redirect (nothing typed is echoed from the URL).
NOTES = {"thieu": "Khoản nộp chưa đủ tổng số phải nộp: hồ sơ vẫn chờ nộp phần còn lại."}
# How long to wait for a counter payment (a signal) to show in the workflow before saying so.
PAYMENT_WAIT_SECONDS = 10.0


class Refused(Exception):
    """The workflow (or the state) refused the action; the message is for the officer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _dossier_path(code: str) -> str:
    return f"/can-bo/ho-so/{code}"


async def _dossier(session: AsyncSession, who: SignedIn, code: str) -> Dossier:
    wanted = code.strip().upper()
    row = await session.get(Dossier, wanted, populate_existing=True) if is_dossier_code(wanted) else None
    if row is None:
        raise PageError(
            404, "Không tìm thấy hồ sơ", "Không có hồ sơ nào với mã này trong phạm vi của ông/bà."
        )
    who.require_agency(row.agency_code)
    return row


def _spec(slug: str, row: Dossier, *, check_state: bool = True) -> ActionSpec:
    spec = BY_SLUG.get(slug)
    if spec is None:
        raise PageError(404, "Không có thao tác này", "Vui lòng chọn thao tác trên trang hồ sơ.")
    if check_state and spec.transition not in allowed_transitions(DossierStatus(row.status)):
        raise Redirect(f"{_dossier_path(row.code)}?khong-the={spec.slug}")
    return spec


@router.get("/can-bo/ho-so/{code}", response_class=HTMLResponse)
async def dossier_page(
    request: Request, code: str, session: SessionDep, settings: SettingsDep, who: SignedInDep
) -> HTMLResponse:
    """One dossier: state, the due date and how it was computed, timeline, notices, possible actions."""
    row = await _dossier(session, who, code)
    events = list(
        (
            await session.exec(
                select(DossierEvent)
                .where(DossierEvent.dossier_code == row.code)
                .order_by(col(DossierEvent.seq))
            )
        ).all()
    )
    notices = list(
        (
            await session.exec(select(Notice).where(Notice.dossier_code == row.code).order_by(col(Notice.id)))
        ).all()
    )
    calendar = await office_calendar(session, settings)
    status = DossierStatus(row.status)
    now = utcnow()
    actions = [SPECS[t] for t in allowed_transitions(status)] if who.may_act else []
    # The table allows an apology in these states, but the law only before the due time and once:
    # say why rather than offer a button the workflow will refuse.
    no_apology = ""
    if any(spec.transition is Transition.APOLOGIZE for spec in actions):
        if row.apologized:
            no_apology = "Đã có thư xin lỗi (Mẫu 04): mỗi hồ sơ chỉ được xin lỗi một lần."
        elif row.due_at is not None and row.due_at <= now:
            no_apology = (
                "Đã quá thời hạn: không còn gửi được thư xin lỗi hẹn lại (Mẫu 04 phải gửi trước hạn)."
            )
        if no_apology:
            actions = [spec for spec in actions if spec.transition is not Transition.APOLOGIZE]
    done = BY_SLUG.get(request.query_params.get("xong", ""))
    refused = BY_SLUG.get(request.query_params.get("khong-the", ""))
    return render(
        request,
        "pages/dossier.html",
        {
            "row": row,
            "status": status,
            "phone": mask_phone(row.applicant_phone),
            "detail": row.detail or {},
            "steps": deadline.explain(row, events, calendar, now),
            "hours_text": deadline.office_hours_text(calendar),
            "timeline": timeline_rows(events, citizen=False),
            "notices": notice_rows(notices, citizen=False),
            "actions": actions,
            "no_apology": no_apology,
            "temporal_ui": temporal_ui_link(settings, row.code),
            "done": done,
            "repeat": request.query_params.get("lap-lai") == "1",
            "note": NOTES.get(request.query_params.get("ghi-chu", ""), ""),
            "refused": refused,
        },
    )


def _form_page(
    request: Request,
    row: Dossier,
    spec: ActionSpec,
    values: dict[str, str],
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    return render(
        request,
        "pages/action.html",
        {"row": row, "spec": spec, "values": values, "errors": {}, "refusal": ""} | extra,
        status=status,
    )


@router.get("/can-bo/ho-so/{code}/xu-ly/{slug}", response_class=HTMLResponse)
async def action_form(
    request: Request, code: str, slug: str, session: SessionDep, who: SignedInDep
) -> HTMLResponse:
    """The form of one action; its event id is fixed here, so a repeated submission changes nothing."""
    who.require_action_rights()
    row = await _dossier(session, who, code)
    spec = _spec(slug, row)
    values = defaults(spec, row, utcnow()) | {"event_id": f"canbo-{uuid.uuid4().hex}"}
    return _form_page(request, row, spec, values)


@router.post("/can-bo/ho-so/{code}/xu-ly/{slug}", response_class=HTMLResponse)
async def action_submit(
    request: Request,
    code: str,
    slug: str,
    form: CheckedFormDep,
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
) -> Response:
    """Check the form, show the confirmation step, and on confirmation run the workflow update."""
    who.require_action_rights()
    row = await _dossier(session, who, code)
    spec = _spec(slug, row, check_state=False)
    values = {f.name: form.get(f.name, "") for f in spec.fields} | {"event_id": form.get("event_id", "")}
    step = form.get("step", "review")
    # A second click on "confirm" finds its own event: say so, rather than that the state moved on.
    if step == "confirm" and await _recorded(session, row.code, values["event_id"], values.get("receipt")):
        raise Redirect(f"{_dossier_path(row.code)}?lap-lai=1")
    spec = _spec(slug, row)
    if step == "edit":
        return _form_page(request, row, spec, values)
    prepared = prepare(spec, values, row, who.officer.username, utcnow())
    if not isinstance(prepared, Prepared):
        return _form_page(request, row, spec, values, status=422, errors=prepared)
    if step != "confirm":
        return render(
            request, "pages/confirm.html", {"row": row, "spec": spec, "values": values, "prepared": prepared}
        )
    try:
        # Connected only now: the form and its review work while the workflow engine is away.
        temporal = await _temporal(request)
        outcome = await perform(prepared, row, session, temporal, settings)
    except Refused as refusal:
        log.info(
            "officer.action_refused",
            dossier_code=row.code,
            action=spec.transition.value,
            status=refusal.status,
        )
        fresh = await session.get(Dossier, row.code, populate_existing=True) or row
        return _form_page(request, fresh, spec, values, status=refusal.status, refusal=refusal.message)
    log.info(
        "officer.action", dossier_code=row.code, action=spec.transition.value, username=who.officer.username
    )
    query = "lap-lai=1" if outcome == "repeat" else f"xong={spec.slug}"
    if outcome not in ("done", "repeat"):
        query += "&ghi-chu=" + outcome
    raise Redirect(f"{_dossier_path(row.code)}?{query}")


# ---------------------------------------------------------------- performing an action


async def _recorded(session: AsyncSession, code: str, event_id: str, receipt: str | None = None) -> bool:
    """Whether this form was applied already: its event id, or for a counter payment its receipt."""
    if await event_recorded(session, code, event_id):
        return True
    if receipt:
        paid = await session.exec(
            select(PaymentRow.id).where(
                PaymentRow.dossier_code == code, PaymentRow.transaction_id == f"quay:{receipt.strip()}"
            )
        )
        return paid.first() is not None
    return False


async def _temporal(request: Request) -> Client:
    try:
        return await get_temporal(request)
    except Problem as problem:
        raise Refused(503, UNAVAILABLE) from problem


async def perform(
    prepared: Prepared, row: Dossier, session: AsyncSession, temporal: Client, settings: Settings
) -> str:
    """Run the action as the API would: "done", "repeat" (already applied), or a note for the officer."""
    if isinstance(prepared.order, Payment):
        return await _record_payment(prepared.order, row, temporal, prepared.spec, session)
    command = prepared.order
    if DossierStatus(row.status).is_final and await _recorded(session, row.code, command.event_id):
        return "repeat"  # a repeat after the workflow ended
    input = input_from_row(row, settings)
    await release_connection(session)
    try:
        outcome = await run_update(temporal, settings, input, UPDATES[prepared.spec.transition], command)
    except Problem as problem:
        raise Refused(problem.status, refusal_vi(problem, prepared.spec, row)) from problem
    return "repeat" if outcome is None or outcome.duplicate else "done"


async def _record_payment(
    payment: Payment, row: Dossier, temporal: Client, spec: ActionSpec, session: AsyncSession
) -> str:
    await release_connection(session)
    try:
        record, applied_now = await signal_payment(
            temporal,
            row,
            PaymentReceived(payment.transaction_id, payment.amount_vnd, payment.at, source=payment.by),
            wait_seconds=PAYMENT_WAIT_SECONDS,
        )
    except Problem as problem:
        if problem.status == 409:
            raise Refused(409, _not_now(spec, row)) from problem
        if problem.slug == "payment-pending":
            raise Refused(
                503,
                "Đã gửi khoản nộp nhưng hệ thống chưa ghi nhận xong. Vui lòng tải lại trang hồ sơ "
                "sau ít phút (không cần nhập lại).",
            ) from problem
        raise Refused(503, UNAVAILABLE) from problem
    if not applied_now:
        return "repeat"
    return "thieu" if record.outcome == "underpaid" else "done"


UNAVAILABLE = (
    "Hệ thống xử lý hồ sơ chưa trả lời. Thao tác có thể chưa được ghi: vui lòng bấm Xác nhận lại sau ít phút "
    "(thao tác chỉ được ghi một lần)."
)


def _not_now(spec: ActionSpec, row: Dossier) -> str:
    state = DossierStatus(row.status).label_vi
    return f"Không thể thực hiện «{spec.title}»: hồ sơ đang ở trạng thái «{state}»."


def refusal_vi(problem: Problem, spec: ActionSpec, row: Dossier) -> str:
    """The workflow's refusal in Vietnamese (its own messages are English, for the machine API)."""
    slug = problem.slug or ""
    if slug == "illegal-transition":
        state = DossierStatus(problem.extra.get("current_status") or row.status).label_vi
        return f"Không thể thực hiện «{spec.title}»: hồ sơ đang ở trạng thái «{state}»."
    if slug == Refusal.APOLOGY_REFUSED.value:
        if row.apologized:
            return "Hồ sơ này đã có thư xin lỗi (Mẫu 04); mỗi hồ sơ chỉ được xin lỗi một lần."
        if row.due_at is None:
            return "Thời hạn đang dừng (chờ bổ sung) nên chưa có hạn để hẹn lại."
        return (
            f"Thư xin lỗi phải được ghi trước thời hạn trả kết quả ({vn_dt(row.due_at)}). "
            "Hồ sơ đã quá hạn: hãy báo lãnh đạo và giải quyết sớm nhất."
        )
    if slug == Refusal.EVENT_TIME.value:
        return "Thời điểm thực hiện phải sau sự kiện gần nhất của hồ sơ. Vui lòng kiểm tra lại thời điểm."
    if slug == Refusal.EVENT_ID_REUSED.value:
        return "Biểu mẫu này đã được dùng cho một thao tác khác. Vui lòng mở lại biểu mẫu từ trang hồ sơ."
    if slug == Refusal.INVALID_COMMAND.value:
        return "Hệ thống không chấp nhận thông tin này. Vui lòng kiểm tra lại các ô đã nhập."
    if slug == "dossier-closed":
        return "Hồ sơ đã kết thúc; không thể thực hiện thêm thao tác."
    if problem.status == 503:
        return UNAVAILABLE
    return "Hệ thống gặp lỗi khi thực hiện thao tác; lỗi đã được ghi lại. Vui lòng thử lại sau."
