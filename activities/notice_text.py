"""The Vietnamese texts of notices: one Jinja2 template per kind, composed when the notice is recorded.

`compose` is called by the record activity at the transition itself (activities/records.py), from the
context the workflow produced plus what only the database knows (the applicant's name, the agency from
the directory, the lookup link). A template that cannot render fails the transition there, loudly, rather
than a notice days later. The same context gives the ZNS template's parameters (domain/zns_templates.py).

Context values arrive as the workflow recorded them (JSON): times as ISO-8601 strings with an offset,
money as int VND. Words and formats are domain/vocabulary.py's.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from db.agencies import AgencyCard
from domain import vocabulary, zns_templates
from domain.dossier import COUNTER_RECEIPT_PREFIX
from domain.dvcqg import is_sync_event_id
from domain.notices import Audience, NoticeKind
from zalo.config import OA_TEXT_MAX

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates" / "notices"


def datetime_vn(value: Any) -> str:
    """`2026-12-08T16:00:00+07:00` → `08/12/2026 16:00` (office time)."""
    return vocabulary.vn_datetime(value, missing="(chưa xác định)")


def date_vn(value: Any) -> str:
    """`2026-12-08T16:00:00+07:00` → `08/12/2026` (office time)."""
    return vocabulary.vn_date(value, missing="(chưa xác định)")


def vnd(value: Any) -> str:
    """`1250000` → `1.250.000 đ`."""
    return vocabulary.vn_money(value)


def payment_reference(transaction_id: str | None) -> str:
    """How a citizen recognises a payment: the counter's receipt number, the platform's transaction id;
    nothing for the ids we make ourselves (a national-portal sync)."""
    if not transaction_id or is_sync_event_id(transaction_id):
        return ""
    if transaction_id.startswith(COUNTER_RECEIPT_PREFIX):
        return f"Số biên lai: {transaction_id.removeprefix(COUNTER_RECEIPT_PREFIX)}"
    return f"Mã giao dịch: {transaction_id}"


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
    env.filters.update(
        datetime_vn=datetime_vn,
        date_vn=date_vn,
        vnd=vnd,
        role_vi=vocabulary.role_label,
        payment_reference=payment_reference,
    )
    return env


_BLANK_RUN = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """NFC (Zalo counts code points; decomposed accents count twice), no trailing spaces or blank runs."""
    text = unicodedata.normalize("NFC", text)
    text = "\n".join(line.rstrip() for line in text.splitlines())
    return _BLANK_RUN.sub("\n\n", text).strip()


def render_notice(kind: NoticeKind | str, context: Mapping[str, Any]) -> str:
    """The text of a notice of `kind` from its full context (see `compose`)."""
    kind = NoticeKind(kind)
    return tidy(_environment().get_template(f"{kind.value}.txt.j2").render(dict(context)))


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


@dataclass(frozen=True)
class Composed:
    """A notice ready to send: its OA text, and for a citizen its ZNS template's parameters."""

    text: str
    zns_params: dict[str, str] | None


def compose(
    kind: NoticeKind,
    context: Mapping[str, Any],
    *,
    agency: AgencyCard,
    applicant_name: str,
    lookup_url: str,
    rating_url: str = "",
) -> Composed:
    """The notice's OA text (cut at Zalo's limit with a link to the full record) and ZNS parameters, from the
    workflow's `context`, the agency's card and, for a citizen, their name, the lookup link and (for the
    rating invite) the signed rating link."""
    full: dict[str, Any] = {**context, "agency": agency.context()}
    if kind.audience is Audience.CITIZEN:
        full |= {"applicant_name": applicant_name, "lookup_url": lookup_url, "rating_url": rating_url}
    if kind is NoticeKind.LOW_RATING:
        full["score_label"] = vocabulary.RATING_SCORES.get(int(context["score"]), "")
    text = fit_text(render_notice(kind, full), OA_TEXT_MAX, tail="\nXem đầy đủ: " + lookup_url)
    params = zns_templates.params_for(kind, full) if kind.audience is Audience.CITIZEN else None
    return Composed(text, params)
