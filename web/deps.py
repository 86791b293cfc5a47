"""Request dependencies as Annotated aliases: settings, the database session, the command gateway.

Each reads what `server.create_app` put on the app's state, so the API's and the pages' routes mount on
any app that sets it (tests build their own).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import SessionFactory
from db.types import utcnow
from settings import Settings
from workflows.gateway import Gateway


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


def now(request: Request) -> datetime:
    """Now, by the app's clock: `app.state.clock` when a test sets one, the wall clock otherwise."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock()


def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
SessionFactoryDep = Annotated[SessionFactory, Depends(get_session_factory)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
GatewayDep = Annotated[Gateway, Depends(get_gateway)]
