"""Zalo OA webhook events: the `X-ZEvent-Signature` check and a typed view of the events we act on."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SIGNATURE_HEADER = "X-ZEvent-Signature"

FOLLOW = "follow"
UNFOLLOW = "unfollow"
USER_SEND_TEXT = "user_send_text"
USER_RECEIVED_MESSAGE = "user_received_message"


def compute_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret: str) -> str:
    """sha256(app_id + raw body + timestamp + OA secret key), hex, as Zalo computes it."""
    return hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret.encode()).hexdigest()


def signature_header(app_id: str, raw_body: bytes, oa_secret: str) -> str:
    """The header value Zalo would send with `raw_body` (used by the fake server and tests)."""
    return "mac=" + compute_signature(app_id, raw_body, _timestamp_of(raw_body) or "", oa_secret)


def _timestamp_of(raw_body: bytes) -> str | None:
    try:
        payload = json.loads(raw_body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict):
        return None
    timestamp = payload.get("timestamp")
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        return None
    return str(timestamp)


def verify_signature(header_value: str | None, app_id: str, raw_body: bytes, oa_secret: str) -> bool:
    """True when the header carries the MAC of this exact body (timestamp taken from the body)."""
    if not header_value or not oa_secret:
        return False
    given = header_value.strip()
    if given.startswith("mac="):
        given = given[len("mac=") :]
    timestamp = _timestamp_of(raw_body)
    if timestamp is None:
        return False
    expected = compute_signature(app_id, raw_body, timestamp, oa_secret)
    return hmac.compare_digest(given.lower().encode(), expected.encode())


@dataclass(frozen=True)
class WebhookEvent:
    """What we read from one event; `user_id` is the Zalo user (follower, sender or recipient)."""

    name: str
    timestamp: datetime | None
    user_id: str | None
    text: str | None
    msg_id: str | None
    msg_ids: tuple[str, ...]
    tracking_id: str | None
    delivery_time: datetime | None

    @property
    def is_delivery_receipt(self) -> bool:
        return self.name == USER_RECEIVED_MESSAGE or self.tracking_id is not None


def _ms_to_datetime(value: Any) -> datetime | None:
    """Zalo sends times as milliseconds since the epoch, as a string or a number."""
    try:
        millis = int(str(value))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        inner = value.get("id")
        return str(inner) if isinstance(inner, str | int) and str(inner) else None
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_event(payload: Mapping[str, Any]) -> WebhookEvent:
    """A typed view of a webhook body; fields an event does not carry are None."""
    name = _str(payload.get("event_name")) or ""
    message = payload.get("message")
    message = message if isinstance(message, Mapping) else {}
    if name in (FOLLOW, UNFOLLOW):
        user_id = _id(payload.get("follower")) or _id(payload.get("sender"))
    elif name == USER_RECEIVED_MESSAGE:
        user_id = _id(payload.get("recipient"))
    else:
        user_id = _id(payload.get("sender"))
    raw_ids = message.get("msg_ids")
    msg_ids = tuple(str(m) for m in raw_ids if isinstance(m, str | int)) if isinstance(raw_ids, list) else ()
    return WebhookEvent(
        name=name,
        timestamp=_ms_to_datetime(payload.get("timestamp")),
        user_id=user_id,
        text=_str(message.get("text")),
        msg_id=_str(message.get("msg_id")),
        msg_ids=msg_ids,
        tracking_id=_str(message.get("tracking_id")),
        delivery_time=_ms_to_datetime(message.get("delivery_time")) if "delivery_time" in message else None,
    )
