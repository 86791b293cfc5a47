"""The province's procedure catalogue: what a procedure is, how a catalogue file is checked, and what a
registration is compared with.

Pure. A catalogue is loaded whole (db/procedures.py keeps every version); a dossier keeps the version it
was received under. Registration never loses a dossier: a procedure code the catalogue lacks, or a
working-days figure that differs from it, is accepted as sent (the appointment printed on the citizen's
receipt stands) and flagged for the administrator (`check_registration`). The legal basis of each rule is
in docs/legal.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from domain import vocabulary
from domain.dossier import Procedure, Step, SupplementRule
from domain.limits import (
    MAX_SUPPLY_WITHIN_WORKING_DAYS,
    SUPPLY_REMINDER_WORKING_DAYS,
    SUPPLY_WITHIN_WORKING_DAYS,
)
from domain.linking import after_keyword, plain
from domain.status import EventKind

# The law's default when the catalogue says nothing (or lacks the procedure): one request, listing
# everything missing; the count restarts once the dossier is complete; the citizen supplies within the
# default deadline (domain/limits.py).
LAW_DEFAULT = SupplementRule(
    max_requests=1, restart_count=True, supply_within_days=SUPPLY_WITHIN_WORKING_DAYS
)
# A deadline leaves room for every reminder before it (the first is this many working days before it).
MIN_SUPPLY_WITHIN_DAYS = max(SUPPLY_REMINDER_WORKING_DAYS) + 1

CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z.\-_]*$"  # the registration body's procedure code (api/schemas)
MAX_REQUESTS_LIMIT = 5  # a catalogue allowing more than this is a typo, not a rule
HOURS_PER_WORKING_DAY = 8
LIMITS = {"code": 40, "name": 500, "level": 50, "text": 500, "source": 1000}


@dataclass(frozen=True)
class Fee:
    name: str
    amount_vnd: int | None  # None: set elsewhere (a provincial resolution) or not found; see `note`
    note: str = ""


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    name: str
    level: str
    agency_kinds: tuple[str, ...]
    working_days: int
    fees: tuple[Fee, ...] = ()
    documents: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    supplement: SupplementRule = LAW_DEFAULT
    national_code: str | None = None  # the code on the national database, when a source gave it
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "level": self.level,
            "agency_kinds": list(self.agency_kinds),
            "working_days": self.working_days,
            "fees": [{"name": f.name, "amount_vnd": f.amount_vnd, "note": f.note} for f in self.fees],
            "documents": list(self.documents),
            "steps": [{"name": s.name, "unit": s.unit, "hours": s.hours} for s in self.steps],
            "supplement": {
                "max_requests": self.supplement.max_requests,
                "restart_count": self.supplement.restart_count,
                "supply_within_days": self.supplement.supply_within_days,
            },
            "national_code": self.national_code,
            "source": self.source,
        }


class CatalogueError(ValueError):
    """A catalogue that cannot be loaded: one line per problem, in Vietnamese (`problems`) and English
    (`problems_en`), each naming the entry and the field."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(en for _, en in problems))
        self.problems = [vi for vi, _ in problems]
        self.problems_en = [en for _, en in problems]


@dataclass
class _Checker:
    where_vi: str
    where_en: str
    problems: list[tuple[str, str]] = field(default_factory=list)

    def fail(self, vi: str, en: str) -> None:
        self.problems.append((f"{self.where_vi}: {vi}", f"{self.where_en}: {en}"))

    def text(self, entry: dict[str, Any], key: str, limit: int, *, required: bool = True) -> str:
        value = entry.get(key, "")
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            self.fail(f"«{key}» phải là chữ", f"{key} must be text")
            return ""
        text: str = value.strip()
        if required and not text:
            self.fail(f"thiếu «{key}»", f"{key} is required")
        if len(text) > limit:
            self.fail(f"«{key}» dài quá {limit} ký tự", f"{key} is longer than {limit} characters")
        return text

    def texts(self, entry: dict[str, Any], key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"«{key}» phải là danh sách chữ", f"{key} must be a list of non-empty texts")
            return ()
        texts = tuple(v.strip() for v in value)
        if any(len(text) > LIMITS["text"] for text in texts):
            limit = LIMITS["text"]
            self.fail(
                f"mỗi mục của «{key}» tối đa {limit} ký tự", f"each {key} item is at most {limit} characters"
            )
        return texts


