"""`POST /webhooks/zalo`: Zalo OA events — follows, a citizen's messages (linking: api/zalo_linking.py;
feedback, "PA <code> <text>": api/feedback_oa.py; queue numbers, "STT <agency>": api/queue_oa.py;
procedures, "TT <words>": domain/procedures.py), delivery receipts.

Dependencies come from `app.state` (`settings`, `session_factory`, and optionally `zalo` for replies), so
the router mounts on any app that sets them. An event is authentic only when signed and fresh
(ZALO_WEBHOOK_MAX_AGE_SECONDS), so a captured one cannot be replayed later. Zalo redelivers events: each
is claimed in `zalo_events` before it is handled, so a repeat changes nothing and answers once (a claim
whose handling failed is released, for the redelivery).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import delete, update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.feedback_oa import OaFeedbackIntake
from api.problems import problem_response
from api.queue_oa import on_queue_message
from api.schemas.views import ProblemDetail
from api.zalo_linking import Linking, OaText, Outgoing, deliver
from db import zalo_links
from db.models import Notice, ZaloEvent, ZaloUser
from db.procedures import catalogue_procedures
from db.types import utcnow
from db.upsert import insert_ignoring_conflict
from domain import limits, vocabulary
from domain.feedback import read_oa_feedback
from domain.notices import NoticeStatus
from domain.procedures import oa_answer, read_procedure_query, search_procedures
from domain.queue import read_oa_queue
from settings import Settings
from web.deps import SessionFactoryDep, SettingsDep, now
from zalo.client import ZaloClient
from zalo.config import OA_TEXT_MAX, zalo_config
from zalo.webhook import (
    FOLLOW,
    SIGNATURE_HEADER,
    UNFOLLOW,
    USER_SEND_TEXT,
    WebhookEvent,
    parse_event,
    verify_signature,
)

log = structlog.get_logger(__name__)

router = APIRouter()


def get_zalo(request: Request) -> ZaloClient | None:
    """The client that sends replies; without one (`app.state.zalo` unset) events are handled silently."""
    zalo: ZaloClient | None = getattr(request.app.state, "zalo", None)
    return zalo


ZaloDep = Annotated[ZaloClient | None, Depends(get_zalo)]


@router.post(
    "/webhooks/zalo",
    response_model=None,
    status_code=200,
    responses={
        401: {
            "model": ProblemDetail,
            "description": "Missing or invalid X-ZEvent-Signature, or a stale event",
        },
        422: {"model": ProblemDetail, "description": "Not a JSON object"},
    },
)
async def zalo_webhook(
    request: Request,
    background: BackgroundTasks,
    settings: SettingsDep,
    session_factory: SessionFactoryDep,
    zalo: ZaloDep,
) -> JSONResponse | dict[str, str]:
    """Zalo OA events (signed, fresh): follow/unfollow, a citizen's message, delivery receipts."""
    raw = await request.body()
    config = zalo_config(settings)
    if not verify_signature(request.headers.get(SIGNATURE_HEADER), config.app_id, raw, config.oa_secret):
        log.warning("zalo_webhook.bad_signature")
        return problem_response(401, f"missing or invalid {SIGNATURE_HEADER}")
    payload: Any = json.loads(raw)  # the signature check parsed it already
    if not isinstance(payload, dict):
        return problem_response(422, "a Zalo event is a JSON object", slug="invalid-request")
    event = parse_event(payload)
    at = now(request)
    if not is_fresh(event, at, settings):
        # The signature covers the timestamp: an old event replayed, or one from a clock far ahead.
        log.warning("zalo_webhook.stale_event", event_name=event.name)
        return problem_response(
            401,
            f"the event is not fresh: its timestamp must lie within "
            f"{settings.zalo_webhook_max_age_seconds} s of now",
            slug="stale-event",
        )
    if not handles(event):
        return {"status": "ignored"}
    key = _event_key(event, raw)
    async with session_factory() as session:
        claimed = await insert_ignoring_conflict(
            session, ZaloEvent, ["event_key"], event_key=key, event_name=event.name, received_at=at
        )
        await session.commit()
    if not claimed:
        return {"status": "duplicate"}
    try:
        outgoing = await _apply(request, event, at)
    except BaseException:
        async with session_factory() as session:  # not handled: a redelivery may try again
            await session.exec(delete(ZaloEvent).where(col(ZaloEvent.event_key) == key))
            await session.commit()
        raise
    log.info("zalo_webhook.handled", event_name=event.name, replied=bool(outgoing))
    if outgoing:
        if zalo is None:
            log.warning("zalo_webhook.no_client_for_reply")
        else:
            background.add_task(deliver, zalo, outgoing)
    return {"status": "ok"}


def is_fresh(event: WebhookEvent, now: datetime, settings: Settings) -> bool:
    """Whether a signed event happened within ZALO_WEBHOOK_MAX_AGE_SECONDS (and not ahead of the clock
    skew); an event without a timestamp could not be signed, so it never gets here."""
    if event.timestamp is None:
        return False
    age = now - event.timestamp
    return -limits.MAX_CLOCK_SKEW <= age <= timedelta(seconds=settings.zalo_webhook_max_age_seconds)


