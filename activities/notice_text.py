"""The Vietnamese texts of notices: one Jinja2 template per kind, plus the flat data of ZNS templates.

Context values arrive as the workflow recorded them (JSON): datetimes as ISO-8601 strings with an offset,
money as int VND. Dates are shown as `dd/MM/yyyy HH:mm` office time, money as `1.250.000 đ`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.notices import NoticeKind
from domain.timefmt import OFFICE_TZ

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "notices"
# Context keys that hold datetimes, and those that hold money, whatever the kind.
DATETIME_KEYS = frozenset({"at", "due_at", "pay_by", "old_due_at", "new_due_at"})
MONEY_KEYS = frozenset({"total_vnd", "amount_vnd"})
# ZNS template parameters are short strings; longer values are cut (Zalo refuses them otherwise).
ZNS_VALUE_MAX = 100

ROLE_LABELS_VI = {
    "handler": "cán bộ xử lý hồ sơ",
    "officer": "cán bộ xử lý hồ sơ",
    "supervisor": "lãnh đạo phòng chuyên môn",
    "head": "lãnh đạo phòng chuyên môn",
    "director": "lãnh đạo cơ quan",
    "leader": "lãnh đạo cơ quan",
    "one_stop": "Bộ phận Một cửa",
}


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"datetime without an offset in notice context: {value!r}")
    return moment


def datetime_vn(value: Any) -> str:
    """`2026-12-08T16:00:00+07:00` → `08/12/2026 16:00` (office time)."""
    moment = _as_datetime(value)
    return moment.astimezone(OFFICE_TZ).strftime("%d/%m/%Y %H:%M") if moment else "(chưa xác định)"


def date_vn(value: Any) -> str:
    """`2026-12-08T16:00:00+07:00` → `08/12/2026` (office time)."""
    moment = _as_datetime(value)
    return moment.astimezone(OFFICE_TZ).strftime("%d/%m/%Y") if moment else "(chưa xác định)"


def vnd(value: Any) -> str:
    """`1250000` → `1.250.000 đ`."""
    amount = int(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " đ"


def role_vi(value: Any) -> str:
    return ROLE_LABELS_VI.get(str(value), str(value))


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,  # noqa: S701 (plain text for Zalo, never HTML)
        undefined=StrictUndefined,  # a missing context key is a bug to see, not an empty line to send
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(datetime_vn=datetime_vn, date_vn=date_vn, vnd=vnd, role_vi=role_vi)
    return env


_BLANK_RUN = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """NFC (Zalo counts code points; decomposed accents count twice), no trailing spaces or blank runs."""
    text = unicodedata.normalize("NFC", text)
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_RUN.sub("\n\n", text).strip()


def render_notice(kind: NoticeKind | str, context: Mapping[str, Any]) -> str:
    """The text of a notice of `kind`; `context` holds the workflow's variables plus
    `applicant_name`, `office_name` and `lookup_url` (optional, added by the send activity)."""
    kind = NoticeKind(kind)
    values: dict[str, Any] = {"applicant_name": None, "office_name": "Bộ phận Một cửa", "lookup_url": None}
    values.update(context)
    return tidy(_environment().get_template(f"{kind.value}.txt.j2").render(values))


def fit_text(text: str, limit: int, tail: str = "") -> str:
    """`text` if it fits in `limit` characters; otherwise cut at a word boundary, "…", then `tail`."""
    if len(text) <= limit:
        return text
    room = limit - len(tail) - 1
    if room <= 0:
        raise ValueError("tail longer than the limit")
    cut = text[:room]
    boundary = max(cut.rfind("\n"), cut.rfind(" "))
    if boundary > room // 2:
        cut = cut[:boundary]
    return cut.rstrip() + "…" + tail


def _zns_value(value: Any, key: str) -> str:
    if value is None:
        return ""
    if key in DATETIME_KEYS:
        return datetime_vn(value)
    if key in MONEY_KEYS:
        return vnd(value)
    if isinstance(value, list):
        return "; ".join(
            f"{item['name']}: {vnd(item['amount_vnd'])}" if isinstance(item, Mapping) else str(item)
            for item in value
        )
    return str(value)


def zns_template_data(kind: NoticeKind | str, context: Mapping[str, Any]) -> dict[str, str]:
    """Flat string parameters for the ZNS template of `kind`, from the same context as the text.

    Parameter names are the context keys (nested `pickup`/`delivery` become `pickup_place`, …), plus
    `customer_name`; the templates registered with Zalo use these names."""
    NoticeKind(kind)
    data: dict[str, str] = {"customer_name": str(context.get("applicant_name") or "Quý ông/bà")}
    for key, value in context.items():
        if key in ("applicant_name", "office_name"):
            continue
        if isinstance(value, Mapping):
            for inner_key, inner in value.items():
                data[f"{key}_{inner_key}"] = _zns_value(inner, inner_key)
        else:
            data[key] = _zns_value(value, key)
    return {key: fit_text(tidy(value), ZNS_VALUE_MAX) if value else "" for key, value in data.items()}
