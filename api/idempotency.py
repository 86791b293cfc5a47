"""`Idempotency-Key` on every POST of the machine API, implemented once as a small ASGI middleware.

The first request with a key claims it (a row inserted before the route runs, status None), runs, and its
answer is stored under the calling client and the key. Afterwards the same key:

- with the same request (method, path, query and body, compared in normal form) replays the stored answer,
  same status and body, with `Idempotent-Replayed: true`;
- with another request is a 422 problem (`idempotency-key-reused`);
- while the first request still runs is a 409 problem (`idempotency-key-in-progress`, `Retry-After`).

Answers that say "try again" are not stored and free the key for the retry: 5xx (the workflow engine did
not answer, an unexpected error) and a 422 from the request schema (nothing ran). The answer is stored, or
the key freed, *before* it leaves: a client retrying the instant it reads a 503 finds the key free, never
"in progress" for a request that has ended. Keys expire after
`IDEMPOTENCY_KEY_TTL_HOURS`. A running request keeps its claim fresh (every third of
`IDEMPOTENCY_PENDING_TIMEOUT_SECONDS`); a claim not refreshed for that long belongs to a request whose
process died and may be taken over. Requests without a valid API key pass through untouched (the
route answers 401), and so do webhooks, which are idempotent on their own transaction ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import structlog
from sqlalchemy import delete, update
from sqlmodel import col, select
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import database_unavailable, problem_response
from db.clients import find_client
from db.engine import SessionFactory, is_unavailable
from db.models import ApiClient, IdempotencyKey
from db.types import utcnow
from db.upsert import inserted_value
from domain.digest import canonical_json
from settings import Settings

log = structlog.get_logger(__name__)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# Visible ASCII, as the IETF draft's examples and every client library's UUIDs are.
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
_KEY = re.compile(KEY_PATTERN)
# Response headers worth replaying; content-length is recomputed.
_KEPT_HEADERS = ("content-type", "location")
_SCHEMA_INVALID = "urn:dossier-tracker:problem:invalid-request"
PURGE_EVERY_SECONDS = 600.0
# Where the middleware leaves the client it found for the bearer key (with the key) for the route.
CLIENT_STATE = "api_client"


@dataclass(frozen=True)
class _Owned:
    row_id: int


@dataclass(frozen=True)
class _Replay:
    row: IdempotencyKey


class _Mismatch:
    pass


class _InProgress:
    pass


_Claim = _Owned | _Replay | _Mismatch | _InProgress


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    """SHA-256 of the request; a JSON body in normal form, so key order and spacing do not matter."""
    try:
        content = b"json:" + canonical_json(json.loads(body)).encode()
    except (ValueError, UnicodeDecodeError):
        content = b"raw:" + body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, content):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _bearer(headers: Headers) -> str | None:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _storable(status: int, body: bytes) -> bool:
    """Whether an answer is final for this request (replayed), or says to try again (not stored)."""
    if status >= 500 or status in (401, 408, 429):
        return False
    if status == 422:
        try:
            return bool(json.loads(body).get("type") != _SCHEMA_INVALID)
        except (ValueError, AttributeError):
            return True
    return True


class IdempotencyMiddleware:
    """Claims, stores and replays POST answers under (API client, Idempotency-Key)."""

    def __init__(self, app: ASGIApp, path_prefix: str = "/api/") -> None:
        self.app = app
        self.path_prefix = path_prefix
        self._next_purge = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith(self.path_prefix)
        ):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        state = scope["app"].state
        settings: Settings = state.settings
        sessions: SessionFactory = state.session_factory
        token = _bearer(headers) if key is not None else None
        if key is None or token is None:
            await self.app(scope, receive, send)  # no key, or the route answers 401
            return
        try:
            await self._keyed(scope, receive, send, settings, sessions, token, key)
        except Exception as error:
            if not is_unavailable(error):
                raise
            log.warning("idempotency.database_unavailable", path=scope["path"], error=type(error).__name__)
            await database_unavailable()(scope, receive, send)

    async def _keyed(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        settings: Settings,
        sessions: SessionFactory,
        token: str,
        key: str,
    ) -> None:
        client = await self._client(sessions, token)
        if client is None or client.id is None:
            await self.app(scope, receive, send)  # the route answers 401
            return
        # The route's ClientDep takes it from here rather than looking the key up again (api/keys.py).
        scope.setdefault("state", {})[CLIENT_STATE] = (token, client)
        if not _KEY.match(key):
            problem = problem_response(
                422,
                f"{HEADER} must be 1 to 255 visible ASCII characters (a UUID is a good choice)",
                slug="invalid-idempotency-key",
                title="Invalid Idempotency-Key",
            )
            await problem(scope, receive, send)
            return
        client_id = client.id
        body = await _read_body(receive, settings.max_api_body_bytes)
        if body is None:
            too_big = problem_response(413, f"a request body has at most {settings.max_api_body_bytes} bytes")
            await too_big(scope, receive, send)
            return
        digest = request_hash(scope["method"], scope["path"], scope.get("query_string", b""), body)
        claim = await self._claim(sessions, settings, client_id, key, scope["method"], scope["path"], digest)
        if isinstance(claim, _Replay):
            log.info("idempotency.replayed", client_id=client_id, path=scope["path"], status=claim.row.status)
            await _send_stored(claim.row, send)
        elif isinstance(claim, _Mismatch):
            mismatch = problem_response(
                422,
                f"this {HEADER} was already used for another request (method, path or body); "
                "send a new key for a new request",
                slug="idempotency-key-reused",
                title="Idempotency-Key reused",
            )
            await mismatch(scope, receive, send)
        elif isinstance(claim, _InProgress):
            busy = problem_response(
                409,
                f"a request with this {HEADER} is still running; retry shortly to get its answer",
                slug="idempotency-key-in-progress",
                title="Request in progress",
                headers={"Retry-After": "1"},
            )
            await busy(scope, receive, send)
        else:
            await self._run(scope, body, receive, send, sessions, claim.row_id)

    async def _client(self, sessions: SessionFactory, token: str) -> ApiClient | None:
        async with sessions() as session:
            return await find_client(session, token)

    async def _claim(
        self,
        sessions: SessionFactory,
        settings: Settings,
        client_id: int,
        key: str,
        method: str,
        path: str,
        digest: str,
    ) -> _Claim:
        now = utcnow()
        ttl = timedelta(hours=settings.idempotency_key_ttl_hours)
        await self._purge(sessions, now)
        for _ in range(3):  # an expired row deleted, or a row deleted by its owner: insert again
            async with sessions() as session:
                # One statement claims a new key (its id comes back); the row is read only when the key
                # was there, in the same transaction.
                inserted = await inserted_value(
                    session,
                    IdempotencyKey,
                    ["client_id", "key"],
                    "id",
                    client_id=client_id,
                    key=key,
                    method=method,
                    path=path[:500],
                    request_hash=digest,
                    status=None,
                    response_headers={},
                    response_body=None,
                    created_at=now,
                    locked_at=now,
                    expires_at=now + ttl,
                )
                if inserted is not None:
                    await session.commit()
                    return _Owned(inserted)
                row = (
                    await session.exec(
                        select(IdempotencyKey).where(
                            IdempotencyKey.client_id == client_id, IdempotencyKey.key == key
                        )
                    )
                ).first()
                await session.commit()
                if row is None or row.id is None:
                    continue
                if row.expires_at <= now:
                    await session.exec(
                        delete(IdempotencyKey).where(
                            col(IdempotencyKey.id) == row.id, col(IdempotencyKey.expires_at) <= now
                        )
                    )
                    await session.commit()
                    continue
                if (row.request_hash, row.method, row.path) != (digest, method, path[:500]):
                    return _Mismatch()
                if row.status is not None:
                    return _Replay(row)
                stale = now - timedelta(seconds=settings.idempotency_pending_timeout_seconds)
                if row.locked_at < stale and await self._take_over(session, row.id, row.locked_at, now):
                    log.warning("idempotency.taken_over", path=path)
                    return _Owned(row.id)
                return _InProgress()
        return _InProgress()

    @staticmethod
    async def _take_over(session: Any, row_id: int, locked_at: datetime, now: datetime) -> bool:
        """Claim an abandoned key; of two requests doing it at once, one wins."""
        result = await session.exec(
            update(IdempotencyKey)
            .where(
                col(IdempotencyKey.id) == row_id,
                col(IdempotencyKey.status).is_(None),
                col(IdempotencyKey.locked_at) == locked_at,
            )
            .values(locked_at=now)
            .returning(col(IdempotencyKey.id))
        )
        won = result.first() is not None
        await session.commit()
        return won

    async def _purge(self, sessions: SessionFactory, now: datetime) -> None:
        """Delete expired keys now and then (each process at most every few minutes)."""
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        async with sessions() as session:
            await session.exec(delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= now))
            await session.commit()

    async def _run(
        self, scope: Scope, body: bytes, receive: Receive, send: Send, sessions: SessionFactory, row_id: int
    ) -> None:
        """Run the route with the buffered body; store its answer or free the key, then pass it on."""
        started: dict[str, Any] = {}
        chunks: list[bytes] = []
        body_given = False

        async def replay_body() -> Message:
            nonlocal body_given
            if not body_given:
                body_given = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        settings: Settings = scope["app"].state.settings
        holding = asyncio.create_task(
            _hold(sessions, row_id, settings.idempotency_pending_timeout_seconds / 3)
        )
        try:
            await self.app(scope, replay_body, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await _stop(holding)
                await _release(sessions, row_id)
            raise
        status = int(started.get("status", 500))
        content = b"".join(chunks)
        with anyio.CancelScope(shield=True):
            await _stop(holding)
            try:
                if _storable(status, content):
                    kept = {
                        name.decode("latin-1"): value.decode("latin-1")
                        for name, value in started.get("headers", [])
                        if name.decode("latin-1").lower() in _KEPT_HEADERS
                    }
                    await _store(sessions, row_id, status, kept, content)
                else:
                    await _release(sessions, row_id)
            except Exception as error:
                if not is_unavailable(error):
                    raise
                # The answer still goes out; the key stays claimed until IDEMPOTENCY_PENDING_TIMEOUT_SECONDS,
                # then a retry runs again and the gateway recognises what was applied.
                log.warning("idempotency.not_recorded", path=scope["path"], error=type(error).__name__)
        await send({**started, "type": "http.response.start", "status": status})
        await send({"type": "http.response.body", "body": content, "more_body": False})


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole request body, or None when it is larger than `limit` (web/body_limit.py refuses those
    first in the web process; an app without it still stays bounded)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _hold(sessions: SessionFactory, row_id: int, every: float) -> None:
    """Keep a running request's claim fresh: its `locked_at` moves on every `every` seconds, so a claim
    that stops moving belongs to a process that died (killed mid-request) and is taken over after
    IDEMPOTENCY_PENDING_TIMEOUT_SECONDS, not after the longest a request could run."""
    while True:
        await asyncio.sleep(every)
        try:
            async with sessions() as session:
                await session.exec(
                    update(IdempotencyKey)
                    .where(col(IdempotencyKey.id) == row_id, col(IdempotencyKey.status).is_(None))
                    .values(locked_at=utcnow())
                )
                await session.commit()
        except Exception as error:  # the database is away: the next beat tries again
            if not is_unavailable(error):
                raise


async def _stop(holding: asyncio.Task[None]) -> None:
    """Stop refreshing a claim (the request ended); what the refresh raised is not the answer's business."""
    holding.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await holding


async def _store(
    sessions: SessionFactory, row_id: int, status: int, headers: dict[str, str], body: bytes
) -> None:
    async with sessions() as session:
        await session.exec(
            update(IdempotencyKey)
            .where(col(IdempotencyKey.id) == row_id)
            .values(status=status, response_headers=headers, response_body=body.decode("utf-8", "replace"))
        )
        await session.commit()


async def _release(sessions: SessionFactory, row_id: int) -> None:
    async with sessions() as session:
        await session.exec(
            delete(IdempotencyKey).where(
                col(IdempotencyKey.id) == row_id, col(IdempotencyKey.status).is_(None)
            )
        )
        await session.commit()


async def _send_stored(row: IdempotencyKey, send: Send) -> None:
    content = (row.response_body or "").encode()
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in row.response_headers.items()
    ]
    headers += [
        (b"content-length", str(len(content)).encode()),
        (REPLAYED_HEADER.lower().encode(), b"true"),
    ]
    await send({"type": "http.response.start", "status": row.status or 200, "headers": headers})
    await send({"type": "http.response.body", "body": content})