KNOWN_KEYS = {
    "code",
    "name",
    "level",
    "agency_kinds",
    "working_days",
    "fees",
    "documents",
    "steps",
    "supplement",
    "national_code",
    "source",
}


def _entry(entry: Any, number: int, problems: list[tuple[str, str]]) -> CatalogueEntry | None:
    if not isinstance(entry, dict):
        problems.append((f"mục {number}: phải là một đối tượng JSON", f"entry {number}: must be an object"))
        return None
    code = entry.get("code")
    label = f" ({code})" if isinstance(code, str) else ""
    c = _Checker(f"mục {number}{label}", f"entry {number}{label}")
    unknown = sorted(set(entry) - KNOWN_KEYS)
    if unknown:
        c.fail(f"không có trường «{unknown[0]}»", f"unknown field {unknown[0]}")
    code = c.text(entry, "code", LIMITS["code"])
    if code and not re.match(CODE_PATTERN, code):
        c.fail("mã thủ tục chỉ gồm chữ, số, dấu chấm, gạch", "code has characters a procedure code cannot")
    name = c.text(entry, "name", LIMITS["name"])
    level = c.text(entry, "level", LIMITS["level"])
    agency_kinds = c.texts(entry, "agency_kinds")
    days = entry.get("working_days")
    if not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 365:
        c.fail("«working_days» phải là số ngày làm việc từ 1 đến 365", "working_days must be 1 to 365")
        days = 0
    fees: list[Fee] = []
    for fee in entry.get("fees", []) if isinstance(entry.get("fees", []), list) else [None]:
        amount = fee.get("amount_vnd") if isinstance(fee, dict) else "bad"
        if (
            not isinstance(fee, dict)
            or not isinstance(fee.get("name"), str)
            or not fee["name"].strip()
            or not (
                amount is None or (isinstance(amount, int) and not isinstance(amount, bool) and amount >= 0)
            )
        ):
            c.fail(
                "mỗi khoản phí có «name» và «amount_vnd» (số đồng, hoặc null nếu do nơi khác quy định)",
                "each fee has a name and amount_vnd (whole dong, or null)",
            )
            continue
        fees.append(Fee(fee["name"].strip(), amount, str(fee.get("note") or "").strip()))
    documents = c.texts(entry, "documents")
    steps: list[Step] = []
    for step in entry.get("steps", []) if isinstance(entry.get("steps", []), list) else [None]:
        hours = step.get("hours") if isinstance(step, dict) else None
        if (
            not isinstance(step, dict)
            or not isinstance(step.get("name"), str)
            or not isinstance(hours, int | float)
            or isinstance(hours, bool)
            or hours < 0
        ):
            c.fail(
                "mỗi bước có «name», «unit» và «hours» (số giờ làm việc)",
                "each step has a name, a unit and hours (working hours)",
            )
            continue
        steps.append(Step(step["name"].strip(), str(step.get("unit") or "").strip(), float(hours)))
    budget = sum(step.hours for step in steps)
    if days and budget > days * HOURS_PER_WORKING_DAY:
        c.fail(
            f"tổng thời gian các bước ({budget:g} giờ) vượt thời hạn {days} ngày làm việc",
            f"the steps' hours ({budget:g}) exceed {days} working days",
        )
    rule = LAW_DEFAULT
    given = entry.get("supplement")
    if given is not None:
        most = given.get("max_requests", 1) if isinstance(given, dict) else None
        restart = given.get("restart_count", True) if isinstance(given, dict) else None
        within = (
            given.get("supply_within_days", SUPPLY_WITHIN_WORKING_DAYS) if isinstance(given, dict) else None
        )
        if (
            not isinstance(most, int)
            or isinstance(most, bool)
            or not 1 <= most <= MAX_REQUESTS_LIMIT
            or not isinstance(restart, bool)
            or not isinstance(within, int)
            or isinstance(within, bool)
            or not MIN_SUPPLY_WITHIN_DAYS <= within <= MAX_SUPPLY_WITHIN_WORKING_DAYS
        ):
            c.fail(
                f"«supplement» gồm «max_requests» (1 đến {MAX_REQUESTS_LIMIT}), «restart_count» "
                f"(true: tính lại từ đầu, false: tính tiếp) và «supply_within_days» (hạn nộp bổ sung, "
                f"{MIN_SUPPLY_WITHIN_DAYS} đến {MAX_SUPPLY_WITHIN_WORKING_DAYS} ngày làm việc)",
                f"supplement has max_requests (1 to {MAX_REQUESTS_LIMIT}), restart_count (true/false) and "
                f"supply_within_days ({MIN_SUPPLY_WITHIN_DAYS} to {MAX_SUPPLY_WITHIN_WORKING_DAYS} "
                "working days)",
            )
        else:
            rule = SupplementRule(most, restart, within)
    national = entry.get("national_code")
    if national is not None and (not isinstance(national, str) or not re.match(CODE_PATTERN, national)):
        c.fail("«national_code» là mã trên CSDL quốc gia hoặc null", "national_code is a code or null")
        national = None
    source = c.text(entry, "source", LIMITS["source"], required=False)
    problems.extend(c.problems)
    if c.problems:
        return None
    return CatalogueEntry(
        code=code,
        name=name,
        level=level,
        agency_kinds=agency_kinds,
        working_days=days,
        fees=tuple(fees),
        documents=documents,
        steps=tuple(steps),
        supplement=rule,
        national_code=national,
        source=source,
    )


