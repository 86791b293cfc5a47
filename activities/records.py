"""The database projection of a dossier workflow: one activity call per timeline entry.

Each entry's notices are composed here, at the transition (their text and ZNS parameters: see
activities/notice_text.py): a notice that cannot render fails this activity, so the error shows in the
workflow at once and is retried until fixed, rather than a notice found failed days later.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import structlog
from sqlalchemy import delete
from sqlmodel import col, select
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.notice_text import Composed, compose
from db.agencies import AgencyCard, agency_card
from db.dossiers import dossier_row
from db.engine import SessionFactory
from db.models import Dossier, DossierEvent, Notice, Payment
from db.types import utcnow
from domain.dossier import PaymentRecord
from domain.notices import (
    Audience,
    NoticeFailure,
    NoticeKind,
    NoticeOrder,
    NoticeStatus,
    OfficerRole,
    failure,
    notice_key,
)
from settings import Settings
from workflows import contracts
from workflows.contracts import RecordRequest

log = structlog.get_logger(__name__)


class RecordActivities:
    def __init__(self, session_factory: SessionFactory, settings: Settings) -> None:
        self._sessions = session_factory
        self._settings = settings

    def activity_functions(self) -> list[Callable[..., Any]]:
        """What to pass as `Worker(activities=…)`."""
        return [self.record]

    @activity.defn(name=contracts.RECORD)
    async def record(self, request: RecordRequest) -> bool:
        """Apply one timeline entry to the projection, with its notices; False if it was applied already."""
        async with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "sqlite":
                # The write lock first (db/engine.py): nobody changes the row between its read and the write.
                await (await session.connection()).exec_driver_sql("BEGIN IMMEDIATE")
            row = await session.get(Dossier, request.code, with_for_update=True)
            if row is None:
                if request.registration is None:
                    raise RuntimeError(f"dossier {request.code} has no row and no registration to create it")
                row = dossier_row(request.registration)
                session.add(row)
                await session.flush()
            if request.entry.seq <= row.last_seq:
                if await self._recorded_already(session, request):
                    return False
                await self._drop_phantoms(session, request)
            for column, value in asdict(request.projection).items():
                setattr(row, column, value)
            row.last_seq = request.entry.seq
            row.updated_at = utcnow()
            session.add(
                DossierEvent(
                    dossier_code=request.code,
                    seq=request.entry.seq,
                    at=request.entry.at,
                    kind=request.entry.kind,
                    by=request.entry.by,
                    event_id=request.entry.event_id,
                    detail=request.entry.detail,
                )
            )
            if request.notices:
                card = await agency_card(session, row.agency_code, self._settings.notice_office_name)
                keys: set[str] = set()
                for order in request.notices:
                    for notice in self._notices(request, row, order, card):
                        # One row per key: an event that tells two rungs (a late step: its holder and
                        # their head) tells an officer named on both, or a rung nobody fills, once.
                        if notice.key not in keys:
                            keys.add(notice.key)
                            session.add(notice)
            if request.payment is not None:
                await self._add_payment(session, request.code, request.payment)
        return True

    @staticmethod
    async def _recorded_already(session: Any, request: RecordRequest) -> bool:
        """Whether this very entry is the one recorded at its seq (a retried or replayed record)."""
        recorded = await session.scalar(
            select(DossierEvent).where(
                DossierEvent.dossier_code == request.code, DossierEvent.seq == request.entry.seq
            )
        )
        entry = request.entry
        return recorded is not None and (recorded.kind, recorded.at, recorded.event_id) == (
            entry.kind,
            entry.at,
            entry.event_id,
        )

    @staticmethod
    async def _drop_phantoms(session: Any, request: RecordRequest) -> None:
        """Another entry holds this seq: a workflow task that recorded it was lost before it completed (its
        worker or the server killed), so from this seq on the rows were never in the workflow's history,
        and the task that ran again put something else there (a timer that came due meanwhile, an update
        in another order). The workflow is the truth: its entry replaces them, and so do the notices.
        None of those notices was ever sent (a send is scheduled only once its task completes)."""
        seq = request.entry.seq
        await session.exec(
            delete(DossierEvent).where(
                col(DossierEvent.dossier_code) == request.code, col(DossierEvent.seq) >= seq
            )
        )
        await session.exec(
            delete(Notice).where(
                col(Notice.dossier_code) == request.code,
                col(Notice.seq) >= seq,
                col(Notice.attempts) == 0,
                col(Notice.sent_at).is_(None),
            )
        )
        await session.flush()
        log.warning(
            "record.replaced_lost_entries", dossier_code=request.code, from_seq=seq, kind=request.entry.kind
        )

    def _notices(
        self, request: RecordRequest, row: Dossier, order: NoticeOrder, card: AgencyCard
    ) -> list[Notice]:
        kind = NoticeKind(order.kind)
        seq = request.entry.seq
        composed = self._compose(kind, order, row, card)
        # An officer notice keeps the rung it was for: a resend resolves its recipients again by it.
        stored = order.context if kind.audience is Audience.CITIZEN else {"role": order.role} | order.context

        def notice(key: str, recipient: str | None = None, error: str | None = None) -> Notice:
            status = NoticeStatus.SCHEDULED if order.scheduled_for else NoticeStatus.QUEUED
            return Notice(
                key=key,
                dossier_code=request.code,
                seq=seq,
                kind=kind.value,
                audience=kind.audience.value,
                recipient=recipient,
                context=stored,
                text=composed.text,
                zns_params=composed.zns_params,
                scheduled_for=order.scheduled_for,
                status=(NoticeStatus.FAILED_PERMANENT if error else status).value,
                last_error=error,
            )

        if kind.audience is Audience.CITIZEN:
            return [notice(notice_key(request.workflow_id, seq, kind))]
        recipients = self._settings.officers_for(row.agency_code, order.role or OfficerRole.OFFICER.value)
        if not recipients:
            # Visible on the officer pages as a failed notice rather than silently dropped.
            reason = failure(
                NoticeFailure.NO_OFFICER_ID,
                f"OFFICER_ZALO_IDS names nobody for role {order.role} of agency {row.agency_code}",
            )
            return [notice(notice_key(request.workflow_id, seq, kind), error=reason)]
        return [
            notice(notice_key(request.workflow_id, seq, kind, user), recipient=user) for user in recipients
        ]

    def _compose(self, kind: NoticeKind, order: NoticeOrder, row: Dossier, card: AgencyCard) -> Composed:
        """The notice's text and ZNS parameters from the workflow's context and what the database knows."""
        try:
            return compose(
                kind,
                order.context,
                agency=card,
                applicant_name=row.applicant_name,
                lookup_url=self._settings.lookup_url(row.code),
                rating_url=self._settings.rating_url(row.code, order.context["rate_by"])
                if kind is NoticeKind.RATING_INVITE
                else "",
            )
        except Exception as error:  # a template or context bug: visible in the workflow, retried until fixed
            raise ApplicationError(
                f"cannot compose the {kind.value} notice of {row.code}: {type(error).__name__}: {error}",
                type="NoticeComposeError",
            ) from error

    @staticmethod
    async def _add_payment(session: Any, code: str, payment: PaymentRecord) -> None:
        existing = await session.scalar(
            select(Payment).where(Payment.transaction_id == payment.transaction_id)
        )
        if existing is None:
            session.add(
                Payment(
                    transaction_id=payment.transaction_id,
                    dossier_code=code,
                    amount_vnd=payment.amount_vnd,
                    outcome=payment.outcome,
                    source=payment.source,
                    at=payment.at,
                )
            )
