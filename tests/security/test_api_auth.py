"""Keys and agencies on every machine endpoint: no key, a bad or revoked key, another agency's key."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from db.clients import find_client, hash_key
from db.engine import SessionFactory, make_engine, make_session_factory
from db.migrate import upgrade
from db.models import ApiClient, Dossier
from db.types import utcnow
from domain.dvcqg import format_portal_time
from server import create_app
from settings import Settings
from tests.support.api import Keys, bearer, dossier_row
from tests.support.builders import Moments

CODE = "H21.65-261123-0001"


def requests() -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every keyed endpoint with a valid body, aimed at a dossier of agency H21.65."""
    moment = Moments()(1)
    at, portal_at = moment.isoformat(), format_portal_time(moment)
    base = f"/api/v1/dossiers/{CODE}"
    event = {"event_id": "e-1", "at": at}
    return [
        ("GET", base, None),
        ("POST", f"{base}/supplement-request", event | {"items": ["Bản vẽ"]}),
        ("POST", f"{base}/supplement", event),
        ("POST", f"{base}/fee", event | {"items": [{"name": "Lệ phí", "amount_vnd": 1000}]}),
        ("POST", f"{base}/payment", {"transaction_id": "t-1", "amount_vnd": 1000, "at": at}),
        ("POST", f"{base}/result", event | {"pickup": {"place": "Quầy 3"}}),
        ("POST", f"{base}/return", event | {"to": "Chủ hồ sơ"}),
        ("POST", f"{base}/rejection", event | {"reason": "Sai thẩm quyền"}),
        ("POST", f"{base}/withdrawal", event),
        ("POST", f"{base}/apology", event | {"new_due_at": at, "reason": "Chậm"}),
        (
            "POST",
            "/api/v1/dvcqg/sync",
            {"MaHoSo": CODE, "TrangThaiHoSo": "7", "ThoiDiemXuLy": portal_at},
        ),
        (
            "POST",
            "/api/v1/dossiers",
            {
                "code": "H21.65-261123-0002",
                "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
                "agency_code": "H21.65",
                "applicant": {"name": "Nguyễn Văn A", "phone": "0905123456"},
                "received_at": at,
                "channel": "online",
            },
        ),
        ("GET", "/api/v1/dossiers", None),
    ]


@pytest.fixture
async def registered(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        session.add(dossier_row(CODE))
        await session.commit()


@pytest.mark.usefixtures("registered")
async def test_no_key_a_bad_key_and_a_revoked_key_are_401(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    async with session_factory() as session:
        client = (await session.exec(select(ApiClient).where(ApiClient.key_hash == hash_key(keys.h21)))).one()
        client.revoked_at = utcnow()
        await session.commit()
    for method, path, body in requests():
        for headers in (
            {},
            bearer("dtk_not-a-key"),
            bearer(keys.h21),
            {"Authorization": "Basic dXNlcjpwYXNz"},
        ):
            response = await http.request(method, path, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.usefixtures("registered")
async def test_another_agencys_key_changes_nothing_and_learns_nothing(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    """Registering or syncing for another agency is 403 (decided from the body alone); reading or changing
    another agency's dossier is the same 404 as for a code that exists nowhere (test_agency_scope.py)."""
    for method, path, body in requests():
        response = await http.request(method, path, json=body, headers=bearer(keys.h22))
        if path == "/api/v1/dossiers" and method == "GET":
            assert response.json()["items"] == []  # the list shows only the caller's agencies
            continue
        if path.startswith("/api/v1/dossiers/"):
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["type"] == "urn:dossier-tracker:problem:dossier-not-found"
            continue
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["type"] == "urn:dossier-tracker:problem:forbidden-agency"
    async with session_factory() as session:
        rows = (await session.exec(select(Dossier))).all()
    assert [(row.code, row.status, row.last_seq) for row in rows] == [(CODE, "received", 0)]


async def test_production_has_no_key_by_default_and_local_mode_makes_the_printed_one(
    database_url: str,
) -> None:
    """The lifespan creates the `local` client from LOCAL_API_KEY in local mode only."""
    await asyncio.to_thread(upgrade, database_url)
    local = Settings(
        _env_file=None,  # type: ignore[call-arg]
        app_env="local",
        database_url=database_url,
        zalo_mode="fake",
        local_api_key="local-key-1234567890",
    )
    # Production's own start-up checks (PostgreSQL, secrets) are settings' business, not this test's.
    production = local.model_copy(update={"app_env": "production"})
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)

    async def clients_after_start(settings: Settings) -> list[tuple[str, list[str]]]:
        app: FastAPI = create_app(settings)
        async with app.router.lifespan_context(app):
            pass
        async with sessions() as session:
            return [(c.name, c.agencies) for c in (await session.exec(select(ApiClient))).all()]

    try:
        assert await clients_after_start(production) == []
        assert await clients_after_start(local) == [("local", ["*"])]
        async with sessions() as session:
            assert await find_client(session, "local-key-1234567890") is not None
    finally:
        await engine.dispose()
