"""Calendar overrides over HTTP: administrators only; the same table the CLI and the clock use."""

from __future__ import annotations

from datetime import date, datetime

import httpx

from activities.calendar import CalendarActivities
from db.engine import SessionFactory
from settings import Settings
from tests.support.api import Keys, bearer

BASE = "/api/v1/calendar/overrides"


async def test_an_administrator_manages_overrides(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory, settings: Settings
) -> None:
    admin = bearer(keys.admin)
    assert (await http.get(BASE, headers=admin)).json() == []

    saturday = {"is_working_day": True, "reason": "Làm bù cho ngày 2/5 (Thông báo 6150/TB-LĐTBXH)"}
    created = await http.put(f"{BASE}/2026-04-25", json=saturday, headers=admin)
    assert created.status_code == 201, created.text
    row = created.json()
    assert (row["day"], row["is_working_day"], row["reason"], row["created_by"]) == (
        "2026-04-25",
        True,
        saturday["reason"],
        "admin",
    )
    assert datetime.fromisoformat(row["created_at"]).tzinfo is not None
    # The clock's calendar sees it at once.
    calendar = await CalendarActivities(session_factory, settings).load()
    assert calendar.is_working_day(date(2026, 4, 25))

    replaced = await http.put(
        f"{BASE}/2026-04-25", json={"is_working_day": False, "reason": "Huỷ làm bù"}, headers=admin
    )
    assert replaced.status_code == 200
    assert replaced.json()["is_working_day"] is False
    await http.put(f"{BASE}/2027-05-03", json={"is_working_day": False, "reason": "Nghỉ bù"}, headers=admin)

    listing = await http.get(BASE, headers=admin)
    assert [item["day"] for item in listing.json()] == ["2026-04-25", "2027-05-03"]
    only_2027 = await http.get(BASE, params={"year": 2027}, headers=admin)
    assert [item["day"] for item in only_2027.json()] == ["2027-05-03"]
    one = await http.get(f"{BASE}/2027-05-03", headers=admin)
    assert one.json()["reason"] == "Nghỉ bù"

    removed = await http.delete(f"{BASE}/2026-04-25", headers=admin)
    assert (removed.status_code, removed.content) == (204, b"")
    again = await http.delete(f"{BASE}/2026-04-25", headers=admin)
    assert again.status_code == 404
    assert again.json()["type"] == "urn:dossier-tracker:problem:override-not-found"
    assert (await http.get(f"{BASE}/2026-04-25", headers=admin)).status_code == 404
    calendar = await CalendarActivities(session_factory, settings).load()
    assert not calendar.is_working_day(date(2026, 4, 25))


async def test_only_administrators_may(http: httpx.AsyncClient, keys: Keys) -> None:
    body = {"is_working_day": True, "reason": "Làm bù"}
    for method, path in (("GET", BASE), ("GET", f"{BASE}/2026-04-25"), ("DELETE", f"{BASE}/2026-04-25")):
        assert (await http.request(method, path, headers=bearer(keys.h21))).status_code == 403
        assert (await http.request(method, path)).status_code == 401
        assert (await http.request(method, path, headers=bearer("nope"))).status_code == 401
    forbidden = await http.put(f"{BASE}/2026-04-25", json=body, headers=bearer(keys.h21))
    assert forbidden.status_code == 403
    assert forbidden.json()["type"] == "urn:dossier-tracker:problem:forbidden-admin"
    assert (await http.get(BASE, headers=bearer(keys.admin))).json() == []


async def test_bad_days_and_bodies_are_422(http: httpx.AsyncClient, keys: Keys) -> None:
    admin = bearer(keys.admin)
    for day in ("2026-02-30", "25-04-2026", "1999-12-31", "2100-01-01"):
        response = await http.put(
            f"{BASE}/{day}", json={"is_working_day": True, "reason": "x"}, headers=admin
        )
        assert response.status_code == 422, day
    for body in (
        {"is_working_day": True},
        {"is_working_day": "yes", "reason": "x"},
        {"is_working_day": True, "reason": "   "},
        {"is_working_day": True, "reason": "x" * 501},
        {"is_working_day": True, "reason": "x", "by": "someone"},
    ):
        response = await http.put(f"{BASE}/2026-04-25", json=body, headers=admin)
        assert response.status_code == 422, body
        assert response.headers["content-type"] == "application/problem+json"
    assert (await http.get(BASE, params={"year": 1900}, headers=admin)).status_code == 422
