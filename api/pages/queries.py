"""The officer desk's lists and figures, read from the database projection (never from Temporal).

Every query is limited to the agencies the officer may see; lists are paged in SQL and ordered so that
the most urgent row comes first.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from activities.calendar import office_hours
from api.dossiers import temporal_ui_link
from api.pages import labels
from db.calendar import override_days
from db.models import Dossier, Notice, Officer
from domain.calendar import WorkingCalendar
from domain.notices import NoticeStatus
from domain.status import DossierStatus
from domain.timefmt import to_office
from settings import Settings

PAGE_SIZE = 50
CSV_MAX_ROWS = 50_000


class ListKind(StrEnum):
    """The desk's lists; the values are their URL slugs."""

    OVERDUE = "qua-han"
    DUE_SOON = "sap-den-han"
    FEE_DUE = "cho-nop-phi"
    SUPPLEMENT = "cho-bo-sung"
    FAILED_NOTICES = "thong-bao-loi"

    @property
    def title_vi(self) -> str:
        return LIST_TITLES[self]

    @property
    def empty_vi(self) -> str:
        return LIST_EMPTY[self]


LIST_TITLES = {
    ListKind.OVERDUE: "Hồ sơ quá hạn",
    ListKind.DUE_SOON: "Hồ sơ đến hạn trong 1 ngày làm việc",
    ListKind.FEE_DUE: "Hồ sơ chờ nộp phí, lệ phí",
    ListKind.SUPPLEMENT: "Hồ sơ chờ bổ sung",
    ListKind.FAILED_NOTICES: "Thông báo không gửi được",
}
LIST_EMPTY = {
    ListKind.OVERDUE: "Không có hồ sơ nào quá hạn.",
    ListKind.DUE_SOON: "Không có hồ sơ nào đến hạn trong 1 ngày làm việc tới.",
    ListKind.FEE_DUE: "Không có hồ sơ nào đang chờ nộp phí, lệ phí.",
    ListKind.SUPPLEMENT: "Không có hồ sơ nào đang chờ bổ sung.",
    ListKind.FAILED_NOTICES: "Không có thông báo nào bị lỗi.",
}


@dataclass(frozen=True)
class Filters:
    agency: str = ""
    procedure: str = ""

    def query(self, **extra: Any) -> dict[str, Any]:
        values = {"agency": self.agency, "procedure": self.procedure} | extra
        return {k: v for k, v in values.items() if v not in ("", None, 1)}


@dataclass
class Row:
    """One line of a list: a dossier, or for failed notices a notice with its dossier."""

    code: str
    agency_code: str
    procedure_code: str
    procedure_name: str
    status: str
    received_at: datetime
    due_at: datetime | None
    overdue: bool
    escalation_level: int
    apologized: bool
    temporal_ui: str
    late_by: str = ""
    left: str = ""
    fee_total_vnd: int | None = None
    fee_paid_vnd: int | None = None
    pay_by: datetime | None = None
    fee_requested_at: datetime | None = None
    supplement_items: list[str] = field(default_factory=list)
    supplement_requested_at: datetime | None = None
    supplement_late: bool = False
    notice_kind: str = ""
    notice_audience: str = ""
    notice_channel: str | None = None
    notice_error: str = ""
    notice_at: datetime | None = None


@dataclass
class Page:
    rows: list[Row]
    total: int
    page: int
    pages: int


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


async def office_calendar(session: AsyncSession, settings: Settings) -> WorkingCalendar:
    """The calendar as deadlines are computed now: office hours, holidays, the overrides table."""
    return WorkingCalendar(office_hours(settings), overrides=await override_days(session))


def in_scope(officer: Officer) -> list[ColumnElement[bool]]:
    return [] if "*" in officer.agencies else [col(Dossier.agency_code).in_(officer.agencies)]


def _filtered(officer: Officer, filters: Filters) -> list[ColumnElement[bool]]:
    clauses = in_scope(officer)
    if filters.agency:
        clauses.append(col(Dossier.agency_code) == filters.agency)
    if filters.procedure:
        clauses.append(col(Dossier.procedure_code) == filters.procedure)
    return clauses


