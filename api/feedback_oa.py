"""Feedback sent to the Zalo OA ("PA <code> <text>", domain/feedback.py): a tracked item for the dossier's
agency (or the province's queue when the message names no dossier), answered over the OA later.

The answer to the citizen never says whether the code names a dossier (a code that names none goes to the
province's queue with the code in its text). Messages of feedback are limited per Zalo account
(Counted.FEEDBACK_ZALO_USER, with backoff); a text too short or too long is refused with the reason and
counts for nothing, and nothing is written.
"""

from __future__ import annotations

import structlog
from fastapi import Request

from api.zalo_linking import OaText, Outgoing
from db import feedback, zalo_links
from db.calendar import office_calendar
from db.engine import SessionFactory
from db.models import Dossier
from domain import vocabulary
from domain.feedback import Channel, OaFeedback, answer_due, text_problem
from domain.limits import Counted
from settings import Settings
from web.ratelimit import Limiter

log = structlog.get_logger(__name__)


class OaFeedbackIntake:
    """One OA message of feedback, with the request's settings, database, clock and limits."""

    def __init__(self, request: Request) -> None:
        self.settings: Settings = request.app.state.settings
        self.sessions: SessionFactory = request.app.state.session_factory
        self.limiter = Limiter(request)
        self.now = self.limiter.now

    async def on_message(self, user_id: str, message: OaFeedback) -> list[Outgoing]:
        problem = text_problem(message.text)
        if problem is not None:
            return [OaText(user_id, f"{problem}\n{vocabulary.FEEDBACK_OA_HOW}")]
        wait = await self.limiter.take((Counted.FEEDBACK_ZALO_USER, user_id))
        if wait is not None:
            log.info("feedback.rate_limited", channel=Channel.OA.value)
            return [OaText(user_id, vocabulary.FEEDBACK_WAIT.format(minutes=max(1, -(-wait // 60))))]
        async with self.sessions() as session:
            dossier = await session.get(Dossier, message.dossier_code) if message.dossier_code else None
            verified = dossier is not None and await zalo_links.is_linked(
                session, dossier.applicant_phone, user_id
            )
            text = message.text
            if message.dossier_code and dossier is None:
                text = vocabulary.FEEDBACK_CODE_IN_TEXT.format(code=message.dossier_code) + text
            calendar = await office_calendar(session, self.settings.office_hours())
            due = answer_due(calendar, self.now, self.settings.feedback_answer_working_days)
            row = await feedback.add(
                session,
                channel=Channel.OA,
                text=text,
                received_at=self.now,
                answer_due_at=due,
                dossier_code=dossier.code if dossier else None,
                agency_code=dossier.agency_code if dossier else None,
                zalo_user_id=user_id,
                sender_verified=verified,
            )
        log.info(
            "feedback.received", channel=Channel.OA.value, feedback_id=row.id, dossier_code=row.dossier_code
        )
        about = vocabulary.FEEDBACK_OA_ABOUT.format(code=message.dossier_code) if message.dossier_code else ""
        reply = vocabulary.FEEDBACK_OA_RECEIVED.format(
            id=row.id, about=about, due=vocabulary.vn_datetime(due)
        )
        return [OaText(user_id, reply)]
