"""`notices.requeue`: a failed-permanent notice row goes back in the queue, for NoticeResendWorkflow to send
through `notices.send` (activities/notices.py) like any other notice.

The row keeps its key (so its ZNS tracking id) and its composed text; its attempts start from zero and its
last error is cleared, after a log line keeps it (`notice.requeued`). A mark "handled" is cleared too: if
the resend fails again, the failure is new and shows on the desk again. An officer notice that had no
recipient (OFFICER_ZALO_IDS named nobody) is addressed from the settings as they are now; when they now
name several officers, each gets a row of its own, keyed as the record activity keys them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlmodel import col, select
from temporalio import activity

from db.engine import SessionFactory
from db.models import Dossier, Notice
from db.types import utcnow
from domain.codes import workflow_id
from domain.notices import Audience, NoticeKind, NoticeStatus, OfficerRole, notice_key
from settings import Settings
from workflows import contracts
from workflows.contracts import Requeued, ResendRequest

log = structlog.get_logger(__name__)


class ResendActivities:
    """`notices.requeue`; built once per worker (worker.py)."""

    def __init__(
        self, session_factory: SessionFactory, settings: Settings, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self.clock = clock

    def activity_functions(self) -> list[Callable[..., Any]]:
        """What to pass as `Worker(activities=…)`."""
        return [self.requeue]

    @activity.defn(name=contracts.NOTICE_REQUEUE)
    async def requeue(self, request: ResendRequest) -> Requeued:
        """Put the row back in the queue if it is failed-permanent; otherwise say how it is."""
        now = self.clock()
        async with self.session_factory() as session, session.begin():
            row = (
                await session.exec(select(Notice).where(col(Notice.key) == request.key).with_for_update())
            ).first()
            if row is None:
                return Requeued(False, "", None)
            if row.status != NoticeStatus.FAILED_PERMANENT.value:
                # Already sent, or queued again by an earlier resend: nothing to do.
                log.info("notice.resend_refused", key=row.key, status=row.status, by=request.by)
                return Requeued(False, row.status, row.last_error)
            keys = [row.key]
            kind = NoticeKind(row.kind)
            if kind.audience is Audience.OFFICER and not row.recipient:
                dossier = await session.get(Dossier, row.dossier_code)
                role = str(row.context.get("role") or OfficerRole.OFFICER.value)
                officers = self.settings.officers_for(dossier.agency_code, role) if dossier else []
                if not officers:
                    log.info("notice.resend_no_recipient", key=row.key, role=role, by=request.by)
                    return Requeued(False, row.status, row.last_error)
                row.recipient = officers[0]
                keys += await self._rows_for_others(session, row, kind, officers[1:], now)
            log.info(
                "notice.requeued",
                key=row.key,
                dossier_code=row.dossier_code,
                by=request.by,
                previous_error=row.last_error,
                previous_attempts=row.attempts,
                handled_by=row.handled_by,
                recipients=len(keys),
            )
            row.status = NoticeStatus.QUEUED.value
            row.attempts = 0
            row.last_error = None
            row.sending_since = None
            row.handled_by = None
            row.handled_at = None
            row.updated_at = now
            session.add(row)
            return Requeued(True, row.status, None, row.dossier_code, row.seq, row.kind, keys)

    async def _rows_for_others(
        self, session: Any, row: Notice, kind: NoticeKind, officers: list[str], now: datetime
    ) -> list[str]:
        """A queued row for each further officer now named (none twice, whatever resends came before)."""
        keys = [notice_key(workflow_id(row.dossier_code), row.seq, kind, officer) for officer in officers]
        taken = set((await session.exec(select(Notice.key).where(col(Notice.key).in_(keys)))).all())
        for officer, key in zip(officers, keys, strict=True):
            if key in taken:
                continue
            session.add(
                Notice(
                    key=key,
                    dossier_code=row.dossier_code,
                    seq=row.seq,
                    kind=row.kind,
                    audience=row.audience,
                    recipient=officer,
                    context=row.context,
                    text=row.text,
                    zns_params=row.zns_params,
                    status=NoticeStatus.QUEUED.value,
                    created_at=now,
                    updated_at=now,
                )
            )
        return [key for key in keys if key not in taken]
