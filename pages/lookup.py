"""The citizen lookup page, `/tra-cuu`: a dossier code and the last 4 digits of the registered phone.

A GET form, so `/tra-cuu?code=…&phone_last4=…` is a link one can share or bookmark, and `/tra-cuu/{code}`
is what a QR code on the receipt points to (it still asks for the digits). A wrong code and wrong digits
get the same answer; lookups slow down per client address and per code (web/ratelimit.py).
"""

from __future__ import annotations

import hmac
import re
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from db import feedback
from db.agencies import AgencyCard, agency_card
from db.calendar import office_calendar
from db.dossiers import events_of, notices_of
from db.models import Dossier, DossierEvent, Notice
from domain import codes, vocabulary
from domain.codes import is_dossier_code, normalize_code
from domain.feedback import TEXT_MAX, Channel, answer_due, clean, text_problem
from domain.limits import Counted
from domain.status import DossierStatus, EventKind
from pages.feedback_form import SENT_PARAM, feedback_context, feedback_row, token_holds
from pages.render import PageError, PageRoute, Redirect, render
from pages.timeline import notice_rows, timeline_rows
from web.deps import SessionDep, SettingsDep, now
from web.ratelimit import Limiter, client_address

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_SPACES = re.compile(r"\s+")
_ENDS_WITH_REASON = (EventKind.REJECTED, EventKind.WITHDRAWN)
_DIGITS4 = re.compile(r"^[0-9]{4}$")


def _safe_url(url: Any) -> str | None:
    """Only web links are shown as links (a pay_url comes from another system)."""
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _tel(hotline: str) -> str:
    """A hotline as a `tel:` link target: its digits (and a leading +)."""
    return re.sub(r"[^0-9+]", "", hotline)


def citizen_view(
    row: Dossier, events: list[DossierEvent], notices: list[Notice], agency: AgencyCard
) -> dict[str, Any]:
    """What the citizen may see of their dossier: never the name or the phone number. `agency` is the
    directory's card of the agency that holds it (the neutral name when the directory lacks it)."""
    status = DossierStatus(row.status)
    detail = row.detail or {}
    fee = detail.get("fee")
    if fee is not None:
        fee = dict(fee) | {
            "pay_url": _safe_url(fee.get("pay_url")),
            "remaining_vnd": max(0, int(fee.get("total_vnd") or 0) - int(fee.get("paid_vnd") or 0)),
        }
    return {
        "code": row.code,
        "procedure_name": row.procedure_name,
        "status": status.value,
        "status_label": vocabulary.STATUS[status],
        "final": status.is_final,
        "received_at": row.received_at,
        "due_at": row.due_at,
        "overdue": row.overdue,
        "apologized": row.apologized,
        "finished_at": row.finished_at,
        "working_days": row.working_days,
        "fee": fee,
        "supplement": detail.get("supplement"),
        "result": detail.get("result"),
        "reason": next(
            (e.detail.get("reason") for e in reversed(events) if e.kind in _ENDS_WITH_REASON), None
        ),
        "apology": next((e.detail for e in reversed(events) if e.kind == EventKind.APOLOGY), None),
        "timeline": timeline_rows(events, citizen=True),
        "notices": notice_rows(notices, citizen=True),
        "agency": agency,
        "agency_tel": _tel(agency.hotline),
        "agency_oa": _safe_url(agency.oa_url),
    }


def _form(code: str = "", digits: str = "", **extra: Any) -> dict[str, Any]:
    return {"code": code, "phone_last4": digits, "errors": {}, "not_found": False, "dossier": None} | extra


def _read(code: str | None, phone_last4: str | None) -> tuple[str, str, dict[str, str]]:
    """The code and digits as typed, normalized, and what is wrong with their form."""
    wanted = normalize_code(code)
    digits = _SPACES.sub("", phone_last4 or "")[:20]
    errors: dict[str, str] = {}
    if not wanted:
        errors["code"] = "Vui lòng nhập mã hồ sơ."
    elif not is_dossier_code(wanted):
        errors["code"] = "Mã hồ sơ chưa đúng dạng, ví dụ: H21.65-261123-0001."
    if not _DIGITS4.match(digits):
        errors["phone_last4"] = "Vui lòng nhập đúng 4 chữ số cuối của số điện thoại đã đăng ký."
    return wanted, digits, errors


@router.get("/tra-cuu", response_class=HTMLResponse)
async def lookup(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    code: str | None = None,
    phone_last4: str | None = None,
) -> HTMLResponse:
    """Citizen lookup: the form, or the dossier for a code and the last 4 digits of the phone."""
    if code is None and phone_last4 is None:
        return render(request, "lookup.html", _form())
    wanted, digits, errors = _read(code, phone_last4)
    if errors:
        # Malformed input says nothing about any dossier, so it does not count against the limits.
        return render(request, "lookup.html", _form(wanted, digits, errors=errors), status=422)

    found = await prove(request, session, wanted, digits)
    if not isinstance(found, Dossier):
        return found
    view = await dossier_view(session, settings, found)
    return render(
        request, "lookup.html", _form(wanted, digits, dossier=view) | feedback_context(request, found)
    )


