"""One dossier on the officer desk: state, how its due date was computed, timeline, notices, and the
actions the current state allows, each through a form, a confirmation step and the workflow's update.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlmodel.ext.asyncio.session import AsyncSession

from db import feedback
from db.agencies import agency_card
from db.calendar import office_calendar
from db.dossiers import event_recorded, events_of, notices_of
from db.models import Dossier
from db.officers import find_officer
from db.payments import payment_of
from db.types import utcnow
from domain import vocabulary
from domain.codes import is_dossier_code, mask_phone, normalize_code
from domain.dossier import COUNTER_RECEIPT_PREFIX, PaymentReceived
from domain.refusals import Refusal
from domain.rules import Rule
from domain.status import DossierStatus, Transition, allowed_transitions
from pages import deadline
from pages.auth import CheckedFormDep, SignedIn, SignedInDep
from pages.forms import BY_SLUG, SPECS, ActionSpec, Payment, Prepared, defaults, prepare
from pages.labels import vn_dt
from pages.notices import notice_note
from pages.render import PageError, PageRoute, Redirect, render
from pages.timeline import notice_rows, timeline_rows
from web.deps import GatewayDep, SessionDep, SettingsDep
from workflows.gateway import Closed, Gateway, GatewayError, Refused, TransactionConflict, Unavailable

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Notes after an action, chosen by a fixed key in the redirect (nothing typed is echoed from the URL).
NOTES = {"thieu": "Khoản nộp chưa đủ tổng số phải nộp: hồ sơ vẫn chờ nộp phần còn lại."}


def _dossier_path(code: str) -> str:
    return f"/can-bo/ho-so/{code}"


async def _dossier(session: AsyncSession, who: SignedIn, code: str) -> Dossier:
    wanted = normalize_code(code)
    row = await session.get(Dossier, wanted, populate_existing=True) if is_dossier_code(wanted) else None
    if row is None:
        raise PageError(
            404, "Không tìm thấy hồ sơ", "Không có hồ sơ nào với mã này trong phạm vi của ông/bà."
        )
    who.require_agency(row.agency_code)
    return row


# What the other desk pages of one dossier use (its receipt): the same 404 outside the officer's scope.
load_dossier = _dossier


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
    events = await events_of(session, row.code)
    notices = await notices_of(session, row.code)
    calendar = await office_calendar(session, settings.office_hours())
    agency = await agency_card(session, row.agency_code, settings.notice_office_name)
    status = DossierStatus(row.status)
    now = utcnow()
    # Hand-overs between internal steps come from the TTHC system (the API), not from a desk form.
    actions = [SPECS[t] for t in allowed_transitions(status) if t in SPECS] if who.may_act else []
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
    # Likewise a supplement request beyond what the procedure allows (by law: one).
    no_supplement = ""
    asked = int((row.detail or {}).get("supplement_count") or 0)
    if (
        any(spec.transition is Transition.REQUEST_SUPPLEMENT for spec in actions)
        and row.supplement_max_requests is not None
        and asked >= row.supplement_max_requests
    ):
        no_supplement = vocabulary.REFUSALS[Refusal.SUPPLEMENT_LIMIT]
        actions = [spec for spec in actions if spec.transition is not Transition.REQUEST_SUPPLEMENT]
    current_step = (row.detail or {}).get("step") if row.steps else None
    current_holder = ""
    if isinstance(current_step, dict):
        holder = await find_officer(session, str(current_step.get("holder") or ""))
        current_holder = holder.display_name if holder is not None else ""
    done = BY_SLUG.get(request.query_params.get("xong", ""))
    refused = BY_SLUG.get(request.query_params.get("khong-the", ""))
    return render(
        request,
        "dossier.html",
        {
            "row": row,
            "agency": agency,
            "status": status,
            "phone": mask_phone(row.applicant_phone),
            "detail": row.detail or {},
            "steps": deadline.explain(row, events, calendar, now),
            "hours_text": deadline.office_hours_text(calendar),
            "timeline": timeline_rows(events, citizen=False),
            "notices": notice_rows(notices, citizen=False),
            "actions": actions,
            "no_apology": no_apology,
            "no_supplement": no_supplement,
            "temporal_ui": settings.temporal_ui_link(row.code),
            "done": done,
            "repeat": request.query_params.get("lap-lai") == "1",
            "note": NOTES.get(request.query_params.get("ghi-chu", ""), ""),
            "refused": refused,
            "notice_note": notice_note(request),
            "current_step": current_step if isinstance(current_step, dict) else None,
            "current_holder": current_holder,
            "step_late": isinstance(current_step, dict)
            and datetime.fromisoformat(str(current_step["due_at"])) <= now,
            "feedback": await feedback.of_dossier(session, row.code),
            "feedback_statuses": vocabulary.FEEDBACK_STATUS,
            "feedback_channels": vocabulary.FEEDBACK_CHANNEL,
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
        "action.html",
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
    gateway: GatewayDep,
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
            request, "confirm.html", {"row": row, "spec": spec, "values": values, "prepared": prepared}
        )
    try:
        # The gateway connects only now: the form and its review work while the workflow engine is away.
        outcome = await perform(prepared, row, session, gateway)
    except NotApplied as refusal:
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


class NotApplied(Exception):
    """The action was not applied; the message is for the officer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _recorded(session: AsyncSession, code: str, event_id: str, receipt: str | None = None) -> bool:
    """Whether this form was applied already: its event id, or for a counter payment its receipt."""
    if await event_recorded(session, code, event_id):
        return True
    if receipt:
        paid = await payment_of(session, _receipt_id(receipt))
        return paid is not None and paid.dossier_code == code
    return False


