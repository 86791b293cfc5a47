"""The province's procedure catalogue, versioned, and what registration records against it.

A catalogue file (deploy/procedures.sample.json) is loaded whole as a new version; the newest version is
in force. A dossier keeps the version it was received under (`dossiers.catalogue_version`) and the
supplement rule it got then. What a registration that does not match the catalogue leaves behind is a
timeline entry before the receipt (seq 0, written here, not by the workflow) and a row in `flagged`.
The rules themselves are domain/procedures.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import CatalogueProcedure, Dossier, DossierEvent, ProcedureCatalogue
from db.types import utcnow
from domain.dossier import Actor, DossierInput, Step, SupplementRule
from domain.procedures import (
    CatalogueEntry,
    CatalogueError,
    RegistrationCheck,
    check_catalogue,
    check_registration,
    entry_from_json,
)
from domain.status import EventKind

# The timeline's seq of the catalogue check: before the receipt (seq 1), which the workflow writes.
CHECK_SEQ = 0
FLAGS = (EventKind.PROCEDURE_UNKNOWN.value, EventKind.WORKING_DAYS_DIFFER.value)
ABOUT_KEYS = ("province", "notes", "sources", "compiled_at")


def read_catalogue(path: Path) -> tuple[list[CatalogueEntry], dict[str, Any]]:
    """A catalogue file (UTF-8 JSON), checked; its entries and what it says about itself. CatalogueError
    otherwise (nothing is written)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CatalogueError(
            [(f"không đọc được tệp {path}: {error.strerror or error}", f"cannot read {path}")]
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CatalogueError(
            [(f"tệp {path} không phải JSON hợp lệ (UTF-8): {error}", f"{path} is not UTF-8 JSON: {error}")]
        ) from None
    return check_catalogue(data), about_of(data)


def about_of(data: Any) -> dict[str, Any]:
    """The document's own description (province, notes, sources), kept with the version."""
    if not isinstance(data, dict):
        return {}
    return {key: data[key] for key in ABOUT_KEYS if key in data}


async def load_catalogue(
    session: AsyncSession,
    entries: list[CatalogueEntry],
    *,
    loaded_by: str,
    source: str = "",
    about: dict[str, Any] | None = None,
) -> ProcedureCatalogue:
    """Write `entries` (checked by `check_catalogue`) as a new version, in force from now (commits)."""
    catalogue = ProcedureCatalogue(
        loaded_at=utcnow(), loaded_by=loaded_by[:100], source=source[:300], about=about or {}
    )
    session.add(catalogue)
    await session.flush()
    assert catalogue.version is not None
    for entry in entries:
        session.add(
            CatalogueProcedure(
                version=catalogue.version,
                code=entry.code,
                name=entry.name,
                working_days=entry.working_days,
                supplement_max_requests=entry.supplement.max_requests,
                supplement_restarts=entry.supplement.restart_count,
                entry=entry.to_json(),
            )
        )
    await session.commit()
    return catalogue


async def current_version(session: AsyncSession) -> int | None:
    """The catalogue version in force (the newest loaded), or None when none was ever loaded."""
    found = (await session.exec(select(func.max(ProcedureCatalogue.version)))).one()
    return int(found) if found is not None else None


@dataclass(frozen=True)
class VersionInfo:
    catalogue: ProcedureCatalogue
    procedures: int


async def versions(session: AsyncSession) -> list[VersionInfo]:
    """Every loaded version, newest first, with how many procedures it holds."""
    counts = dict(
        (
            await session.exec(
                select(CatalogueProcedure.version, func.count()).group_by(col(CatalogueProcedure.version))
            )
        ).all()
    )
    rows = await session.exec(select(ProcedureCatalogue).order_by(col(ProcedureCatalogue.version).desc()))
    return [VersionInfo(row, int(counts.get(row.version or 0, 0))) for row in rows.all()]


async def catalogue_procedures(session: AsyncSession, version: int | None = None) -> list[CatalogueEntry]:
    """The procedures of `version` (default: the one in force), by code; [] when none is loaded."""
    version = version if version is not None else await current_version(session)
    if version is None:
        return []
    rows = await session.exec(
        select(CatalogueProcedure)
        .where(CatalogueProcedure.version == version)
        .order_by(col(CatalogueProcedure.code))
    )
    return [entry_from_json(row.entry) for row in rows.all()]


async def catalogue_procedure(
    session: AsyncSession, code: str, version: int | None = None
) -> CatalogueEntry | None:
    """One procedure of `version` (default: the one in force), or None."""
    version = version if version is not None else await current_version(session)
    if version is None:
        return None
    row = await session.get(CatalogueProcedure, (version, code))
    return entry_from_json(row.entry) if row is not None else None


# ---------------------------------------------------------------- registration


async def check_for_registration(
    session: AsyncSession, registration: DossierInput
) -> tuple[DossierInput, RegistrationCheck]:
    """The registration with the supplement rule its procedure gets (the catalogue in force, or the law's
    default), and what the catalogue says of it. Never refuses: a mismatch is only flagged."""
    version = await current_version(session)
    entry = (
        await catalogue_procedure(session, registration.procedure.code, version)
        if version is not None
        else None
    )
    check = check_registration(registration.procedure, entry, version)
    steps = list(entry.steps) if entry is not None else []
    return replace(registration, supplement=check.rule, steps=steps), check


async def record_check(session: AsyncSession, registration: DossierInput, check: RegistrationCheck) -> None:
    """After a registration that created the dossier: keep the catalogue version on its row and, when the
    procedure did not match, the flag on its timeline (seq 0, before the receipt). Idempotent; nothing
    when the row is missing, holds another body, or was compared already."""
    if check.version is None:
        return
    row = await session.get(Dossier, registration.code, populate_existing=True)
    if row is None or row.fingerprint != registration.fingerprint or row.catalogue_version is not None:
        return
    await session.exec(
        update(Dossier).where(col(Dossier.code) == registration.code).values(catalogue_version=check.version)
    )
    if check.flag is not None:
        session.add(
            DossierEvent(
                dossier_code=registration.code,
                seq=CHECK_SEQ,
                at=registration.received_at,
                kind=check.flag.value,
                by=Actor.SYSTEM.value,
                detail=check.detail,
            )
        )
    try:
        await session.commit()  # the version and the flag together
    except IntegrityError:
        await session.rollback()  # a concurrent call for the same body recorded both


def steps_of(row: Dossier) -> list[Step]:
    """The internal steps a registered dossier follows ([]: none)."""
    return [Step(s["name"], s.get("unit", ""), float(s["hours"])) for s in row.steps or []]


def supplement_rule_of(row: Dossier) -> SupplementRule | None:
    """The supplement rule a registered dossier follows (None: registered before the catalogue)."""
    if row.supplement_max_requests is None:
        return None
    restarts = True if row.supplement_restarts is None else row.supplement_restarts
    if row.supplement_supply_within_days is None:  # registered before deadlines were kept
        return SupplementRule(row.supplement_max_requests, restarts)
    return SupplementRule(row.supplement_max_requests, restarts, row.supplement_supply_within_days)


@dataclass(frozen=True)
class Flagged:
    """A dossier whose procedure did not match the catalogue when it was received."""

    code: str
    agency_code: str
    procedure_code: str
    procedure_name: str
    working_days: int
    catalogue_working_days: int | None
    catalogue_version: int | None
    kind: str
    received_at: datetime
    status: str


async def flagged(
    session: AsyncSession, *, agencies: list[str] | None = None, limit: int = 500
) -> list[Flagged]:
    """Dossiers flagged at registration, newest first (only these agencies' when `agencies` is given)."""
    query = (
        select(DossierEvent, Dossier)
        .join(Dossier, col(Dossier.code) == col(DossierEvent.dossier_code))
        .where(DossierEvent.seq == CHECK_SEQ, col(DossierEvent.kind).in_(FLAGS))
        .order_by(col(Dossier.received_at).desc(), col(Dossier.code))
        .limit(limit)
    )
    if agencies is not None:
        query = query.where(col(Dossier.agency_code).in_(agencies))
    rows = await session.exec(query)
    return [
        Flagged(
            code=row.code,
            agency_code=row.agency_code,
            procedure_code=row.procedure_code,
            procedure_name=row.procedure_name,
            working_days=row.working_days,
            catalogue_working_days=event.detail.get("catalogue_working_days"),
            catalogue_version=event.detail.get("catalogue_version"),
            kind=event.kind,
            received_at=row.received_at,
            status=row.status,
        )
        for event, row in rows.all()
    ]
