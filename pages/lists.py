"""The desk's work lists and figures as officers read them: rows with Vietnamese spans, on-time rates.

The rows come from db/desk.py; this module only turns them into what the list and figures pages show.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db.agencies import AgencyCard, agency_cards
from db.desk import DeskQueries, Filters, ListKind
from db.models import Dossier, Notice
from domain import vocabulary
from domain.calendar import WorkingCalendar
from domain.status import DossierStatus
from domain.steps import StepTally, tally
from domain.timefmt import to_office
from pages import labels
from settings import Settings

PAGE_SIZE = 50
CSV_MAX_ROWS = 50_000


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
    agency_name: str = ""  # from the agency directory (the neutral name for a code it lacks)
    late_by: str = ""
    left: str = ""
    fee_total_vnd: int | None = None
    fee_paid_vnd: int | None = None
    pay_by: datetime | None = None
    supplement_items: list[str] = field(default_factory=list)
    supplement_requested_at: datetime | None = None
    supplement_late: bool = False
    notice_id: int | None = None
    notice_kind: str = ""
    notice_audience: str = ""
    notice_channel: str | None = None
    notice_error: str = ""
    notice_at: datetime | None = None
    notice_handled: str = ""  # "Đã xử lý: <who>, <when>", or "" while nobody has dealt with it
    created_at: datetime | None = None  # when the registration row was written (the not-started list)
    # The internal step the dossier is in: its number and name, who holds it, its deadline.
    step: str = ""
    holder: str = ""
    step_due_at: datetime | None = None
    step_late: bool = False


@dataclass
class Page:
    rows: list[Row]
    total: int
    page: int
    pages: int


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


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


class Desk:
    """One officer's lists and figures at one moment, as the pages show them."""

    def __init__(self, queries: DeskQueries, calendar: WorkingCalendar, settings: Settings) -> None:
        self.queries = queries
        self.calendar = calendar
        self.settings = settings
        self.now = queries.now
        self.day = calendar.hours.day_length

    async def agencies(self, codes: Iterable[str], rows: Iterable[Row] = ()) -> dict[str, AgencyCard]:
        """The directory's card of every code given and every row's agency, in one query (a code it lacks
        gets the neutral name); each row gets its agency's name."""
        listed = list(rows)
        cards = await agency_cards(
            self.queries.session,
            [*codes, *(row.agency_code for row in listed)],
            self.settings.notice_office_name,
        )
        for row in listed:
            row.agency_name = cards[row.agency_code].name
        return cards

    async def rows(self, kind: ListKind, filters: Filters, page: int = 1, size: int = PAGE_SIZE) -> Page:
        total = await self.queries.count(kind, filters)
        pages = max(1, -(-total // size))
        page = min(max(1, page), pages)
        offset = (page - 1) * size
        if kind is ListKind.FAILED_NOTICES:
            found = await self.queries.failed_notices(filters, offset, size)
            rows = [self._notice_row(notice, dossier) for notice, dossier in found]
        else:
            rows = [self._dossier_row(d) for d in await self.queries.dossiers(kind, filters, offset, size)]
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
            temporal_ui=self.settings.temporal_ui_link(dossier.code),
            created_at=dossier.created_at,
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
        supplement = detail.get("supplement")
        if isinstance(supplement, dict):
            row.supplement_items = [str(i) for i in supplement.get("items") or []]
            row.supplement_requested_at = _when(supplement.get("requested_at"))
            row.supplement_late = bool(supplement.get("late"))
        step = detail.get("step")
        if isinstance(step, dict):
            row.step = f"{step.get('number')}/{detail.get('steps_total', '?')} · {step.get('name', '')}"
            row.holder = str(step.get("holder") or "")
            row.step_due_at = _when(step.get("due_at"))
            row.step_late = row.step_due_at is not None and row.step_due_at <= self.now
        return row

    def _notice_row(self, notice: Notice, dossier: Dossier) -> Row:
        row = self._dossier_row(dossier)
        row.notice_id = notice.id
        row.notice_kind = notice.kind
        row.notice_audience = notice.audience
        row.notice_channel = notice.channel
        row.notice_error = vocabulary.notice_failure(notice.last_error)
        row.notice_at = notice.created_at
        row.notice_handled = vocabulary.notice_handled(notice.handled_by, notice.handled_at)
        return row

    async def on_time(self, filters: Filters, months: int) -> dict[str, list[MonthFigure]]:
        """Per agency, for each of the last `months` months: finished dossiers and how many on time."""
        first = month_start(to_office(self.now), months - 1)
        tally: dict[str, dict[tuple[int, int], tuple[int, int]]] = defaultdict(dict)
        for dossier in await self.queries.finished_since(filters, first):
            assert dossier.finished_at is not None
            if dossier.submitted and dossier.due_at is None:
                continue  # refused at reception (Mẫu 03): never received, so never due

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

    async def steps(self, filters: Filters, months: int) -> list[StepTally]:
        """Internal steps that ended in the last `months` months, early, on time or late, by procedure
        and step (what the index set of Decision 766 counts per step of the internal process)."""
        first = month_start(to_office(self.now), months - 1)
        return tally(await self.queries.steps_ended_since(filters, first))


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