def _receipt_id(receipt: str) -> str:
    # Receipts from the counter get their own namespace, apart from the platform's transaction ids.
    return f"{COUNTER_RECEIPT_PREFIX}{receipt.strip()}"


async def perform(prepared: Prepared, row: Dossier, session: AsyncSession, gateway: Gateway) -> str:
    """Apply the action through the gateway, as the API does: "done", "repeat" (already applied), or a
    note for the officer; NotApplied with the officer's words otherwise."""
    try:
        if isinstance(prepared.order, Payment):
            order = prepared.order
            payment = PaymentReceived(
                order.transaction_id, order.amount_vnd, order.at, source=order.by, require_fee_due=True
            )
            paid = await gateway.pay(session, row, payment)
            if not paid.applied_now:
                return "repeat"
            return "thieu" if paid.outcome == "underpaid" else "done"
        applied = await gateway.apply(session, row, prepared.spec.transition, prepared.order)
    except GatewayError as error:
        raise NotApplied(*refusal_vi(error, prepared.spec, row)) from error
    return "repeat" if applied.repeat else "done"


UNAVAILABLE = (
    "Hệ thống xử lý hồ sơ chưa trả lời. Thao tác có thể chưa được ghi: vui lòng bấm Xác nhận lại sau ít phút "
    "(thao tác chỉ được ghi một lần)."
)


def refusal_vi(error: GatewayError, spec: ActionSpec, row: Dossier) -> tuple[int, str]:
    """The gateway's answer in Vietnamese, with the page's status (the workflow's own messages are
    English, for the machine API)."""
    if isinstance(error, Closed):
        return 409, "Hồ sơ đã kết thúc; không thể thực hiện thêm thao tác."
    if isinstance(error, Unavailable):
        return 503, UNAVAILABLE
    if isinstance(error, TransactionConflict):
        return 409, (
            "Mã giao dịch (số biên lai) này đã được ghi nhận cho một hồ sơ khác; thanh toán không được ghi "
            "cho hồ sơ này. Vui lòng kiểm tra lại số biên lai."
        )
    if not isinstance(error, Refused):
        return 500, "Hệ thống gặp lỗi khi thực hiện thao tác; lỗi đã được ghi lại. Vui lòng thử lại sau."
    if error.refusal is Refusal.ILLEGAL_TRANSITION:
        state = vocabulary.STATUS[DossierStatus(error.current or row.status)]
        return 409, f"Không thể thực hiện «{spec.title}»: hồ sơ đang ở trạng thái «{state}»."
    if error.refusal is Refusal.APOLOGY_REFUSED:
        if row.apologized:
            return 409, vocabulary.RULES[Rule.APOLOGY_ONCE]
        if row.due_at is None:
            return 409, vocabulary.RULES[Rule.APOLOGY_CLOCK_STOPPED]
        return 409, (
            f"Thư xin lỗi phải được ghi trước thời hạn trả kết quả ({vn_dt(row.due_at)}). "
            "Hồ sơ đã quá hạn: hãy báo lãnh đạo và giải quyết sớm nhất."
        )
    status = 409 if error.refusal in (Refusal.REGISTRATION_CONFLICT, Refusal.SUPPLEMENT_LIMIT) else 422
    return status, vocabulary.REFUSALS[error.refusal]
