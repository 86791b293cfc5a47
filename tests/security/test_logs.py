"""Logs carry no secret and no personal data, even when something fails with them in hand.

The attack: read the production logs (a log shipper, a support engineer, a leaked archive). An exception
renderer that prints each frame's local variables writes whatever the failing code held: the API key of the
request, an officer's password, an applicant's phone; SQLAlchemy's error text adds the statement's
parameters. Every logger goes through the same renderers: ours, the Temporal SDK's, uvicorn's.
"""

from __future__ import annotations

import io
import json
import logging
import logging.config
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog
import uvicorn.config
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from db.agencies import set_agency
from db.clients import create_client
from db.engine import SessionFactory, engine_for
from server import create_app
from settings import Settings, configure_logging
from tests.support.api import bearer, registration
from tests.support.pages import PASSWORD, hidden, seed_officer

API_KEY = "dtk_" + "K" * 43
PHONE_FORMS = ("0905123456", "84905123456", "905123456")
SECRETS = (API_KEY, PASSWORD, *PHONE_FORMS)


@pytest.fixture(params=["json", "console"])
def captured(request: pytest.FixtureRequest, settings: Settings) -> Iterator[tuple[Settings, io.StringIO]]:
    """The process's logging as production (JSON) or `make run` (console) configures it, into a buffer.

    uvicorn configures its own loggers before it imports the app; that is reproduced first."""
    mode = request.param
    # As the image runs (APP_ENV=production, LOG_JSON=true), or as `make run` does.
    production = settings.model_copy(
        update={"app_env": "production", "log_json": True} if mode == "json" else {"app_env": "local"}
    )
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    uvicorn_loggers = {
        name: (logging.getLogger(name).handlers[:], logging.getLogger(name).propagate)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
    }
    stream = io.StringIO()
    try:
        logging.config.dictConfig(uvicorn.config.LOGGING_CONFIG)
        configure_logging(production, "api")
        for logger in [root, *(logging.getLogger(name) for name in uvicorn_loggers)]:
            for handler in logger.handlers:
                handler.stream = stream  # type: ignore[attr-defined]
        yield production, stream
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        for name, (handlers, propagate) in uvicorn_loggers.items():
            logging.getLogger(name).handlers[:] = handlers
            logging.getLogger(name).propagate = propagate
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def leaked(output: str) -> list[str]:
    return [secret for secret in SECRETS if secret in output]


def lines(output: str, json_mode: bool) -> list[dict[str, Any]]:
    if not json_mode:
        return []
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def failing_code(api_key: str, password: str, phone: str) -> None:
    """Code that holds all three when it fails, the way a route or an activity would."""
    headers = {"authorization": f"Bearer {api_key}"}
    form = {"username": "lan.nt", "password": password}
    applicant = {"name": "Nguyễn Văn A", "phone": phone}
    raise RuntimeError(f"the database went away ({len(headers) + len(form) + len(applicant)} values)")


def test_no_logger_prints_local_variables(captured: tuple[Settings, io.StringIO]) -> None:
    settings, stream = captured
    try:
        failing_code(API_KEY, PASSWORD, PHONE_FORMS[0])
    except RuntimeError:
        structlog.get_logger("api.routes").exception("request.failed")
        # The Temporal SDK's activity worker and uvicorn log with the standard library, exc_info set.
        logging.getLogger("temporalio.activity").warning("Completing activity as failed", exc_info=True)
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")

    output = stream.getvalue()
    assert "the database went away" in output  # the failure itself is there, with its traceback
    assert output.count("failing_code") >= 3
    assert leaked(output) == []
    json_mode = settings.app_env == "production"
    if json_mode:
        events = {e["event"]: e for e in lines(output, json_mode)}
        assert {"request.failed", "Completing activity as failed", "Exception in ASGI application"} <= set(
            events
        )


