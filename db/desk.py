"""The officer desk's lists and figures, read from the projection (never from Temporal).

Every query is limited to the agencies the officer may see; lists are paged in SQL and ordered so that
the most urgent row comes first. The pages turn these rows into what officers read (pages/lists.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.dossiers import not_started
from db.models import Dossier, DossierEvent, Notice, Officer
from domain.codes import ALL_AGENCIES
from domain.limits import NOT_STARTED_LISTED_AFTER
from domain.notices import NoticeStatus
from domain.status import DossierStatus, EventKind


class ListKind(StrEnum):
    """The desk's work lists; the values are their URL slugs (/can-bo/danh-sach/<slug>)."""

    OVERDUE = "qua-han"
    DUE_SOON = "sap-den-han"
    FEE_DUE = "cho-nop-phi"
    SUPPLEMENT = "cho-bo-sung"
    FAILED_NOTICES = "thong-bao-loi"
    NOT_STARTED = "chua-khoi-dong"  # registrations whose workflow the reconciliation could not start


# The failed-notice list's query parameter for the notices already handled (`?da-xu-ly=1`).
HANDLED_PARAM = "da-xu-ly"


@dataclass(frozen=True)
class Filters:
    agency: str = ""
    procedure: str = ""
    handled: bool = False  # the failed-notice list: those an officer marked handled, instead of the others

    def query(self, **extra: Any) -> dict[str, Any]:
        """As URL query parameters (empty ones and page 1 left out)."""
        values = {
            "agency": self.agency,
            "procedure": self.procedure,
            HANDLED_PARAM: "1" if self.handled else "",
        }
        return {k: v for k, v in (values | extra).items() if v not in ("", None, 1)}


def in_scope(officer: Officer) -> list[ColumnElement[bool]]:
    return [] if ALL_AGENCIES in officer.agencies else [col(Dossier.agency_code).in_(officer.agencies)]


def _filtered(officer: Officer, filters: Filters) -> list[ColumnElement[bool]]:
    clauses = in_scope(officer)
    if filters.agency:
        clauses.append(col(Dossier.agency_code) == filters.agency)
    if filters.procedure:
        clauses.append(col(Dossier.procedure_code) == filters.procedure)
    return clauses


