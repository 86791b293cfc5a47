"""The procedure catalogue over HTTP, and what registration and supplement requests do with it.

Registration never loses a dossier: a code the catalogue lacks or other working days is registered as sent
and flagged; a second supplement request is refused (409) unless the procedure allows more.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from db.engine import SessionFactory
from db.models import Dossier
from tests.support.api import Keys, bearer, registration
from tests.support.builders import Moments, due_after, new_code
from workflows.gateway import Gateway, Unavailable

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = json.loads((ROOT / "deploy" / "procedures.sample.json").read_text(encoding="utf-8"))
BASE = "/api/v1/procedures"


def procedure(code: str, working_days: int = 15, **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "code": code,
        "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "level": "xã",
        "agency_kinds": ["UBND cấp xã"],
        "working_days": working_days,
        "fees": [{"name": "Lệ phí", "amount_vnd": None, "note": "theo Nghị quyết HĐND tỉnh"}],
        "documents": ["Đơn đề nghị cấp giấy phép xây dựng"],
        "steps": [{"name": "Tiếp nhận", "unit": "Bộ phận Một cửa", "hours": 4}],
    }
    entry.update(changes)
    return entry


async def test_an_administrator_loads_versions_and_reads_them(http: httpx.AsyncClient, keys: Keys) -> None:
    admin = bearer(keys.admin)
    empty = await http.get(BASE, headers=admin)
    assert empty.json() == {"version": None, "procedures": []}

    loaded = await http.post(f"{BASE}/versions", json=SAMPLE, headers=admin)
    assert loaded.status_code == 201, loaded.text
    assert (loaded.json()["version"], loaded.json()["procedures"], loaded.json()["loaded_by"]) == (
        1,
        21,
        "admin",
    )
    assert loaded.json()["about"]["province"] == "Gia Lai"

    in_force = (await http.get(BASE, headers=admin)).json()
    assert in_force["version"] == 1
    assert len(in_force["procedures"]) == 21
    by_code = {p["code"]: p for p in in_force["procedures"]}
    assert by_code["local.xaydung.gpxd-nha-o"]["supplement"] == {
        "max_requests": 2,
        "restart_count": True,
        "supply_within_days": 30,
    }
    assert by_code["local.hotich.khai-sinh"]["supplement"] == {
        "max_requests": 1,
        "restart_count": True,
        "supply_within_days": 30,
    }

    one = await http.get(f"{BASE}/2.000908", headers=admin)
    assert one.status_code == 200, one.text
    assert (one.json()["name"], one.json()["national_code"], one.json()["working_days"]) == (
        "Cấp bản sao từ sổ gốc",
        "2.000908",
        1,
    )
    assert sum(step["hours"] for step in one.json()["steps"]) <= 8

    # A wrong catalogue writes nothing, and the problem names every wrong entry and field.
    wrong = SAMPLE | {
        "procedures": [
            procedure("A.1", working_days=0),
            procedure("A.2", steps=[{"name": "Thẩm định", "unit": "Phòng", "hours": 200}]),
            procedure("A.3"),
            procedure("A.3"),
        ]
    }
    refused = await http.post(f"{BASE}/versions", json=wrong, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["type"] == "urn:dossier-tracker:problem:invalid-catalogue"
    messages = [e["msg"] for e in refused.json()["errors"]]
    assert messages == [
        "entry 1 (A.1): working_days must be 1 to 365",
        "entry 2 (A.2): the steps' hours (200) exceed 15 working days",
        "entry 4: A.3 twice",
    ]
    assert "vượt thời hạn 15 ngày làm việc" in refused.json()["errors"][1]["msg_vi"]
    assert [v["version"] for v in (await http.get(f"{BASE}/versions", headers=admin)).json()] == [1]

    # A new version is in force at once; the old one stays readable.
    second = await http.post(f"{BASE}/versions", json={"procedures": [procedure("1.001234")]}, headers=admin)
    assert second.json()["version"] == 2
    assert [p["code"] for p in (await http.get(BASE, headers=admin)).json()["procedures"]] == ["1.001234"]
    gone = await http.get(f"{BASE}/2.000908", headers=admin)
    assert (gone.status_code, gone.json()["type"]) == (404, "urn:dossier-tracker:problem:procedure-not-found")
    assert (await http.get(f"{BASE}/2.000908?version=1", headers=admin)).status_code == 200
    versions = (await http.get(f"{BASE}/versions", headers=admin)).json()
    assert [(v["version"], v["procedures"]) for v in versions] == [(2, 1), (1, 21)]

    # Only an administrator's key reads or loads it.
    for method, path in (("GET", BASE), ("POST", f"{BASE}/versions"), ("GET", f"{BASE}/flagged")):
        denied = await http.request(method, path, json=SAMPLE, headers=bearer(keys.h21))
        assert denied.status_code == 403


@pytest.mark.usefixtures("worker")
async def test_registration_is_checked_against_the_catalogue_and_never_refused(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    admin, tthc = bearer(keys.admin), bearer(keys.h21)
    await http.post(f"{BASE}/versions", json={"procedures": [procedure("1.001234", 15)]}, headers=admin)
    t = Moments()

    async def register(code: str, procedure_code: str, working_days: int) -> dict[str, Any]:
        body = registration(code, received_at=t(0))
        body["procedure"] = {
            "code": procedure_code,
            "name": "Cấp giấy phép xây dựng",
            "working_days": working_days,
        }
        created = await http.post("/api/v1/dossiers", json=body, headers=tthc)
        assert created.status_code == 201, created.text
        again = await http.post("/api/v1/dossiers", json=body, headers=tthc)
        assert again.status_code == 200  # a repeat flags nothing twice
        return dict(again.json())

    matching, unknown, differs = new_code(), new_code(), new_code()
    as_catalogue = await register(matching, "1.001234", 15)
    assert [(e["seq"], e["kind"]) for e in as_catalogue["timeline"]] == [(1, "received")]

    not_in_catalogue = await register(unknown, "9.999999", 15)
    assert not_in_catalogue["due_at"] is not None  # the appointment stands
    assert [(e["seq"], e["kind"]) for e in not_in_catalogue["timeline"]] == [
        (0, "procedure_unknown"),
        (1, "received"),
    ]
    assert not_in_catalogue["timeline"][0]["detail"] == {
        "procedure_code": "9.999999",
        "working_days": 15,
        "catalogue_version": 1,
    }

    other_days = await register(differs, "1.001234", 10)
    # Accepted as sent: the due date is the citizen's appointment, computed from the 10 days sent.
    assert other_days["due_at"] is not None
    assert other_days["timeline"][1]["detail"]["working_days"] == 10
    assert datetime.fromisoformat(other_days["due_at"]) == due_after(t(0), 10)
    assert [(e["seq"], e["kind"]) for e in other_days["timeline"]] == [
        (0, "working_days_differ"),
        (1, "received"),
    ]
    assert other_days["timeline"][0]["detail"]["catalogue_working_days"] == 15

    listed = (await http.get(f"{BASE}/flagged", headers=admin)).json()
    assert sorted(
        (f["code"], f["kind"], f["working_days"], f["catalogue_working_days"]) for f in listed
    ) == sorted([(unknown, "procedure_unknown", 15, None), (differs, "working_days_differ", 10, 15)])
    async with session_factory() as session:
        rows = {code: await session.get(Dossier, code) for code in (matching, unknown, differs)}
    assert {code: (r.catalogue_version, r.supplement_max_requests) for code, r in rows.items() if r} == {
        matching: (1, 1),
        unknown: (1, 1),
        differs: (1, 1),
    }


@pytest.mark.usefixtures("worker")
async def test_a_supplement_is_requested_once_unless_the_procedure_allows_more(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    admin, tthc = bearer(keys.admin), bearer(keys.h21)
    t = Moments()

    async def dossier(procedure_code: str) -> str:
        body = registration(new_code(), received_at=t(0))
        body["procedure"] = {"code": procedure_code, "name": "Cấp giấy phép xây dựng", "working_days": 15}
        created = await http.post("/api/v1/dossiers", json=body, headers=tthc)
        assert created.status_code == 201, created.text
        return str(created.json()["code"])

    async def cycle(code: str, n: int) -> httpx.Response:
        base = f"/api/v1/dossiers/{code}"
        asked = await http.post(
            f"{base}/supplement-request",
            json={"event_id": f"ask-{n}", "at": t(n).isoformat(), "items": ["Bản vẽ mặt bằng"]},
            headers=tthc,
        )
        if asked.status_code == 200:
            back = await http.post(
                f"{base}/supplement",
                json={"event_id": f"back-{n}", "at": t(n + 0.5).isoformat()},
                headers=tthc,
            )
            assert back.status_code == 200, back.text
        return asked

    # No catalogue at all: the law's default, one request.
    default = await dossier("1.001234")
    assert (await cycle(default, 1)).status_code == 200
    second = await cycle(default, 2)
    assert second.status_code == 409
    problem = second.json()
    assert problem["type"] == "urn:dossier-tracker:problem:supplement-limit"
    assert "allows it once, listing every missing document in one request" in problem["detail"]
    view = (await http.get(f"/api/v1/dossiers/{default}", headers=tthc)).json()
    assert view["status"] == "received"
    assert [e["kind"] for e in view["timeline"]] == [
        "received",
        "supplement_requested",
        "supplement_received",
    ]

    # A procedure the catalogue allows two requests.
    await http.post(
        f"{BASE}/versions",
        json={"procedures": [procedure("1.009999", supplement={"max_requests": 2, "restart_count": True})]},
        headers=admin,
    )
    twice = await dossier("1.009999")
    assert (await cycle(twice, 1)).status_code == 200
    assert (await cycle(twice, 2)).status_code == 200
    third = await cycle(twice, 3)
    assert third.status_code == 409
    assert "allows it 2 times" in third.json()["detail"]

    # A procedure the new catalogue lacks gets the law's default.
    unknown = await dossier("9.999999")
    assert (await cycle(unknown, 1)).status_code == 200
    assert (await cycle(unknown, 2)).status_code == 409


@pytest.mark.usefixtures("worker")
async def test_the_check_is_kept_when_the_workflow_did_not_answer_the_first_time(
    http: httpx.AsyncClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin, tthc = bearer(keys.admin), bearer(keys.h21)
    await http.post(f"{BASE}/versions", json={"procedures": [procedure("1.001234", 15)]}, headers=admin)
    real_update = Gateway.update

    async def unavailable(*args: Any, **kwargs: Any) -> Any:
        raise Unavailable("the workflow engine is not available: test")

    body = registration(new_code(), received_at=Moments()(0))
    body["procedure"]["working_days"] = 12
    monkeypatch.setattr(Gateway, "update", unavailable)
    first = await http.post("/api/v1/dossiers", json=body, headers=tthc)
    assert first.status_code == 503
    # A new catalogue comes in between; the dossier stays compared with the one it arrived under.
    await http.post(f"{BASE}/versions", json={"procedures": [procedure("1.001234", 12)]}, headers=admin)
    monkeypatch.setattr(Gateway, "update", real_update)
    retried = await http.post("/api/v1/dossiers", json=body, headers=tthc)
    assert retried.status_code == 200, retried.text  # the row was there: this call did not create it
    view = retried.json()
    assert view["due_at"] is not None
    assert [(e["seq"], e["kind"]) for e in view["timeline"]] == [(0, "working_days_differ"), (1, "received")]
    assert view["timeline"][0]["detail"]["catalogue_version"] == 1
