"""The one shape of an error answer (RFC 9457 problem details), for every part of the web process.

`api/problems.py` answers the machine API's errors with it; the body limits (web/body_limit.py) answer
with it before any route runs.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:dossier-tracker:problem:"


def problem_body(
    status: int, detail: str, *, slug: str | None = None, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    """`type`, `title`, `status`, `detail`, and any extra members."""
    return {
        "type": f"{TYPE_PREFIX}{slug}" if slug else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        **extra,
    }
