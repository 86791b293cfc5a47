"""Liveness and readiness for load balancers and compose healthchecks."""

from __future__ import annotations

import asyncio
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import text

from web.deps import GatewayDep, SessionFactoryDep

router = APIRouter(tags=["health"])

# A dependency that does not answer within this time counts as unreachable (probes time out too).
CHECK_TIMEOUT_SECONDS = 5.0


class Liveness(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(examples=[{"database": "ok", "temporal": "unreachable: RPCError"}])


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """The process is up."""
    return Liveness(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"description": "A dependency is not reachable", "model": Readiness}},
)
async def readyz(sessions: SessionFactoryDep, gateway: GatewayDep) -> JSONResponse:
    """The database and Temporal are reachable."""
    checks: dict[str, str] = {}
    try:
        async with sessions() as session:
            await asyncio.wait_for(session.exec(text("SELECT 1")), timeout=CHECK_TIMEOUT_SECONDS)  # type: ignore[call-overload]
        checks["database"] = "ok"
    except Exception as err:
        checks["database"] = f"unreachable: {type(err).__name__}"
    try:
        client = await asyncio.wait_for(gateway.client(), timeout=CHECK_TIMEOUT_SECONDS)
        await asyncio.wait_for(client.service_client.check_health(), timeout=CHECK_TIMEOUT_SECONDS)
        checks["temporal"] = "ok"
    except Exception as err:
        checks["temporal"] = f"unreachable: {type(err).__name__}"
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ok" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
