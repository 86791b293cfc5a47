"""What a citizen's message to the Zalo OA asks for, when it is about linking the account to a phone.

Linking proves the phone: the citizen names a dossier (its code) or a phone, a one-time code goes by ZNS
to the phone, and the citizen sends that code back. One message is at most one answer to a code: its
digits must be exactly the code's; a message full of guesses is one wrong answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from domain.codes import codes_in, normalize_phone, without_codes

ONE_TIME_CODE_DIGITS = 6
_DIGITS = re.compile(r"[0-9]+")
# Said without diacritics, in lower case (people type both ways).
_UNLINK = re.compile(r"\b(huy|bo|ngung)\s*(lien\s*ket|lk)\b")
_LINK = re.compile(r"\b(lien\s*ket|lk|dang\s*ky)\b")


class Asks(StrEnum):
    UNLINK = "unlink"  # "hủy liên kết": stop OA notices to this account
    ANSWER = "answer"  # the one-time code (or what is meant as one)
    DOSSIER = "dossier"  # a dossier code: its status, or a one-time code to its phone
    PHONE = "phone"  # a phone number: a one-time code to it
    HOW = "how"  # "liên kết" alone: how to link
    NOTHING = "nothing"  # anything else: for the OA's staff


@dataclass(frozen=True)
class Message:
    asks: Asks
    dossier_code: str | None = None
    phone: str | None = None
    answer: str | None = None  # the digits sent as a one-time code ("" when they cannot be one)


def plain(text: str) -> str:
    """Lower case without Vietnamese diacritics: "Hủy liên kết" → "huy lien ket"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def after_keyword(keyword: re.Pattern[str], message: str) -> str | None:
    """What follows `keyword` (matched on the message's `plain` form, so with or without diacritics) at the
    start of an OA message, as written; None when the message does not start with it."""
    found = keyword.match(plain(message))
    if found is None:
        return None
    # `plain` keeps one character for each of the message's (NFC) characters: cut the original there.
    return unicodedata.normalize("NFC", message)[found.end() :]


def read_message(text: str) -> Message:
    """What the message asks for. A six-digit answer wins over a dossier code sent with it."""
    words = plain(text)
    if _UNLINK.search(words):
        return Message(Asks.UNLINK)
    codes = codes_in(text)
    rest = without_codes(text)
    digits = "".join(_DIGITS.findall(rest))
    if len(digits) == ONE_TIME_CODE_DIGITS:
        return Message(Asks.ANSWER, dossier_code=codes[0] if codes else None, answer=digits)
    if codes:
        return Message(Asks.DOSSIER, dossier_code=codes[0])
    if 9 <= len(digits) <= 12:
        try:
            return Message(Asks.PHONE, phone=normalize_phone(digits))
        except ValueError:
            pass
    if len(digits) > ONE_TIME_CODE_DIGITS:
        return Message(Asks.ANSWER, answer="")  # many digits at once: one wrong answer, not many guesses
    if _LINK.search(words):
        return Message(Asks.HOW)
    return Message(Asks.NOTHING)
