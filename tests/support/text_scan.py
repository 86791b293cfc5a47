"""What no text a person reads may hold: the code's own identifiers (snake_case words, enum values,
Python's True/False/None) or English error text. Used on every notice and page the tests render."""

from __future__ import annotations

import re
from enum import Enum
from html.parser import HTMLParser

from domain.vocabulary import LABELS

_URL = re.compile(r"https?://\S+|/[a-z0-9\-/?=&.%_]+")
_SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_PYTHON = re.compile(r"\b(?:True|False|None|null|undefined|NaN|nan)\b")
_ENGLISH = re.compile(
    r"\b(?:error|errors|failed|failure|exception|traceback|invalid|not found|pending|unknown|status|"
    r"officer|citizen|department head|agency head|the|is|of|and|to)\b"
)


def _enum_words() -> re.Pattern[str]:
    """Every value of an enum the vocabulary labels, as a whole lowercase word (`fee_due`, `tthc`, `oa`)."""
    values: set[str] = set()
    for enum in LABELS:
        assert issubclass(enum, Enum)
        values |= {
            str(member.value) for member in enum if re.fullmatch(r"[a-z][a-z0-9_\-]*", str(member.value))
        }
    return re.compile(
        r"(?<![\w\-./])(?:" + "|".join(sorted(map(re.escape, values), key=len, reverse=True)) + r")(?![\w\-])"
    )


_ENUM_WORDS = _enum_words()


def raw_identifiers(text: str) -> list[str]:
    """The raw identifiers and English words in `text` (links left out), in order of appearance."""
    text = _URL.sub(" ", text)
    found: list[tuple[int, str]] = []
    for pattern in (_SNAKE, _PYTHON, _ENGLISH, _ENUM_WORDS):
        found += [(m.start(), m.group(0)) for m in pattern.finditer(text)]
    return [word for _, word in sorted(set(found))]


class _Visible(HTMLParser):
    """The text a page shows: element text and the attributes people read (title, alt, labels)."""

    READ_ATTRIBUTES = frozenset({"title", "alt", "aria-label", "placeholder"})

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        self.parts += [value for name, value in attrs if name in self.READ_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return "\n".join(part.strip() for part in parser.parts if part.strip())
