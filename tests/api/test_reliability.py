"""What a bad day must not break (issue 15): a retry of an applied payment while its record is still in
flight, an engine that does not answer within the request's deadline, an engine that goes away, a
database that is not there, an Idempotency-Key freed before the answer leaves, a registration whose
workflow never started. Each on the real path: the API, the real worker and a real Temporal server."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select
from temporalio import activity
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.records import RecordActivities
from api.idempotency import IdempotencyMiddleware
from api.problems import install_problem_handlers
from db.engine import SessionFactory, make_engine, make_session_factory
from db.models import Dossier, DossierEvent, IdempotencyKey, Notice, Payment
from db.types import utcnow
from domain.codes import workflow_id
from domain.dossier import PaymentAnswer, PaymentReceived
from domain.limits import NOT_STARTED_LISTED_AFTER, STRANDED_AFTER
from server import create_app
from settings import Settings
from tests.conftest import eventually, venv_binary, zalo_messages
from tests.support.api import Keys, bearer, registration
from tests.support.builders import Moments, new_code
from tests.support.pages import seed_officer, sign_in
from worker import activities as worker_activities
from workflows import contracts, search_attributes
from workflows import gateway as gateway_module
from workflows.client import TemporalConnection
from workflows.dossier import DossierWorkflow
from workflows.gateway import Gateway
from workflows.resend import NoticeResendWorkflow


def with_key(key: str, api_key: str) -> dict[str, str]:
    return {**bearer(api_key), "Idempotency-Key": key}


async def to_fee_due(http: httpx.AsyncClient, key: str, code: str, t: Moments) -> None:
    created = await http.post("/api/v1/dossiers", json=registration(code, t(0)), headers=bearer(key))
    assert created.status_code == 201, created.text
    fee = {
        "event_id": f"{code}-fee",
        "at": t(1).isoformat(),
        "items": [{"name": "Lệ phí", "amount_vnd": 500_000}],
    }
    asked = await http.post(f"/api/v1/dossiers/{code}/fee", json=fee, headers=bearer(key))
    assert asked.status_code == 200, asked.text


# ---------------------------------------------------------------- a payment retried while it is recorded


class HeldRecord:
    """The worker's real record activity, held before it writes a payment until the test lets it go: the
    window in which a crash (or a slow database) leaves a payment applied in the workflow's state but not
    yet recorded anywhere."""

    def __init__(self, records: RecordActivities) -> None:
        self.records = records
        self.holding = asyncio.Event()
        self.release = asyncio.Event()

    @activity.defn(name=contracts.RECORD)
    async def record(self, request: contracts.RecordRequest) -> None:
        if request.payment is not None and not self.release.is_set():
            self.holding.set()
            await self.release.wait()
        await self.records.record(request)


@pytest.fixture
async def held(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> AsyncIterator[HeldRecord]:
    held = HeldRecord(RecordActivities(session_factory, settings))
    others = [
        fn
        for fn in worker_activities(settings, session_factory, fake_zalo)
        if getattr(fn, "__temporal_activity_definition").name != contracts.RECORD
    ]
    async with Worker(
        workflow_env.client,
        task_queue=settings.task_queue,
        workflows=[DossierWorkflow, NoticeResendWorkflow],
        activities=[held.record, *others],
    ):
        yield held


async def test_a_payment_retried_while_its_record_is_in_flight_answers_200_once(
    http: httpx.AsyncClient,
    keys: Keys,
    held: HeldRecord,
    workflow_env: WorkflowEnvironment,
    session_factory: SessionFactory,
) -> None:
    t = Moments()
    code = new_code()
    await to_fee_due(http, keys.h21, code, t)
    body = {"transaction_id": "PAY-RETRY-1", "amount_vnd": 500_000, "at": t(2).isoformat()}

    first = asyncio.create_task(
        http.post(f"/api/v1/dossiers/{code}/payment", json=body, headers=bearer(keys.h21))
    )
    await asyncio.wait_for(held.holding.wait(), 15)
    # The state says "received" now, and nothing is recorded yet. A retry through the API joins the
    # same update on the server; one sent any other way (an older client, another update id) passes the
    # validator as a known transaction instead of being refused "no fee is due".
    again = asyncio.create_task(
        http.post(f"/api/v1/dossiers/{code}/payment", json=body, headers=bearer(keys.h21))
    )
    handle = workflow_env.client.get_workflow_handle(workflow_id(code))
    other = asyncio.create_task(
        handle.execute_update(
            contracts.RECORD_PAYMENT,
            PaymentReceived("PAY-RETRY-1", 500_000, t(2), source="tthc-h21", require_fee_due=True),
            id="an-older-client",
            result_type=PaymentAnswer,
        )
    )
    # A local activity holds its workflow task open; the SDK heartbeats the task before its timeout, and
    # the updates that came meanwhile are delivered then: wait for that before letting the record go.
    await asyncio.sleep(contracts.WORKFLOW_TASK_TIMEOUT.total_seconds() + 1)
    held.release.set()

    answers = await asyncio.gather(first, again)
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert {a.json()["status"] for a in answers} == {"received"}
    other_answer = await other
    assert other_answer.applied_now is False
    assert other_answer.record.outcome == "applied"

    async with session_factory() as session:
        kinds = (await session.exec(select(DossierEvent.kind).where(DossierEvent.dossier_code == code))).all()
        payments = (await session.exec(select(Payment).where(Payment.dossier_code == code))).all()
        confirmations = (
            await session.exec(
                select(Notice).where(Notice.dossier_code == code, Notice.kind == "payment_confirmed")
            )
        ).all()
    assert list(kinds).count("payment_received") == 1
    assert [(p.transaction_id, p.outcome) for p in payments] == [("PAY-RETRY-1", "applied")]
    assert len(confirmations) == 1


async def app_whose_engine_is_gone(settings: Settings, session_factory: SessionFactory) -> FastAPI:
    """The API on a Temporal client whose server was shut down after it connected: every call is refused."""
    gone = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        search_attributes=list(search_attributes.ALL),
        dev_server_log_level="error",
    )
    app = create_app(settings, temporal=gone.client, session_factory=session_factory)
    await gone.shutdown()
    return app


# ---------------------------------------------------------------- an engine that does not answer in time


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> timedelta:
    deadline = timedelta(seconds=1)
    monkeypatch.setattr(gateway_module, "REQUEST_DEADLINE", deadline)
    return deadline


async def test_no_worker_means_503_within_the_deadline_and_the_key_is_free_for_the_retry(
    http: httpx.AsyncClient, keys: Keys, short_deadline: timedelta, caplog: pytest.LogCaptureFixture
) -> None:
    """Nobody polls the task queue: the update is never accepted. The request answers 503 with
    Retry-After once its one deadline passes (not a 500, not after the client's own timeout), the
    Idempotency-Key is free for the retry at once, and nothing is logged as an error."""
    caplog.set_level(logging.WARNING)
    code = new_code()
    body = registration(code, Moments()(0))
    started = time.monotonic()
    answer = await http.post("/api/v1/dossiers", json=body, headers=with_key(f"reg-{code}", keys.h21))
    took = time.monotonic() - started

    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    assert answer.headers["content-type"] == "application/problem+json"
    assert "retry with the same event_id" in answer.json()["detail"]
    assert took < short_deadline.total_seconds() + 4

    retry = await http.post("/api/v1/dossiers", json=body, headers=with_key(f"reg-{code}", keys.h21))
    assert retry.status_code == 503  # run again (still no worker), not "409 in progress"
    gc.collect()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


async def test_an_engine_gone_is_503_and_the_lost_start_is_reconciled(
    settings: Settings,
    session_factory: SessionFactory,
    keys: Keys,
    workflow_env: WorkflowEnvironment,
    worker: Worker,
    fake_zalo: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The Temporal server is gone when a registration arrives: the row is written, the start is refused,
    the answer is 503 with Retry-After, and no "Future exception was never retrieved" from the start half
    of the call reaches the error log. The caller gives up; the desk lists the dossier as not started;
    the worker's reconciliation starts it (clock, receipt notice) and the list empties."""
    caplog.set_level(logging.WARNING)
    app = await app_whose_engine_is_gone(settings, session_factory)
    code = new_code()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as http:
        answer = await http.post(
            "/api/v1/dossiers", json=registration(code, Moments()(0)), headers=bearer(keys.h21)
        )
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "5"
    gc.collect()
    await asyncio.sleep(0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]

    async with session_factory() as session:
        row = await session.get(Dossier, code)
        assert row is not None
        assert (row.last_seq, row.due_at) == (0, None)
        row.created_at = (
            utcnow() - NOT_STARTED_LISTED_AFTER - timedelta(minutes=1)
        )  # the caller gave up long ago
        session.add(row)
        await session.commit()

    desk_app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    await seed_officer(session_factory)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=desk_app), base_url="http://desk.test"
    ) as desk:
        await sign_in(desk)
        listed = await desk.get("/can-bo/danh-sach/chua-khoi-dong")
        assert listed.status_code == 200
        assert code in listed.text
        assert "Hồ sơ chưa khởi động được quy trình" in listed.text

        gateway = Gateway(TemporalConnection(settings, workflow_env.client), settings)
        done = await gateway.reconcile(session_factory, utcnow())
        assert (done.started, done.failed) == ([code], {})

        async with session_factory() as session:
            row = await session.get(Dossier, code, populate_existing=True)
            assert row is not None
            assert row.due_at is not None
            assert row.last_seq >= 1
        assert await eventually(lambda: received_notice_sent(fake_zalo, code))
        again = await gateway.reconcile(session_factory, utcnow())
        assert (again.started, again.failed) == ([], {})
        emptied = await desk.get("/can-bo/danh-sach/chua-khoi-dong")
        assert code not in emptied.text


