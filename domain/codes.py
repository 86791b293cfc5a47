"""Dossier codes and Vietnamese phone numbers: validation and normal forms."""

from __future__ import annotations

import re
from datetime import date

# Mã hồ sơ (Thông tư 01/2018/TT-VPCP): <unit code>-<YYMMDD>-<sequence>, e.g. H21.65-261123-0001.
# The unit code is the agency's identifier (QCVN 102:2016), one to four dot-separated parts.
DOSSIER_CODE_PATTERN = r"^[A-Z0-9]{1,5}(\.[A-Z0-9]{1,5}){0,3}-[0-9]{6}-[0-9]{4,6}$"
_DOSSIER_CODE = re.compile(DOSSIER_CODE_PATTERN)

AGENCY_CODE_PATTERN = r"^[A-Z0-9]{1,5}(\.[A-Z0-9]{1,5}){0,3}$"

# Mobile numbers only: notices go to Zalo by phone. 0 or 84 or +84, then 3/5/7/8/9 and eight digits.
_PHONE = re.compile(r"^(?:\+?84|0)([35789][0-9]{8})$")


def is_dossier_code(code: str) -> bool:
    """True when `code` has the official shape and its YYMMDD part is a real date."""
    if not _DOSSIER_CODE.match(code):
        return False
    yymmdd = code.split("-")[-2]
    try:
        date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        return False
    return True


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
