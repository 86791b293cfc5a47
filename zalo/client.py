"""A thin typed client for the Zalo calls we make: OA consultation text, ZNS template, token grant."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import structlog

from zalo.config import (
    OA_MESSAGE_PATH,
    OA_TEXT_MAX,
    TOKEN_PATH,
    TRACKING_ID_MAX,
    ZNS_MESSAGE_PATH,
    ZaloConfig,
)
from zalo.errors import ErrorClass, ZaloError

log = structlog.get_logger(__name__)

_ZNS_PHONE = re.compile(r"^84[35789][0-9]{8}$")


class TokenSource(Protocol):
    """Hands out a valid access token; `refresh(stale)` replaces `stale` unless someone already did."""

    async def access_token(self) -> str: ...

    async def refresh(self, stale: str | None) -> str: ...


@dataclass(frozen=True)
class OaSent:
    message_id: str


@dataclass(frozen=True)
class ZnsSent:
    msg_id: str
    sent_time: str | None
    daily_quota: int | None
    remaining_quota: int | None


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds


def tracking_id_for(notice_key: str) -> str:
    """A deterministic ZNS tracking id (≤ 48 chars) for a notice key, so receipts find their row."""
    return "n" + hashlib.sha256(notice_key.encode()).hexdigest()[: TRACKING_ID_MAX - 8]


def _error_message(payload: Mapping[str, Any]) -> str:
    for field in ("message", "error_description", "error_reason", "error_name"):
        value = payload.get(field)
        if isinstance(value, str) and value:
            return value
    return "no message"


async def _post(http: httpx.AsyncClient, url: str, timeout_seconds: float, **kwargs: Any) -> dict[str, Any]:
    """POST and return Zalo's JSON body; network trouble, HTTP errors and junk bodies become ZaloError."""
    try:
        response = await http.post(url, timeout=timeout_seconds, **kwargs)
    except httpx.TimeoutException as exc:
        # Connect and pool timeouts happen before anything is sent; read and write timeouts may not.
        sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
        raise ZaloError(
            None, f"timeout: {type(exc).__name__}", ErrorClass.TRANSIENT, maybe_delivered=sent
        ) from exc
    except httpx.TransportError as exc:
        sent = isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError)
        raise ZaloError(
            None, f"network: {type(exc).__name__}", ErrorClass.TRANSIENT, maybe_delivered=sent
        ) from exc
    if response.status_code >= 500 or response.status_code == 429:
        # A gateway's 502 or 504 answers for Zalo behind it, which may have taken the message before the
        # answer was lost: the claim is kept for the lease, so a delivery receipt can still close the row
        # before anything is sent again (docs/reliability.md, the duplicate window).
        maybe = response.status_code in (502, 504)
        raise ZaloError(None, f"HTTP {response.status_code}", ErrorClass.TRANSIENT, maybe_delivered=maybe)
    if response.status_code >= 400:
        raise ZaloError(None, f"HTTP {response.status_code}", ErrorClass.PERMANENT)
    try:
        payload = response.json()
    except ValueError as exc:
        raise ZaloError(None, "answer is not JSON", ErrorClass.TRANSIENT) from exc
    if not isinstance(payload, dict):
        raise ZaloError(None, "answer is not a JSON object", ErrorClass.TRANSIENT)
    return payload


async def exchange_refresh_token(
    http: httpx.AsyncClient, config: ZaloConfig, refresh_token: str
) -> TokenGrant:
    """Trade a (single-use) refresh token for a new access/refresh pair at the v4 OAuth endpoint."""
    payload = await _post(
        http,
        config.oauth_url + TOKEN_PATH,
        config.timeout_seconds,
        data={"refresh_token": refresh_token, "app_id": config.app_id, "grant_type": "refresh_token"},
        headers={"secret_key": config.app_secret},
    )
    access, refresh = payload.get("access_token"), payload.get("refresh_token")
    if not isinstance(access, str) or not isinstance(refresh, str) or not access or not refresh:
        code = payload.get("error")
        # A refused refresh token needs an operator (a new ZALO_REFRESH_TOKEN); until then retry with backoff.
        raise ZaloError(
            code if isinstance(code, int) else None,
            f"token refresh refused: {_error_message(payload)}",
            ErrorClass.TRANSIENT,
        )
    try:
        expires_in = int(payload.get("expires_in", 90000))
    except (TypeError, ValueError):
        expires_in = 90000
    return TokenGrant(access_token=access, refresh_token=refresh, expires_in=expires_in)


