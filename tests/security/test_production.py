"""Production fails closed: no fake Zalo, no placeholder webhook secret, no default environment, no stale
webhook event, and the Zalo OA's tokens are encrypted in the database with the payload keys.

The attacks: a deployment that forgot APP_ENV (or copied ZALO_MODE=fake, or the sample OA secret) runs
open (local mode opens the codec to anyone and makes a `*` API key; the fake Zalo swallows every notice;
a known secret lets anyone sign webhook events); a captured signed Zalo event replayed an hour later is
obeyed; a copy of the app's database (a backup, a read-only replica) hands over the OA's refresh token,
which sends messages as the province.
"""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError
from sqlalchemy import text

from api.routes.zalo import router
from db.engine import SessionFactory
from db.zalo_tokens import zalo_client
from settings import Settings
from tests.support.zalo import Harness, add_dossier, make_settings, zalo_harness
from zalo.config import FAKE_APP_ID, FAKE_OA_SECRET
from zalo.webhook import signature_header

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql+psycopg://tracker:s3cret-pg@db:5432/tracker"
KEY = "k1:" + base64.b64encode(os.urandom(32)).decode()
GOOD = {
    "app_env": "production",
    "database_url": PG,
    "secret_key": "s" * 48,
    "payment_secret": "p" * 40,
    "payload_keys": KEY,
    "zalo_app_id": "1234567890",
    "zalo_app_secret": "a" * 24,
    "zalo_oa_secret": "o" * 24,
    "zalo_refresh_token": "r" * 40,
}


def production(**changes: Any) -> Settings:
    return Settings(_env_file=None, **(GOOD | changes))  # type: ignore[arg-type]


def test_the_good_production_settings_start() -> None:
    assert production().effective_zalo_mode == "live"


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"zalo_mode": "fake"}, "ZALO_MODE=fake"),
        ({"zalo_oa_secret": "change-me"}, "ZALO_OA_SECRET"),
        ({"zalo_oa_secret": FAKE_OA_SECRET}, "ZALO_OA_SECRET"),
        ({"zalo_app_secret": "change-me"}, "ZALO_APP_SECRET"),
        ({"payment_secret": "change-me"}, "PAYMENT_SECRET"),
        ({"payment_secret": "change-me-please"}, "PAYMENT_SECRET"),
    ],
)
def test_production_refuses_the_fake_zalo_and_placeholder_webhook_secrets(
    change: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError, match=re.escape(named)):
        production(**change)


def test_there_is_no_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without APP_ENV the process does not start (it used to start in local mode)."""
    monkeypatch.delenv("APP_ENV", raising=False)
    with pytest.raises(ValidationError, match="app_env"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_the_image_and_compose_say_production() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^\s+APP_ENV=production \\$", dockerfile, re.MULTILINE)
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "APP_ENV: production" in compose
    assert "APP_ENV: ${" not in compose  # no way for an unset variable to pick another environment


# ---------------------------------------------------------------- stale webhook events


@pytest.fixture
async def webhook(session_factory: SessionFactory) -> AsyncIterator[tuple[httpx.AsyncClient, Harness]]:
    async with zalo_harness(session_factory) as h:
        await add_dossier(session_factory)
        app = FastAPI()
        app.include_router(router)
        app.state.settings = h.settings
        app.state.session_factory = session_factory
        app.state.zalo = h.zalo
        app.state.clock = h.clock
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield http, h


async def post_follow(http: httpx.AsyncClient, h: Harness, age: timedelta) -> httpx.Response:
    """A follow event signed exactly as Zalo (and the fake Zalo) signs it, sent `age` after it happened."""
    event = {
        "app_id": FAKE_APP_ID,
        "event_name": "follow",
        "timestamp": str(int((h.clock.now - age).timestamp() * 1000)),
        "follower": {"id": "2512000000000000001"},
    }
    body = json.dumps(event).encode()
    headers = {
        "Content-Type": "application/json",
        "X-ZEvent-Signature": signature_header(FAKE_APP_ID, body, FAKE_OA_SECRET),
    }
    return await http.post("/webhooks/zalo", content=body, headers=headers)


async def test_a_replayed_old_event_is_refused(
    webhook: tuple[httpx.AsyncClient, Harness], session_factory: SessionFactory
) -> None:
    http, h = webhook
    old = await post_follow(http, h, timedelta(hours=1))
    future = await post_follow(http, h, -timedelta(hours=1))
    fresh = await post_follow(http, h, timedelta(seconds=5))

    print("signed follow, 1 h old →", old.status_code, old.text)
    for refused in (old, future):
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        assert "fresh" in refused.json()["detail"]
    assert fresh.json() == {"status": "ok"}
    async with session_factory() as session:
        users = (await session.exec(text("SELECT count(*) FROM zalo_users"))).scalar()
    assert users == 1  # the fresh one only


# ---------------------------------------------------------------- tokens at rest


async def test_zalo_tokens_are_encrypted_at_rest(session_factory: SessionFactory) -> None:
    settings = make_settings(payload_keys=KEY)
    async with zalo_harness(session_factory, settings=settings) as h:
        access = await zalo_client(session_factory, settings, h.http).tokens.access_token()
        async with session_factory() as session:
            [row] = (await session.exec(text("SELECT access_token, refresh_token FROM zalo_tokens"))).all()
        stored = " ".join(row)
        print("zalo_tokens row:", stored[:120])
        assert access not in stored
        assert h.fake.refresh_token not in stored
        # Another process with the same keys reads them back, without asking Zalo for new ones.
        grants = h.fake.token_grants
        assert await zalo_client(session_factory, settings, h.http).tokens.access_token() == access
        assert h.fake.token_grants == grants
