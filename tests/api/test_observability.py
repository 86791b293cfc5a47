"""What operators watch: the API's /metrics, the worker's SDK metrics, JSON logs with dossier code."""

from __future__ import annotations

import io
import json
import logging
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import structlog
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db.clients import create_client
from db.engine import SessionFactory, make_engine, make_session_factory
from db.models import Dossier, Notice
from server import create_app
from settings import Settings, configure_logging
from tests.conftest import eventually
from tests.support.builders import dossier_input, register
from tests.support.lifecycle import full_lifecycle
from worker import build_worker, metrics_runtime

ALERTS = (Path(__file__).resolve().parents[2] / "deploy/prometheus/alerts.yml").read_text()
# Counters the SDK creates on the first failure: absent from a healthy worker's scrape.
SDK_FAILURE_COUNTERS = {"temporal_workflow_task_execution_failed", "temporal_activity_execution_failed"}


def alerted_metrics(prefix: str) -> set[str]:
    """Metric names deploy/prometheus/alerts.yml uses, starting with `prefix`."""
    return set(re.findall(rf"\b({prefix}\w*)", ALERTS))


def exposed(text: str) -> set[str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return {line.split("{")[0].split(" ")[0] for line in lines}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def samples(text: str) -> dict[str, float]:
    """`name{labels} value` lines of a Prometheus exposition, by their name-and-labels text."""
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            found[key] = float(value)
    return found


@pytest.fixture
async def api(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> AsyncIterator[httpx.AsyncClient]:
    fresh = settings.model_copy(update={"metrics_db_cache_seconds": 0.0})
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    app = create_app(fresh, temporal=workflow_env.client, session_factory=session_factory)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://api.test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


@pytest.mark.usefixtures("worker")
async def test_metrics_after_a_lifecycle(api: httpx.AsyncClient, session_factory: SessionFactory) -> None:
    code = await full_lifecycle(api)
    assert (await api.get(f"/api/v1/dossiers/{code}")).status_code == 200
    assert (await api.get("/api/v1/dossiers/H21.65-261123-9999")).status_code == 404
    assert (await api.get("/no/such/page")).status_code == 404
    # A dossier whose due time passed (flagged), and notices that failed or wait too long.
    now = datetime.now(UTC)
    async with session_factory() as session:
        for n, flagged in ((1, True), (2, False)):
            session.add(
                Dossier(
                    code=f"H21.65-261101-000{n}",
                    agency_code="H21.65",
                    procedure_code="1.001234",
                    procedure_name="Cấp giấy phép xây dựng",
                    working_days=15,
                    channel="online",
                    applicant_name="Trần Thị B",
                    applicant_phone="84912345678",
                    received_at=now - timedelta(days=30),
                    fingerprint="0" * 64,
                    due_at=now - timedelta(days=2),
                    overdue=flagged,
                )
            )
        await session.flush()
        for n, (status, age) in enumerate([("failed-permanent", 1), ("queued", 600)]):
            session.add(
                Notice(
                    key=f"k{n}",
                    dossier_code="H21.65-261101-0001",
                    seq=1,
                    kind="received",
                    audience="citizen",
                    status=status,
                    created_at=now - timedelta(seconds=age),
                )
            )
        await session.commit()

    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    got = samples(response.text)
    template = "/api/v1/dossiers/{code}"
    assert got[f'http_requests_total{{method="POST",route="{template}/fee",status="200"}}'] == 1
    assert got[f'http_requests_total{{method="POST",route="{template}/return",status="409"}}'] == 1
    assert got[f'http_requests_total{{method="POST",route="{template}/return",status="200"}}'] == 1
    assert got[f'http_requests_total{{method="GET",route="{template}",status="404"}}'] == 1
    assert got['http_requests_total{method="GET",route="<unmatched>",status="404"}'] == 1
    assert not [key for key in got if code in key]  # no series per dossier
    assert got[f'http_request_duration_seconds_count{{method="POST",route="{template}/payment"}}'] == 1
    for kind in ("received", "supplement_requested", "fee_requested", "payment_received", "returned"):
        assert got[f'dossier_events_total{{kind="{kind}"}}'] == 1
    assert got['dossiers_open{status="received"}'] == 2
    assert got['dossiers_open{status="fee_due"}'] == 0
    assert got["dossiers_overdue"] == 1
    assert got["dossiers_overdue_unflagged"] == 1  # past due, no escalation recorded: no worker ran it
    assert got['dossier_notices{status="failed-permanent"}'] == 1
    assert got['dossier_notices{status="sent"}'] >= 5
    assert 590 <= got["dossier_notice_oldest_due_seconds"] < 3600
    assert got["dossier_db_metrics_up"] == 1
    # Every API metric the alert rules use exists, so no alert silently watches nothing.
    missing = alerted_metrics("dossiers?_") | alerted_metrics("http_")
    assert missing - exposed(response.text) == set()
    print(response.text)  # the sample in the closing note comes from here (-s)


async def test_metrics_say_when_the_database_cannot_be_read(settings: Settings, tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-tables.db'}")
    app = create_app(settings, session_factory=make_session_factory(engine))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        got = samples((await http.get("/metrics")).text)
    await engine.dispose()
    assert got["dossier_db_metrics_up"] == 0
    assert "dossiers_overdue" not in got  # no stale numbers that look healthy


async def test_the_worker_serves_temporal_sdk_metrics(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    port = free_port()
    tuned = settings.model_copy(update={"worker_metrics_bind_address": f"127.0.0.1:{port}"})
    runtime = metrics_runtime(tuned)
    assert runtime is not None
    client = await Client.connect(
        workflow_env.client.service_client.config.target_host,
        namespace=workflow_env.client.namespace,
        runtime=runtime,
    )
    async with build_worker(client, tuned, session_factory, fake_zalo), httpx.AsyncClient() as http:
        await register(client, tuned, dossier_input(tuned))

        async def scraped_after_the_notice() -> str | None:
            # The projection is a local activity; the received notice is the first regular activity.
            text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
            return text if "temporal_activity_execution_latency" in text else None

        text = await eventually(scraped_after_the_notice)
    names = set(re.findall(r"^(temporal_\w+?)(?:_bucket|_sum|_count)?\{", text, re.MULTILINE))
    for expected in (
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_activity_schedule_to_start_latency",
        "temporal_activity_execution_latency",
        "temporal_worker_task_slots_available",
        "temporal_sticky_cache_size",
        "temporal_request",
        "temporal_num_pollers",
    ):
        assert expected in names, sorted(names)
    # Latencies in seconds (the SDK's default is milliseconds).
    bounds = re.findall(
        r'^temporal_workflow_task_schedule_to_start_latency_bucket\{.*le="([0-9.]+)"', text, re.M
    )
    assert min(float(b) for b in bounds) <= 0.1  # 100 (ms) without durations_as_seconds
    assert f'task_queue="{tuned.task_queue}"' in text
    # The WorkerDown alert watches both halves of a worker pair by these.
    for poller in ("workflow_task", "activity_task"):
        assert re.search(rf'^temporal_num_pollers{{[^}}]*poller_type="{poller}"', text, re.M), poller
    assert alerted_metrics("temporal_") - exposed(text) - SDK_FAILURE_COUNTERS == set()
    assert 'service="dossier-worker"' in text


def test_no_metrics_address_means_the_default_runtime(settings: Settings) -> None:
    assert metrics_runtime(settings) is None
    with pytest.raises(ValueError, match="host:port"):
        Settings(_env_file=None, worker_metrics_bind_address="9464")  # type: ignore[call-arg]


async def test_activity_logs_are_json_with_dossier_code_and_workflow_id(
    workflow_env: WorkflowEnvironment, settings: Settings, worker: object
) -> None:
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging(settings.model_copy(update={"log_json": True}), "worker")
        root.handlers[0].stream = stream  # type: ignore[attr-defined]
        input = dossier_input(settings)
        await register(workflow_env.client, settings, input)

        async def notice_logged() -> bool:
            return '"notice.sent"' in stream.getvalue()

        await eventually(notice_logged)
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    recorded = [e for e in events if e.get("activity") == "notices.send"]
    assert recorded, events
    for event in recorded:
        assert event["dossier_code"] == input.code
        assert event["workflow_id"] == f"dossier-{input.code}"
        assert "timestamp" in event
