"""The agency directory: what notices and pages call an agency, and how citizens reach it.

A dossier names its agency by code (H21.65); the directory says "UBND huyện Chư Păh", its address,
hotline and opening hours. A code with no row still works: it is named neutrally and listed for the
administrator (`unknown_codes`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Agency, Dossier
from db.types import utcnow
from domain.codes import AGENCY_CODE_PATTERN

FIELDS = ("name", "address", "hotline", "opening_hours", "oa_url")
LIMITS = {"name": 300, "address": 500, "hotline": 30, "opening_hours": 200, "oa_url": 300}


@dataclass(frozen=True)
class AgencyCard:
    """An agency as a notice or a page prints it; `known` is False for a code the directory lacks."""

    code: str
    name: str
    address: str = ""
    hotline: str = ""
    opening_hours: str = ""
    oa_url: str = ""
    known: bool = True

    def context(self) -> dict[str, Any]:
        """What a notice template reads as `agency`."""
        return {field: getattr(self, field) for field in ("code", *FIELDS)}


def _card(row: Agency) -> AgencyCard:
    return AgencyCard(row.code, row.name, row.address, row.hotline, row.opening_hours, row.oa_url)


def neutral_card(code: str, name: str) -> AgencyCard:
    return AgencyCard(code, name, known=False)


async def agency_cards(
    session: AsyncSession, codes: Iterable[str], neutral_name: str
) -> dict[str, AgencyCard]:
    """The card of each code; a code the directory lacks gets `neutral_name`."""
    wanted = sorted(set(codes))
    rows = (await session.exec(select(Agency).where(col(Agency.code).in_(wanted)))).all()
    found = {row.code: _card(row) for row in rows}
    return {code: found.get(code) or neutral_card(code, neutral_name) for code in wanted}


async def agency_card(session: AsyncSession, code: str, neutral_name: str) -> AgencyCard:
    return (await agency_cards(session, [code], neutral_name))[code]


async def list_agencies(session: AsyncSession) -> list[Agency]:
    return list((await session.exec(select(Agency).order_by(col(Agency.code)))).all())


class AgencyError(ValueError):
    """Bad directory data; the message names the field."""


def check_entry(code: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The normal form of one entry: a real agency code, a name, every field a string within its limit."""
    if not re.match(AGENCY_CODE_PATTERN, code):
        raise AgencyError(f"code: {code!r} is not an agency code (e.g. H21.65)")
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise AgencyError(f"unknown fields: {', '.join(sorted(unknown))}")
    cleaned: dict[str, str] = {}
    for field in FIELDS:
        value = values.get(field, "")
        if not isinstance(value, str):
            raise AgencyError(f"{field}: must be text")
        value = value.strip()
        if len(value) > LIMITS[field]:
            raise AgencyError(f"{field}: at most {LIMITS[field]} characters")
        cleaned[field] = value
    if not cleaned["name"]:
        raise AgencyError("name: required")
    if cleaned["oa_url"] and not cleaned["oa_url"].startswith("https://"):
        raise AgencyError("oa_url: must start with https://")
    return cleaned


async def set_agency(session: AsyncSession, code: str, values: Mapping[str, Any]) -> tuple[Agency, bool]:
    """Create or replace one entry (commits); True when it is new. AgencyError on bad data."""
    cleaned = check_entry(code, values)
    row = await session.get(Agency, code)
    created = row is None
    if row is None:
        row = Agency(code=code, name=cleaned["name"])
    for field, value in cleaned.items():
        setattr(row, field, value)
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()
    return row, created


async def remove_agency(session: AsyncSession, code: str) -> bool:
    row = await session.get(Agency, code)
    if row is None:
        return False
    await session.delete(row)
    await session.commit()
    return True


async def unknown_codes(session: AsyncSession) -> list[tuple[str, int]]:
    """Agency codes that dossiers use and the directory lacks, with how many dossiers each holds."""
    found = await session.exec(
        select(Dossier.agency_code, func.count())
        .where(col(Dossier.agency_code).not_in(select(Agency.code)))
        .group_by(col(Dossier.agency_code))
        .order_by(col(Dossier.agency_code))
    )
    return [(code, int(n)) for code, n in found.all()]
