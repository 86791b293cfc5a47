"""The officer desk, `/can-bo`: sign-in and sign-out, the work lists with their CSV export, the figures."""

from __future__ import annotations

import asyncio
import csv
import hmac
import io
import secrets
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep, SettingsDep
from api.officers import find_officer, hash_password, needs_rehash, verify_password
from api.pages import labels
from api.pages.auth import (
    LOGIN_PATH,
    CheckedFormDep,
    SignedInDep,
    client_address,
    end_session,
    login_cookie_name,
    login_limiter,
    safe_next,
    session_cookie_name,
    set_cookie,
    start_session,
)
from api.pages.charts import Bar, bar_chart
from api.pages.queries import CSV_MAX_ROWS, DeskQueries, Filters, ListKind, Row, office_calendar
from api.pages.render import PageError, PageRoute, Redirect, render
from db.types import utcnow
from domain.status import DossierStatus

log = structlog.get_logger(__name__)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_FAILED = "Tên đăng nhập hoặc mật khẩu không đúng."


# ---------------------------------------------------------------- sign-in


def _login_page(
    request: Request, settings: Any, *, next_url: str, status: int = 200, **context: Any
) -> HTMLResponse:
    """The login form with a fresh double-submit token (cookie and hidden field)."""
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "pages/login.html",
        {"login_token": token, "next": next_url, "error": "", "username": "", "logged_out": False} | context,
        status=status,
    )
    set_cookie(response, settings, login_cookie_name(settings), token, max_age=3600)
    return response


@router.get(LOGIN_PATH, response_class=HTMLResponse)
async def login_form(request: Request, settings: SettingsDep, next: str = "") -> HTMLResponse:
    """The officers' sign-in form."""
    return _login_page(
        request, settings, next_url=safe_next(next), logged_out="da-dang-xuat" in request.query_params
    )


