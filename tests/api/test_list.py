"""`GET /api/v1/dossiers`: filters, keyset pages in (due_at, code) order, agencies, cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from db.engine import SessionFactory
from tests.support.api import Keys, bearer, dossier_row

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


# (code, status, due_at, overdue): ties on due_at, undated dossiers, two agencies.
ROWS: list[tuple[str, str, datetime | None, bool]] = [
    ("H21.65-261123-0005", "received", at(1), False),
    ("H21.65-261123-0002", "received", at(1), False),
    ("H21.65-261123-0009", "fee_due", at(1), False),
    ("H21.65-261124-0001", "received", at(-30), True),
    ("H21.65-261124-0002", "returned", at(5), False),
    ("H21.65-261124-0003", "supplement_required", None, False),
    ("H21.65-261124-0004", "supplement_required", None, False),
    ("H21.65-261125-0001", "result_ready", at(48), False),
    ("H22.01-261123-0001", "received", at(0.5), False),
    ("H22.01-261123-0002", "supplement_required", None, False),
]


@pytest.fixture
async def listed(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        for code, status, due, overdue in ROWS:
            session.add(dossier_row(code, status=status, due_at=due, overdue=overdue))
        await session.commit()


def expected(rows: list[tuple[str, str, datetime | None, bool]]) -> list[str]:
    dated = sorted((due, code) for code, _, due, _ in rows if due is not None)
    undated = sorted(code for code, _, due, _ in rows if due is None)
    return [code for _, code in dated] + undated


async def walk(http: httpx.AsyncClient, key: str, limit: int, **params: Any) -> list[str]:
    """Every code of the list, page by page, as a client follows next_cursor."""
    codes: list[str] = []
    cursor: str | None = None
    for _ in range(50):
        query = {**params, "limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await http.get("/api/v1/dossiers", params=query, headers=bearer(key))
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= limit
        codes += [item["code"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return codes
    raise AssertionError("the pages never ended")


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("limit", [1, 2, 3, 50])
async def test_pages_cover_every_dossier_once_in_due_order(
    http: httpx.AsyncClient, keys: Keys, limit: int
) -> None:
    assert await walk(http, keys.admin, limit) == expected(ROWS)


@pytest.mark.usefixtures("listed")
async def test_a_page_shows_the_state_and_clock_but_never_the_applicant(
    http: httpx.AsyncClient, keys: Keys
) -> None:
    response = await http.get("/api/v1/dossiers", params={"limit": 1}, headers=bearer(keys.admin))
    page = response.json()
    assert page["limit"] == 1
    assert page["next_cursor"]
    item = page["items"][0]
    assert item["code"] == "H21.65-261124-0001"
    assert item["status"] == "received"
    assert item["overdue"] is True
    assert datetime.fromisoformat(item["due_at"]) == at(-30)
    assert item["procedure"] == {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15}
    assert item["links"] == {"self": "/api/v1/dossiers/H21.65-261124-0001"}
    assert "Nguyễn" not in response.text
    assert "905123456" not in response.text


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize(
    ("params", "codes"),
    [
        (
            {"status": "supplement_required"},
            ["H21.65-261124-0003", "H21.65-261124-0004", "H22.01-261123-0002"],
        ),
        (
            {"status": ["fee_due", "result_ready"]},
            ["H21.65-261123-0009", "H21.65-261125-0001"],
        ),
        ({"agency": "H22.01"}, ["H22.01-261123-0001", "H22.01-261123-0002"]),
        ({"overdue": "true"}, ["H21.65-261124-0001"]),
        (
            {"due_before": at(1).isoformat()},  # strictly before: the three due at +1 h are not
            ["H21.65-261124-0001", "H22.01-261123-0001"],
        ),
        (
            {"q": "261124"},
            ["H21.65-261124-0001", "H21.65-261124-0002", "H21.65-261124-0003", "H21.65-261124-0004"],
        ),
        ({"q": "h22.01-2611"}, ["H22.01-261123-0001", "H22.01-261123-0002"]),  # any case
        ({"q": "H21.65-261123-0002"}, ["H21.65-261123-0002"]),
        (
            {"status": "received", "agency": "H21.65", "overdue": "false"},
            ["H21.65-261123-0002", "H21.65-261123-0005"],
        ),
        ({"q": "999999"}, []),
    ],
)
async def test_filters(http: httpx.AsyncClient, keys: Keys, params: dict[str, Any], codes: list[str]) -> None:
    assert await walk(http, keys.admin, 2, **params) == codes


@pytest.mark.usefixtures("listed")
async def test_a_client_lists_only_its_agencies(http: httpx.AsyncClient, keys: Keys) -> None:
    own = [row for row in ROWS if row[0].startswith("H21.65")]
    assert await walk(http, keys.h21, 3) == expected(own)
    assert await walk(http, keys.h21, 3, agency="H21.65") == expected(own)
    assert await walk(http, keys.h22, 10) == ["H22.01-261123-0001", "H22.01-261123-0002"]

    other = await http.get("/api/v1/dossiers", params={"agency": "H22.01"}, headers=bearer(keys.h21))
    assert other.status_code == 403
    assert other.json()["type"] == "urn:dossier-tracker:problem:forbidden-agency"
    anonymous = await http.get("/api/v1/dossiers")
    assert anonymous.status_code == 401
    wrong = await http.get("/api/v1/dossiers", headers=bearer("not-a-key"))
    assert wrong.status_code == 401


@pytest.mark.usefixtures("listed")
async def test_cursors_are_checked(http: httpx.AsyncClient, keys: Keys) -> None:
    first = (await http.get("/api/v1/dossiers", params={"limit": 2}, headers=bearer(keys.admin))).json()
    cursor = first["next_cursor"]

    other_filters = await http.get(
        "/api/v1/dossiers",
        params={"limit": 2, "cursor": cursor, "status": "received"},
        headers=bearer(keys.admin),
    )
    assert other_filters.status_code == 422
    assert other_filters.json()["type"] == "urn:dossier-tracker:problem:invalid-cursor"

    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    due, code, filters = json.loads(raw)
    forged = [
        "%%%",
        "bm90IGpzb24",  # "not json"
        base64.urlsafe_b64encode(json.dumps([due, 7, filters]).encode()).decode(),
        base64.urlsafe_b64encode(
            json.dumps(["2026-12-01T09:00:00", code, filters]).encode()
        ).decode(),  # naive
        base64.urlsafe_b64encode(json.dumps(["0001-01-01T00:00:00+14:00", code, filters]).encode()).decode(),
    ]
    for bad in forged:
        response = await http.get("/api/v1/dossiers", params={"cursor": bad}, headers=bearer(keys.admin))
        assert response.status_code == 422, bad
        assert response.json()["type"] == "urn:dossier-tracker:problem:invalid-cursor"


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 0},
        {"limit": 201},
        {"status": "lost"},
        {"overdue": "maybe"},
        {"due_before": "2026-12-01T09:00:00"},  # no offset
        {"agency": "h21.65"},
        {"q": "H21%"},
        {"q": ""},
    ],
)
async def test_bad_list_parameters_are_422(
    http: httpx.AsyncClient, keys: Keys, params: dict[str, Any]
) -> None:
    response = await http.get("/api/v1/dossiers", params=params, headers=bearer(keys.admin))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"


async def test_an_empty_list(http: httpx.AsyncClient, keys: Keys) -> None:
    response = await http.get("/api/v1/dossiers", headers=bearer(keys.admin))
    assert response.json() == {"items": [], "next_cursor": None, "limit": 50}
