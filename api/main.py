"""The API app: machine endpoints for the TTHC system, webhooks, and the pages (built by `create_app`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from temporalio.client import Client

from api.clients import ensure_local_client
from api.deps import TemporalConnection
from api.idempotency import IdempotencyMiddleware
from api.metrics import install_metrics
from api.officers import ensure_local_officer
from api.openapi import install_openapi
from api.pages.auth import officer_codec_authenticator
from api.pages.render import STATIC_DIR
from api.problems import install_problem_handlers
from api.routes import calendar, dossiers, dvcqg, health, pages, payments_webhook, zalo_webhook
from api.routes.codec import install_codec_server
from db.engine import SessionFactory, engine_for, make_session_factory
from db.migrate import upgrade
from settings import Settings, configure_logging, get_settings
from zalo.factory import build_zalo_client

DESCRIPTION = """\
Every administrative-procedure dossier (hồ sơ TTHC) is a durable Temporal workflow. The province's TTHC
system registers dossiers and reports what happened to them here; the workflow keeps the legal clock,
sends the citizen's Zalo notices and escalates overdue dossiers.

Machine endpoints need `Authorization: Bearer <api key>`; a key acts only for its agencies (403
otherwise), and one for all agencies (`*`) also administers the calendar. Every POST under `/api/` accepts
`Idempotency-Key`: a retry with the same key and body gets the first answer again. Errors are RFC 9457
problem details (`application/problem+json`), never a stack trace.

Times are ISO 8601 with an offset; the office's zone is Asia/Ho_Chi_Minh. The national-portal sync and
the payment callback keep their Vietnamese field names and the portal's `yyyyMMddHHmmss` times.
"""


def create_app(
    settings: Settings | None = None,
    *,
    temporal: Client | None = None,
    session_factory: SessionFactory | None = None,
) -> FastAPI:
    """Build the app; tests hand in their own Temporal client and database."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = None
        if session_factory is None:
            if settings.app_env == "local":
                await asyncio.to_thread(upgrade, settings.database_url)
            engine = engine_for(settings)
            app.state.session_factory = make_session_factory(engine)
        if settings.app_env == "local" and settings.local_api_key is not None:
            async with app.state.session_factory() as session:
                await ensure_local_client(session, settings.local_api_key.get_secret_value())
        if settings.app_env == "local" and settings.local_officer_password is not None:
            async with app.state.session_factory() as session:
                await ensure_local_officer(session, settings.local_officer_password.get_secret_value())
        # The webhook answers citizens who write to the OA; tests may hand in their own client.
        zalo = getattr(app.state, "zalo", None) or build_zalo_client(app.state.session_factory, settings)
        app.state.zalo = zalo
        yield
        await zalo.aclose()
        if engine is not None:
            await engine.dispose()

    app = FastAPI(
        title="Dossier tracker (hồ sơ TTHC)",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.temporal = TemporalConnection(settings, temporal)
    if session_factory is not None:
        app.state.session_factory = session_factory
    install_problem_handlers(app)
    app.add_middleware(IdempotencyMiddleware)
    app.include_router(dossiers.router)
    app.include_router(dvcqg.router)
    app.include_router(calendar.router)
    app.include_router(payments_webhook.router)
    app.include_router(zalo_webhook.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_codec_server(app, settings)
    # Officers read decoded histories in the Temporal UI with their desk session (docs/pii.md).
    app.state.codec_authenticators.append(officer_codec_authenticator(settings))
    install_metrics(app, settings)
    install_openapi(app)
    return app


def app() -> FastAPI:
    """Factory for `uvicorn api.main:app --factory`."""
    settings = get_settings()
    configure_logging(settings, "api")
    return create_app(settings)
