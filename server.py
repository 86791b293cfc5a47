"""The web process: the machine API, the pages, health and metrics in one app. `uvicorn server:app --factory`.

`worker.py` is the other process (the workflow and its activities); both share settings, the database and
the Temporal server. This module only assembles: each part mounts itself (api.install, pages.install).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

import api
import pages
from api import openapi
from db.clients import ensure_local_client
from db.engine import SessionFactory, engine_for, make_session_factory
from db.migrate import upgrade
from db.officers import ensure_local_officer
from db.zalo_tokens import zalo_client
from pages.auth import officer_codec_authenticator
from settings import Settings, configure_logging, get_settings
from web import health, metrics
from web.body_limit import BodyLimitMiddleware
from workflows.client import TemporalConnection
from workflows.gateway import Gateway


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
        zalo = getattr(app.state, "zalo", None) or zalo_client(app.state.session_factory, settings)
        app.state.zalo = zalo
        yield
        await zalo.aclose()
        if engine is not None:
            await engine.dispose()

    app = FastAPI(
        title=openapi.TITLE, version=openapi.VERSION, description=openapi.DESCRIPTION, lifespan=lifespan
    )
    app.state.settings = settings
    app.state.gateway = Gateway(TemporalConnection(settings, temporal), settings)
    if session_factory is not None:
        app.state.session_factory = session_factory
    api.install(app, settings)
    app.include_router(health.router)
    pages.install(app)
    # Officers read decoded histories in the Temporal UI with their desk session (docs/pii.md).
    app.state.codec_authenticators.append(officer_codec_authenticator(settings))
    # Outside every route and every middleware that reads a body; inside the metrics, which count its 413s.
    app.add_middleware(BodyLimitMiddleware, settings=settings)
    metrics.install_metrics(app, settings)
    if settings.trusted_proxies:
        # Outermost: every part sees the client the trusted proxy served, nobody else's X-Forwarded-For.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    openapi.install_openapi(app)
    return app


def app() -> FastAPI:
    """Factory for `uvicorn server:app --factory`."""
    settings = get_settings()
    configure_logging(settings, "api")
    return create_app(settings)