async def received_notice_sent(fake_zalo: httpx.AsyncClient, code: str) -> bool:
    return any(code in str(m) for m in await zalo_messages(fake_zalo))


async def test_a_registration_younger_than_the_grace_is_left_to_its_own_start(
    session_factory: SessionFactory, settings: Settings, workflow_env: WorkflowEnvironment
) -> None:
    from tests.support.api import dossier_row

    async with session_factory() as session:
        session.add(dossier_row(new_code(), last_seq=0))
        await session.commit()
    gateway = Gateway(TemporalConnection(settings, workflow_env.client), settings)
    done = await gateway.reconcile(session_factory, utcnow() + STRANDED_AFTER - timedelta(seconds=5))
    assert (done.started, done.failed) == ([], {})


# ---------------------------------------------------------------- a database that is not there


async def test_a_database_that_is_not_there_is_503_not_500(
    settings: Settings, workflow_env: WorkflowEnvironment
) -> None:
    gone = "postgresql+psycopg://postgres@127.0.0.1:1/gone"
    engine = make_engine(gone)
    app = create_app(
        settings.model_copy(update={"database_url": gone}),
        temporal=workflow_env.client,
        session_factory=make_session_factory(engine),
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://api.test"
        ) as http:
            body = registration(new_code(), Moments()(0))
            for headers in (bearer("k"), with_key("idem-1", "k")):
                answer = await http.post("/api/v1/dossiers", json=body, headers=headers)
                assert answer.status_code == 503, answer.text
                assert answer.headers["retry-after"] == "5"
                assert answer.json()["type"] == "urn:dossier-tracker:problem:database-unavailable"
            read = await http.get(f"/api/v1/dossiers/{body['code']}", headers=bearer("k"))
            assert read.status_code == 503
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the key is settled before the answer leaves


