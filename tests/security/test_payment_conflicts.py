"""A payment transaction belongs to one dossier: the same transaction id on another dossier is a mismatch.

The attacks (or the platform's mistakes, which look the same): a callback that names dossier B with the
transaction id that already paid dossier A was answered as A's repeat and dropped, so B's citizen paid
and nobody knew; and the TTHC system's payment for B with A's transaction id was applied to B, which then
counted as paid with someone else's money.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select

from db.engine import SessionFactory
from db.models import Payment, PaymentConflict
from db.zalo_tokens import zalo_client
from settings import Settings
from tests.api.test_payment_webhook import HOOK, callback, dossier_with_fee, status_of
from tests.conftest import eventually, zalo_messages
from tests.support.api import Keys, bearer
from tests.support.builders import Moments

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def http_with_zalo(
    app: FastAPI, settings: Settings, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """The app as the server runs it: with its Zalo client (officers' alerts go through the fake Zalo)."""
    app.state.zalo = zalo_client(session_factory, settings, fake_zalo)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        yield client


async def conflicts(session_factory: SessionFactory) -> list[PaymentConflict]:
    async with session_factory() as session:
        return list((await session.exec(select(PaymentConflict))).all())


async def officer_alerts(fake_zalo: httpx.AsyncClient) -> list[dict[str, Any]]:
    return [m for m in await zalo_messages(fake_zalo) if m["channel"] == "oa" and "PAY-1" in m["text"]]


async def test_a_callback_reusing_another_dossiers_transaction_is_a_mismatch_officers_hear_of(
    http_with_zalo: httpx.AsyncClient,
    keys: Keys,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    http = http_with_zalo
    first, second = await dossier_with_fee(http, keys), await dossier_with_fee(http, keys)
    assert (await http.post(HOOK, json=callback(first, 1_250_000, "PAY-1"))).json()["KetQua"] == "applied"

    answer = await http.post(HOOK, json=callback(second, 1_250_000, "PAY-1"))

    print("callback PAY-1 for the second dossier →", answer.status_code, answer.text)
    assert answer.status_code == 200
    assert answer.json()["KetQua"] == "conflict"
    assert answer.json()["MaLoi"] != "00"
    assert await status_of(http, keys, second) == "fee_due"  # not paid by the first dossier's money
    [conflict] = await conflicts(session_factory)
    assert (conflict.transaction_id, conflict.named, conflict.held_by) == ("PAY-1", second, first)
    [alert] = await eventually(lambda: officer_alerts(fake_zalo))
    assert alert["user_id"] == "officer-1"
    assert first in alert["text"]
    assert second in alert["text"]

    # Sent again: the same answer, recorded and told once.
    again = await http.post(HOOK, json=callback(second, 1_250_000, "PAY-1"))
    assert again.json() == answer.json()
    assert len(await conflicts(session_factory)) == 1
    assert len(await officer_alerts(fake_zalo)) == 1
    async with session_factory() as session:
        [payment] = (await session.exec(select(Payment))).all()
    assert payment.dossier_code == first


async def test_the_api_refuses_another_dossiers_transaction_id(
    http_with_zalo: httpx.AsyncClient,
    keys: Keys,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    http = http_with_zalo
    first, second = await dossier_with_fee(http, keys), await dossier_with_fee(http, keys)
    at = Moments()(2).isoformat()
    payment = {"transaction_id": "PAY-1", "amount_vnd": 1_250_000, "at": at}
    paid = await http.post(f"/api/v1/dossiers/{first}/payment", json=payment, headers=bearer(keys.h21))
    assert paid.json()["status"] == "received"

    reused = await http.post(f"/api/v1/dossiers/{second}/payment", json=payment, headers=bearer(keys.h21))

    print("POST …/payment PAY-1 for the second dossier →", reused.status_code, reused.text[:200])
    assert reused.status_code == 409
    assert reused.headers["content-type"] == "application/problem+json"
    assert reused.json()["type"] == "urn:dossier-tracker:problem:transaction-conflict"
    assert first not in reused.text  # the other dossier may be another agency's
    assert await status_of(http, keys, second) == "fee_due"
    [conflict] = await conflicts(session_factory)
    assert (conflict.named, conflict.held_by, conflict.source) == (second, first, "tthc-h21")
    await eventually(lambda: officer_alerts(fake_zalo))
    # The first dossier's own repeat is still a repeat.
    repeat = await http.post(f"/api/v1/dossiers/{first}/payment", json=payment, headers=bearer(keys.h21))
    assert repeat.status_code == 200
