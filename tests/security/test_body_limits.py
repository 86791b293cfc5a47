"""Every route bounds its body before anything parses it, and no JSON can make the server fail.

The attacks: a body of many megabytes (the server reads it whole, then parses it, on every replica, for
as many requests as the attacker sends), sent with or without Content-Length; and JSON nested a hundred
thousand deep, with a 5,000-digit number, or NaN, which Python's parser answers with RecursionError or
ValueError: a 500 (the Zalo webhook parses before it authenticates) or a 400 that is no problem detail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlmodel import select

from db.engine import SessionFactory
from db.models import Payment, ZaloEvent
from settings import Settings
from tests.support.api import Keys, bearer

JSON = {"Content-Type": "application/json"}
SIGNED = {"X-ZEvent-Signature": "mac=" + "0" * 64}  # any signature: the body is read before it is checked

# (path, what it is) for every kind of route that takes a body.
API_ROUTES = [
    "/api/v1/dossiers",
    "/api/v1/dossiers/H21.65-261123-0001/fee",
    "/api/v1/dvcqg/sync",
    "/codec/decode",
]
SMALL_ROUTES = [
    "/webhooks/payments",
    "/webhooks/zalo",
    "/can-bo/dang-nhap",
    "/can-bo/ho-so/H21.65-261123-0001/xu-ly/phi",
]

PATHOLOGICAL = {
    "deep": b"[" * 10_000 + b"]" * 10_000,
    "deep object": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "huge number": b'{"MaLoi": "00", "SoTien": ' + b"9" * 5000 + b"}",
    "nan": b'{"SoTien": NaN, "MaLoi": "00"}',
    "infinity": b'{"amount_vnd": Infinity}',
    "not utf-8": b'{"code": "\xff\xfe"}',
}


@pytest.fixture
def api(http: httpx.AsyncClient, keys: Keys) -> httpx.AsyncClient:
    http.headers.update(bearer(keys.admin))
    return http


async def chunks(total: int) -> AsyncIterator[bytes]:
    """A streamed body (no Content-Length: chunked), 64 KiB at a time."""
    sent = 0
    while sent < total:
        piece = min(65_536, total - sent)
        sent += piece
        yield b"x" * piece


async def nothing_written(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        assert (await session.exec(select(Payment))).all() == []
        assert (await session.exec(select(ZaloEvent))).all() == []


@pytest.mark.parametrize("path", API_ROUTES + SMALL_ROUTES)
async def test_a_body_over_the_limit_is_413_before_it_is_read(
    api: httpx.AsyncClient, settings: Settings, session_factory: SessionFactory, path: str
) -> None:
    limit = settings.max_api_body_bytes if path in API_ROUTES else settings.max_form_body_bytes
    body = b'{"x": "' + b"a" * limit + b'"}'
    headers = JSON | SIGNED | {"Idempotency-Key": "big-1"}

    declared = await api.post(path, content=body, headers=headers)
    streamed = await api.post(path, content=chunks(limit + 1), headers=headers)

    print(path, len(body), "bytes →", declared.status_code, declared.text[:100])
    for response in (declared, streamed):
        assert response.status_code == 413, response.text[:200]
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 413
    await nothing_written(session_factory)


@pytest.mark.parametrize("path", [*API_ROUTES, "/webhooks/payments", "/webhooks/zalo"])
@pytest.mark.parametrize("kind", list(PATHOLOGICAL))
async def test_pathological_json_is_a_422_problem(
    api: httpx.AsyncClient, session_factory: SessionFactory, path: str, kind: str
) -> None:
    response = await api.post(path, content=PATHOLOGICAL[kind], headers=JSON | SIGNED)

    print(path, kind, "→", response.status_code, response.text[:120])
    assert response.status_code == 422, response.text[:300]
    assert response.headers["content-type"] == "application/problem+json"
    assert set(response.json()) >= {"type", "title", "status", "detail"}
    await nothing_written(session_factory)


async def test_bodies_within_the_limits_still_work(api: httpx.AsyncClient, settings: Settings) -> None:
    """The limits bound abuse, not use: an API body of most of the limit is parsed as usual."""
    padding = "a" * (settings.max_api_body_bytes // 2)
    response = await api.post("/codec/decode", json={"payloads": [], "padding": padding})
    assert response.status_code in (200, 404)  # 404: this test's settings have no payload keys
    nested = {"MaHoSo": "H21.65-261123-0001", "x": [[[[[[[[1]]]]]]]]}
    assert (
        await api.post("/api/v1/dvcqg/sync", json=nested)
    ).status_code == 422  # the schema, not the parser
