"""Request dependencies as Annotated aliases: settings, database session, Temporal, the calling client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel.ext.asyncio.session import AsyncSession
from temporalio.client import Client

from api.clients import find_client
from api.problems import Problem
from db.engine import SessionFactory
from db.models import ApiClient
from settings import Settings
from workflows.client import connect


class TemporalConnection:
    """Connects on first use, so the API starts (and says it is not ready) while Temporal is down."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self._settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def get(self) -> Client:
        if self._client is None:
            async with self._lock:
                if self._client is None:
                    try:
                        self._client = await connect(self._settings)
                    except Exception as err:
                        raise Problem(503, f"the workflow engine is not reachable: {err}") from err
        return self._client


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session_factory(request: Request) -> SessionFactory:
    factory: SessionFactory = request.app.state.session_factory
    return factory


async def get_session(
    factory: Annotated[SessionFactory, Depends(get_session_factory)],
) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


async def get_temporal(request: Request) -> Client:
    connection: TemporalConnection = request.app.state.temporal
    return await connection.get()


_bearer = HTTPBearer(auto_error=False, description="The API key of the calling system")


async def get_client(
    session: Annotated[AsyncSession, Depends(get_session)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> ApiClient:
    """The API client that the bearer key belongs to; 401 without a valid key."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        problem = Problem(401, "send the API key as 'Authorization: Bearer <key>'", slug="unauthenticated")
        problem.headers = {"WWW-Authenticate": "Bearer"}
        raise problem
    client = await find_client(session, credentials.credentials)
    if client is None:
        problem = Problem(401, "the API key is not valid or was revoked", slug="unauthenticated")
        problem.headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        raise problem
    return client


def require_agency(client: ApiClient, agency_code: str) -> None:
    if not client.may_act_for(agency_code):
        raise Problem(
            403, f"client '{client.name}' may not act for agency {agency_code}", slug="forbidden-agency"
        )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionFactoryDep = Annotated[SessionFactory, Depends(get_session_factory)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
ClientDep = Annotated[ApiClient, Depends(get_client)]
