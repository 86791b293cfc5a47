"""Feedback and complaints (phản ánh, kiến nghị) from citizens: what one is, how an OA message asks for
one, how long its text may be and when it must be answered.

A citizen sends feedback from the lookup page (after proving the dossier with its code and the phone's
last 4 digits) or to the Zalo OA ("PA <code> <text>"). It is answered by an officer of the dossier's
agency within Settings.feedback_answer_working_days working days (the office calendar), and the answer goes
back the way the feedback came: over the OA, or on the lookup page. Feedback naming no dossier goes to the
province's queue (officers of every agency).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.calendar import WorkingCalendar
from domain.codes import codes_in
from domain.linking import after_keyword

# What a citizen may write (the OA's own message limit is 2,000 characters) and what an officer answers:
# the answer goes over the OA with a line naming the feedback before it, within Zalo's 2,000.
TEXT_MIN = 10
TEXT_MAX = 2000
ANSWER_MIN = 10
ANSWER_MAX = 1500

# The keyword that starts an OA message of feedback, said with or without diacritics, in any case:
# "PA", "phản ánh", "kiến nghị", "góp ý" ("PA H21.65-261123-0001 Cán bộ hẹn mãi chưa trả").
_KEYWORD = re.compile(r"^\s*(pa|phan\s*anh|kien\s*nghi|gop\s*y)(?![0-9a-z])[\s:.,\-]*", re.IGNORECASE)


class Channel(StrEnum):
    WEB = "web"  # the lookup page: the answer is shown there
    OA = "oa"  # a message to the Zalo OA: the answer goes back over the OA


class Status(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"


class Reply(StrEnum):
    """How the answer reached the citizen."""

    ON_PAGE = "on-page"  # web feedback: the lookup page shows it
    SENT = "sent"  # OA feedback: Zalo accepted the message
    FAILED = "failed"  # OA feedback: Zalo refused it (the officer sees why and calls the citizen)


@dataclass(frozen=True)
class OaFeedback:
    """An OA message that is feedback: the dossier it names (None: the province's queue) and the text."""

    dossier_code: str | None
    text: str


def clean(text: str) -> str:
    """A text as stored: NFC, without control characters but line breaks, trimmed."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    text = "".join(c for c in text if c == "\n" or unicodedata.category(c)[0] != "C")
    return text.strip()


def text_problem(text: str, *, least: int = TEXT_MIN, most: int = TEXT_MAX) -> str | None:
    """Why a (cleaned) text cannot be taken, in Vietnamese; None when it can."""
    if len(text) < least:
        return f"Vui lòng viết rõ nội dung (ít nhất {least} ký tự)."
    if len(text) > most:
        return (
            f"Nội dung quá dài: {len(text)} ký tự, tối đa {most} ký tự. "
            "Vui lòng viết ngắn gọn hoặc chia thành nhiều lần gửi."
        )
    return None


def read_oa_feedback(message: str) -> OaFeedback | None:
    """The feedback an OA message carries, when it starts with the keyword; None for any other message
    (linking and the OA's staff deal with those). The first dossier code in it names the dossier."""
    rest = after_keyword(_KEYWORD, message)
    if rest is None:
        return None
    codes = codes_in(rest)
    text = rest
    if codes:
        text = re.sub(re.escape(codes[0]), " ", rest, count=1, flags=re.IGNORECASE)
    return OaFeedback(codes[0] if codes else None, clean(text))


def answer_due(calendar: WorkingCalendar, received_at: datetime, working_days: int) -> datetime:
    """When an officer must have answered: `working_days` working days counted as a dossier's are."""
    return calendar.due_at(received_at, working_days)
