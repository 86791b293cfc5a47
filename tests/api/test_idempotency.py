"""`Idempotency-Key`: replay, another body, concurrency, what is not stored, expiry; on a tiny app whose
routes the test controls, then on the real API with a worker."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Response
from pydantic import BaseModel
from sqlmodel import col, func, select, update

from api.idempotency import IdempotencyMiddleware
from api.problems import install_problem_handlers
from db.engine import SessionFactory
from db.models import DossierEvent, IdempotencyKey
from db.types import utcnow
from settings import Settings
from tests.support.api import Keys, bearer, registration
from tests.support.builders import Moments


class Thing(BaseModel):
    name: str


class Probe:
    """Routes whose behaviour the test steers, counting how often each really ran."""

    def __init__(self) -> None:
        self.runs: dict[str, int] = {}
        self.entered = asyncio.Event()
        self.entries = 0
        self.release = asyncio.Event()
        self.fail_next = 0

    def ran(self, name: str) -> int:
        self.runs[name] = self.runs.get(name, 0) + 1
        return self.runs[name]


@pytest.fixture
async def probe(
    settings: Settings, session_factory: SessionFactory
) -> AsyncIterator[tuple[httpx.AsyncClient, Probe]]:
    probe = Probe()
    app = FastAPI()
    app.state.settings = settings
    app.state.session_factory = session_factory
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware)

    @app.post("/api/things", status_code=201)
    async def create_thing(thing: Thing, response: Response) -> dict[str, Any]:
        n = probe.ran("things")
        response.headers["Location"] = f"/api/things/{n}"
        return {"n": n, "name": thing.name}

    @app.post("/api/slow")
    async def slow() -> dict[str, int]:
        probe.entries += 1
        probe.entered.set()
        await probe.release.wait()
        return {"n": probe.ran("slow")}

    @app.post("/api/flaky")
    async def flaky(response: Response) -> dict[str, int]:
        n = probe.ran("flaky")
        if probe.fail_next:
            probe.fail_next -= 1
            response.status_code = 503
        return {"n": n}

    @app.post("/api/boom")
    async def boom() -> None:
        probe.ran("boom")
        raise RuntimeError("boom")

    @app.get("/api/things")
    async def read_things() -> dict[str, int]:
        return {"n": probe.ran("read")}

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe.test") as client:
        yield client, probe


def with_key(key: str, api_key: str) -> dict[str, str]:
    return {**bearer(api_key), "Idempotency-Key": key}


async def stored_keys(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return (await session.exec(select(func.count()).select_from(IdempotencyKey))).one()


async def test_the_same_request_again_replays_the_first_answer(
    probe: tuple[httpx.AsyncClient, Probe], keys: Keys
) -> None:
    http, p = probe
    first = await http.post("/api/things", json={"name": "a"}, headers=with_key("k-1", keys.h21))
    assert first.status_code == 201
    assert first.json() == {"n": 1, "name": "a"}
    assert "idempotent-replayed" not in first.headers

    # Same body in another key order and spacing: the same request.
    again = await http.post(
        "/api/things",
        content=b'{ "name" :  "a" }',
        headers={**with_key("k-1", keys.h21), "Content-Type": "application/json"},
    )
    assert again.status_code == 201
    assert again.json() == {"n": 1, "name": "a"}
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == "/api/things/1"
    assert again.headers["content-type"] == "application/json"
    assert p.runs["things"] == 1

    fresh = await http.post("/api/things", json={"name": "a"}, headers=with_key("k-2", keys.h21))
    assert fresh.json()["n"] == 2
    without = await http.post("/api/things", json={"name": "a"}, headers=bearer(keys.h21))
    assert without.json()["n"] == 3
    assert p.runs["things"] == 3


async def test_the_same_key_for_another_request_is_422(
    probe: tuple[httpx.AsyncClient, Probe], keys: Keys
) -> None:
    http, p = probe
    await http.post("/api/things", json={"name": "a"}, headers=with_key("k-1", keys.h21))
    other_body = await http.post("/api/things", json={"name": "b"}, headers=with_key("k-1", keys.h21))
    assert other_body.status_code == 422
    assert other_body.headers["content-type"] == "application/problem+json"
    assert other_body.json()["type"] == "urn:dossier-tracker:problem:idempotency-key-reused"
    other_path = await http.post("/api/flaky", json={"name": "a"}, headers=with_key("k-1", keys.h21))
    assert other_path.status_code == 422
    assert p.runs == {"things": 1}


async def test_keys_belong_to_one_client(probe: tuple[httpx.AsyncClient, Probe], keys: Keys) -> None:
    http, _ = probe
    ours = await http.post("/api/things", json={"name": "a"}, headers=with_key("k-1", keys.h21))
    theirs = await http.post("/api/things", json={"name": "b"}, headers=with_key("k-1", keys.h22))
    assert (ours.json()["n"], theirs.json()["n"]) == (1, 2)
    assert "idempotent-replayed" not in theirs.headers


async def test_a_request_still_running_makes_the_second_wait_with_409(
    probe: tuple[httpx.AsyncClient, Probe], keys: Keys
) -> None:
    http, p = probe
    first = asyncio.create_task(http.post("/api/slow", headers=with_key("k-slow", keys.h21)))
    await asyncio.wait_for(p.entered.wait(), 5)
    second = await http.post("/api/slow", headers=with_key("k-slow", keys.h21))
    assert second.status_code == 409
    assert second.json()["type"] == "urn:dossier-tracker:problem:idempotency-key-in-progress"
    assert second.headers["retry-after"] == "1"
    p.release.set()
    assert (await first).json() == {"n": 1}
    third = await http.post("/api/slow", headers=with_key("k-slow", keys.h21))
    assert third.json() == {"n": 1}
    assert third.headers["idempotent-replayed"] == "true"
    assert p.runs["slow"] == 1


async def test_a_long_running_request_keeps_its_claim_past_the_pending_timeout(
    probe: tuple[httpx.AsyncClient, Probe], keys: Keys, settings: Settings
) -> None:
    """The claim of a request still running is refreshed, so it is not taken over however long the request
    takes; only a claim nobody refreshes (its process died) is (test_a_dead_claim…, below)."""
    http, p = probe
    settings.idempotency_pending_timeout_seconds = 0.6  # refreshed every 0.2 s
    first = asyncio.create_task(http.post("/api/slow", headers=with_key("k-long", keys.h21)))
    await asyncio.wait_for(p.entered.wait(), 5)
    await asyncio.sleep(1.5)  # well past the pending timeout
    # Taken over, it would run the route again (and wait with the first): bounded, it fails instead.
    second = await asyncio.wait_for(http.post("/api/slow", headers=with_key("k-long", keys.h21)), 5)
    assert second.status_code == 409
    assert p.entries == 1
    p.release.set()
    assert (await first).json() == {"n": 1}


async def test_answers_that_say_try_again_are_not_kept(
    probe: tuple[httpx.AsyncClient, Probe], keys: Keys, session_factory: SessionFactory
) -> None:
    http, p = probe
    p.fail_next = 1
    unavailable = await http.post("/api/flaky", headers=with_key("k-f", keys.h21))
    assert unavailable.status_code == 503
    retried = await http.post("/api/flaky", headers=with_key("k-f", keys.h21))
    assert (retried.status_code, retried.json()) == (200, {"n": 2})
    assert (await http.post("/api/flaky", headers=with_key("k-f", keys.h21))).json() == {"n": 2}

    crashed = await http.post("/api/boom", headers=with_key("k-b", keys.h21))
    assert crashed.status_code == 500
    assert (await http.post("/api/boom", headers=with_key("k-b", keys.h21))).status_code == 500
    assert p.runs["boom"] == 2  # the key was freed after the crash, so the retry ran

    invalid = await http.post("/api/things", json={"nom": "a"}, headers=with_key("k-v", keys.h21))
    assert invalid.status_code == 422
    assert invalid.json()["type"] == "urn:dossier-tracker:problem:invalid-request"
    fixed = await http.post("/api/things", json={"name": "a"}, headers=with_key("k-v", keys.h21))
    assert fixed.status_code == 201
    assert await stored_keys(session_factory) == 2  # k-f and k-v; k-b was freed


@pytest.mark.parametrize("key", ["", "a" * 256, "with space", "ключ".encode()])
async def test_malformed_keys_are_422(
    probe: tuple[httpx.AsyncClient, Probe], keys: Keys, key: str | bytes
) -> None:
    http, p = probe
    response = await http.post(
        "/api/things", json={"name": "a"}, headers={**bearer(keys.h21), "Idempotency-Key": key}
    )
    assert response.status_code == 422
    assert response.json()["type"] == "urn:dossier-tracker:problem:invalid-idempotency-key"
    assert p.runs == {}


async def test_requests_without_a_valid_api_key_and_reads_pass_through(
    probe: tuple[httpx.AsyncClient, Probe], session_factory: SessionFactory, keys: Keys
) -> None:
    http, p = probe
    await http.post("/api/things", json={"name": "a"}, headers={"Idempotency-Key": "k"})
    await http.post("/api/things", json={"name": "a"}, headers=with_key("k", "not-a-key"))
    await http.get("/api/things", headers=with_key("k", keys.h21))
    await http.get("/api/things", headers=with_key("k", keys.h21))
    assert p.runs == {"things": 2, "read": 2}
    assert await stored_keys(session_factory) == 0


async def test_expired_keys_and_abandoned_claims_are_taken_again(
    probe: tuple[httpx.AsyncClient, Probe], session_factory: SessionFactory, keys: Keys, settings: Settings
) -> None:
    http, p = probe
    await http.post("/api/things", json={"name": "a"}, headers=with_key("k-old", keys.h21))
    async with session_factory() as session:
        row = (await session.exec(select(IdempotencyKey).where(IdempotencyKey.key == "k-old"))).one()
        assert row.expires_at - row.created_at == timedelta(hours=settings.idempotency_key_ttl_hours)
        await session.exec(
            update(IdempotencyKey)
            .where(col(IdempotencyKey.key) == "k-old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    expired = await http.post("/api/things", json={"name": "new"}, headers=with_key("k-old", keys.h21))
    assert (expired.status_code, expired.json()["n"]) == (201, 2)

    # A claim whose request died long ago (no answer stored): the next request may take it over.
    first = asyncio.create_task(http.post("/api/slow", headers=with_key("k-dead", keys.h21)))
    await asyncio.wait_for(p.entered.wait(), 5)
    assert (await http.post("/api/slow", headers=with_key("k-dead", keys.h21))).status_code == 409
    async with session_factory() as session:
        stale = utcnow() - timedelta(seconds=settings.idempotency_pending_timeout_seconds + 1)
        await session.exec(
            update(IdempotencyKey).where(col(IdempotencyKey.key) == "k-dead").values(locked_at=stale)
        )
        await session.commit()
    takeover = asyncio.create_task(http.post("/api/slow", headers=with_key("k-dead", keys.h21)))
    for _ in range(100):
        if p.entries == 2:
            break
        await asyncio.sleep(0.02)
    assert p.entries == 2  # the route runs again instead of answering 409
    p.release.set()
    assert (await takeover).status_code == 200
    assert (await first).status_code == 200
    assert p.runs["slow"] == 2


# ---------------------------------------------------------------- on the real API, with a worker


@pytest.mark.usefixtures("worker")
async def test_dossier_posts_replay_their_first_answer(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    t = Moments()
    body = registration(received_at=t(0))
    created = await http.post("/api/v1/dossiers", json=body, headers=with_key("reg-1", keys.h21))
    assert created.status_code == 201, created.text
    replayed = await http.post("/api/v1/dossiers", json=body, headers=with_key("reg-1", keys.h21))
    assert replayed.status_code == 201
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == created.json()
    other = await http.post(
        "/api/v1/dossiers", json=registration(received_at=t(0)), headers=with_key("reg-1", keys.h21)
    )
    assert other.status_code == 422
    assert other.json()["type"] == "urn:dossier-tracker:problem:idempotency-key-reused"

    base = f"/api/v1/dossiers/{body['code']}"
    ask = {"event_id": "e-1", "at": t(1).isoformat(), "items": ["Bản vẽ"]}
    asked = await http.post(f"{base}/supplement-request", json=ask, headers=with_key("ask-1", keys.h21))
    assert asked.json()["status"] == "supplement_required"
    back = await http.post(
        f"{base}/supplement", json={"event_id": "e-2", "at": t(2).isoformat()}, headers=bearer(keys.h21)
    )
    assert back.json()["status"] == "received"
    # The retry gets the answer the first call got, not the state of now.
    retried = await http.post(f"{base}/supplement-request", json=ask, headers=with_key("ask-1", keys.h21))
    assert retried.headers["idempotent-replayed"] == "true"
    assert retried.json() == asked.json()

    # Two identical calls at once with one key: one runs, the other waits its turn (409) or replays.
    fee = {"event_id": "e-3", "at": t(3).isoformat(), "items": [{"name": "Lệ phí", "amount_vnd": 500000}]}
    answers = await asyncio.gather(
        *(http.post(f"{base}/fee", json=fee, headers=with_key("fee-1", keys.h21)) for _ in range(3))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 200
    assert set(statuses) <= {200, 409}
    ran = [a for a in answers if a.status_code == 200 and "idempotent-replayed" not in a.headers]
    assert len(ran) == 1
    async with session_factory() as session:
        events = await session.exec(select(DossierEvent).where(DossierEvent.event_id == "e-3"))
        assert len(events.all()) == 1
    assert json.loads(ran[0].text)["status"] == "fee_due"
