"""`GET /api/v1/dossiers`: the dossier list from the database, filtered and keyset-paginated.

Order is (due_at, code), dossiers without a running clock (due_at unset: waiting for a supplement) last.
A page is read in at most two index range scans: the dated dossiers after the cursor, then, when the page
is not full yet, the undated ones after the cursor's code. The cursor is opaque to clients: base64url of
the last row's (due_at, code) and a short hash of the filters, so it cannot be used with other filters.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, literal, select, tuple_
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from api.problems import Problem
from api.schemas.views import DossierCore, DossierPage, DossierSummary, ListLinks
from api.views import self_link
from db.models import ApiClient, Dossier
from db.types import UTCDateTime
from domain.codes import ALL_AGENCIES, in_scope
from domain.digest import digest
from domain.status import DossierStatus

MAX_LIMIT = 200
DEFAULT_LIMIT = 50

_COLUMNS = (
    col(Dossier.code),
    col(Dossier.status),
    col(Dossier.dvcqg_status),
    col(Dossier.agency_code),
    col(Dossier.procedure_code),
    col(Dossier.procedure_name),
    col(Dossier.working_days),
    col(Dossier.channel),
    col(Dossier.received_at),
    col(Dossier.due_at),
    col(Dossier.overdue),
    col(Dossier.apologized),
    col(Dossier.on_time),
    col(Dossier.finished_at),
)


@dataclass(frozen=True)
class ListFilters:
    """What the caller asked for (the client's own agencies are applied on top)."""

    statuses: tuple[DossierStatus, ...] = ()
    agency: str | None = None
    overdue: bool | None = None
    due_before: datetime | None = None
    q: str | None = None

    def fingerprint(self) -> str:
        """Eight hex digits that tie a cursor to these filters."""
        return digest(
            [
                sorted(s.value for s in self.statuses),
                self.agency,
                self.overdue,
                self.due_before.isoformat() if self.due_before else None,
                self.q.upper() if self.q else None,
            ]
        )[:8]


@dataclass(frozen=True)
class Cursor:
    due_at: datetime | None
    code: str

    def encode(self, filters: ListFilters) -> str:
        raw = json.dumps([self.due_at.isoformat() if self.due_at else None, self.code, filters.fingerprint()])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, filters: ListFilters) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            due, code, fingerprint = json.loads(raw)
            due_at = datetime.fromisoformat(due) if due is not None else None
            if not isinstance(code, str) or (due_at is not None and due_at.tzinfo is None):
                raise ValueError("bad cursor")
            due_at = due_at.astimezone(UTC) if due_at is not None else None
        except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
            raise Problem(
                422, "cursor: not a cursor this API gave out", slug="invalid-cursor", title="Invalid cursor"
            ) from None
        if fingerprint != filters.fingerprint():
            raise Problem(
                422,
                "cursor: it belongs to a list with other filters; start again without a cursor",
                slug="invalid-cursor",
                title="Invalid cursor",
            )
        return cls(due_at, code)


def _conditions(filters: ListFilters, client: ApiClient) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if ALL_AGENCIES not in client.agencies:
        conditions.append(col(Dossier.agency_code).in_(client.agencies))
    if filters.agency is not None:
        conditions.append(col(Dossier.agency_code) == filters.agency)
    if filters.statuses:
        conditions.append(col(Dossier.status).in_([s.value for s in filters.statuses]))
    if filters.overdue is not None:
        conditions.append(col(Dossier.overdue) == filters.overdue)
    if filters.due_before is not None:
        conditions.append(col(Dossier.due_at) < literal(filters.due_before, UTCDateTime()))
    if filters.q:
        # Codes are upper case; a substring of one covers a prefix, and the pattern admits no wildcard.
        conditions.append(col(Dossier.code).contains(filters.q.upper()))
    return conditions


def page_queries(
    filters: ListFilters, client: ApiClient, after: Cursor | None, wanted: int
) -> tuple[Select[*tuple[Any, ...]] | None, Select[*tuple[Any, ...]] | None]:
    """The (dated, undated) queries of a page: each an index range scan in (due_at, code) order."""
    conditions = _conditions(filters, client)
    dated = undated = None
    if after is None or after.due_at is not None:
        dated = select(*_COLUMNS).where(*conditions, col(Dossier.due_at).is_not(None))
        if after is not None:
            dated = dated.where(
                tuple_(col(Dossier.due_at), col(Dossier.code))
                > tuple_(literal(after.due_at, UTCDateTime()), literal(after.code))
            )
        dated = _in_order(dated, filters, "due_at", "code").limit(wanted)
    if filters.due_before is None:  # undated dossiers are never due before a time
        undated = select(*_COLUMNS).where(*conditions, col(Dossier.due_at).is_(None))
        if after is not None and after.due_at is None:
            undated = undated.where(col(Dossier.code) > after.code)
        undated = _in_order(undated, filters, "code").limit(wanted)
    return dated, undated


def _in_order(query: Select[*tuple[Any, ...]], filters: ListFilters, *keys: str) -> Select[*tuple[Any, ...]]:
    """`query` in the order of its columns `keys`.

    With `q` the matches are found first and then sorted: `OFFSET 0` keeps the database from walking the
    due-date index in page order and testing each code (it cannot tell how few codes hold a substring, and
    on 100,000 dossiers that walk took 100 ms and more); PostgreSQL finds them in the codes' trigram index
    (migration 0010). A substring most codes hold sorts them all, which a search for a dossier never is."""
    if not filters.q:
        return query.order_by(*(getattr(Dossier, key) for key in keys))
    matches = query.offset(0).subquery("matches")
    return select(*matches.c).order_by(*(matches.c[key] for key in keys))


async def list_dossiers(
    session: AsyncSession, client: ApiClient, filters: ListFilters, cursor: str | None, limit: int
) -> DossierPage:
    """One page of the dossiers `client` may see, in (due_at, code) order."""
    if filters.agency is not None and not in_scope(client.agencies, filters.agency):
        raise Problem(
            403, f"client '{client.name}' may not see agency {filters.agency}", slug="forbidden-agency"
        )
    after = Cursor.decode(cursor, filters) if cursor else None
    wanted = limit + 1  # one more than a page tells whether there is a next one
    dated, undated = page_queries(filters, client, after, wanted)
    connection = await session.connection()  # Core rows: only the listed columns, no ORM objects
    rows: list[Any] = []
    if dated is not None:
        rows.extend((await connection.execute(dated)).all())
    if undated is not None and len(rows) < wanted:
        rows.extend((await connection.execute(undated.limit(wanted - len(rows)))).all())
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        last = page[-1]
        next_cursor = Cursor(last.due_at, last.code).encode(filters)
    return DossierPage(items=[_summary(row) for row in page], next_cursor=next_cursor, limit=limit)


def _summary(row: Any) -> DossierSummary:
    return DossierSummary(**DossierCore.columns(row), links=ListLinks(self=self_link(row.code)))