class ZaloClient:
    """Sends OA texts and ZNS templates; refreshes the access token once when Zalo says it is bad."""

    def __init__(
        self, config: ZaloConfig, http: httpx.AsyncClient, tokens: TokenSource, *, owns_http: bool = False
    ) -> None:
        self.config = config
        self.http = http
        self.tokens = tokens
        self._owns_http = owns_http

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    async def send_oa_text(self, user_id: str, text: str) -> OaSent:
        """A consultation (CS) text message to a user who follows the OA; text ≤ 2,000 characters."""
        text = unicodedata.normalize("NFC", text)
        if not user_id:
            raise ZaloError(None, "no Zalo user id", ErrorClass.PERMANENT)
        if not text.strip():
            raise ZaloError(None, "empty text", ErrorClass.PERMANENT)
        if len(text) > OA_TEXT_MAX:
            # Refuse rather than cut: the caller decides what a shorter message should say.
            raise ZaloError(
                None, f"text has {len(text)} characters (max {OA_TEXT_MAX})", ErrorClass.PERMANENT
            )
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        data = await self._call(self.config.oa_url + OA_MESSAGE_PATH, body)
        message_id = data.get("message_id")
        if not isinstance(message_id, str) or not message_id:
            raise ZaloError(None, "OA answer without message_id", ErrorClass.TRANSIENT)
        return OaSent(message_id=message_id)

    async def send_zns(
        self, phone: str, template_id: str, template_data: Mapping[str, str], tracking_id: str
    ) -> ZnsSent:
        """A ZNS template message to a phone number (84…); Zalo does not de-duplicate on tracking_id."""
        if not _ZNS_PHONE.match(phone):
            raise ZaloError(None, "phone is not a Vietnamese mobile number in 84… form", ErrorClass.PERMANENT)
        if not template_id:
            raise ZaloError(None, "no ZNS template id", ErrorClass.PERMANENT)
        if not tracking_id or len(tracking_id) > TRACKING_ID_MAX:
            raise ZaloError(
                None, f"tracking_id must have 1–{TRACKING_ID_MAX} characters", ErrorClass.PERMANENT
            )
        body = {
            "phone": phone,
            "template_id": template_id,
            "template_data": dict(template_data),
            "tracking_id": tracking_id,
        }
        data = await self._call(self.config.zns_url + ZNS_MESSAGE_PATH, body)
        msg_id = data.get("msg_id")
        if not isinstance(msg_id, str) or not msg_id:
            raise ZaloError(None, "ZNS answer without msg_id", ErrorClass.TRANSIENT)
        quota = data.get("quota") if isinstance(data.get("quota"), dict) else {}
        assert isinstance(quota, dict)
        return ZnsSent(
            msg_id=msg_id,
            sent_time=str(data["sent_time"]) if data.get("sent_time") is not None else None,
            daily_quota=_int_or_none(quota.get("dailyQuota")),
            remaining_quota=_int_or_none(quota.get("remainingQuota")),
        )

    async def _call(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """One Zalo call with the current token; on a token error, one refresh and one more try."""
        token = await self.tokens.access_token()
        try:
            return await self._call_once(url, body, token)
        except ZaloError as exc:
            if exc.error_class is not ErrorClass.TOKEN:
                raise
            log.info("zalo.token_rejected", code=exc.code)
        # A token error means Zalo did not act on the request, so trying again cannot send twice.
        token = await self.tokens.refresh(stale=token)
        try:
            return await self._call_once(url, body, token)
        except ZaloError as exc:
            if exc.error_class is ErrorClass.TOKEN:
                # Refreshed and still refused: not ours to fix in this attempt; Temporal retries later.
                raise ZaloError(
                    exc.code, f"token refused after refresh: {exc.message}", ErrorClass.TRANSIENT
                ) from exc
            raise

    async def _call_once(self, url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        payload = await _post(
            self.http, url, self.config.timeout_seconds, json=body, headers={"access_token": token}
        )
        code = payload.get("error")
        if not isinstance(code, int):
            raise ZaloError(None, "answer without an error code", ErrorClass.TRANSIENT)
        if code != 0:
            raise ZaloError(code, _error_message(payload))
        data = payload.get("data")
        return data if isinstance(data, dict) else {}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
