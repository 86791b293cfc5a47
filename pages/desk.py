"""The officer desk, `/can-bo`: the work lists with their CSV export, and the figures."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from db import feedback
from db.agencies import list_agencies
from db.calendar import office_calendar
from db.desk import HANDLED_PARAM, DeskQueries, Filters, ListKind
from db.types import utcnow
from domain import vocabulary
from domain.codes import in_scope
from domain.limits import RATING_WINDOW_DAYS, SATISFIED_MIN
from domain.satisfaction import summarize
from pages import labels
from pages.auth import SignedInDep
from pages.charts import Bar, bar_chart
from pages.lists import CSV_MAX_ROWS, Desk, Row
from pages.notices import notice_note
from pages.render import PageError, PageRoute, render
from web.deps import SessionDep, SettingsDep

router = APIRouter(route_class=PageRoute, include_in_schema=False)


# ---------------------------------------------------------------- lists


def _filters(agency: str, procedure: str, handled: str = "") -> Filters:
    return Filters(agency.strip().upper()[:40], procedure.strip()[:40], handled=handled == "1")


# `?da-xu-ly=1`: the failed-notice list shows the notices an officer marked handled.
HandledQuery = Annotated[str, Query(alias=HANDLED_PARAM)]


async def _desk(session: SessionDep, settings: SettingsDep, who: SignedInDep) -> Desk:
    calendar = await office_calendar(session, settings.office_hours())
    now = utcnow()
    soon = calendar.add_working_time(now, calendar.hours.day_length)
    return Desk(DeskQueries(session, who.officer, now, soon), calendar, settings)


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
    lists = await _desk(session, settings, who)
    filters = _filters(agency, procedure)
    counts = [(kind, await lists.queries.count(kind, filters)) for kind in ListKind]
    agencies, procedures = await lists.queries.choices()
    return render(
        request,
        "desk.html",
        {
            "counts": counts,
            "filters": filters,
            "agencies": agencies,
            "cards": await lists.agencies(agencies),
            "procedures": procedures,
            "query": urlencode(filters.query()),
            "feedback_open": await feedback.count_open(session, who.officer.agencies),
            # The directory's agencies in the officer's scope, each with its printable OA poster.
            "posters": [a for a in await list_agencies(session) if in_scope(who.officer.agencies, a.code)],
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
    handled: HandledQuery = "",
) -> Response:
    """The list as a CSV file (UTF-8 with BOM, so Excel shows Vietnamese)."""
    list_kind = _list_kind(kind)
    lists = await _desk(session, settings, who)
    page = await lists.rows(list_kind, _filters(agency, procedure, handled), page=1, size=CSV_MAX_ROWS)
    await lists.agencies([], page.rows)
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
    header = [
        "Mã hồ sơ",
        "Cơ quan",
        "Tên cơ quan",
        "Mã thủ tục",
        "Tên thủ tục",
        "Trạng thái",
        "Ngày tiếp nhận",
        "Hạn trả",
    ]
    extra: list[str]
    if kind is ListKind.OVERDUE:
        extra = ["Quá hạn", "Mức báo cáo", "Đã xin lỗi"]
    elif kind is ListKind.DUE_SOON:
        extra = ["Còn lại"]
    elif kind is ListKind.FEE_DUE:
        extra = ["Số tiền (đồng)", "Đã nộp (đồng)", "Hạn nộp"]
    elif kind is ListKind.SUPPLEMENT:
        extra = ["Ngày yêu cầu bổ sung", "Giấy tờ cần bổ sung", "Yêu cầu trễ"]
    elif kind is ListKind.NOT_STARTED:
        extra = ["Ghi nhận lúc"]
    else:
        extra = ["Thông báo", "Người nhận", "Kênh", "Lỗi", "Thời điểm", "Xử lý"]
    lines = []
    for row in rows:
        line = [
            row.code,
            row.agency_code,
            row.agency_name,
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
        elif kind is ListKind.NOT_STARTED:
            line += [labels.vn_dt(row.created_at)]
        else:
            line += [
                labels.notice_kind_vi(row.notice_kind),
                labels.audience_vi(row.notice_audience),
                labels.channel_vi(row.notice_channel),
                row.notice_error,
                labels.vn_dt(row.notice_at),
                row.notice_handled or vocabulary.NOTICE_UNHANDLED,
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
    handled: HandledQuery = "",
) -> HTMLResponse:
    """A work list: overdue, due within a working day, fee unpaid, supplement awaited, failed notices
    (those not yet handled; with `?da-xu-ly=1` those an officer marked handled)."""
    list_kind = _list_kind(kind)
    lists = await _desk(session, settings, who)
    filters = _filters(agency, procedure, handled)
    found = await lists.rows(list_kind, filters, page=int(page) if page.isdigit() else 1)
    agencies, procedures = await lists.queries.choices()
    query = urlencode(filters.query())
    return render(
        request,
        "list.html",
        {
            "kind": list_kind,
            "kinds": list(ListKind),
            "page": found,
            "filters": filters,
            "agencies": agencies,
            "cards": await lists.agencies(agencies, found.rows),
            "procedures": procedures,
            "query": query,
            "prev_query": urlencode(filters.query(page=found.page - 1)),
            "next_query": urlencode(filters.query(page=found.page + 1)),
            "other_handled_query": urlencode(replace(filters, handled=not filters.handled).query()),
            # Where a notice's action returns to: this list, as filtered.
            "back": f"/can-bo/danh-sach/{list_kind.value}" + (f"?{query}" if query else ""),
            "note": notice_note(request),
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
    """On-time rate per agency and month, the dossiers by state, and citizens' satisfaction per agency and
    procedure, as charts and tables."""
    lists = await _desk(session, settings, who)
    filters = _filters(agency, procedure)
    span = min(max(int(months), 1), 24) if months.isdigit() else 6
    by_agency = await lists.on_time(filters, span)
    counts = await lists.queries.state_counts(filters)
    steps = await lists.steps(filters, span)
    agencies, procedures = await lists.queries.choices()
    ratings = await lists.queries.ratings(filters)
    by_agency_rating = summarize((agency, "", score) for agency, _, _, score in ratings)
    by_procedure_rating = summarize((procedure, name, score) for _, procedure, name, score in ratings)
    cards = await lists.agencies([*agencies, *by_agency, *(f.key for f in by_agency_rating)])
    charts = [
        (
            agency_code,
            figures_,
            bar_chart(
                f"dung-han-{index}",
                f"Tỷ lệ giải quyết đúng hạn của {cards[agency_code].name} ({agency_code})",
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
        "; ".join(f"{vocabulary.STATUS[status]}: {n}" for status, n in counts),
        [Bar(vocabulary.STATUS_SHORT[status], n, str(n)) for status, n in counts],
        max(biggest, 1),
    )
    return render(
        request,
        "figures.html",
        {
            "charts": charts,
            "counts": counts,
            "state_chart": state_chart,
            "steps": steps,
            "filters": filters,
            "months": span,
            "agencies": agencies,
            "cards": cards,
            "procedures": procedures,
            "satisfaction_by_agency": by_agency_rating,
            "satisfaction_by_procedure": by_procedure_rating,
            "satisfied_min": SATISFIED_MIN,
            "rating_window_days": RATING_WINDOW_DAYS,
        },
    )
