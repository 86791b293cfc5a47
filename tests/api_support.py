"""What the machine-API tests share: the app on the test's database and Temporal, keys, request bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from temporalio.testing import WorkflowEnvironment

from api.clients import create_client
from api.main import create_app
from db.engine import SessionFactory
from db.models import Dossier
from settings import Settings
from tests.builders import Moments, new_code


@dataclass(frozen=True)
class Keys:
    """API keys of three clients: all agencies (an administrator), H21.65 only, H22.01 only."""

    admin: str
    h21: str
    h22: str


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


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


def registration(
    code: str | None = None, received_at: datetime | None = None, **changes: Any
) -> dict[str, Any]:
    """A registration body as the TTHC system sends it."""
    code = code or new_code()
    body: dict[str, Any] = {
        "code": code,
        "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
        "agency_code": code.split("-")[0],
        "applicant": {"name": "Nguyễn Văn A", "phone": "0905 123 456", "zalo_user_id": None},
        "received_at": (received_at or Moments()(0)).isoformat(),
        "channel": "online",
    }
    body.update(changes)
    return body


def dossier_row(
    code: str, *, status: str = "received", due_at: datetime | None = None, **fields: Any
) -> Dossier:
    """A projected dossier as the workflow would have left it (for tests that only read the database)."""
    values: dict[str, Any] = {
        "code": code,
        "agency_code": code.split("-")[0],
        "procedure_code": "1.001234",
        "procedure_name": "Cấp giấy phép xây dựng",
        "working_days": 15,
        "channel": "online",
        "applicant_name": "Nguyễn Văn A",
        "applicant_phone": "84905123456",
        "received_at": datetime(2026, 11, 23, 2, 15, tzinfo=UTC),
        "fingerprint": "0" * 64,
        "status": status,
        "due_at": due_at,
    }
    values.update(fields)
    return Dossier(**values)
