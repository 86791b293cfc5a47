"""Body limits on every route, before anything parses a body, and JSON that cannot make the server fail.

One ASGI middleware, outside every route and every other middleware that reads bodies (idempotency):

- the body is read here, counted as it arrives (Content-Length is checked first, but a chunked body has
  none), and refused with 413 as soon as it passes its route's limit: MAX_API_BODY_BYTES for the machine
  API and the codec (`/api/`, `/codec/`), MAX_FORM_BODY_BYTES for everything else (the webhooks, the
  citizen and officer forms);
- a body that says it is JSON is checked before any route parses it: nested deeper than
  `limits.MAX_JSON_DEPTH`, not UTF-8, not JSON, a number with more digits than Python converts, NaN or
  Infinity is a 422 (Python's parser answers RecursionError or ValueError, which became a 500 or a 400);
- the route then reads the same bytes as if from the network.
"""

from __future__ import annotations

import json
import re
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain import limits
from settings import Settings
from web.problem import PROBLEM_JSON, problem_body

log = structlog.get_logger(__name__)

API_PREFIXES = ("/api/", "/codec/")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


class BadJson(ValueError):
    """A JSON body the routes must never see."""


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (strings skipped), without parsing it."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub(b'""', body)):
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _no_constants(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON number")


def check_json(body: bytes) -> None:
    """BadJson unless `body` is JSON any route may parse safely."""
    if json_depth(body) > limits.MAX_JSON_DEPTH:
        raise BadJson(f"JSON nested deeper than {limits.MAX_JSON_DEPTH} levels")
    try:
        json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except BadJson:
        raise
    except UnicodeDecodeError:
        raise BadJson("the body is not UTF-8") from None
    except (ValueError, RecursionError) as error:
        raise BadJson(f"the body is not valid JSON: {str(error)[:120]}") from None


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";")[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.api_limit = settings.max_api_body_bytes
        self.form_limit = settings.max_form_body_bytes

    def limit_for(self, path: str) -> int:
        return self.api_limit if path.startswith(API_PREFIXES) else self.form_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(str(scope.get("path", "")))
        too_large = f"the request body has at most {limit} bytes"
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await self._refuse(scope, send, 413, too_large, "too-large")
            return
        chunks: list[bytes] = []
        size = 0
        disconnected = False
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                disconnected = True
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(
                    scope, send, 413, f"the request body has at most {limit} bytes", "too-large"
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(scope):
            try:
                check_json(body)
            except BadJson as error:
                await self._refuse(scope, send, 422, str(error), "invalid-json")
                return
        await self.app(scope, _replay(body, receive, disconnected), send)

    async def _refuse(self, scope: Scope, send: Send, status: int, detail: str, slug: str) -> None:
        log.info("http.body_refused", path=scope.get("path"), status=status)
        body = json.dumps(problem_body(status, detail, slug=slug), ensure_ascii=False).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    # The rest of an oversized body is not read: the client should not send it again.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive, disconnected: bool) -> Receive:
    """A receive that hands out the body read here once, then what the network says next."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            if disconnected:
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
