"""Liveness and readiness for load balancers and compose healthchecks."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import SessionFactoryDep
from api.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "A dependency is not reachable"}})
async def readyz(request: Request, sessions: SessionFactoryDep) -> JSONResponse:
    """The database and Temporal are reachable."""
    checks: dict[str, Any] = {}
    try:
        async with sessions() as session:
            await asyncio.wait_for(session.exec(text("SELECT 1")), timeout=5)  # type: ignore[call-overload]
        checks["database"] = "ok"
    except Exception as err:
        checks["database"] = f"unreachable: {type(err).__name__}"
    try:
        client = await request.app.state.temporal.get()
        await asyncio.wait_for(client.service_client.check_health(), timeout=5)
        checks["temporal"] = "ok"
    except (Problem, Exception) as err:
        checks["temporal"] = f"unreachable: {type(err).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
