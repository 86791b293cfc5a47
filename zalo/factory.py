"""One line to get a working Zalo client (token store included) for the worker or the API."""

from __future__ import annotations

from datetime import timedelta

import httpx

from db.engine import SessionFactory
from settings import Settings
from zalo.client import ZaloClient
from zalo.config import zalo_config
from zalo.tokens import ZaloTokenStore


def build_zalo_client(
    session_factory: SessionFactory, settings: Settings, http: httpx.AsyncClient | None = None
) -> ZaloClient:
    """A client for the mode in effect (fake or live); it closes its own httpx client unless given one."""
    config = zalo_config(settings)
    owns_http = http is None
    http = http if http is not None else httpx.AsyncClient(timeout=config.timeout_seconds)
    tokens = ZaloTokenStore(
        session_factory,
        config,
        http,
        refresh_margin=timedelta(seconds=settings.zalo_token_refresh_margin_seconds),
    )
    return ZaloClient(config, http, tokens, owns_http=owns_http)