def check_catalogue(data: Any) -> list[CatalogueEntry]:
    """Every procedure of a catalogue document (`{"procedures": [...], ...}`), in its order; all are
    checked before anything is written: CatalogueError lists every problem."""
    if not isinstance(data, dict) or not isinstance(data.get("procedures"), list):
        raise CatalogueError(
            [("tệp phải là một đối tượng JSON có «procedures»: [...]", 'expected {"procedures": [...]}')]
        )
    problems: list[tuple[str, str]] = []
    entries: list[CatalogueEntry] = []
    seen: set[str] = set()
    for number, raw in enumerate(data["procedures"], start=1):
        entry = _entry(raw, number, problems)
        if entry is None:
            continue
        if entry.code in seen:
            problems.append(
                (
                    f"mục {number}: mã thủ tục {entry.code} đã có ở mục trước",
                    f"entry {number}: {entry.code} twice",
                )
            )
            continue
        seen.add(entry.code)
        entries.append(entry)
    if not entries and not problems:
        problems.append(("danh mục chưa có thủ tục nào", "the catalogue lists no procedure"))
    if problems:
        raise CatalogueError(problems)
    return entries


def entry_from_json(data: dict[str, Any]) -> CatalogueEntry:
    """An entry as stored (`CatalogueEntry.to_json`), read back."""
    entries = check_catalogue({"procedures": [data]})
    return entries[0]


@dataclass(frozen=True)
class RegistrationCheck:
    """What the catalogue says of a registration: the version it is compared with (None: no catalogue
    loaded), the supplement rule the dossier will follow, and a flag for the timeline if it differs."""

    version: int | None
    rule: SupplementRule
    flag: EventKind | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def check_registration(
    procedure: Procedure, entry: CatalogueEntry | None, version: int | None
) -> RegistrationCheck:
    """Compare a registration's procedure with the catalogue of `version` (its entry, None if it lacks the
    code). With no catalogue loaded at all nothing is flagged; the law's default rule applies."""
    if version is None:
        return RegistrationCheck(None, LAW_DEFAULT)
    detail: dict[str, Any] = {
        "procedure_code": procedure.code,
        "working_days": procedure.working_days,
        "catalogue_version": version,
    }
    if entry is None:
        return RegistrationCheck(version, LAW_DEFAULT, EventKind.PROCEDURE_UNKNOWN, detail)
    if entry.working_days != procedure.working_days:
        detail["catalogue_working_days"] = entry.working_days
        return RegistrationCheck(version, entry.supplement, EventKind.WORKING_DAYS_DIFFER, detail)
    return RegistrationCheck(version, entry.supplement)