class DeskQueries:
    """The lists and figures one officer may see, at one moment; `soon` ends the due-soon window."""

    def __init__(self, session: AsyncSession, officer: Officer, now: datetime, soon: datetime) -> None:
        self.session = session
        self.officer = officer
        self.now = now
        self.soon = soon

    def _conditions(self, kind: ListKind, filters: Filters) -> list[ColumnElement[bool]]:
        clauses = _filtered(self.officer, filters)
        received = col(Dossier.status) == DossierStatus.RECEIVED.value
        if kind is ListKind.OVERDUE:
            # Dossiers whose result the office still owes (once the result is ready, the work is done);
            # the workflow's flag, or a due time already past that its timer has not reported yet. An
            # online submission whose check is late carries the same flag (no due time yet).
            clauses += [
                col(Dossier.status).in_(
                    [DossierStatus.RECEIVED.value, DossierStatus.FEE_DUE.value, DossierStatus.SUBMITTED.value]
                ),
                or_(col(Dossier.overdue), and_(received, col(Dossier.due_at) < self.now)),
            ]
        elif kind is ListKind.DUE_SOON:
            clauses += [
                received,
                ~col(Dossier.overdue),
                col(Dossier.due_at) >= self.now,
                col(Dossier.due_at) <= self.soon,
            ]
        elif kind is ListKind.FEE_DUE:
            clauses.append(col(Dossier.status) == DossierStatus.FEE_DUE.value)
        elif kind is ListKind.SUPPLEMENT:
            clauses.append(col(Dossier.status) == DossierStatus.SUPPLEMENT_REQUIRED.value)
        elif kind is ListKind.NOT_STARTED:
            clauses += not_started(self.now - NOT_STARTED_LISTED_AFTER)
        else:
            clauses += [
                col(Notice.status) == NoticeStatus.FAILED_PERMANENT.value,
                col(Notice.handled_at).is_not(None) if filters.handled else col(Notice.handled_at).is_(None),
            ]
        return clauses

    async def count(self, kind: ListKind, filters: Filters) -> int:
        query = select(func.count()).select_from(Dossier)
        if kind is ListKind.FAILED_NOTICES:
            query = select(func.count()).select_from(Notice).join(Dossier)
        return int((await self.session.exec(query.where(*self._conditions(kind, filters)))).one())

    async def dossiers(self, kind: ListKind, filters: Filters, offset: int, limit: int) -> list[Dossier]:
        """A page of a dossier list: the earliest due time first; for waiting lists, the longest unchanged."""
        first = (
            col(Dossier.due_at) if kind in (ListKind.OVERDUE, ListKind.DUE_SOON) else col(Dossier.updated_at)
        )
        found = await self.session.exec(
            select(Dossier)
            .where(*self._conditions(kind, filters))
            .order_by(first, col(Dossier.code))
            .offset(offset)
            .limit(limit)
        )
        return list(found.all())

    async def failed_notices(self, filters: Filters, offset: int, limit: int) -> list[tuple[Notice, Dossier]]:
        """A page of notices that could not be sent (not yet handled, or with `filters.handled` those an
        officer marked handled), newest first, each with its dossier."""
        found = await self.session.exec(
            select(Notice, Dossier)
            .join(Dossier)
            .where(*self._conditions(ListKind.FAILED_NOTICES, filters))
            .order_by(col(Notice.created_at).desc(), col(Notice.id).desc())
            .offset(offset)
            .limit(limit)
        )
        return list(found.all())

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

    async def state_counts(self, filters: Filters) -> list[tuple[DossierStatus, int]]:
        found = await self.session.exec(
            select(Dossier.status, func.count())
            .where(*_filtered(self.officer, filters))
            .group_by(col(Dossier.status))
        )
        counts = {status: int(n) for status, n in found.all()}
        return [(status, counts.get(status.value, 0)) for status in DossierStatus]

    async def ratings(self, filters: Filters) -> list[tuple[str, str, str, int]]:
        """Every citizen's rating of the dossiers in view: (agency code, procedure code, procedure name,
        score), read from the `rated` timeline entries the workflow projects."""
        found = await self.session.exec(
            select(Dossier.agency_code, Dossier.procedure_code, Dossier.procedure_name, DossierEvent.detail)
            .join(DossierEvent, col(DossierEvent.dossier_code) == col(Dossier.code))
            .where(col(DossierEvent.kind) == EventKind.RATED.value, *_filtered(self.officer, filters))
        )
        return [
            (agency, procedure, name, int(detail["score"]))
            for agency, procedure, name, detail in found.all()
            if isinstance(detail, dict) and isinstance(detail.get("score"), int)
        ]

    async def finished_since(self, filters: Filters, since: datetime) -> list[Dossier]:
        """Dossiers returned or rejected since `since`: what the on-time rate counts."""
        found = await self.session.exec(
            select(Dossier).where(
                *_filtered(self.officer, filters),
                col(Dossier.status).in_([DossierStatus.RETURNED.value, DossierStatus.REJECTED.value]),
                col(Dossier.finished_at) >= since,
            )
        )
        return list(found.all())

    async def steps_ended_since(
        self, filters: Filters, since: datetime
    ) -> list[tuple[str, str, dict[str, Any]]]:
        """Internal steps that ended since `since` (procedure code, procedure name, the step's record):
        each is in the entry that ended it, a hand-over or the dossier's end."""
        found = await self.session.exec(
            select(Dossier.procedure_code, Dossier.procedure_name, DossierEvent.detail)
            .join(Dossier, col(Dossier.code) == col(DossierEvent.dossier_code))
            .where(
                *_filtered(self.officer, filters),
                col(DossierEvent.kind).in_(
                    [
                        EventKind.HANDOVER.value,
                        EventKind.RETURNED.value,
                        EventKind.REJECTED.value,
                        EventKind.WITHDRAWN.value,
                        EventKind.STOPPED.value,
                    ]
                ),
                col(DossierEvent.at) >= since,
            )
        )
        return [
            (code, name, detail["closed"])
            for code, name, detail in found.all()
            if isinstance(detail, dict) and isinstance(detail.get("closed"), dict)
        ]


# ---------------------------------------------------------------- acting on a failed notice


async def notice_in_scope(
    session: AsyncSession, officer: Officer, notice_id: int
) -> tuple[Notice, Dossier] | None:
    """A notice and its dossier, if the dossier's agency is one the officer may see."""
    found = await session.exec(
        select(Notice, Dossier)
        .join(Dossier)
        .where(col(Notice.id) == notice_id, *in_scope(officer))
        .execution_options(populate_existing=True)
    )
    return found.first()


async def mark_handled(session: AsyncSession, notice_id: int, by: str, now: datetime) -> bool:
    """Record who dealt with a failed notice and when (commits); False, changing nothing, when it is not
    failed-permanent or was marked already (the first mark stands)."""
    result = await session.exec(
        update(Notice)
        .where(
            col(Notice.id) == notice_id,
            col(Notice.status) == NoticeStatus.FAILED_PERMANENT.value,
            col(Notice.handled_at).is_(None),
        )
        .values(handled_by=by, handled_at=now, updated_at=now)
    )
    await session.commit()
    return result.rowcount == 1
