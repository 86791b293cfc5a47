"""`POST /webhooks/payments` against a real worker: signatures, replays, every outcome."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest
from sqlmodel import select

from db.engine import SessionFactory
from db.models import DossierEvent, Notice, Payment
from tests.support.api import Keys, bearer, registration
from tests.support.builders import Moments, new_code

pytestmark = pytest.mark.usefixtures("worker")

HOOK = "/webhooks/payments"
SECRET = "change-me"  # the settings fixture's PAYMENT_SECRET (the local default)


def callback(
    reference: str, amount: int | str, transaction: str, error: str = "00", secret: str = SECRET
) -> dict[str, Any]:
    """A callback signed as the platform signs it.

    MaXacThuc = SHA-256 hex of MaLoi|MaThamChieu|SoTien|MaGiaoDich|secret."""
    signed = f"{error}|{reference}|{amount}|{transaction}|{secret}"
    return {
        "MaLoi": error,
        "MaThamChieu": reference,
        "SoTien": amount,
        "MaGiaoDich": transaction,
        "MaXacThuc": hashlib.sha256(signed.encode()).hexdigest(),
    }


async def dossier_with_fee(http: httpx.AsyncClient, keys: Keys, amount: int = 1_250_000) -> str:
    t = Moments()
    body = registration(received_at=t(0))
    assert (await http.post("/api/v1/dossiers", json=body, headers=bearer(keys.h21))).status_code == 201
    fee = {"event_id": "fee-1", "at": t(1).isoformat(), "items": [{"name": "Lệ phí", "amount_vnd": amount}]}
    response = await http.post(f"/api/v1/dossiers/{body['code']}/fee", json=fee, headers=bearer(keys.h21))
    assert response.json()["status"] == "fee_due"
    code: str = body["code"]
    return code


async def status_of(http: httpx.AsyncClient, keys: Keys, code: str) -> str:
    result: str = (await http.get(f"/api/v1/dossiers/{code}", headers=bearer(keys.h21))).json()["status"]
    return result


async def payments(session_factory: SessionFactory) -> list[Payment]:
    async with session_factory() as session:
        return list((await session.exec(select(Payment).order_by(Payment.id))).all())


async def test_a_paid_callback_resumes_the_dossier_once(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    code = await dossier_with_fee(http, keys)
    paid = callback(code, 1_250_000, "PAY-1")
    paid["MaXacThuc"] = paid["MaXacThuc"].upper()  # hex in any case
    answer = await http.post(HOOK, json=paid)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "MaLoi": "00",
        "MoTaLoi": "Xác nhận thanh toán thành công",
        "MaGiaoDich": "PAY-1",
        "KetQua": "applied",
    }
    assert await status_of(http, keys, code) == "received"

    again = await http.post(HOOK, json=callback(code, "1250000", "PAY-1"))  # the amount as a string
    assert again.json() == answer.json()
    [row] = await payments(session_factory)
    assert (row.dossier_code, row.amount_vnd, row.outcome, row.source, row.reference) == (
        code,
        1_250_000,
        "applied",
        "webhook",
        code,
    )
    async with session_factory() as session:
        kinds = (await session.exec(select(DossierEvent.kind).where(DossierEvent.dossier_code == code))).all()
    assert kinds.count("payment_received") == 1


async def test_bad_signatures_change_nothing(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    code = await dossier_with_fee(http, keys)
    unsigned = callback(code, 1_250_000, "PAY-2")
    del unsigned["MaXacThuc"]
    wrong_secret = callback(code, 1_250_000, "PAY-2", secret="guess")
    tampered = callback(code, 1_250_000, "PAY-2") | {"SoTien": 1_250_001}
    other_dossier = callback(code, 1_250_000, "PAY-2") | {"MaThamChieu": new_code()}
    for body in (unsigned, wrong_secret, tampered, other_dossier, {**unsigned, "MaXacThuc": ""}):
        response = await http.post(HOOK, json=body)
        assert response.status_code == 401, body
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:dossier-tracker:problem:bad-signature"
    assert await payments(session_factory) == []
    assert await status_of(http, keys, code) == "fee_due"


async def test_every_outcome_is_recorded_for_officers(
    http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory
) -> None:
    code = await dossier_with_fee(http, keys)

    failed = await http.post(HOOK, json=callback(code, 1_250_000, "PAY-3", error="24"))
    assert failed.json()["KetQua"] == "failed"
    assert failed.json()["MaLoi"] == "00"  # acknowledged: recorded, stop resending
    assert await status_of(http, keys, code) == "fee_due"

    short = await http.post(HOOK, json=callback(f"{code}/HD-0001", 500_000, "PAY-4"))
    assert (short.json()["MaLoi"], short.json()["KetQua"]) == ("04", "underpaid")
    assert await status_of(http, keys, code) == "fee_due"

    # The failed transaction later went through: it replaces the failure and completes the fee.
    rest = await http.post(HOOK, json=callback(f"{code}_HD-0001", 750_000, "PAY-3"))
    assert rest.json()["KetQua"] == "applied"
    assert await status_of(http, keys, code) == "received"

    not_due = await http.post(HOOK, json=callback(code, 1_000, "PAY-5"))
    assert (not_due.json()["MaLoi"], not_due.json()["KetQua"]) == ("02", "not_due")

    nobody = new_code()
    unknown = await http.post(HOOK, json=callback(nobody, 99_000, "PAY-6"))
    assert (unknown.json()["MaLoi"], unknown.json()["KetQua"]) == ("01", "unknown_dossier")
    garbage = await http.post(HOOK, json=callback("INVOICE-77", 99_000, "PAY-7"))
    assert garbage.json()["KetQua"] == "unknown_dossier"

    t = Moments()
    closed = {"event_id": "w-1", "at": t(5).isoformat(), "reason": "Công dân rút hồ sơ"}
    assert (
        await http.post(f"/api/v1/dossiers/{code}/withdrawal", json=closed, headers=bearer(keys.h21))
    ).json()["status"] == "withdrawn"
    late = await http.post(HOOK, json=callback(code, 1_250_000, "PAY-8"))
    assert (late.json()["MaLoi"], late.json()["KetQua"]) == ("02", "not_due")

    recorded = {row.transaction_id: row for row in await payments(session_factory)}
    assert {tx: (row.outcome, row.dossier_code, row.error_code) for tx, row in recorded.items()} == {
        "PAY-3": ("applied", code, None),
        "PAY-4": ("underpaid", code, None),
        "PAY-5": ("not_due", code, None),
        "PAY-6": ("unknown_dossier", None, None),
        "PAY-7": ("unknown_dossier", None, None),
        "PAY-8": ("not_due", code, None),
    }
    assert recorded["PAY-4"].reference == f"{code}/HD-0001"
    assert recorded["PAY-6"].reference == nobody
    async with session_factory() as session:
        mismatches = await session.exec(
            select(Notice).where(Notice.dossier_code == code, Notice.kind == "payment_mismatch")
        )
        assert len(mismatches.all()) == 2  # underpaid and not due: officers are told

    # A failure of a transaction we never saw paid stays recorded as failed, with the platform's code.
    await http.post(HOOK, json=callback(nobody, 5_000, "PAY-9", error="51"))
    failure = {row.transaction_id: row for row in await payments(session_factory)}["PAY-9"]
    assert (failure.outcome, failure.error_code, failure.dossier_code) == ("failed", "51", None)


@pytest.mark.parametrize(
    "change",
    [
        {"SoTien": 0},
        {"SoTien": -5},
        {"SoTien": "12a"},
        {"SoTien": True},
        {"MaGiaoDich": ""},
        {"MaLoi": "0 0"},
    ],
)
async def test_malformed_callbacks_are_422(http: httpx.AsyncClient, change: dict[str, Any]) -> None:
    body = callback("H21.65-261123-0001", 1000, "PAY-X") | change
    response = await http.post(HOOK, json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