class DeskQueries:
    """The lists and figures one officer sees, at one moment."""

    def __init__(
        self,
        session: AsyncSession,
        settings: Settings,
        officer: Officer,
        calendar: WorkingCalendar,
        now: datetime,
    ) -> None:
        self.session = session
        self.settings = settings
        self.officer = officer
        self.calendar = calendar
        self.now = now
        self.day = calendar.hours.day_length

    def _conditions(self, kind: ListKind, filters: Filters) -> list[ColumnElement[bool]]:
        clauses = _filtered(self.officer, filters)
        received = col(Dossier.status) == DossierStatus.RECEIVED.value
        if kind is ListKind.OVERDUE:
            # Dossiers whose result the office still owes (once the result is ready, the work is done);
            # the workflow's flag, or a due time already past that its timer has not reported yet.
            clauses += [
                col(Dossier.status).in_([DossierStatus.RECEIVED.value, DossierStatus.FEE_DUE.value]),
                or_(col(Dossier.overdue), and_(received, col(Dossier.due_at) < self.now)),
            ]
        elif kind is ListKind.DUE_SOON:
            soon = self.calendar.add_working_time(self.now, self.day)
            clauses += [
                received,
                ~col(Dossier.overdue),
                col(Dossier.due_at) >= self.now,
                col(Dossier.due_at) <= soon,
            ]
        elif kind is ListKind.FEE_DUE:
            clauses.append(col(Dossier.status) == DossierStatus.FEE_DUE.value)
        elif kind is ListKind.SUPPLEMENT:
            clauses.append(col(Dossier.status) == DossierStatus.SUPPLEMENT_REQUIRED.value)
        else:
            clauses.append(col(Notice.status) == NoticeStatus.FAILED_PERMANENT.value)
        return clauses

    async def count(self, kind: ListKind, filters: Filters) -> int:
        query = select(func.count()).select_from(Dossier)
        if kind is ListKind.FAILED_NOTICES:
            query = select(func.count()).select_from(Notice).join(Dossier)
        return int((await self.session.exec(query.where(*self._conditions(kind, filters)))).one())

    async def rows(self, kind: ListKind, filters: Filters, page: int = 1, size: int = PAGE_SIZE) -> Page:
        total = await self.count(kind, filters)
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        conditions = self._conditions(kind, filters)
        rows: list[Row]
        if kind is ListKind.FAILED_NOTICES:
            found = await self.session.exec(
                select(Notice, Dossier)
                .join(Dossier)
                .where(*conditions)
                .order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
                .offset((page - 1) * size)
                .limit(size)
            )
            rows = [self._notice_row(notice, dossier) for notice, dossier in found.all()]
        else:
            # Most urgent first: the earliest due time; for waiting lists, the longest unchanged.
            first = (
                col(Dossier.due_at)
                if kind in (ListKind.OVERDUE, ListKind.DUE_SOON)
                else col(Dossier.updated_at)
            )
            found_rows = await self.session.exec(
                select(Dossier)
                .where(*conditions)
                .order_by(first, col(Dossier.code))
                .offset((page - 1) * size)
                .limit(size)
            )
            rows = [self._dossier_row(dossier) for dossier in found_rows.all()]
        return Page(rows, total, page, pages)

    def _dossier_row(self, dossier: Dossier) -> Row:
        detail = dossier.detail or {}
        row = Row(
            code=dossier.code,
            agency_code=dossier.agency_code,
            procedure_code=dossier.procedure_code,
            procedure_name=dossier.procedure_name,
            status=dossier.status,
            received_at=dossier.received_at,
            due_at=dossier.due_at,
            overdue=dossier.overdue,
            escalation_level=dossier.escalation_level,
            apologized=dossier.apologized,
            temporal_ui=temporal_ui_link(self.settings, dossier.code),
        )
        if dossier.due_at is not None:
            if dossier.due_at <= self.now:
                row.late_by = labels.working_span(
                    self.calendar.working_time_between(dossier.due_at, self.now), self.day
                )
            else:
                row.left = labels.working_span(
                    self.calendar.working_time_between(self.now, dossier.due_at), self.day
                )
        fee = detail.get("fee")
        if isinstance(fee, dict):
            row.fee_total_vnd = fee.get("total_vnd")
            row.fee_paid_vnd = fee.get("paid_vnd")
            row.pay_by = _when(fee.get("pay_by"))
            row.fee_requested_at = _when(fee.get("requested_at"))
        supplement = detail.get("supplement")
        if isinstance(supplement, dict):
            row.supplement_items = [str(i) for i in supplement.get("items") or []]
            row.supplement_requested_at = _when(supplement.get("requested_at"))
            row.supplement_late = bool(supplement.get("late"))
        return row

    def _notice_row(self, notice: Notice, dossier: Dossier) -> Row:
        row = self._dossier_row(dossier)
        row.notice_kind = notice.kind
        row.notice_audience = notice.audience
        row.notice_channel = notice.channel
        row.notice_error = notice.last_error or ""
        row.notice_at = notice.created_at
        return row

    async def choices(self) -> tuple[list[str], list[tuple[str, str]]]:
        """The agencies and procedures (code, name) the officer may filter by."""
        scope = in_scope(self.officer)
        agencies = await self.session.exec(
            select(Dossier.agency_code).where(*scope).distinct().order_by(col(Dossier.agency_code))
        )
        procedures = await self.session.exec(
            select(Dossier.procedure_code, func.max(Dossier.procedure_name))
            .where(*scope)
            .group_by(col(Dossier.procedure_code))
            .order_by(col(Dossier.procedure_code))
        )
        return list(agencies.all()), [(code, name) for code, name in procedures.all()]

    # ------------------------------------------------------------ figures

    async def state_counts(self, filters: Filters) -> list[tuple[DossierStatus, int]]:
        found = await self.session.exec(
            select(Dossier.status, func.count())
            .where(*_filtered(self.officer, filters))
            .group_by(col(Dossier.status))
        )
        counts = {status: int(n) for status, n in found.all()}
        return [(status, counts.get(status.value, 0)) for status in DossierStatus]

    async def on_time(self, filters: Filters, months: int) -> dict[str, list[MonthFigure]]:
        """Per agency, for each of the last `months` months: finished dossiers and how many on time."""
        first = month_start(to_office(self.now), months - 1)
        found = await self.session.exec(
            select(Dossier).where(
                *_filtered(self.officer, filters),
                col(Dossier.status).in_([DossierStatus.RETURNED.value, DossierStatus.REJECTED.value]),
                col(Dossier.finished_at) >= first,
            )
        )
        tally: dict[str, dict[tuple[int, int], tuple[int, int]]] = defaultdict(dict)
        for dossier in found.all():
            assert dossier.finished_at is not None
            local = to_office(dossier.finished_at)
            finished, on_time = tally[dossier.agency_code].get((local.year, local.month), (0, 0))
            tally[dossier.agency_code][(local.year, local.month)] = (
                finished + 1,
                on_time + finished_on_time(dossier),
            )
        months_list = [month_start(to_office(self.now), back) for back in range(months - 1, -1, -1)]
        return {
            agency: [
                MonthFigure(m.year, m.month, *by_month.get((m.year, m.month), (0, 0))) for m in months_list
            ]
            for agency, by_month in sorted(tally.items())
        }


@dataclass
class MonthFigure:
    year: int
    month: int
    finished: int
    on_time: int

    @property
    def label(self) -> str:
        return f"{self.month:02d}/{self.year}"

    @property
    def rate(self) -> float | None:
        return self.on_time / self.finished if self.finished else None


def finished_on_time(dossier: Dossier) -> bool:
    """Returned: as the workflow judged it when the result was ready. Rejected: by the due time, if any."""
    if dossier.status == DossierStatus.RETURNED.value:
        return bool(dossier.on_time)
    assert dossier.finished_at is not None
    return dossier.due_at is None or dossier.finished_at <= dossier.due_at


def month_start(now_local: datetime, months_back: int) -> datetime:
    """The first instant of the month `months_back` months before the one of `now_local`."""
    index = now_local.year * 12 + (now_local.month - 1) - months_back
    return now_local.replace(
        year=index // 12, month=index % 12 + 1, day=1, hour=0, minute=0, second=0, microsecond=0
    )
