"""What the web process itself tells officers over the OA, outside any dossier's workflow.

Today one alert: a payment reported for one dossier with a transaction id recorded for another. It is
not a dossier notice (no workflow applied anything), so it goes straight to the officers of the agencies
concerned (OFFICER_ZALO_IDS, role `officer`), once per conflict; the row in `payment_conflicts` stays
either way, and says when officers were told.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI

from db.engine import SessionFactory
from db.models import PaymentConflict
from db.payments import conflict_notified
from domain import vocabulary
from domain.codes import agency_of, is_dossier_code
from settings import Settings
from zalo.client import ZaloClient
from zalo.errors import ZaloError

log = structlog.get_logger(__name__)

PAYMENT_CONFLICT_TEXT = (
    "[Cảnh báo thanh toán] Giao dịch {transaction_id} ({amount}) được báo cho hồ sơ {named}, "
    "nhưng mã giao dịch này đã được ghi nhận cho {held_by}. Hệ thống KHÔNG ghi nhận thanh toán cho hồ sơ "
    "{named}. Vui lòng đối chiếu với đơn vị thanh toán và công dân."
)


def payment_conflict_text(conflict: PaymentConflict) -> str:
    return PAYMENT_CONFLICT_TEXT.format(
        transaction_id=conflict.transaction_id,
        amount=vocabulary.vn_money(conflict.amount_vnd),
        named=conflict.named,
        held_by=f"hồ sơ {conflict.held_by}" if conflict.held_by else "một mã tham chiếu không có hồ sơ",
    )


def recipients(settings: Settings, conflict: PaymentConflict) -> list[str]:
    """The officers of the agencies of both dossiers, each once."""
    codes = [code for code in (conflict.named, conflict.held_by) if code and is_dossier_code(code)]
    found: list[str] = []
    for code in codes:
        found += [user for user in settings.officers_for(agency_of(code)) if user not in found]
    return found


async def alert_payment_conflict(app: FastAPI, conflict: PaymentConflict) -> None:
    """Tell the officers concerned (run after the answer); failures are logged, the row stays unnotified."""
    settings: Settings = app.state.settings
    sessions: SessionFactory = app.state.session_factory
    zalo: ZaloClient | None = getattr(app.state, "zalo", None)
    users = recipients(settings, conflict)
    if zalo is None or not users:
        log.warning("payment.conflict_not_told", transaction_id=conflict.transaction_id, officers=len(users))
        return
    text = payment_conflict_text(conflict)
    told = 0
    for user in users:
        try:
            await zalo.send_oa_text(user, text)
            told += 1
        except ZaloError as exc:
            log.warning("payment.conflict_alert_failed", code=exc.code, error_class=exc.error_class.value)
    if told and conflict.id is not None:
        async with sessions() as session:
            await conflict_notified(session, conflict.id)
