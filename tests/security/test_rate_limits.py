"""Rate limits that hold behind the reverse proxy, across replicas and under parallel requests, and that
slow guessing down instead of locking a citizen's code for everyone.

The attacks: guess a dossier's 4 phone digits (or an officer's password) faster than the limits allow by
sending the guesses in parallel (each request checked the limit, awaited the database, and only then
counted), by alternating between API replicas (each counted in its own memory), or by being one of the
citizens behind the province's proxy (everybody shared the proxy's address: one guesser locked all of
them out); and lock the real citizen out of their own dossier by failing on its code on purpose.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from db.engine import SessionFactory
from server import create_app
from settings import Settings
from tests.support.pages import PASSWORD, hidden, seed_dossier, seed_officer
from tests.support.zalo import Clock

PROXY = "10.0.0.2"  # the province's reverse proxy, as the API sees it
DIGITS = "3456"  # the seeded dossiers' phone ends so


def behind_proxy(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"trusted_proxies": [PROXY], **changes})


def browser(app: FastAPI, forwarded_for: str | None = None, peer: str = PROXY) -> httpx.AsyncClient:
    """A citizen's browser: through the proxy (which names the citizen in X-Forwarded-For), or direct."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="https://pages.test", headers=headers)


async def lookup(client: httpx.AsyncClient, code: str, digits: str) -> httpx.Response:
    return await client.get("/tra-cuu", params={"code": code, "phone_last4": digits})


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC))


