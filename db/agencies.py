"""The agency directory: what notices and pages call an agency, and how citizens reach it.

A dossier names its agency by code (H21.65); the directory says "UBND huyện Chư Păh", its address,
hotline and opening hours. A code with no row still works: it is named neutrally and listed for the
administrator (`unknown_codes`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Agency, Dossier
from db.types import utcnow
from domain import vocabulary
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
    """Bad directory data. `str()` names the field in English (the machine API's problem detail); `vi` says
    the same to the administrator's tool."""

    def __init__(self, field: str, problem: str, problem_vi: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.vi = f"{vocabulary.AGENCY_FIELDS.get(field, field)}: {problem_vi}"


def check_entry(code: str, values: Mapping[str, Any]) -> dict[str, str]:
    """The normal form of one entry: a real agency code, a name, every field a string within its limit."""
    if not re.match(AGENCY_CODE_PATTERN, code):
        raise AgencyError(
            "code",
            f"{code!r} is not an agency code (e.g. H21.65)",
            f"{code!r} không đúng dạng (ví dụ H21.65)",
        )
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise AgencyError(unknown[0], "unknown field", "danh bạ không có trường này")
    cleaned: dict[str, str] = {}
    for field in FIELDS:
        value = values.get(field, "")
        if not isinstance(value, str):
            raise AgencyError(field, "must be text", "phải là chữ")
        value = value.strip()
        if len(value) > LIMITS[field]:
            raise AgencyError(field, f"at most {LIMITS[field]} characters", f"tối đa {LIMITS[field]} ký tự")
        cleaned[field] = value
    if not cleaned["name"]:
        raise AgencyError("name", "required", "bắt buộc")
    if cleaned["oa_url"] and not cleaned["oa_url"].startswith("https://"):
        raise AgencyError("oa_url", "must start with https://", "phải bắt đầu bằng https://")
    return cleaned


class DirectoryError(ValueError):
    """A directory file that cannot be loaded: one Vietnamese line per problem, naming the entry and field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def check_directory(entries: Any) -> dict[str, dict[str, str]]:
    """Every entry of a directory file (a JSON list of objects: `code` and the fields), code → normal form,
    in the file's order. All are checked before anything is written: DirectoryError lists every problem."""
    if not isinstance(entries, list):
        raise DirectoryError(['tệp phải là một danh sách JSON các cơ quan: [{"code": …, "name": …}, …]'])
    code_label = vocabulary.AGENCY_FIELDS["code"]
    checked: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            problems.append(f"mục {number}: phải là một đối tượng JSON")
            continue
        code = entry.get("code")
        if not isinstance(code, str) or not code.strip():
            problems.append(f'mục {number}: thiếu {code_label} ("code")')
            continue
        code = code.strip()
        if code in seen:
            problems.append(f"mục {number}: {code_label} {code} đã có ở một mục trước")
            continue
        seen.add(code)
        try:
            checked[code] = check_entry(code, {k: v for k, v in entry.items() if k != "code"})
        except AgencyError as error:
            problems.append(f"mục {number} ({code}): {error.vi}")
    if problems:
        raise DirectoryError(problems)
    return checked


def read_directory(path: Path) -> dict[str, dict[str, str]]:
    """A directory file (UTF-8 JSON, like deploy/agencies.sample.json), checked: DirectoryError otherwise."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise DirectoryError([f"không đọc được tệp {path}: {error.strerror or error}"]) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DirectoryError([f"tệp {path} không phải JSON hợp lệ (UTF-8): {error}"]) from None
    return check_directory(data)


@dataclass(frozen=True)
class Loaded:
    """What loading a directory file did."""

    created: int
    updated: int
    unchanged: int


async def load_agencies(session: AsyncSession, entries: Mapping[str, Mapping[str, str]]) -> Loaded:
    """Create or replace every entry (checked by `check_directory`) in one transaction (commits); entries
    the directory holds and `entries` lacks are left as they are."""
    rows = await session.exec(select(Agency).where(col(Agency.code).in_(list(entries))))
    existing = {row.code: row for row in rows.all()}
    created = updated = 0
    now = utcnow()
    for code, values in entries.items():
        row = existing.get(code)
        if row is None:
            session.add(Agency(code=code, **values, created_at=now, updated_at=now))
            created += 1
        elif any(getattr(row, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(row, field, value)
            row.updated_at = now
            session.add(row)
            updated += 1
    await session.commit()
    return Loaded(created, updated, len(entries) - created - updated)


async def directory_is_empty(session: AsyncSession) -> bool:
    return (await session.exec(select(func.count()).select_from(Agency))).one() == 0


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