@router.post(LOGIN_PATH, response_class=HTMLResponse)
async def login(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign in: checks the form token, the rate limit and the password; starts a session."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    next_url = safe_next(form.get("next"))
    username = form.get("username", "").strip().lower()[:50]
    cookie = request.cookies.get(login_cookie_name(settings), "")
    if not cookie or not hmac.compare_digest(cookie, form.get("csrf_token", "")):
        return _login_page(
            request,
            settings,
            next_url=next_url,
            status=403,
            username=username,
            error="Biểu mẫu đăng nhập đã hết hạn. Vui lòng đăng nhập lại.",
        )
    limiter = login_limiter(request)
    address = client_address(request)
    wait = limiter.blocked(address, username)
    if wait is not None:
        log.info("officer.login_rate_limited")
        response = _login_page(
            request,
            settings,
            next_url=next_url,
            status=429,
            username=username,
            error=f"Đăng nhập sai quá nhiều lần. Vui lòng thử lại sau {max(1, -(-wait // 60))} phút.",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    officer = await find_officer(session, username) if username else None
    password = form.get("password", "")
    valid = await _verify(officer.password_hash if officer else None, password)
    if officer is None or not valid or not officer.active:
        limiter.failed(address, username)
        # A name that is no account may be a password typed in the wrong box: it is not logged.
        log.info("officer.login_failed", username=officer.username if officer else None)
        return _login_page(
            request, settings, next_url=next_url, status=401, username=username, error=LOGIN_FAILED
        )
    if needs_rehash(officer.password_hash):
        officer.password_hash = await asyncio.to_thread(hash_password, password)
    cookie_value = await start_session(session, officer, settings)
    log.info("officer.login", username=officer.username)

    def cookies(response: Response) -> None:
        max_age = settings.officer_session_max_hours * 3600
        set_cookie(response, settings, session_cookie_name(settings), cookie_value, max_age=max_age)
        response.delete_cookie(login_cookie_name(settings), path="/", secure=settings.app_env != "local")

    raise Redirect(next_url, on_response=cookies)


async def _verify(password_hash: str | None, password: str) -> bool:
    # Argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
    return await asyncio.to_thread(verify_password, password_hash, password)


@router.post("/can-bo/dang-xuat", response_class=HTMLResponse)
async def logout(
    request: Request, form: CheckedFormDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """Sign out: the session ends on the server, the cookie is removed."""
    await end_session(session, settings, request.cookies.get(session_cookie_name(settings)))

    def clear(response: Response) -> None:
        response.delete_cookie(
            session_cookie_name(settings), path="/", secure=settings.app_env != "local", httponly=True
        )

    raise Redirect(f"{LOGIN_PATH}?da-dang-xuat=1", on_response=clear)


# ---------------------------------------------------------------- lists


def _filters(agency: str, procedure: str) -> Filters:
    return Filters(agency.strip().upper()[:40], procedure.strip()[:40])


async def _desk(session: SessionDep, settings: SettingsDep, who: SignedInDep) -> DeskQueries:
    return DeskQueries(session, settings, who.officer, await office_calendar(session, settings), utcnow())


def _list_kind(slug: str) -> ListKind:
    try:
        return ListKind(slug)
    except ValueError:
        raise PageError(
            404, "Không có danh sách này", "Vui lòng chọn một danh sách trong thanh điều hướng."
        ) from None


@router.get("/can-bo", response_class=HTMLResponse)
async def desk(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
    agency: str = "",
    procedure: str = "",
) -> HTMLResponse:
    """The desk: how many dossiers each work list holds."""
    queries = await _desk(session, settings, who)
    filters = _filters(agency, procedure)
    counts = [(kind, await queries.count(kind, filters)) for kind in ListKind]
    agencies, procedures = await queries.choices()
    return render(
        request,
        "pages/desk.html",
        {
            "counts": counts,
            "filters": filters,
            "agencies": agencies,
            "procedures": procedures,
            "query": urlencode(filters.query()),
        },
    )


@router.get("/can-bo/danh-sach/{kind}.csv")
async def list_csv(
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
    kind: str,
    agency: str = "",
    procedure: str = "",
) -> Response:
    """The list as a CSV file (UTF-8 with BOM, so Excel shows Vietnamese)."""
    list_kind = _list_kind(kind)
    queries = await _desk(session, settings, who)
    page = await queries.rows(list_kind, _filters(agency, procedure), page=1, size=CSV_MAX_ROWS)
    header, lines = csv_table(list_kind, page.rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_cell(value) for value in line] for line in lines])
    stamp = labels.vn_dt(utcnow()).replace("/", "").replace(" ", "-").replace(":", "")
    return Response(
        "\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{list_kind.value}-{stamp}.csv"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _cell(value: str) -> str:
    """A cell Excel will not run as a formula (text from other systems may start with = + - @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def csv_table(kind: ListKind, rows: list[Row]) -> tuple[list[str], list[list[str]]]:
    header = ["Mã hồ sơ", "Cơ quan", "Mã thủ tục", "Tên thủ tục", "Trạng thái", "Ngày tiếp nhận", "Hạn trả"]
    extra: list[str]
    if kind is ListKind.OVERDUE:
        extra = ["Quá hạn", "Mức báo cáo", "Đã xin lỗi"]
    elif kind is ListKind.DUE_SOON:
        extra = ["Còn lại"]
    elif kind is ListKind.FEE_DUE:
        extra = ["Số tiền (đồng)", "Đã nộp (đồng)", "Hạn nộp"]
    elif kind is ListKind.SUPPLEMENT:
        extra = ["Ngày yêu cầu bổ sung", "Giấy tờ cần bổ sung", "Yêu cầu trễ"]
    else:
        extra = ["Thông báo", "Người nhận", "Kênh", "Lỗi", "Thời điểm"]
    lines = []
    for row in rows:
        line = [
            row.code,
            row.agency_code,
            row.procedure_code,
            row.procedure_name,
            labels.status_vi(row.status),
            labels.vn_dt(row.received_at),
            labels.vn_dt(row.due_at),
        ]
        if kind is ListKind.OVERDUE:
            line += [row.late_by, str(row.escalation_level), "Có" if row.apologized else "Không"]
        elif kind is ListKind.DUE_SOON:
            line += [row.left]
        elif kind is ListKind.FEE_DUE:
            line += [str(row.fee_total_vnd or ""), str(row.fee_paid_vnd or 0), labels.vn_dt(row.pay_by)]
        elif kind is ListKind.SUPPLEMENT:
            line += [
                labels.vn_dt(row.supplement_requested_at),
                "; ".join(row.supplement_items),
                "Có" if row.supplement_late else "Không",
            ]
        else:
            line += [
                labels.notice_kind_vi(row.notice_kind),
                labels.AUDIENCES_VI.get(row.notice_audience, row.notice_audience),
                labels.channel_vi(row.notice_channel),
                row.notice_error,
                labels.vn_dt(row.notice_at),
            ]
        lines.append(line)
    return header + extra, lines


@router.get("/can-bo/danh-sach/{kind}", response_class=HTMLResponse)
async def work_list(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
    kind: str,
    agency: str = "",
    procedure: str = "",
    page: str = "1",
) -> HTMLResponse:
    """A work list: overdue, due within a working day, fee unpaid, supplement awaited, failed notices."""
    list_kind = _list_kind(kind)
    queries = await _desk(session, settings, who)
    filters = _filters(agency, procedure)
    found = await queries.rows(list_kind, filters, page=int(page) if page.isdigit() else 1)
    agencies, procedures = await queries.choices()
    return render(
        request,
        "pages/list.html",
        {
            "kind": list_kind,
            "kinds": list(ListKind),
            "page": found,
            "filters": filters,
            "agencies": agencies,
            "procedures": procedures,
            "query": urlencode(filters.query()),
            "prev_query": urlencode(filters.query(page=found.page - 1)),
            "next_query": urlencode(filters.query(page=found.page + 1)),
        },
    )


# ---------------------------------------------------------------- figures


@router.get("/can-bo/thong-ke", response_class=HTMLResponse)
async def figures(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    who: SignedInDep,
    agency: str = "",
    procedure: str = "",
    months: str = "6",
) -> HTMLResponse:
    """On-time rate per agency and month, and the dossiers by state, as charts and tables."""
    queries = await _desk(session, settings, who)
    filters = _filters(agency, procedure)
    span = min(max(int(months), 1), 24) if months.isdigit() else 6
    by_agency = await queries.on_time(filters, span)
    counts = await queries.state_counts(filters)
    charts = [
        (
            agency_code,
            figures_,
            bar_chart(
                f"dung-han-{index}",
                f"Tỷ lệ giải quyết đúng hạn của {agency_code}",
                "; ".join(
                    f"tháng {f.label}: "
                    + (
                        f"{f.rate:.0%} ({f.on_time}/{f.finished} hồ sơ)"
                        if f.rate is not None
                        else "chưa có hồ sơ"
                    )
                    for f in figures_
                ),
                [
                    Bar(
                        f.label,
                        100 * (f.rate or 0),
                        f"{f.rate:.0%} ({f.on_time}/{f.finished})" if f.rate is not None else "chưa có hồ sơ",
                        muted=f.rate is None,
                    )
                    for f in figures_
                ],
                100,
                percent=True,
            ),
        )
        for index, (agency_code, figures_) in enumerate(by_agency.items())
    ]
    biggest = max((n for _, n in counts), default=0)
    state_chart = bar_chart(
        "theo-trang-thai",
        "Số hồ sơ theo trạng thái",
        "; ".join(f"{status.label_vi}: {n}" for status, n in counts),
        [Bar(_short_status(status), n, str(n)) for status, n in counts],
        max(biggest, 1),
    )
    agencies, procedures = await queries.choices()
    return render(
        request,
        "pages/figures.html",
        {
            "charts": charts,
            "counts": counts,
            "state_chart": state_chart,
            "filters": filters,
            "months": span,
            "agencies": agencies,
            "procedures": procedures,
        },
    )


def _short_status(status: DossierStatus) -> str:
    """Labels that fit beside a bar on a phone."""
    return {
        DossierStatus.RECEIVED: "Đang giải quyết",
        DossierStatus.SUPPLEMENT_REQUIRED: "Chờ bổ sung",
        DossierStatus.FEE_DUE: "Chờ nộp phí",
        DossierStatus.RESULT_READY: "Chờ trả",
        DossierStatus.RETURNED: "Đã trả",
        DossierStatus.REJECTED: "Từ chối",
        DossierStatus.WITHDRAWN: "Đã rút",
    }[status]
