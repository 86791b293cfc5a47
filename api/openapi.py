"""The OpenAPI document at /openapi.json (and /docs): error answers as problem details, Idempotency-Key.

Routes declare their error statuses with `problems(...)`; `install_openapi` then writes every such answer
as `application/problem+json` with the ProblemDetail schema (FastAPI would say application/json), replaces
FastAPI's own 422 shape (we answer validation errors as problems too), adds 401 to every operation that
needs the API key and 400 (unreadable body) to every one with a body, and documents the Idempotency-Key
header on every POST of the machine API.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import KEY_PATTERN, REPLAYED_HEADER
from api.schemas.views import ProblemDetail
from web.problem import PROBLEM_JSON

TITLE = "Dossier tracker (hồ sơ TTHC)"
VERSION = "1.0.0"
DESCRIPTION = """\
Every administrative-procedure dossier (hồ sơ TTHC) is a durable Temporal workflow. The province's TTHC
system registers dossiers and reports what happened to them here; the workflow keeps the legal clock,
sends the citizen's Zalo notices and escalates overdue dossiers.

Machine endpoints need `Authorization: Bearer <api key>`; a key acts only for its agencies (403
otherwise), and one for all agencies (`*`) also administers the calendar and the agency directory.
Every POST under `/api/` accepts `Idempotency-Key`: a retry with the same key and body gets the first
answer again. Errors are RFC 9457 problem details (`application/problem+json`), never a stack trace.

Times are ISO 8601 with an offset; the office's zone is Asia/Ho_Chi_Minh. The national-portal sync and
the payment callback keep their Vietnamese field names and the portal's `yyyyMMddHHmmss` times.
"""

_PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetail"}

DEFAULT_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request",
    401: "No API key, or a key that is not valid (or was revoked)",
    403: "The key may not act for this agency",
    404: "No such dossier",
    409: "Not allowed in the current state (the body names it and what is allowed)",
    413: "The body is too large",
    422: "Invalid request: the body, a parameter or an event time (the body says which)",
    503: "The workflow engine did not answer in time; retry the same call (same event_id)",
}


BODY_TOO_LARGE = (
    "The body is larger than MAX_API_BODY_BYTES (MAX_FORM_BODY_BYTES for webhooks): refused before it is read"
)


def problems(*statuses: int, descriptions: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route for these error statuses, each answered as a problem detail."""
    descriptions = descriptions or {}
    return {
        status: {
            "model": ProblemDetail,
            "description": descriptions.get(status) or DEFAULT_DESCRIPTIONS.get(status, "Error"),
        }
        for status in statuses
    }


def _is_problem(response: dict[str, Any]) -> bool:
    content = response.get("content", {})
    schema: dict[str, Any] = content.get("application/json", {}).get("schema", {})
    return schema == _PROBLEM_REF or str(schema.get("$ref", "")).endswith("/HTTPValidationError")


def _as_problem(response: dict[str, Any], description: str | None = None) -> None:
    response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
    if description:
        response["description"] = description


def _needs_key(operation: dict[str, Any]) -> bool:
    return any("HTTPBearer" in requirement for requirement in operation.get("security", []))


def _document_idempotency(operation: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    parameters.append(
        {
            "name": IDEMPOTENCY_HEADER,
            "in": "header",
            "required": False,
            "description": (
                "Any unique string (a UUID): the first answer is kept for 24 hours and a retry with the "
                f"same key and body gets it again, with `{REPLAYED_HEADER}: true`. The same key with another "
                "body is a 422; while the first request runs, a 409."
            ),
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY_PATTERN},
        }
    )
    responses = operation["responses"]
    if "409" not in responses:
        responses["409"] = {"description": "A request with this Idempotency-Key is still running"}
        _as_problem(responses["409"])
    for status, response in responses.items():
        if status.startswith("2"):
            response.setdefault("headers", {})[REPLAYED_HEADER] = {
                "description": "true when this is the stored answer of an earlier request with the same key",
                "schema": {"type": "string", "enum": ["true"]},
            }


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The document FastAPI would build, adjusted as the module docstring says."""
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["ProblemDetail"] = ProblemDetail.model_json_schema(ref_template="#/components/schemas/{model}")
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if _is_problem(response):
                    _as_problem(
                        response,
                        DEFAULT_DESCRIPTIONS[422] if status == "422" else None,
                    )
            if "requestBody" in operation and "400" not in responses:
                responses["400"] = {"description": "The body could not be read (not UTF-8 JSON)"}
                _as_problem(responses["400"])
            if "requestBody" in operation:
                # web/body_limit.py answers these before any route runs.
                responses.setdefault("413", {"description": BODY_TOO_LARGE})
                _as_problem(responses["413"])
                responses.setdefault("422", {"description": DEFAULT_DESCRIPTIONS[422]})
                _as_problem(responses["422"])
            if _needs_key(operation) and "401" not in responses:
                responses["401"] = {"description": DEFAULT_DESCRIPTIONS[401]}
                _as_problem(responses["401"])
            if method == "post" and path.startswith("/api/"):
                _document_idempotency(operation)
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the adjusted document at /openapi.json (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