async def prove(request: Request, session: SessionDep, wanted: str, digits: str) -> Dossier | HTMLResponse:
    """The dossier of a well-formed code whose phone ends in `digits`; otherwise the page to answer (not
    found, or slowed down). Also what the feedback form goes through before it writes anything."""
    # Counted before the digits are compared (parallel guesses cannot all pass); a success takes back its
    # failure counts, so only wrong answers slow an address or a code down.
    limiter = Limiter(request)
    address = client_address(request)
    misses = ((Counted.LOOKUP_MISS_ADDRESS, address), (Counted.LOOKUP_MISS_CODE, wanted))
    wait = await limiter.take((Counted.LOOKUP, address), *misses)
    if wait is not None:
        log.info("lookup.rate_limited")
        minutes = max(1, -(-wait // 60))
        return render(
            request,
            "lookup.html",
            _form(wanted, digits, limited_minutes=minutes),
            status=429,
            headers={"Retry-After": str(wait)},
        )

    row = await session.get(Dossier, wanted)
    # Compared in constant time, and the same path for a missing code, so neither timing nor text tells.
    expected = codes.phone_last4(row.applicant_phone) if row is not None else "----"
    found = hmac.compare_digest(expected, digits) and row is not None
    if not found or row is None:
        return render(request, "lookup.html", _form(wanted, digits, not_found=True), status=404)
    await limiter.forgive(*misses)
    return row


async def dossier_view(session: SessionDep, settings: SettingsDep, row: Dossier) -> dict[str, Any]:
    """What the lookup page shows of a proven dossier, with the feedback sent from this page."""
    events = await events_of(session, row.code)
    notices = await notices_of(session, row.code)
    agency = await agency_card(session, row.agency_code, settings.notice_office_name)
    view = citizen_view(row, events, notices, agency)
    view["feedback"] = [
        feedback_row(item) for item in await feedback.of_dossier(session, row.code, Channel.WEB)
    ]
    return view


@router.post("/tra-cuu/phan-anh", response_class=HTMLResponse)
async def send_feedback(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Feedback about a dossier from its lookup page: the code and digits are proven again (counted as a
    lookup), the text checked, the sender's address and the dossier's phone rate-limited; then one row."""
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    wanted, digits, errors = _read(form.get("code"), form.get("phone_last4"))
    at = now(request)
    if errors or not token_holds(settings, wanted, form.get("feedback_token", ""), at):
        raise PageError(
            403,
            "Biểu mẫu đã hết hiệu lực",
            "Biểu mẫu phản ánh không còn hợp lệ. Vui lòng tra cứu lại hồ sơ rồi gửi phản ánh.",
        )
    found = await prove(request, session, wanted, digits)
    if not isinstance(found, Dossier):
        return found
    text = clean(form.get("text", "")[: 4 * TEXT_MAX])

    async def page(status: int, **extra: Any) -> HTMLResponse:
        view = await dossier_view(session, settings, found)
        context = feedback_context(request, found, feedback_text=text, **extra)
        return render(request, "lookup.html", _form(wanted, digits, dossier=view) | context, status=status)

    problem = text_problem(text)
    if problem is not None:
        return await page(422, feedback_error=problem)
    address = client_address(request)
    wait = await Limiter(request).take(
        (Counted.FEEDBACK_ADDRESS, address), (Counted.FEEDBACK_PHONE, found.applicant_phone)
    )
    if wait is not None:
        log.info("feedback.rate_limited", channel=Channel.WEB.value)
        minutes = max(1, -(-wait // 60))
        return await page(429, feedback_limited_minutes=minutes)
    calendar = await office_calendar(session, settings.office_hours())
    due = answer_due(calendar, at, settings.feedback_answer_working_days)
    item = await feedback.add(
        session,
        channel=Channel.WEB,
        text=text,
        received_at=at,
        answer_due_at=due,
        dossier_code=found.code,
        agency_code=found.agency_code,
        sender_verified=True,
    )
    log.info("feedback.received", channel=Channel.WEB.value, feedback_id=item.id, dossier_code=found.code)
    query = urlencode({"code": found.code, "phone_last4": digits, SENT_PARAM: "1"})
    raise Redirect(f"/tra-cuu?{query}#phan-anh")


@router.get("/tra-cuu/{code}", response_class=HTMLResponse)
async def lookup_code(request: Request, code: str) -> HTMLResponse:
    """The QR-code form for one dossier code: asks only for the last 4 digits of the phone."""
    wanted = normalize_code(code)
    errors = (
        {} if is_dossier_code(wanted) else {"code": "Mã hồ sơ chưa đúng dạng, ví dụ: H21.65-261123-0001."}
    )
    return render(
        request,
        "lookup.html",
        _form(wanted, errors=errors, for_code=not errors),
        status=422 if errors else 200,
    )
