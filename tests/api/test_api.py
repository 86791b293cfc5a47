"""The machine API through httpx (ASGI, in process) against a real worker, database and Temporal."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlmodel import func, select
from temporalio.testing import WorkflowEnvironment

from db.clients import create_client
from db.engine import SessionFactory
from db.models import Dossier, DossierEvent
from server import create_app
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import Moments, due_after, new_code, paused

pytestmark = pytest.mark.usefixtures("worker")


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def registration(
    code: str | None = None, received_at: datetime | None = None, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": code or new_code(),
        "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
        "agency_code": "H21.65",
        "applicant": {"name": "Nguyễn Văn A", "phone": "0905 123 456", "zalo_user_id": None},
        "received_at": (received_at or Moments()(0)).isoformat(),
        "channel": "online",
    }
    body.update(changes)
    return body


@pytest.fixture
async def api(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """An authenticated client of the API app, which uses the test's Temporal, database and task queue."""
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://api.test", headers={"Authorization": f"Bearer {key}"}
    ) as client:
        yield client


async def count_dossiers(session_factory: SessionFactory) -> int:
    async with session_factory() as session:
        return (await session.exec(select(func.count()).select_from(Dossier))).one()


async def test_register_then_read_the_dossier(
    api: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    t = Moments()
    body = registration(received_at=t(0))
    response = await api.post("/api/v1/dossiers", json=body)
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["code"] == body["code"]
    assert view["status"] == "received"
    assert view["dvcqg_status"] == 2
    assert when(view["due_at"]) == due_after(t(0))
    entry = view["timeline"][0]
    assert (entry["seq"], entry["kind"], entry["by"]) == (1, "received", "tthc")
    assert when(entry["at"]) == t(0)
    assert entry["detail"]["working_days"] == 15
    assert when(entry["detail"]["due_at"]) == due_after(t(0))
    assert (
        view["links"]["temporal_ui"]
        == f"http://temporal-ui.test/namespaces/default/workflows/dossier-{body['code']}"
    )
    assert "Nguyễn" not in response.text  # the view never echoes the applicant
    assert "0905" not in response.text

    async def notice_sent() -> dict[str, Any] | None:
        got = (await api.get(f"/api/v1/dossiers/{body['code']}")).json()
        return got if got["notices"] and got["notices"][0]["status"] == "sent" else None

    got = await eventually(notice_sent)
    assert [(n["kind"], n["audience"]) for n in got["notices"]] == [("received", "citizen")]

    again = await api.post("/api/v1/dossiers", json=body)
    assert again.status_code == 200
    assert again.json()["due_at"] == view["due_at"]

    other = await api.post("/api/v1/dossiers", json=registration(body["code"], channel="counter"))
    assert other.status_code == 409
    assert other.headers["content-type"] == "application/problem+json"
    assert other.json()["type"] == "urn:dossier-tracker:problem:registration-conflict"


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"code": "H21.65-261332-0001"}, "code"),
        ({"code": "not a code"}, "code"),
        ({"applicant": {"name": "A", "phone": "12345"}}, "applicant.phone"),
        ({"channel": "fax"}, "channel"),
        ({"procedure": {"code": "1.1", "name": "X", "working_days": 0}}, "procedure.working_days"),
        ({"received_at": "2026-11-23T09:15:00"}, "received_at"),
        ({"received_at": "2999-01-01T00:00:00+07:00"}, "received_at"),
        ({"surprise": 1}, "surprise"),
    ],
)
async def test_bad_registrations_are_422_and_change_nothing(
    api: httpx.AsyncClient, session_factory: SessionFactory, change: dict[str, Any], where: str
) -> None:
    body = copy.deepcopy(registration())
    body.update(change)
    response = await api.post("/api/v1/dossiers", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["status"] == 422
    assert problem["detail"].startswith(where)
    assert await count_dossiers(session_factory) == 0


async def test_malformed_json_unknown_routes_and_bad_codes_are_problems(api: httpx.AsyncClient) -> None:
    malformed = await api.post(
        "/api/v1/dossiers", content=b'{"code": "H21', headers={"content-type": "application/json"}
    )
    assert malformed.status_code == 422
    assert malformed.headers["content-type"] == "application/problem+json"

    unknown = await api.get("/api/v1/nothing-here")
    assert unknown.status_code == 404
    assert unknown.json() == {
        "type": "about:blank",
        "title": "Not Found",
        "status": 404,
        "detail": "no such resource: /api/v1/nothing-here",
    }

    bad_code = await api.get("/api/v1/dossiers/not-a-code")
    assert bad_code.status_code == 422
    missing = await api.get("/api/v1/dossiers/H21.65-261123-9999")
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:dossier-tracker:problem:dossier-not-found"


async def test_keys_and_agencies(api: httpx.AsyncClient, session_factory: SessionFactory) -> None:
    anonymous = await api.post("/api/v1/dossiers", json=registration(), headers={"Authorization": ""})
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    wrong = await api.post("/api/v1/dossiers", json=registration(), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    elsewhere = await api.post(
        "/api/v1/dossiers", json=registration(new_code("H22.01"), agency_code="H22.01")
    )
    assert elsewhere.status_code == 403
    assert await count_dossiers(session_factory) == 0


async def test_transitions_over_http(api: httpx.AsyncClient, session_factory: SessionFactory) -> None:
    t = Moments()
    code = (await api.post("/api/v1/dossiers", json=registration(received_at=t(0)))).json()["code"]
    base = f"/api/v1/dossiers/{code}"

    def at(working_days: float) -> str:
        return t(working_days).isoformat()

    illegal = await api.post(f"{base}/return", json={"event_id": "e-1", "at": at(0.5), "to": "A"})
    assert illegal.status_code == 409
    assert illegal.json()["current_status"] == "received"
    assert "request_supplement" in illegal.json()["allowed"]

    ask = {"event_id": "e-2", "at": at(1), "items": ["Bản vẽ mặt bằng"], "note": ""}
    first = await api.post(f"{base}/supplement-request", json=ask)
    assert first.status_code == 200, first.text
    assert (first.json()["status"], first.json()["due_at"]) == ("supplement_required", None)
    assert first.json()["supplement"]["items"] == ["Bản vẽ mặt bằng"]
    repeat = await api.post(f"{base}/supplement-request", json=ask)
    assert repeat.status_code == 200
    assert len(repeat.json()["timeline"]) == 2
    reused = await api.post(f"{base}/supplement-request", json=ask | {"items": ["Khác"]})
    assert reused.status_code == 422

    earlier = await api.post(f"{base}/supplement", json={"event_id": "e-3", "at": at(0.75)})
    assert earlier.status_code == 422
    back = await api.post(f"{base}/supplement", json={"event_id": "e-4", "at": at(1.5)})
    assert back.json()["status"] == "received"
    assert when(back.json()["due_at"]) == due_after(t(1.5))

    fee = {
        "event_id": "e-5",
        "at": at(2),
        "items": [{"name": "Lệ phí cấp phép", "amount_vnd": 1250000}],
        "pay_within_days": 5,
    }
    assert (await api.post(f"{base}/fee", json=fee)).json()["status"] == "fee_due"
    paid = await api.post(
        f"{base}/payment",
        json={"transaction_id": "VNP-1", "amount_vnd": 1250000, "at": at(2.5)},
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "received"
    assert when(paid.json()["due_at"]) == paused(due_after(t(1.5)), t(2), t(2.5))
    again = await api.post(
        f"{base}/payment",
        json={"transaction_id": "VNP-1", "amount_vnd": 1250000, "at": at(2.5)},
    )
    assert again.status_code == 200
    not_due = await api.post(
        f"{base}/payment",
        json={"transaction_id": "VNP-2", "amount_vnd": 5, "at": at(2.75)},
    )
    assert not_due.status_code == 409

    ready = await api.post(
        f"{base}/result",
        json={"event_id": "e-6", "at": at(3), "pickup": {"place": "Quầy số 3"}},
    )
    assert ready.json()["status"] == "result_ready"
    assert ready.json()["on_time"] is True
    done = await api.post(f"{base}/return", json={"event_id": "e-7", "at": at(4), "to": "Chủ hồ sơ"})
    assert done.json()["status"] == "returned"
    assert done.json()["dvcqg_status"] == 10
    closed = await api.post(f"{base}/withdrawal", json={"event_id": "e-8", "at": at(4.5)})
    assert closed.status_code == 409
    # The TTHC system retries the last call after the dossier closed: same answer, nothing changes.
    repeated = await api.post(f"{base}/return", json={"event_id": "e-7", "at": at(4), "to": "Chủ hồ sơ"})
    assert repeated.status_code == 200
    assert len(repeated.json()["timeline"]) == 7

    async with session_factory() as session:
        kinds = (await session.exec(select(DossierEvent.kind).where(DossierEvent.dossier_code == code))).all()
    assert sorted(kinds) == sorted(
        [
            "received",
            "supplement_requested",
            "supplement_received",
            "fee_requested",
            "payment_received",
            "result_ready",
            "returned",
        ]
    )


async def test_health(api: httpx.AsyncClient) -> None:
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ok", "checks": {"database": "ok", "temporal": "ok"}}