def _event_key(event: WebhookEvent, raw: bytes) -> str:
    """A user's message is known by its msg_id; anything else by its exact body (a redelivery repeats it)."""
    if event.name == USER_SEND_TEXT and event.msg_id:
        return f"{event.name}:{event.msg_id}"[:200]
    return f"{event.name}:{hashlib.sha256(raw).hexdigest()}"


def handles(event: WebhookEvent) -> bool:
    if event.name in (FOLLOW, UNFOLLOW):
        return event.user_id is not None
    if event.name == USER_SEND_TEXT:
        return event.user_id is not None and event.text is not None
    return event.is_delivery_receipt


async def _apply(request: Request, event: WebhookEvent, at: datetime) -> list[Outgoing]:
    """Handle one claimed event; what to send afterwards."""
    sessions = request.app.state.session_factory
    if event.name in (FOLLOW, UNFOLLOW):
        assert event.user_id is not None
        following = event.name == FOLLOW
        async with sessions() as session:
            changed = await _follow(session, event.user_id, following=following, at=event.timestamp or at)
            await session.commit()
        if changed and not following:
            await Linking(request).unlink(event.user_id)  # no more OA notices to an account that left
        return []
    if event.name == USER_SEND_TEXT:
        assert event.user_id is not None
        assert event.text is not None
        async with sessions() as session:
            await _touch(session, event.user_id, event.timestamp or at)
            await session.commit()
        # "PA <code> <text>": feedback (api/feedback_oa.py); "STT <agency>": a queue number
        # (api/queue_oa.py); "TT <words>": procedures of the catalogue; anything else is about linking, or
        # for the staff.
        feedback = read_oa_feedback(event.text)
        if feedback is not None:
            return await OaFeedbackIntake(request).on_message(event.user_id, feedback)
        ask = read_oa_queue(event.text)
        if ask is not None:
            return await on_queue_message(request, event.user_id, ask)
        query = read_procedure_query(event.text)
        if query is not None:
            return [OaText(event.user_id, await _procedures_answer(request, query))]
        return await Linking(request).on_text(event.user_id, event.text)
    async with sessions() as session:
        await _delivered(session, event)
        await session.commit()
    return []


async def _procedures_answer(request: Request, query: str) -> str:
    """The OA's answer to "TT <words>": the catalogue in force, searched (domain/procedures.py)."""
    settings: Settings = request.app.state.settings
    async with request.app.state.session_factory() as session:
        entries = await catalogue_procedures(session)
    if not entries:
        return vocabulary.PROCEDURE_LOOKUP_NO_CATALOGUE
    found = search_procedures(entries, query)
    text = oa_answer(query, found, settings.procedure_url, settings.procedures_url(query))
    return text[:OA_TEXT_MAX]


# --- follow / unfollow ---


async def _user(session: AsyncSession, user_id: str) -> ZaloUser:
    await zalo_links.ensure_user(session, user_id, utcnow())
    user = (
        await session.exec(
            select(ZaloUser).where(ZaloUser.user_id == user_id).execution_options(populate_existing=True)
        )
    ).one()
    return user


async def _follow(session: AsyncSession, user_id: str, *, following: bool, at: datetime) -> bool:
    """Apply a follow or unfollow; True when it is the newest (a late or repeated one changes nothing)."""
    user = await _user(session, user_id)
    newest = user.follow_changed_at is None or at >= user.follow_changed_at
    if newest:
        user.following = following
        user.follow_changed_at = at
    user.last_interaction_at = max(filter(None, (user.last_interaction_at, at)))
    user.updated_at = utcnow()
    session.add(user)
    return newest


async def _touch(session: AsyncSession, user_id: str, at: datetime) -> None:
    user = await _user(session, user_id)
    user.last_interaction_at = max(filter(None, (user.last_interaction_at, at)))
    user.updated_at = utcnow()
    session.add(user)


# --- delivery receipts ---


async def _delivered(session: AsyncSession, event: WebhookEvent) -> None:
    """Mark the notice delivered; matched by ZNS tracking_id, or by Zalo message id(s)."""
    matches = []
    if event.tracking_id:
        matches.append(col(Notice.tracking_id) == event.tracking_id)
    message_ids = [m for m in (event.msg_id, *event.msg_ids) if m]
    if message_ids:
        matches.append(col(Notice.zalo_message_id).in_(message_ids))
    if not matches:
        return
    at = event.delivery_time or event.timestamp or utcnow()
    values: dict[str, Any] = {
        "status": NoticeStatus.DELIVERED.value,
        "delivered_at": at,
        "updated_at": utcnow(),
    }
    await session.exec(
        update(Notice)
        .where(or_(*matches), col(Notice.status) != NoticeStatus.DELIVERED.value)
        .values(**values)
    )
    if event.msg_id and event.tracking_id:
        # A receipt can beat our own record of the send: keep Zalo's id for the officer pages.
        await session.exec(
            update(Notice)
            .where(col(Notice.tracking_id) == event.tracking_id, col(Notice.zalo_message_id).is_(None))
            .values(zalo_message_id=event.msg_id)
        )
