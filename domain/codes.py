"""Dossier codes, agency scopes, workflow ids and Vietnamese phone numbers: validation and normal forms."""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

# Mã hồ sơ (Thông tư 01/2018/TT-VPCP): <unit code>-<YYMMDD>-<sequence>, e.g. H21.65-261123-0001.
# The unit code is the agency's identifier (QCVN 102:2016), one to four dot-separated parts.
_AGENCY = r"[A-Z0-9]{1,5}(\.[A-Z0-9]{1,5}){0,3}"
AGENCY_CODE_PATTERN = rf"^{_AGENCY}$"
DOSSIER_CODE_PATTERN = rf"^{_AGENCY}-[0-9]{{6}}-[0-9]{{4,6}}$"
DOSSIER_CODE_MAX_LENGTH = 40
_DOSSIER_CODE = re.compile(DOSSIER_CODE_PATTERN)
_CODE_IN_TEXT = re.compile(rf"{_AGENCY}-[0-9]{{6}}-[0-9]{{4,6}}")
_SPACES = re.compile(r"\s+")

# An API client or officer whose agencies include this acts for every agency (and administers).
ALL_AGENCIES = "*"

# Every dossier is the Temporal workflow `dossier-<code>`.
WORKFLOW_ID_PREFIX = "dossier-"

# Mobile numbers only: notices go to Zalo by phone. 0 or 84 or +84, then 3/5/7/8/9 and eight digits.
_PHONE = re.compile(r"^(?:\+?84|0)([35789][0-9]{8})$")


def is_dossier_code(code: str) -> bool:
    """True when `code` has the official shape and its YYMMDD part is a real date."""
    if len(code) > DOSSIER_CODE_MAX_LENGTH or not _DOSSIER_CODE.match(code):
        return False
    yymmdd = code.split("-")[-2]
    try:
        date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return False
    return True


def normalize_code(raw: str | None) -> str:
    """A code as people type it (lower case, stray spaces) in its normal form; not checked."""
    return _SPACES.sub("", raw or "").upper()[:60]


def codes_in(text: str) -> list[str]:
    """The real dossier codes in a free text (a citizen's message), in order of appearance."""
    found = (match.group(0) for match in _CODE_IN_TEXT.finditer(text.upper()))
    return [code for code in found if is_dossier_code(code)]


def without_codes(text: str) -> str:
    """A free text in upper case with every code-shaped part blanked (what else the citizen typed)."""
    return _CODE_IN_TEXT.sub(" ", text.upper())


def agency_of(code: str) -> str:
    """The agency part of a dossier code: H21.65-261123-0001 → H21.65."""
    return code.split("-")[0]


def belongs_to(code: str, agency_code: str) -> bool:
    """Whether a dossier code names `agency_code` as its unit: a dossier is registered by the agency its
    code names, never by another (the code would then point at an agency that never received it)."""
    return agency_of(code) == agency_code


def in_scope(agencies: Collection[str], agency_code: str) -> bool:
    """Whether a holder of `agencies` (an API client, an officer) may see and act for `agency_code`.

    A dossier out of scope is answered exactly as one that does not exist, so that a key or an officer
    cannot learn which codes exist in other agencies."""
    return ALL_AGENCIES in agencies or agency_code in agencies


def workflow_id(code: str) -> str:
    return f"{WORKFLOW_ID_PREFIX}{code}"


def code_of_workflow(workflow_id: str) -> str | None:
    """`dossier-<code>` → `<code>`; None for workflows that are not dossiers."""
    return (
        workflow_id.removeprefix(WORKFLOW_ID_PREFIX) if workflow_id.startswith(WORKFLOW_ID_PREFIX) else None
    )


def normalize_phone(raw: str) -> str:
    """A Vietnamese mobile number as Zalo wants it (84xxxxxxxxx); ValueError when it is not one."""
    compact = re.sub(r"[\s.\-()]", "", raw)
    match = _PHONE.match(compact)
    if not match:
        raise ValueError("not a Vietnamese mobile number (e.g. 0905123456 or +84905123456)")
    return "84" + match.group(1)


def phone_last4(phone: str) -> str:
    return phone[-4:]


def mask_phone(phone: str) -> str:
    """What an officer page or a log may show of a phone number."""
    return "•" * (len(phone) - 4) + phone[-4:]
