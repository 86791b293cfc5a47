"""RFC 9457 problem details for every error the API answers: never a stack trace, never HTML.

The gateway's errors (workflows/gateway.py) are answered here, once, for every route: a refusal with the
status its kind calls for (409 with the current state and what is allowed, 422), a closed dossier 409,
an engine that did not answer 503 with `Retry-After`, and so is a database that is not there (restarting,
unreachable, out of connections): nothing was applied, the same call may be sent again.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import is_unavailable
from domain.refusals import Refusal
from domain.status import allowed_transitions
from web.problem import PROBLEM_JSON, problem_body
from workflows.gateway import Closed, GatewayError, Refused, TransactionConflict, Unavailable

log = logging.getLogger(__name__)


class Problem(Exception):
    """An error answer: raise it anywhere in a request and the client gets a problem detail."""

    def __init__(
        self, status: int, detail: str, *, slug: str | None = None, title: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.extra = extra
        self.headers: dict[str, str] = {}


# How each refusal is answered; the slug names it in the problem's `type`.
REFUSAL_STATUS: dict[Refusal, int] = {
    Refusal.ILLEGAL_TRANSITION: 409,
    Refusal.EVENT_ID_REUSED: 422,
    Refusal.EVENT_TIME: 422,
    Refusal.APOLOGY_REFUSED: 409,
    Refusal.INVALID_COMMAND: 422,
    Refusal.REGISTRATION_CONFLICT: 409,
    Refusal.SUPPLEMENT_LIMIT: 409,
    Refusal.RATING_REFUSED: 409,
    Refusal.UNKNOWN_STEP: 404,
    Refusal.STEP_OUT_OF_ORDER: 409,
}
_SLUGS = {
    Refusal.ILLEGAL_TRANSITION: "illegal-transition",
    Refusal.REGISTRATION_CONFLICT: "registration-conflict",
    Refusal.SUPPLEMENT_LIMIT: "supplement-limit",
    Refusal.UNKNOWN_STEP: "unknown-step",
    Refusal.STEP_OUT_OF_ORDER: "step-out-of-order",
}
RETRY_AFTER_SECONDS = 5


def gateway_problem(error: GatewayError) -> Problem:
    """How the machine API answers what the gateway raised."""
    if isinstance(error, Refused):
        if error.refusal is Refusal.ILLEGAL_TRANSITION:
            current = error.current
            return Problem(
                409,
                error.message,
                slug=_SLUGS[error.refusal],
                title="Transition not allowed in the current state",
                current_status=current.value if current else None,
                allowed=[t.value for t in allowed_transitions(current)] if current else [],
            )
        return Problem(
            REFUSAL_STATUS[error.refusal], error.message, slug=_SLUGS.get(error.refusal, error.refusal.value)
        )
    if isinstance(error, Closed):
        return Problem(409, str(error), slug="dossier-closed")
    if isinstance(error, TransactionConflict):
        return Problem(409, str(error), slug="transaction-conflict", title="Transaction of another dossier")
    if isinstance(error, Unavailable):
        problem = Problem(503, str(error), slug="workflow-unavailable")
        problem.headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return problem
    return Problem(500, str(error))


def database_unavailable() -> JSONResponse:
    """The answer while the database cannot take a request: retry the same call shortly."""
    return problem_response(
        503,
        "the database is not available right now; nothing was applied: retry the same request",
        slug="database-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body = problem_body(status, detail, slug=slug, title=title, **extra)
    return JSONResponse(jsonable_encoder(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(_: Request, exc: Problem) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, slug=exc.slug, title=exc.title, headers=exc.headers or None, **exc.extra
        )

    @app.exception_handler(GatewayError)
    async def _gateway(_: Request, exc: GatewayError) -> JSONResponse:
        if not isinstance(exc, Refused | Closed | Unavailable | TransactionConflict):
            log.error("gateway failure: %s", exc, exc_info=exc)
        return await _problem(_, gateway_problem(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such resource: {request.url.path}"
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
            for err in exc.errors()
        ]
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"] if part != "body")
        return problem_response(
            422,
            f"{where}: {first['msg']}" if where else str(first["msg"]),
            slug="invalid-request",
            title="Invalid request",
            errors=errors,
        )

    @app.exception_handler(DBAPIError)
    @app.exception_handler(PoolTimeout)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if is_unavailable(exc):
            log.warning(
                "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
            )
            return database_unavailable()
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "an unexpected error occurred; it has been logged")
