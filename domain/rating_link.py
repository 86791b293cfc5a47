"""The one-tap rating link: a token naming the dossier and when the link expires, signed with HMAC.

Pure: the key is passed in (SECRET_KEY, by Settings.rating_url and the rating page). A token is
`<dossier code>.<expiry, unix seconds in base 36>.<signature>`; the signature is the first 128 bits of an
HMAC-SHA256 under the key of `rating-link:<code>:<expiry>` (base64url), so a token cannot be made or
changed without the key, and the codes of other dossiers cannot be rated by guessing. Single use is the
workflow's rule (one rating per dossier), and the window is its timer: this only proves who issued it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.codes import is_dossier_code

TOKEN_MAX = 120  # longer is not ours: refused before any HMAC is computed


@dataclass(frozen=True)
class RatingLink:
    code: str
    expires_at: datetime


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


def _signature(key: bytes, code: str, expiry: str) -> str:
    mac = hmac.new(key, f"rating-link:{code}:{expiry}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def sign(key: bytes, code: str, expires_at: datetime) -> str:
    """The token of the rating link of dossier `code`, good until `expires_at`."""
    expiry = _base36(int(expires_at.timestamp()))
    return f"{code}.{expiry}.{_signature(key, code, expiry)}"


def read(key: bytes, token: str) -> RatingLink | None:
    """The dossier and expiry a token names, when this key signed it; None for anything else (forged,
    altered, malformed). Expiry is the caller's to compare: an expired token is still ours."""
    if not token or len(token) > TOKEN_MAX or token.count(".") < 2:
        return None
    code, expiry, signature = token.rsplit(".", 2)
    if not is_dossier_code(code) or not expiry.isalnum() or len(expiry) > 8:
        return None
    if not hmac.compare_digest(signature, _signature(key, code, expiry)):
        return None
    return RatingLink(code, datetime.fromtimestamp(int(expiry, 36), UTC))