# ---------------------------------------------------------------- looking procedures up (OA "TT <words>")

# "TT khai sinh", "thủ tục: khai sinh" (with or without diacritics); not "TTHC…".
_LOOKUP_KEYWORD = re.compile(r"^\s*(tt|thu\s*tuc)(?![0-9a-z])[\s:.,\-]*", re.IGNORECASE)
QUERY_MAX = 100  # characters of a search kept
OA_ANSWER_LIMIT = 3  # procedures in one OA answer; the page lists them all


def read_procedure_query(message: str) -> str | None:
    """The words an OA message asks procedures for ("TT <words>"), as written; "" for the keyword alone;
    None for any other message (linking, feedback and the OA's staff deal with those)."""
    rest = after_keyword(_LOOKUP_KEYWORD, message)
    return None if rest is None else " ".join(rest.split())[:QUERY_MAX]


def search_procedures(entries: list[CatalogueEntry], query: str) -> list[CatalogueEntry]:
    """The procedures whose name or code holds every word of `query`, case and diacritics aside; a name
    that starts with the query first, then the earliest match, then by name. Nothing for an empty query."""
    words = plain(query).split()
    if not words:
        return []
    wanted = " ".join(words)

    def where(entry: CatalogueEntry) -> str:
        return plain(f"{entry.name} {entry.code} {entry.national_code or ''}")

    found = [entry for entry in entries if all(word in where(entry) for word in words)]
    return sorted(
        found,
        key=lambda e: (not plain(e.name).startswith(wanted), plain(e.name).find(words[0]) % 1000, e.name),
    )


def fees_text(entry: CatalogueEntry) -> str:
    """The fees and charges in a line: "Lệ phí: 50.000 đ; Phí thẩm định: theo quy định"."""
    if not entry.fees:
        return vocabulary.PROCEDURE_NO_FEE
    parts = []
    for fee in entry.fees:
        if fee.amount_vnd == 0:
            amount = vocabulary.PROCEDURE_FREE
        elif fee.amount_vnd is None:
            amount = vocabulary.PROCEDURE_FEE_BY_RULE
        else:
            amount = vocabulary.vn_money(fee.amount_vnd)
        parts.append(f"{fee.name}: {amount}")
    return "; ".join(parts)


def oa_answer(query: str, found: list[CatalogueEntry], detail_url: Any, list_url: str) -> str:
    """The OA's answer to "TT <words>": at most OA_ANSWER_LIMIT procedures, each with its time limit, fees,
    where to submit and its page; a link to the whole list when there are more. `detail_url(code)` is the
    public page of one procedure."""
    if not query:
        return vocabulary.PROCEDURE_LOOKUP_HOW
    if not found:
        return vocabulary.PROCEDURE_LOOKUP_NONE.format(query=query, url=list_url)
    shown = found[:OA_ANSWER_LIMIT]
    lines = [vocabulary.PROCEDURE_LOOKUP_FOUND.format(query=query, total=len(found))]
    for number, entry in enumerate(shown, 1):
        lines.append(
            vocabulary.PROCEDURE_LOOKUP_ITEM.format(
                number=number,
                name=entry.name,
                days=entry.working_days,
                fees=fees_text(entry),
                where=", ".join(entry.agency_kinds),
                url=detail_url(entry.code),
            )
        )
    if len(found) > len(shown):
        lines.append(vocabulary.PROCEDURE_LOOKUP_MORE.format(total=len(found), url=list_url))
    return "\n".join(lines)
