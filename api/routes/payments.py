"""`POST /webhooks/payments`: the payment platform's signed callback becomes the workflow's payment signal.

Signature: `MaXacThuc` = lowercase hex SHA-256 of the UTF-8 string

    MaLoi|MaThamChieu|SoTien|MaGiaoDich|<PAYMENT_SECRET>

with the fields exactly as sent (SoTien as its digits, e.g. `00|H21.65-261123-0001|1250000|PAY-1|s3cret`).
A missing or wrong signature is a 401 and changes nothing.

Every signed callback is recorded once per MaGiaoDich in `payments`, and every 200 answer means "recorded,
stop resending" — `MaLoi` in the answer says how it went:

| MaLoi | KetQua | what happened |
|---|---|---|
| 00 | applied | paid in full: the dossier goes back to processing, its clock resumes |
| 00 | failed | the platform reported a failed payment (its MaLoi ≠ "00"): recorded, no signal |
| 01 | unknown_dossier | MaThamChieu names no dossier here: recorded for officers |
| 02 | not_due | the dossier is not waiting for a fee (or is closed): recorded, officers are told |
| 04 | underpaid | less than the fee due: recorded, the dossier stays fee_due, officers are told |
| 05 | conflict | the transaction id is another dossier's: not applied, recorded, officers are told |

Errors that should make the platform retry or fix its call are problem details: 401, 422, 503.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import structlog
from fastapi import APIRouter, BackgroundTasks, Request

from api.officer_alerts import alert_payment_conflict
from api.openapi import problems
from api.problems import Problem
from api.schemas.payments import PaymentCallback, PaymentCallbackAnswer
from db.models import Dossier
from db.payments import (
    forget_payment,
    held_elsewhere,
    payment_of,
    record_conflict,
    record_payment,
    set_reference,
)
from db.types import utcnow
from domain.codes import is_dossier_code
from domain.dossier import Actor, PaymentReceived
from domain.status import DossierStatus
from web.deps import GatewayDep, SessionDep, SettingsDep
from workflows.gateway import Closed, TransactionConflict

log = structlog.get_logger(__name__)

router = APIRouter(tags=["webhooks"])

PAID = "00"
SOURCE = Actor.WEBHOOK.value
ANSWERS: dict[str, tuple[str, str]] = {
    "applied": ("00", "Xác nhận thanh toán thành công"),
    "failed": ("00", "Đã ghi nhận giao dịch không thành công"),
    "unknown_dossier": ("01", "Không tìm thấy hồ sơ; đã ghi nhận để cán bộ kiểm tra"),
    "not_due": ("02", "Hồ sơ không ở trạng thái chờ nộp phí; đã ghi nhận để cán bộ kiểm tra"),
    "underpaid": ("04", "Số tiền chưa đủ; đã ghi nhận để cán bộ kiểm tra"),
    "conflict": ("05", "Mã giao dịch đã được ghi nhận cho hồ sơ khác; không áp dụng, đã báo cán bộ kiểm tra"),
}


def signature(callback: PaymentCallback, secret: str) -> str:
    """MaXacThuc as the platform computes it (see the module docstring)."""
    signed = "|".join((callback.MaLoi, callback.MaThamChieu, callback.SoTien, callback.MaGiaoDich, secret))
    return hashlib.sha256(signed.encode()).hexdigest()


def dossier_code_of(reference: str) -> str | None:
    """The dossier a reference names: the code itself, or the code then '/' or '_' and a suffix."""
    code = re.split(r"[/_]", reference, maxsplit=1)[0]
    return code if is_dossier_code(code) else None


def _answer(callback: PaymentCallback, outcome: str) -> PaymentCallbackAnswer:
    code, text = ANSWERS.get(outcome, ("00", "Đã ghi nhận"))
    return PaymentCallbackAnswer(MaLoi=code, MoTaLoi=text, MaGiaoDich=callback.MaGiaoDich, KetQua=outcome)


@router.post(
    "/webhooks/payments",
    response_model=PaymentCallbackAnswer,
    responses=problems(
        401,
        422,
        503,
        descriptions={
            401: "MaXacThuc missing or wrong: nothing was recorded",
            503: "The workflow engine did not answer: send the callback again",
        },
    ),
)
async def payment_callback(
    body: PaymentCallback,
    session: SessionDep,
    gateway: GatewayDep,
    settings: SettingsDep,
    request: Request,
    background: BackgroundTasks,
) -> PaymentCallbackAnswer:
    """Payment platform callback (signed): a paid fee resumes the dossier; every callback is recorded once."""
    expected = signature(body, settings.payment_secret.get_secret_value())
    given = (body.MaXacThuc or "").lower().encode()  # bytes: any text compares, in constant time
    if not given or not hmac.compare_digest(given, expected.encode()):
        log.warning("payment_webhook.bad_signature", signed=body.MaXacThuc is not None)
        problem = Problem(
            401,
            "MaXacThuc is missing or does not match: "
            "SHA-256 hex of MaLoi|MaThamChieu|SoTien|MaGiaoDich|secret",
            slug="bad-signature",
            title="Bad signature",
        )
        raise problem
    earlier = await payment_of(session, body.MaGiaoDich)
    code = dossier_code_of(body.MaThamChieu)
    row = await session.get(Dossier, code) if code else None
    if earlier is not None and held_elsewhere(earlier, row.code if row else None):
        # The same transaction id for another dossier: never the first dossier's repeat, never applied.
        conflict, new = await record_conflict(
            session,
            earlier,
            named=row.code if row else body.MaThamChieu,
            amount_vnd=body.amount_vnd,
            source=SOURCE,
            reference=body.MaThamChieu,
        )
        log.warning(
            "payment_webhook.conflict",
            transaction_id=body.MaGiaoDich,
            dossier_code=row.code if row else None,
            held_by=earlier.dossier_code,
        )
        if new:
            background.add_task(alert_payment_conflict, request.app, conflict)
        return _answer(body, "conflict")
    if earlier is not None and earlier.outcome != "failed":
        return _answer(body, earlier.outcome)  # a resent callback: the first answer again
    if body.MaLoi != PAID:
        if earlier is None:
            await _record(session, body, "failed", row.code if row else None)
        log.info("payment_webhook.failed", transaction_id=body.MaGiaoDich, error_code=body.MaLoi)
        return _answer(body, "failed")
    if earlier is not None:  # an earlier failure of the same transaction, now paid: the success replaces it
        await forget_payment(session, earlier)
    if row is None:
        outcome = await _record(session, body, "unknown_dossier", None)
    elif DossierStatus(row.status).is_final:
        outcome = await _record(session, body, "not_due", row.code)
    else:
        payment = PaymentReceived(body.MaGiaoDich, body.amount_vnd, utcnow(), source=SOURCE)
        try:
            outcome = (await gateway.pay(session, row, payment)).outcome
        except Closed:
            outcome = await _record(session, body, "not_due", row.code)  # it closed a moment ago
        except TransactionConflict as conflict:  # recorded for another dossier a moment ago
            if conflict.new:
                background.add_task(alert_payment_conflict, request.app, conflict.conflict)
            return _answer(body, "conflict")
        await set_reference(session, body.MaGiaoDich, body.MaThamChieu)
    log.info(
        "payment_webhook.recorded",
        transaction_id=body.MaGiaoDich,
        dossier_code=row.code if row else None,
        outcome=outcome,
    )
    return _answer(body, outcome)


async def _record(session: SessionDep, body: PaymentCallback, outcome: str, code: str | None) -> str:
    """Write the payments row ourselves (no workflow will); a concurrent duplicate keeps the first."""
    return await record_payment(
        session,
        transaction_id=body.MaGiaoDich,
        dossier_code=code,
        amount_vnd=body.amount_vnd,
        outcome=outcome,
        source=SOURCE,
        reference=body.MaThamChieu,
        error_code=None if body.MaLoi == PAID else body.MaLoi,
        at=utcnow(),
    )
