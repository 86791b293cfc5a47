"""Fixtures the security tests share: the stack with payload encryption on, and the compose model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from db.clients import create_client
from db.engine import SessionFactory
from server import create_app
from settings import Settings
from tests.e2e.test_deploy import compose, resolved  # noqa: F401  (the compose model, as fixtures here too)
from tests.support.encryption import UI_ORIGIN, Encrypted, new_key, with_keys
from worker import build_worker
from workflows.client import data_converter


@pytest.fixture
async def encrypted(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> AsyncIterator[Encrypted]:
    """API and worker with two payload keys (k2 active), on the test's database and task queue."""
    secure = with_keys(settings, {"k1": new_key(), "k2": new_key()}, "k2", codec_cors_origins=[UI_ORIGIN])
    service = workflow_env.client.service_client
    client = Client(service, namespace=workflow_env.client.namespace, data_converter=data_converter(secure))
    plain = Client(service, namespace=workflow_env.client.namespace, data_converter=DataConverter.default)
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    app = create_app(secure, temporal=client, session_factory=session_factory)
    async with (
        build_worker(client, secure, session_factory, fake_zalo),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api.test",
            headers={"Authorization": f"Bearer {key}"},
        ) as api,
    ):
        yield Encrypted(secure, client, plain, api)