async def break_table(engine: AsyncEngine, table: str) -> None:
    """Make every write to `table` fail inside the database, as a full disk or a lost replica would."""
    async with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Fails when it fires (an OperationalError, as a full disk would), naming the missing table.
            await conn.execute(
                text(
                    f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} "  # noqa: S608 (a test's table)
                    "BEGIN INSERT INTO disk_io_error VALUES (1); END"
                )
            )
        else:
            await conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    "RAISE EXCEPTION 'disk I/O error'; END $$ LANGUAGE plpgsql"
                )
            )
            await conn.execute(
                text(f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table} EXECUTE FUNCTION refuse()")
            )


async def test_a_failed_request_logs_neither_the_key_nor_the_phone(
    captured: tuple[Settings, io.StringIO],
    engine: AsyncEngine,
    session_factory: SessionFactory,
    workflow_env: Any,
) -> None:
    """A registration that fails in the database: the request held the key, the body the phone."""
    settings, stream = captured
    async with session_factory() as session:
        await create_client(session, "tthc-h21", ["H21.65"], key=API_KEY)
    await break_table(engine, "dossiers")
    app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as http:
        body = registration(applicant={"name": "Nguyễn Văn A", "phone": PHONE_FORMS[0]})
        response = await http.post("/api/v1/dossiers", json=body, headers=bearer(API_KEY))
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert leaked(response.text) == []

    output = stream.getvalue()
    assert "disk_io_error" in output or "disk I/O error" in output
    assert leaked(output) == []
    assert "Nguyễn Văn A" not in output  # nor the applicant's name (the statement's parameters held it)
    json_mode = settings.app_env == "production"
    for event in lines(output, json_mode):
        if event.get("status") == 500 or event.get("level") == "error":
            print(json.dumps(event, ensure_ascii=False))  # the closing note's sample line (-s)


async def test_a_queue_number_logs_neither_the_phone_nor_its_link(
    captured: tuple[Settings, io.StringIO], engine: AsyncEngine, session_factory: SessionFactory
) -> None:
    """A number taken (the phone in the form, the status link in the answer), then one whose write fails."""
    settings, stream = captured
    async with session_factory() as session:
        await set_agency(session, "H21.65", {"name": "UBND huyện Chư Păh"})
    app = create_app(settings, session_factory=session_factory)
    app.state.clock = lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam, a working day
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    # The test's own client logs each URL it asks for (the server logs the route's template): not ours.
    client_log = logging.getLogger("httpx")
    level = client_log.level
    client_log.setLevel(logging.WARNING)
    async with httpx.AsyncClient(transport=transport, base_url="https://pages.test") as browser:
        taken = await browser.post("/lay-so", data={"agency": "H21.65", "phone": PHONE_FORMS[0]})
        assert taken.status_code == 303
        link = taken.headers["location"].rsplit("/", 1)[1]
        assert (await browser.get(taken.headers["location"])).status_code == 200
        await break_table(engine, "queue_tickets")
        failed = await browser.post("/lay-so", data={"agency": "H21.65", "phone": "0912000002"})
    client_log.setLevel(level)
    assert failed.status_code == 500
    output = stream.getvalue()
    assert "queue.taken" in output
    assert "disk_io_error" in output or "disk I/O error" in output
    assert leaked(output) == []
    assert link not in output
    assert "912000002" not in output


async def test_a_failed_login_logs_no_password(
    captured: tuple[Settings, io.StringIO], engine: AsyncEngine, session_factory: SessionFactory
) -> None:
    settings, stream = captured
    await seed_officer(session_factory)
    await break_table(engine, "officer_sessions")
    app = create_app(settings, session_factory=session_factory)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="https://pages.test") as browser:
        form = await browser.get("/can-bo/dang-nhap")
        token = hidden(form.text, "csrf_token")
        response = await browser.post(
            "/can-bo/dang-nhap",
            data={"username": "lan.nt", "password": PASSWORD, "csrf_token": token, "next": "/can-bo"},
        )
    assert response.status_code == 500
    assert PASSWORD not in response.text
    output = stream.getvalue()
    assert "disk_io_error" in output or "disk I/O error" in output
    assert leaked(output) == []


def test_the_database_never_puts_statement_parameters_in_error_texts(settings: Settings) -> None:
    engine = engine_for(settings)
    try:
        assert engine.sync_engine.hide_parameters
    finally:
        engine.sync_engine.dispose()