async def test_the_idempotency_key_is_settled_before_the_answer_leaves(
    settings: Settings, session_factory: SessionFactory, keys: Keys
) -> None:
    """What the client reads last: by the time the answer's first byte is sent, a 503's key is free and a
    200's answer is stored, so a retry sent the moment it arrives is run, or replayed, never "in progress"."""
    app = FastAPI()
    app.state.settings = settings
    app.state.session_factory = session_factory
    install_problem_handlers(app)
    status = {"now": 503}

    @app.post("/api/thing")
    async def thing() -> Any:
        from fastapi.responses import JSONResponse

        return JSONResponse({"ok": status["now"] == 200}, status_code=status["now"])

    async def key_row() -> IdempotencyKey | None:
        async with session_factory() as session:
            return (
                await session.exec(select(IdempotencyKey).where(col(IdempotencyKey.key) == "k-1"))
            ).first()

    seen: list[tuple[int, int | str | None]] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            row = await key_row()
            seen.append((message["status"], "free" if row is None else row.status))

    async def call() -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": b"{}", "more_body": False}

        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/thing",
            "raw_path": b"/api/thing",
            "query_string": b"",
            "headers": [
                (b"authorization", f"Bearer {keys.h21}".encode()),
                (b"idempotency-key", b"k-1"),
                (b"content-type", b"application/json"),
            ],
            "app": app,
            "http_version": "1.1",
            "scheme": "http",
            "server": ("test", 80),
            "client": ("127.0.0.1", 1),
            "root_path": "",
        }
        await IdempotencyMiddleware(app)(scope, receive, send)  # type: ignore[arg-type]

    await call()
    status["now"] = 200
    await call()
    assert seen == [(503, "free"), (200, 200)]


async def test_a_retry_of_an_applied_event_is_200_even_while_the_engine_is_away(
    http: httpx.AsyncClient,
    keys: Keys,
    worker: Worker,
    settings: Settings,
    session_factory: SessionFactory,
) -> None:
    """Whichever store knows it: the workflow answers a repeat while it runs; when the engine does not
    answer, the timeline in the database still knows the event was applied, so the retry is a 200 with the
    current view. A new event in the same situation is a 503: nothing was applied."""
    t = Moments()
    code = new_code()
    await to_fee_due(http, keys.h21, code, t)
    fee = {
        "event_id": f"{code}-fee",
        "at": t(1).isoformat(),
        "items": [{"name": "Lệ phí", "amount_vnd": 500_000}],
    }

    away = await app_whose_engine_is_gone(settings, session_factory)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=away), base_url="http://api.test") as api:
        again = await api.post(f"/api/v1/dossiers/{code}/fee", json=fee, headers=bearer(keys.h21))
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "fee_due"
        new = {"event_id": f"{code}-withdrawn", "at": t(2).isoformat(), "reason": "Công dân rút hồ sơ"}
        refused = await api.post(f"/api/v1/dossiers/{code}/withdrawal", json=new, headers=bearer(keys.h21))
        assert refused.status_code == 503, refused.text
