"""Schemathesis over our OpenAPI document, in process, against the real app and a real worker.

For every operation of the machine API, the webhooks and the probes, Hypothesis generates valid and
invalid requests from the schema; each answer must not be a 5xx and must match the document: a declared
status, the declared content type, a body of the declared schema, the declared headers. Transitions get
real dossiers to act on (some cases are pointed at seeded dossiers, some at times in the past), so the
workflow paths run too, not only validation.

The app runs on an event loop of its own in a thread (the Hypothesis test body is synchronous), with its
own engine, Temporal client (to the session's dev server) and worker. Bounded: a few examples per
operation, derandomized so CI is repeatable; FUZZ_EXAMPLES raises the count for a longer local run.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import uuid
import zlib
from collections import Counter
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.clients import create_client
from db.engine import async_url, make_engine, make_session_factory
from domain.codes import is_dossier_code
from domain.dvcqg import format_portal_time
from server import create_app
from settings import Settings
from tests.conftest import DB_BACKENDS, FAKE_ZALO_URL, OFFICERS, TEST_DATABASE_URL
from tests.support.builders import Moments
from worker import build_worker
from zalo.fake_server import create_fake_zalo_app

T = TypeVar("T")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
# The HTML pages have their own tests; this covers the JSON API, the webhooks and the probes.
PATHS = r"^/(api/|webhooks/|healthz|readyz)"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


def _schema() -> Any:
    app = create_app(Settings(_env_file=None, zalo_mode="fake"))  # type: ignore[call-arg]
    schema = schemathesis.openapi.from_dict(app.openapi()).include(path_regex=PATHS)
    # Keys are not generated: every request carries a valid one (tests/test_api_auth.py covers the rest).
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=EXAMPLES,
        with_security_parameters=False,
    )
    return schema


SCHEMA = _schema()


@dataclass
class Harness:
    """The app, its database, Temporal client and worker, on an event loop in a thread of their own."""

    database_url: str
    temporal_target: str
    namespace: str
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    keys: dict[str, str] = field(default_factory=dict)
    http: httpx.AsyncClient | None = None
    answers: dict[str, Counter[int]] = field(default_factory=dict)
    # Codes of its own: workflow ids outlive a harness on the session's Temporal server.
    seeded: list[str] = field(
        default_factory=lambda: [
            f"H21.65-261120-{uuid.uuid4().int % 900_000 + 100_000:06d}" for _ in range(3)
        ]
    )
    _closers: list[Any] = field(default_factory=list)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        try:
            return future.result(timeout)
        finally:
            future.cancel()  # a request that timed out must not linger holding a connection

    async def start(self) -> None:
        engine = make_engine(self.database_url)
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        sessions = make_session_factory(engine)
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            app_env="local",
            database_url=self.database_url,
            task_queue=f"fuzz-{uuid.uuid4().hex[:10]}",
            zalo_mode="fake",
            fake_zalo_url=FAKE_ZALO_URL,
            officer_zalo_ids=OFFICERS,
            quiet_hours_start=time(0, 0),
            quiet_hours_end=time(0, 0),
        )
        temporal = await Client.connect(self.temporal_target, namespace=self.namespace)
        zalo = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_fake_zalo_app()), base_url=FAKE_ZALO_URL
        )
        worker: Worker = build_worker(temporal, settings, sessions, zalo)
        running = asyncio.create_task(worker.run())
        async with sessions() as session:
            self.keys["admin"] = await create_client(session, "fuzz-admin", ["*"])
        app = create_app(settings, temporal=temporal, session_factory=sessions)
        # A crash must come back as the 500 it is (and fail not_a_server_error), not as an exception here.
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://api.test", timeout=60)
        self._closers = [self.http.aclose, worker.shutdown, lambda: running, zalo.aclose, engine.dispose]
        await self._seed()

    async def _seed(self) -> None:
        """Dossiers for the transitions to act on: one received, one waiting for a fee, one for papers."""
        assert self.http is not None
        t = Moments()
        headers = {"Authorization": f"Bearer {self.keys['admin']}"}
        for code in self.seeded:
            body = {
                "code": code,
                "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
                "agency_code": "H21.65",
                "applicant": {"name": "Nguyễn Văn A", "phone": "0905123456"},
                "received_at": t(0).isoformat(),
                "channel": "online",
            }
            response = await self.http.post("/api/v1/dossiers", json=body, headers=headers)
            assert response.status_code == 201, response.text
        fee = {
            "event_id": "seed-fee",
            "at": t(1).isoformat(),
            "items": [{"name": "Lệ phí", "amount_vnd": 1000}],
        }
        await self.http.post(f"/api/v1/dossiers/{self.seeded[1]}/fee", json=fee, headers=headers)
        ask = {"event_id": "seed-ask", "at": t(1).isoformat(), "items": ["Bản vẽ"]}
        await self.http.post(
            f"/api/v1/dossiers/{self.seeded[2]}/supplement-request", json=ask, headers=headers
        )

    async def stop(self) -> None:
        for close in self._closers:
            result = close()
            if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                await result

    async def send(self, case: Case) -> httpx.Response:
        assert self.http is not None
        kwargs = case.as_transport_kwargs(base_url="http://api.test")
        kwargs.pop("base_url", None)
        # Generated header values may hold any character: send them as UTF-8 bytes, as a client would.
        headers = {str(k): str(v).encode() for k, v in (kwargs.pop("headers", None) or {}).items()}
        headers["Authorization"] = f"Bearer {self.keys['admin']}".encode()
        data = kwargs.pop("data", None)
        content = kwargs.pop("content", None)
        if isinstance(data, str | bytes):
            content, data = data, None
        response = await self.http.request(
            kwargs.pop("method"),
            kwargs.pop("url"),
            headers=headers,
            params=kwargs.pop("params", None),
            content=content,
            json=kwargs.pop("json", None),
            data=data,
            files=kwargs.pop("files", None),
        )
        self.answers.setdefault(f"{case.method} {case.path}", Counter())[response.status_code] += 1
        return response

    def summary(self) -> str:
        """Answers by operation and status, printed at the end (pytest -s shows it)."""
        lines = [f"{sum(sum(c.values()) for c in self.answers.values())} requests"]
        for operation, counts in sorted(self.answers.items()):
            by_status = ", ".join(f"{status}×{n}" for status, n in sorted(counts.items()))
            lines.append(f"  {operation:<50} {by_status}")
        return "\n".join(lines)


@pytest.fixture(scope="module", params=DB_BACKENDS)
def harness(
    request: pytest.FixtureRequest,
    workflow_env: WorkflowEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Harness]:
    """One harness per database backend for all operations of this module."""
    schema = None
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{Path(tmp_path_factory.mktemp('fuzz')) / 'fuzz.db'}"
    else:
        schema = f"fuzz_{uuid.uuid4().hex[:10]}"
        url = (
            make_url(async_url(TEST_DATABASE_URL))
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    config = workflow_env.client.service_client.config
    h = Harness(url, config.target_host, workflow_env.client.namespace)
    thread = threading.Thread(target=h.loop.run_forever, name="fuzz-app", daemon=True)
    thread.start()
    try:
        if schema is not None:
            h.run(_pg_schema(f'CREATE SCHEMA "{schema}"'))
        h.run(h.start())
        yield h
        print(f"\nschemathesis on {request.param}: {h.summary()}")
    finally:
        h.run(h.stop())
        if schema is not None:
            h.run(_pg_schema(f'DROP SCHEMA "{schema}" CASCADE'))
        h.loop.call_soon_threadsafe(h.loop.stop)
        thread.join(10)
        h.loop.close()


async def _pg_schema(statement: str) -> None:
    admin = make_engine(TEST_DATABASE_URL)
    async with admin.begin() as conn:
        await conn.execute(text("SET LOCAL lock_timeout = '20s'"))  # fail, rather than hang the suite
        await conn.execute(text(statement))
    await admin.dispose()


def own_code(code: Any, seeded: list[str]) -> Any:
    """A dossier code of this harness for a generated one (same input, same code).

    Workflow ids outlive a test on the session's Temporal server: a registration of the schema's example
    code would meet the workflow another test left, whose worker is gone, and wait for it.
    """
    if not isinstance(code, str) or not is_dossier_code(code):
        return code
    serial = zlib.crc32((code + seeded[0]).encode()) % 900_000 + 100_000
    return f"H21.65-261121-{serial:06d}"


def aim(case: Case, seeded: list[str]) -> None:
    """Point some cases at seeded dossiers, legal times and good signatures, so the workflow paths run."""
    choice = zlib.crc32(repr((case.path, case.body, case.query)).encode()) % 4
    a_minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    if case.path_parameters and "code" in case.path_parameters and choice < 3:
        case.path_parameters["code"] = seeded[choice]
    body = case.body
    if not isinstance(body, dict):
        return
    if case.path == "/api/v1/dossiers" and "code" in body:
        body["code"] = own_code(body["code"], seeded)
    if "MaHoSo" in body:
        body["MaHoSo"] = seeded[choice] if choice < 3 else own_code(body["MaHoSo"], seeded)
        if choice < 2:
            body["ThoiDiemXuLy"] = format_portal_time(a_minute_ago)
    if choice >= 3:
        return
    if "at" in body and choice < 2:
        body["at"] = a_minute_ago.isoformat()
    if case.path == "/webhooks/payments" and {"MaLoi", "MaThamChieu", "SoTien", "MaGiaoDich"} <= body.keys():
        if choice < 2:
            body["MaThamChieu"] = seeded[choice + 1]
        fields = [str(body[name]) for name in ("MaLoi", "MaThamChieu", "SoTien", "MaGiaoDich")]
        body["MaXacThuc"] = hashlib.sha256("|".join([*fields, "change-me"]).encode()).hexdigest()


@SCHEMA.parametrize()
@hypothesis_settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_answer_is_within_the_schema(case: Case, harness: Harness) -> None:
    aim(case, harness.seeded)
    response = harness.run(harness.send(case))
    case.validate_response(response, checks=CHECKS)
