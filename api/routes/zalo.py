"""`POST /webhooks/zalo`: Zalo OA events — follows, a citizen's dossier lookup, delivery receipts.

Dependencies come from `app.state` (`settings`, `session_factory`, and optionally `zalo` for replies), so
the router mounts on any app that sets them. Zalo redelivers events: each handled event is recorded in
`zalo_events` in the same transaction as its effects, so a repeat changes nothing and answers once.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from api.problems import problem_response
from api.schemas.views import ProblemDetail
from db.models import Dossier, Notice, ZaloEvent, ZaloLink, ZaloUser
from db.types import utcnow
from db.upsert import insert_ignoring_conflict
from domain import limits
from domain.codes import codes_in, normalize_phone, phone_last4, without_codes
from domain.notices import NoticeStatus
from domain.status import DossierStatus
from domain.timefmt import vn_datetime
from settings import Settings
from web.deps import SessionFactoryDep, SettingsDep, now
from zalo.client import ZaloClient
from zalo.config import zalo_config
from zalo.errors import ZaloError
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

_DIGITS = re.compile(r"[0-9]+")
LOOKUP_WINDOW = timedelta(hours=24)


def get_zalo(request: Request) -> ZaloClient | None:
    """The client that sends replies; without one (`app.state.zalo` unset) events are handled silently."""
    zalo: ZaloClient | None = getattr(request.app.state, "zalo", None)
    return zalo


ZaloDep = Annotated[ZaloClient | None, Depends(get_zalo)]


@dataclass(frozen=True)
class Reply:
    user_id: str
    text: str


@router.post(
    "/webhooks/zalo",
    response_model=None,
    status_code=200,
    responses={401: {"model": ProblemDetail, "description": "Missing or invalid X-ZEvent-Signature"}},
)
async def zalo_webhook(
    request: Request,
    background: BackgroundTasks,
    settings: SettingsDep,
    session_factory: SessionFactoryDep,
    zalo: ZaloDep,
) -> JSONResponse | dict[str, str]:
    """Zalo OA events (signed): follow/unfollow, a dossier code sent by a citizen, delivery receipts."""
    raw = await request.body()
    config = zalo_config(settings)
    if not verify_signature(request.headers.get(SIGNATURE_HEADER), config.app_id, raw, config.oa_secret):
        log.warning("zalo_webhook.bad_signature")
        return problem_response(401, f"missing or invalid {SIGNATURE_HEADER}")
    payload: Any = json.loads(raw)  # the signature check parsed it already
    if not isinstance(payload, dict):
        return problem_response(422, "a Zalo event is a JSON object", slug="invalid-request")
    event = parse_event(payload)
    if not is_fresh(event, now(request), settings):
        # The signature covers the timestamp: an old event replayed, or one from a clock far ahead.
        log.warning("zalo_webhook.stale_event", event_name=event.name)
        return problem_response(
            401,
            f"the event is not fresh: its timestamp must lie within "
            f"{settings.zalo_webhook_max_age_seconds} s of now",
            slug="stale-event",
        )
    handler = _EventHandler(settings)
    if not handler.handles(event):
        return {"status": "ignored"}
    async with session_factory() as session:
        if not await insert_ignoring_conflict(
            session,
            ZaloEvent,
            ["event_key"],
            event_key=_event_key(event, raw),
            event_name=event.name,
            received_at=utcnow(),
        ):
            await session.rollback()
            return {"status": "duplicate"}
        reply = await handler.apply(session, event)
        await session.commit()
    log.info("zalo_webhook.handled", event_name=event.name, replied=reply is not None)
    if reply is not None:
        if zalo is None:
            log.warning("zalo_webhook.no_client_for_reply")
        else:
            background.add_task(_send_reply, zalo, reply)
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


async def _send_reply(zalo: ZaloClient, reply: Reply) -> None:
    try:
        await zalo.send_oa_text(reply.user_id, reply.text)
    except ZaloError as exc:
        # The citizen can ask again; the event is recorded, so a redelivery will not retry the reply.
        log.warning("zalo_webhook.reply_failed", code=exc.code, error_class=exc.error_class.value)


class _EventHandler:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def handles(self, event: WebhookEvent) -> bool:
        if event.name in (FOLLOW, UNFOLLOW):
            return event.user_id is not None
        if event.name == USER_SEND_TEXT:
            return event.user_id is not None and event.text is not None
        return event.is_delivery_receipt

    async def apply(self, session: AsyncSession, event: WebhookEvent) -> Reply | None:
        if event.name in (FOLLOW, UNFOLLOW):
            assert event.user_id is not None
            await self._follow(session, event.user_id, following=event.name == FOLLOW, at=event.timestamp)
            return None
        if event.name == USER_SEND_TEXT:
            assert event.user_id is not None
            assert event.text is not None
            return await self._lookup(session, event.user_id, event.text, event.timestamp)
        await self._delivered(session, event)
        return None

    # --- follow / unfollow ---

    async def _user(self, session: AsyncSession, user_id: str) -> ZaloUser:
        await insert_ignoring_conflict(
            session,
            ZaloUser,
            ["user_id"],
            user_id=user_id,
            lookup_failures=0,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        user = (
            await session.exec(
                select(ZaloUser).where(ZaloUser.user_id == user_id).execution_options(populate_existing=True)
            )
        ).one()
        return user

    async def _follow(
        self, session: AsyncSession, user_id: str, *, following: bool, at: datetime | None
    ) -> None:
        user = await self._user(session, user_id)
        at = at or utcnow()
        # Events can arrive late or twice: only a newer follow/unfollow changes the state.
        if user.follow_changed_at is None or at >= user.follow_changed_at:
            user.following = following
            user.follow_changed_at = at
        user.last_interaction_at = max(filter(None, (user.last_interaction_at, at)))
        user.updated_at = utcnow()
        session.add(user)

    # --- "<dossier code> <last 4 digits>" ---

    async def _lookup(
        self, session: AsyncSession, user_id: str, text: str, at: datetime | None
    ) -> Reply | None:
        user = await self._user(session, user_id)
        now = utcnow()
        user.last_interaction_at = max(filter(None, (user.last_interaction_at, at or now)))
        user.updated_at = now
        session.add(user)
        codes = codes_in(text)
        if not codes:
            return None  # not a lookup: left to the OA's staff
        code = codes[0]
        dossier = await session.get(Dossier, code)
        linked = (
            dossier is not None
            and (
                await session.exec(
                    select(ZaloLink).where(ZaloLink.user_id == user_id, ZaloLink.dossier_code == code)
                )
            ).first()
            is not None
        )
        if dossier is not None and linked:
            return Reply(user_id, self._status_text(dossier, newly_linked=False, following=user.following))

        if user.lookup_window_started_at is None or now - user.lookup_window_started_at > LOOKUP_WINDOW:
            user.lookup_failures = 0
            user.lookup_window_started_at = None
        if user.lookup_failures >= self.settings.zalo_lookup_max_failures:
            return Reply(
                user_id,
                "Ông/bà đã nhập sai mã hồ sơ hoặc 4 số cuối điện thoại quá số lần cho phép. "
                "Vui lòng thử lại sau 24 giờ hoặc liên hệ trực tiếp Bộ phận Một cửa.",
            )
        candidates = _digit_candidates(without_codes(text))
        if not candidates:
            # Same answer whether the code exists or not: the code alone must not reveal anything.
            return Reply(
                user_id,
                f"Để tra cứu hồ sơ {code}, vui lòng gửi mã hồ sơ kèm 4 số cuối của số điện thoại "
                f"đã đăng ký khi nộp hồ sơ, ví dụ: {code} 1234",
            )
        if dossier is None or not _phone_matches(dossier.applicant_phone, candidates):
            if user.lookup_window_started_at is None:
                user.lookup_window_started_at = now
            user.lookup_failures += 1
            return Reply(
                user_id,
                "Mã hồ sơ hoặc 4 số cuối điện thoại chưa đúng. Vui lòng kiểm tra lại trên Giấy tiếp nhận "
                "hồ sơ và hẹn trả kết quả, rồi gửi lại theo mẫu: <mã hồ sơ> <4 số cuối điện thoại>.",
            )
        await insert_ignoring_conflict(
            session, ZaloLink, ["user_id", "dossier_code"], user_id=user_id, dossier_code=code, linked_at=now
        )
        user.lookup_failures = 0
        user.lookup_window_started_at = None
        log.info("zalo_webhook.linked", dossier_code=code)
        return Reply(user_id, self._status_text(dossier, newly_linked=True, following=user.following))

    def _status_text(self, dossier: Dossier, *, newly_linked: bool, following: bool | None) -> str:
        status = DossierStatus(dossier.status)
        lines = [
            f"Hồ sơ {dossier.code}",
            f"Thủ tục: {dossier.procedure_name}",
            f"Trạng thái: {status.label_vi}",
        ]
        if dossier.due_at is not None and not status.is_final:
            lines.append(f"Ngày hẹn trả kết quả: {vn_datetime(dossier.due_at)}")
        lines.append(
            f"Tra cứu chi tiết: {self.settings.public_base_url.rstrip('/')}/tra-cuu?code={dossier.code}"
        )
        if newly_linked:
            lines.append("")
            if following:
                lines.append("Từ nay, thông báo về hồ sơ này sẽ được gửi đến ông/bà qua Zalo OA này.")
            else:
                lines.append("Ông/bà vui lòng quan tâm (theo dõi) Zalo OA này để nhận thông báo về hồ sơ.")
        return "\n".join(lines)

    # --- delivery receipts ---

    async def _delivered(self, session: AsyncSession, event: WebhookEvent) -> None:
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


def _digit_candidates(text: str) -> set[str]:
    """Digit groups the citizen typed (the code removed), plus all digits together when it is a phone."""
    groups = set(_DIGITS.findall(text))
    joined = "".join(_DIGITS.findall(text))
    if 9 <= len(joined) <= 12:
        groups.add(joined)
    return groups


def _phone_matches(phone: str, candidates: set[str]) -> bool:
    for candidate in candidates:
        if len(candidate) == 4 and candidate == phone_last4(phone):
            return True
        if len(candidate) >= 9:
            try:
                if normalize_phone(candidate) == phone:
                    return True
            except ValueError:
                continue
    return False
