"""A key acts for its agencies only, and cannot even learn which codes exist in other agencies.

The attacks: register a dossier under your agency with another agency's code (the code then names an
agency that never received it, and that agency's own key is refused its dossier); and probe another
agency's codes with your key, reading 403 ("exists, not yours") against 404 ("no such code").
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select

from db.engine import SessionFactory
from db.models import Dossier
from tests.support.api import Keys, bearer, dossier_row, registration
from tests.support.builders import Moments

ELSEWHERE = "H21.65-261123-0001"  # exists, in H21.65
NOWHERE = "H21.65-261123-0999"  # exists nowhere


@pytest.fixture
async def registered(session_factory: SessionFactory) -> None:
    async with session_factory() as session:
        session.add(dossier_row(ELSEWHERE))
        await session.commit()


@pytest.mark.usefixtures("worker")
async def test_a_code_must_carry_the_registering_agency(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    body = registration("H22.01-261123-0007") | {"agency_code": "H21.65"}

    response = await http.post("/api/v1/dossiers", json=body, headers=bearer(keys.h21))

    print("register H22.01-… as H21.65 →", response.status_code, response.text[:200])
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "agency" in response.json()["detail"]
    async with session_factory() as session:
        assert (await session.exec(select(Dossier))).all() == []


def normalised(response: httpx.Response, code: str) -> tuple[int, str, str]:
    """Status, content type and body, with the code asked for taken out."""
    return response.status_code, response.headers["content-type"], response.text.replace(code, "<code>")


@pytest.mark.usefixtures("registered")
async def test_another_agencys_code_answers_exactly_like_a_code_that_does_not_exist(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    at = Moments()(1).isoformat()
    probes = [
        ("GET", "", None),
        ("POST", "/fee", {"event_id": "p-1", "at": at, "items": [{"name": "Lệ phí", "amount_vnd": 1}]}),
        ("POST", "/payment", {"transaction_id": "p-2", "amount_vnd": 1, "at": at}),
        ("POST", "/withdrawal", {"event_id": "p-3", "at": at}),
    ]
    for method, suffix, body in probes:
        answers = []
        for code in (ELSEWHERE, NOWHERE):
            response = await http.request(
                method, f"/api/v1/dossiers/{code}{suffix}", json=body, headers=bearer(keys.h22)
            )
            print(method, code + suffix, "→", response.status_code, response.text[:120])
            answers.append(normalised(response, code))
        elsewhere, nowhere = answers
        assert elsewhere == nowhere
        assert elsewhere[0] == 404
    async with session_factory() as session:
        [row] = (await session.exec(select(Dossier))).all()
    assert (row.status, row.last_seq) == ("received", 0)