async def test_one_guesser_behind_the_proxy_does_not_lock_out_the_other_citizens(
    settings: Settings, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(session_factory)
    other_codes = [await seed_dossier(session_factory) for _ in range(3)]
    app = create_app(behind_proxy(settings), session_factory=session_factory)
    async with browser(app, "198.51.100.66") as guesser:
        answers = [await lookup(guesser, other_codes[n % 3], f"{n:04d}") for n in range(12)]
    assert answers[-1].status_code == 429  # the guesser is slowed down…
    async with browser(app, "198.51.100.7") as citizen:
        mine = await lookup(citizen, code, DIGITS)
    print("citizen behind the same proxy, after a guesser →", mine.status_code)
    assert mine.status_code == 200  # …the citizen next to them is not


async def test_a_client_cannot_name_its_own_address(
    settings: Settings, session_factory: SessionFactory
) -> None:
    """X-Forwarded-For from anyone but the trusted proxy is ignored: rotating it gains nothing."""
    code = await seed_dossier(session_factory)
    app = create_app(behind_proxy(settings), session_factory=session_factory)
    statuses = []
    for n in range(12):
        async with browser(app, f"192.0.2.{n}", peer="203.0.113.9") as spoofer:
            statuses.append((await lookup(spoofer, code, f"{n:04d}")).status_code)
    assert statuses[:10] == [404] * 10
    assert statuses[10:] == [429, 429]


async def test_replicas_share_one_count(settings: Settings, session_factory: SessionFactory) -> None:
    """Two API processes on one database: alternating between them does not double the budget."""
    code = await seed_dossier(session_factory)
    replicas = [create_app(settings, session_factory=session_factory) for _ in range(2)]
    statuses = []
    for n in range(20):
        async with browser(replicas[n % 2], peer="198.51.100.9") as guesser:
            statuses.append((await lookup(guesser, code, f"{n:04d}")).status_code)
    print("failures answered before 429, over two replicas:", statuses.count(404))
    assert statuses.count(404) == settings.lookup_max_failures_per_address


async def test_parallel_guesses_cannot_all_pass_the_limit(
    settings: Settings, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(session_factory)
    app = create_app(settings, session_factory=session_factory)
    async with browser(app, peer="198.51.100.10") as guesser:
        answers = await asyncio.gather(*(lookup(guesser, code, f"{n:04d}") for n in range(30)))
    statuses = [a.status_code for a in answers]
    print("30 parallel wrong lookups →", {s: statuses.count(s) for s in set(statuses)})
    assert statuses.count(404) <= settings.lookup_max_failures_per_address
    assert statuses.count(429) >= 30 - settings.lookup_max_failures_per_address


@pytest.fixture
async def desk_app(settings: Settings, session_factory: SessionFactory) -> FastAPI:
    await seed_officer(session_factory)
    return create_app(settings, session_factory=session_factory)


async def test_parallel_wrong_passwords_cannot_all_be_tried(desk_app: FastAPI, settings: Settings) -> None:
    async with browser(desk_app, peer="198.51.100.11") as guesser:
        form = await guesser.get("/can-bo/dang-nhap")
        token = hidden(form.text, "csrf_token")

        async def guess(n: int) -> int:
            data = {"username": "lan.nt", "password": f"doan-sai-{n:04d}", "csrf_token": token}
            return (await guesser.post("/can-bo/dang-nhap", data=data)).status_code

        statuses = await asyncio.gather(*(guess(n) for n in range(25)))
    print("25 parallel wrong passwords →", {s: statuses.count(s) for s in set(statuses)})
    assert statuses.count(401) <= settings.login_max_failures
    assert statuses.count(429) >= 25 - settings.login_max_failures


async def test_failures_on_a_code_slow_it_down_and_never_lock_its_citizen_out(
    settings: Settings, session_factory: SessionFactory, clock: Clock
) -> None:
    code = await seed_dossier(session_factory)
    app = create_app(behind_proxy(settings), session_factory=session_factory)
    app.state.clock = clock
    for n in range(20):  # twenty addresses, one wrong guess each
        async with browser(app, f"192.0.2.{n + 1}") as guesser:
            await lookup(guesser, code, f"{n:04d}")
    async with browser(app, "198.51.100.20") as citizen:
        held = await lookup(citizen, code, DIGITS)
        wait = int(held.headers["retry-after"])
        print("the citizen's own lookup after 20 guesses elsewhere →", held.status_code, "Retry-After", wait)
        assert held.status_code == 429
        assert wait <= settings.shared_key_ceiling_seconds  # slowed, not locked for the whole window
        clock.advance(seconds=wait)
        assert (await lookup(citizen, code, DIGITS)).status_code == 200
    # The citizen took back only their own attempt: a guesser still waits, longer after each miss.
    waits = []
    async with browser(app, "192.0.2.200") as guesser:
        for n in range(3):
            held = await lookup(guesser, code, f"{n:04d}")
            assert held.status_code == 429
            waits.append(int(held.headers["retry-after"]))
            clock.advance(seconds=waits[-1])
            assert (await lookup(guesser, code, f"{n + 1:04d}")).status_code == 404
    assert waits[0] < waits[1] < waits[2] <= settings.shared_key_ceiling_seconds


async def test_a_failed_login_slows_the_user_name_down_briefly(
    desk_app: FastAPI, settings: Settings, clock: Clock
) -> None:
    """An attacker failing on an officer's name from many addresses delays that officer, at most briefly."""
    desk_app.state.clock = clock
    for n in range(settings.login_max_failures + 2):
        async with browser(desk_app, peer=f"192.0.2.{n + 1}") as guesser:
            form = await guesser.get("/can-bo/dang-nhap")
            data = {"username": "lan.nt", "password": "sai", "csrf_token": hidden(form.text, "csrf_token")}
            await guesser.post("/can-bo/dang-nhap", data=data)
    async with browser(desk_app, peer="198.51.100.30") as officer:
        form = await officer.get("/can-bo/dang-nhap")
        data = {"username": "lan.nt", "password": PASSWORD, "csrf_token": hidden(form.text, "csrf_token")}
        held = await officer.post("/can-bo/dang-nhap", data=data)
        assert held.status_code == 429
        assert int(held.headers["retry-after"]) <= settings.shared_key_ceiling_seconds
        clock.advance(seconds=int(held.headers["retry-after"]) + 1)
        form = await officer.get("/can-bo/dang-nhap")
        data["csrf_token"] = hidden(form.text, "csrf_token")
        assert (await officer.post("/can-bo/dang-nhap", data=data)).status_code == 303
    assert clock.now - datetime.now(UTC) < timedelta(seconds=settings.shared_key_ceiling_seconds + 60)
