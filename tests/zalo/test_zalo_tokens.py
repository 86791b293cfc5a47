"""The token store: one refresher at a time (the refresh token is single use), ahead of expiry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import httpx
import pytest

from db.engine import SessionFactory, make_engine, make_session_factory
from db.models import ZaloToken
from db.zalo_tokens import ZaloTokenStore
from tests.support.zalo import ICT, Clock, make_settings
from zalo.config import FAKE_APP_ID, FAKE_REFRESH_TOKEN, ZaloConfig, zalo_config
from zalo.errors import ZaloError
from zalo.fake_server import FakeZalo, FaultSpec, create_fake_zalo_app

N = 8


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 10, 0, tzinfo=ICT))


@pytest.fixture
def fake(clock: Clock) -> FakeZalo:
    return FakeZalo(clock=clock)


@pytest.fixture
async def http(fake: FakeZalo) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_fake_zalo_app(fake))
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as client:
        yield client


@pytest.fixture
def config() -> ZaloConfig:
    return zalo_config(make_settings(fake_zalo_url="http://fake"))


@pytest.fixture
async def worker_factories(
    database_url: str, session_factory: SessionFactory
) -> AsyncIterator[list[SessionFactory]]:
    """N session factories on N engines: N workers as separate processes would hold them."""
    engines = [make_engine(database_url) for _ in range(N)]
    yield [make_session_factory(engine) for engine in engines]
    for engine in engines:
        await engine.dispose()


def slow_zalo(fake: FakeZalo) -> None:
    """Token answers take 0.2 s, so unguarded refreshers would all be in flight with the same token."""
    fake.add_fault(FaultSpec(target="token", stall_seconds=0.2, seconds=3600))


async def stored(session_factory: SessionFactory) -> ZaloToken:
    async with session_factory() as session:
        row = await session.get(ZaloToken, FAKE_APP_ID)
    assert row is not None
    return row


async def test_first_use_trades_the_settings_refresh_token_and_stores_the_pair(
    session_factory: SessionFactory, http: httpx.AsyncClient, fake: FakeZalo, config: ZaloConfig, clock: Clock
) -> None:
    store = ZaloTokenStore(session_factory, config, http, clock=clock)

    token = await store.access_token()

    row = await stored(session_factory)
    assert row.access_token == token
    assert row.refresh_token == fake.refresh_token != FAKE_REFRESH_TOKEN
    assert row.access_expires_at == clock.now + timedelta(hours=25)
    assert row.refresh_count == 1
    assert await store.access_token() == token
    assert fake.token_grants == 1


async def test_refreshes_ahead_of_expiry_not_before(
    session_factory: SessionFactory, http: httpx.AsyncClient, fake: FakeZalo, config: ZaloConfig, clock: Clock
) -> None:
    store = ZaloTokenStore(session_factory, config, http, clock=clock, refresh_margin=timedelta(hours=1))
    first = await store.access_token()

    clock.advance(hours=23, minutes=59)
    assert await store.access_token() == first
    clock.advance(minutes=2)  # less than an hour left of the 25
    second = await store.access_token()

    assert second != first
    assert fake.token_grants == 2
    assert (await stored(session_factory)).refresh_count == 2


async def test_concurrent_first_use_spends_the_refresh_token_once(
    worker_factories: list[SessionFactory], http: httpx.AsyncClient, fake: FakeZalo, config: ZaloConfig
) -> None:
    stores = [ZaloTokenStore(factory, config, http, clock=fake.clock) for factory in worker_factories]
    slow_zalo(fake)

    tokens = await asyncio.gather(*(store.access_token() for store in stores))

    assert len(set(tokens)) == 1
    assert fake.token_grants == 1
    assert [c["error"] for c in fake.calls] == [0]


async def test_concurrent_refresh_of_a_rejected_token_spends_the_refresh_token_once(
    worker_factories: list[SessionFactory], http: httpx.AsyncClient, fake: FakeZalo, config: ZaloConfig
) -> None:
    stores = [ZaloTokenStore(factory, config, http, clock=fake.clock) for factory in worker_factories]
    old = await stores[0].access_token()
    fake.expire_access_tokens()  # every worker's calls now fail with a token error at once
    slow_zalo(fake)

    tokens = await asyncio.gather(*(store.refresh(stale=old) for store in stores))

    assert len(set(tokens)) == 1
    assert tokens[0] != old
    assert fake.token_grants == 2
    assert [c["error"] for c in fake.calls] == [0, 0]  # no reused (refused) refresh token
    row = await stored(worker_factories[0])
    assert (row.access_token, row.refresh_count) == (tokens[0], 2)


async def test_a_refresh_that_fails_changes_nothing(
    session_factory: SessionFactory, http: httpx.AsyncClient, fake: FakeZalo, config: ZaloConfig
) -> None:
    store = ZaloTokenStore(session_factory, config, http, clock=fake.clock)
    old = await store.access_token()
    before = await stored(session_factory)
    fake.add_fault(FaultSpec(target="token", http_status=502))

    with pytest.raises(ZaloError):
        await store.refresh(stale=old)

    after = await stored(session_factory)
    assert (after.access_token, after.refresh_token) == (before.access_token, before.refresh_token)
    assert await store.refresh(stale=old) != old  # the stored refresh token is still good


async def test_a_new_refresh_token_in_settings_revives_a_dead_pair(
    session_factory: SessionFactory, http: httpx.AsyncClient, fake: FakeZalo, config: ZaloConfig
) -> None:
    store = ZaloTokenStore(session_factory, config, http, clock=fake.clock)
    old = await store.access_token()
    # The stored refresh token dies (revoked in the Zalo console); the operator sets a new one.
    fake.refresh_token = "operator-issued-refresh-token"
    revived = ZaloTokenStore(
        session_factory,
        zalo_config(
            make_settings(fake_zalo_url="http://fake", zalo_refresh_token="operator-issued-refresh-token")
        ),
        http,
        clock=fake.clock,
    )

    with pytest.raises(ZaloError, match="token refresh refused"):
        await store.refresh(stale=old)  # the old settings token is no help
    token = await revived.refresh(stale=old)

    assert token != old
    assert (await stored(session_factory)).access_token == token
    assert [c["error"] for c in fake.calls] == [0, -14014, -14014, 0]
