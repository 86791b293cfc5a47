"""The agency directory over HTTP: administrators only; the same table the notices and pages read."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from db.agencies import agency_card
from db.engine import SessionFactory
from settings import Settings
from tests.support.api import Keys, bearer, registration
from tests.support.builders import new_code

BASE = "/api/v1/agencies"
CHU_PAH = {
    "name": "UBND huyện Chư Păh",
    "address": "Bộ phận Một cửa, 01 Trần Hưng Đạo, thị trấn Phú Hòa, huyện Chư Păh, tỉnh Gia Lai",
    "hotline": "0269 3845 123",
    "opening_hours": "Sáng 7:00–11:30, chiều 13:30–17:00, thứ Hai đến thứ Sáu",
}


async def test_an_administrator_manages_the_directory(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory, settings: Settings
) -> None:
    admin = bearer(keys.admin)
    assert (await http.get(BASE, headers=admin)).json() == []

    created = await http.put(f"{BASE}/H21.65", json=CHU_PAH, headers=admin)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body == body | CHU_PAH | {"code": "H21.65", "oa_url": ""}
    assert datetime.fromisoformat(body["updated_at"]).tzinfo is not None
    # What notices compose from and pages print, at once.
    async with session_factory() as session:
        card = await agency_card(session, "H21.65", settings.notice_office_name)
    assert (card.name, card.hotline, card.known) == (CHU_PAH["name"], CHU_PAH["hotline"], True)

    # PUT replaces every field: one left out becomes empty; text is stripped.
    replaced = await http.put(
        f"{BASE}/H21.65", json={"name": "  UBND huyện Chư Păh  ", "hotline": "0269 3845 999"}, headers=admin
    )
    assert replaced.status_code == 200, replaced.text
    assert (replaced.json()["name"], replaced.json()["hotline"], replaced.json()["address"]) == (
        "UBND huyện Chư Păh",
        "0269 3845 999",
        "",
    )
    await http.put(
        f"{BASE}/H21.01",
        json={"name": "Trung tâm Phục vụ hành chính công tỉnh", "oa_url": "https://zalo.me/123"},
        headers=admin,
    )
    listing = await http.get(BASE, headers=admin)
    assert [(a["code"], a["name"]) for a in listing.json()] == [
        ("H21.01", "Trung tâm Phục vụ hành chính công tỉnh"),
        ("H21.65", "UBND huyện Chư Păh"),
    ]
    one = await http.get(f"{BASE}/H21.01", headers=admin)
    assert one.json()["oa_url"] == "https://zalo.me/123"

    removed = await http.delete(f"{BASE}/H21.01", headers=admin)
    assert (removed.status_code, removed.content) == (204, b"")
    for method in ("GET", "DELETE"):
        gone = await http.request(method, f"{BASE}/H21.01", headers=admin)
        assert gone.status_code == 404
        assert gone.headers["content-type"] == "application/problem+json"
        assert gone.json()["type"] == "urn:dossier-tracker:problem:agency-not-found"
        assert gone.json()["detail"] == "the directory has no agency H21.01"


async def test_unknown_lists_the_codes_registered_dossiers_use(
    http: httpx.AsyncClient, keys: Keys, worker: object
) -> None:
    admin = bearer(keys.admin)
    for code in (new_code("H21.65"), new_code("H21.65"), new_code("H22.01")):
        created = await http.post("/api/v1/dossiers", json=registration(code), headers=admin)
        assert created.status_code == 201, created.text
    unknown = await http.get(f"{BASE}/unknown", headers=admin)
    assert unknown.status_code == 200
    assert unknown.json() == [{"code": "H21.65", "dossiers": 2}, {"code": "H22.01", "dossiers": 1}]

    await http.put(f"{BASE}/H21.65", json=CHU_PAH, headers=admin)
    assert (await http.get(f"{BASE}/unknown", headers=admin)).json() == [{"code": "H22.01", "dossiers": 1}]


async def test_only_administrators_may(http: httpx.AsyncClient, keys: Keys) -> None:
    paths = [
        ("GET", BASE),
        ("GET", f"{BASE}/unknown"),
        ("GET", f"{BASE}/H21.65"),
        ("DELETE", f"{BASE}/H21.65"),
    ]
    for method, path in paths:
        assert (await http.request(method, path, headers=bearer(keys.h21))).status_code == 403
        assert (await http.request(method, path)).status_code == 401
        assert (await http.request(method, path, headers=bearer("nope"))).status_code == 401
    # Not even for its own agency: the directory is shared by every agency's notices.
    forbidden = await http.put(f"{BASE}/H21.65", json=CHU_PAH, headers=bearer(keys.h21))
    assert forbidden.status_code == 403
    assert forbidden.json()["type"] == "urn:dossier-tracker:problem:forbidden-admin"
    assert "agency directory" in forbidden.json()["detail"]
    assert (await http.get(BASE, headers=bearer(keys.admin))).json() == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"address": "x"}, "name", id="no-name"),
        pytest.param({"name": ""}, "name", id="empty-name"),
        pytest.param({"name": "   "}, "name", id="blank-name"),
        pytest.param({"name": "x" * 301}, "name", id="long-name"),
        pytest.param({"name": "UBND", "hotline": "0" * 31}, "hotline", id="long-hotline"),
        pytest.param({"name": "UBND", "hotline": 2693845123}, "hotline", id="number-hotline"),
        pytest.param({"name": "UBND", "oa_url": "http://zalo.me/1"}, "oa_url", id="http-oa"),
        pytest.param({"name": "UBND", "fax": "0269"}, "fax", id="unknown-field"),
    ],
)
async def test_bad_bodies_are_422_naming_the_field(
    http: httpx.AsyncClient, keys: Keys, body: dict[str, object], field: str
) -> None:
    response = await http.put(f"{BASE}/H21.65", json=body, headers=bearer(keys.admin))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "urn:dossier-tracker:problem:invalid-request"
    assert problem["detail"].startswith(f"{field}: ")
    assert problem["errors"][0]["loc"] == ["body", field]
    assert (await http.get(f"{BASE}/H21.65", headers=bearer(keys.admin))).status_code == 404


async def test_a_path_that_is_no_agency_code_is_422(http: httpx.AsyncClient, keys: Keys) -> None:
    for code in ("h21.65", "H21..65", "H21.65-261123-0001", "X" * 41):
        response = await http.put(f"{BASE}/{code}", json=CHU_PAH, headers=bearer(keys.admin))
        assert response.status_code == 422, code
        assert response.json()["detail"].startswith("path.code:") or "code" in response.json()["detail"]
