"""Zalo's error codes, sorted into what the caller should do about them."""

from __future__ import annotations

from enum import StrEnum


class ErrorClass(StrEnum):
    TOKEN = "token"  # noqa: S105 (a class name) — refresh the access token once and try again
    TRANSIENT = "transient"  # try again later with backoff
    NIGHT = "night"  # Zalo refuses to send at night: try again at 06:00
    QUOTA = "quota"  # a daily limit is used up: try again the next day
    PERMANENT = "permanent"  # retrying cannot help: record and move on


TOKEN_CODES = frozenset({-216, -220, -124})
TRANSIENT_CODES = frozenset({-32, -100})
NIGHT_CODES = frozenset({-133, -234})
QUOTA_CODES = frozenset({-144, -147})
PERMANENT_CODES = frozenset(
    {-108, -118, -119, -114, -213, -227, -230, -131, -201, -1121, -1122}
    # ZNS's own codes for a bad template id (-109) or template data (-111 empty, -112 invalid).
    | {-109, -111, -112}
)
KNOWN_CODES = TOKEN_CODES | TRANSIENT_CODES | NIGHT_CODES | QUOTA_CODES | PERMANENT_CODES

# OA codes that only say "this user cannot get OA messages now": the phone (ZNS) may still reach them.
OA_UNREACHABLE_CODES = frozenset({-213, -227, -230})


def classify(code: int) -> ErrorClass:
    """The class of a Zalo `error` code; an unknown code is treated as transient (retries are bounded)."""
    if code in TOKEN_CODES:
        return ErrorClass.TOKEN
    if code in NIGHT_CODES:
        return ErrorClass.NIGHT
    if code in QUOTA_CODES:
        return ErrorClass.QUOTA
    if code in PERMANENT_CODES:
        return ErrorClass.PERMANENT
    if code in TRANSIENT_CODES:
        return ErrorClass.TRANSIENT
    return ErrorClass.TRANSIENT  # unknown: retried, and the retry budget is bounded


class ZaloError(Exception):
    """A call Zalo refused or that did not complete; `code` is Zalo's `error` (None: HTTP or network).

    `maybe_delivered`: the request left us and no answer came back (read timeout, dropped connection),
    so Zalo may have acted on it."""

    def __init__(
        self,
        code: int | None,
        message: str,
        error_class: ErrorClass | None = None,
        *,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message
        self.error_class = error_class or (classify(code) if code is not None else ErrorClass.TRANSIENT)
        self.maybe_delivered = maybe_delivered

    def __str__(self) -> str:
        prefix = f"zalo {self.code}" if self.code is not None else "zalo"
        return f"{prefix} ({self.error_class.value}): {self.message}"
