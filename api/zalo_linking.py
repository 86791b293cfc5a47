"""Linking a Zalo account to a phone by proving the phone, from the citizen's messages to the OA.

A citizen who sends a dossier code (or a phone number, or asks to link) gets a one-time code by ZNS on the
phone the dossier was registered with, and is linked only by sending that very code back within
ZALO_LINK_CODE_MINUTES. Then every dossier of that phone, later ones included, is notified over the OA
(activities/notices.py looks the link up by the dossier's phone), and the phone is told by ZNS that an
account was linked. "Hủy liên kết", or unfollowing the OA, removes the account's links.

Guessing is bounded three ways, all counted in the database before the answer is compared: per code
(ZALO_LINK_CODE_ATTEMPTS, then void), per Zalo account and per phone (db/ratelimit.py, with backoff).
Codes asked for are limited per account and per phone as well, so the OA cannot be used to flood
citizens' phones. Answers never say whether a dossier or phone exists.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import structlog
from fastapi import Request

from db import zalo_links
from db.agencies import agency_card
from db.engine import SessionFactory
from db.models import Dossier, ZaloUser
from domain import vocabulary, zns_templates
from domain.limits import Counted
from domain.linking import Asks, Message, read_message
from domain.status import DossierStatus
from domain.zns_templates import LINK_ALERT, LINK_CODE, ZnsTemplate
from settings import Settings
from web.ratelimit import Limiter
from zalo.client import ZaloClient, tracking_id_for
from zalo.errors import ZaloError

log = structlog.get_logger(__name__)

EXAMPLE_CODE = "H21.65-261123-0001"
HOW_TO_LINK = (
    "Để nhận thông báo hồ sơ qua Zalo OA này, vui lòng gửi mã hồ sơ (in trên Giấy tiếp nhận hồ sơ, "
    f"ví dụ: {EXAMPLE_CODE}) hoặc số điện thoại đã đăng ký khi nộp hồ sơ. Một mã xác nhận sẽ được gửi "
    "qua tin nhắn Zalo (ZNS) đến số điện thoại đó."
)
CODE_SENT_FOR_DOSSIER = (
    "Nếu mã hồ sơ {code} đúng, một mã xác nhận gồm 6 chữ số vừa được gửi qua tin nhắn Zalo (ZNS) đến số "
    "điện thoại đã đăng ký khi nộp hồ sơ. Vui lòng gửi lại mã đó vào đây trong vòng {minutes} phút."
)
CODE_SENT_FOR_PHONE = (
    "Nếu số điện thoại này đã được dùng để nộp hồ sơ, một mã xác nhận gồm 6 chữ số vừa được gửi qua tin "
    "nhắn Zalo (ZNS) đến số đó. Vui lòng gửi lại mã vào đây trong vòng {minutes} phút."
)
ALREADY_LINKED = "Số điện thoại này đã được liên kết với tài khoản Zalo của ông/bà."
LINKED = (
    "Liên kết thành công. Từ nay, thông báo về mọi hồ sơ đăng ký bằng số điện thoại này, kể cả những hồ sơ "
    "khác được nộp sau này, sẽ được gửi qua Zalo OA này. Gửi «HỦY LIÊN KẾT» nếu muốn ngừng."
)
FOLLOW_PLEASE = "Ông/bà vui lòng quan tâm (theo dõi) Zalo OA này để nhận được thông báo."
WRONG = "Mã xác nhận chưa đúng. Vui lòng kiểm tra tin nhắn ZNS và gửi lại đúng 6 chữ số."
VOID = (
    "Không có mã xác nhận nào đang chờ (mã đã hết hạn, đã dùng, hoặc đã nhập sai quá số lần). "
    "Vui lòng gửi lại mã hồ sơ để nhận mã mới."
)
WAIT = "Ông/bà đã thử quá nhiều lần. Vui lòng thử lại sau {minutes} phút."
UNLINKED = (
    "Đã hủy liên kết. Thông báo hồ sơ sẽ được gửi bằng tin nhắn đến số điện thoại đã đăng ký khi nộp hồ sơ."
)
NOTHING_LINKED = "Tài khoản Zalo này chưa liên kết với số điện thoại nào."
UNAVAILABLE = (
    "Chức năng liên kết tạm thời chưa sẵn sàng. Ông/bà vẫn nhận thông báo bằng tin nhắn đến số điện thoại "
    "đã đăng ký khi nộp hồ sơ."
)


@dataclass(frozen=True)
class OaText:
    user_id: str
    text: str


@dataclass(frozen=True)
class ZnsMessage:
    phone: str
    template: ZnsTemplate
    template_id: str
    data: dict[str, str]
    tracking_id: str


Outgoing = OaText | ZnsMessage


def code_hash(settings: Settings, user_id: str, phone: str, code: str) -> str:
    """What is stored of a one-time code: bound to the account and the phone it was sent for."""
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, f"zalo-link-code:{user_id}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def status_text(settings: Settings, dossier: Dossier) -> str:
    """A dossier's status, as the OA answers a linked citizen (no name, no phone)."""
    status = DossierStatus(dossier.status)
    lines = [
        f"Hồ sơ {dossier.code}",
        f"Thủ tục: {dossier.procedure_name}",
        f"Trạng thái: {vocabulary.STATUS[status]}",
    ]
    if dossier.due_at is not None and not status.is_final:
        lines.append(f"Ngày hẹn trả kết quả: {vocabulary.vn_datetime(dossier.due_at)}")
    lines.append(f"Tra cứu chi tiết: {settings.lookup_url(dossier.code)}")
    return "\n".join(lines)


def tracking_id(template: ZnsTemplate, reference: str) -> str:
    """The ZNS tracking id of one message of this template (the notices' own scheme, keyed apart)."""
    return tracking_id_for(f"{template.key}:{reference}")


def wait_text(seconds: int) -> str:
    return WAIT.format(minutes=max(1, -(-seconds // 60)))


class Linking:
    """One citizen message's worth of linking, with the request's settings, database, clock and limits."""

    def __init__(self, request: Request) -> None:
        self.settings: Settings = request.app.state.settings
        self.sessions: SessionFactory = request.app.state.session_factory
        self.limiter = Limiter(request)
        self.now = self.limiter.now

    async def on_text(self, user_id: str, text: str) -> list[Outgoing]:
        message = read_message(text)
        if message.asks is Asks.UNLINK:
            return [OaText(user_id, UNLINKED if await self.unlink(user_id) else NOTHING_LINKED)]
        if message.asks is Asks.ANSWER:
            return await self._answer(user_id, message)
        if message.asks is Asks.DOSSIER:
            return await self._about_dossier(user_id, message)
        if message.asks is Asks.PHONE:
            assert message.phone is not None
            sent = CODE_SENT_FOR_PHONE.format(minutes=self.settings.zalo_link_code_minutes)
            return await self._send_code(user_id, message.phone, None, sent)
        if message.asks is Asks.HOW:
            return [OaText(user_id, HOW_TO_LINK)]
        return []  # not about linking: left to the OA's staff

    async def unlink(self, user_id: str) -> int:
        """Remove every link of the account (an unfollow, or the citizen asked); how many there were."""
        async with self.sessions() as session:
            removed = await zalo_links.unlink_user(session, user_id)
            await session.commit()
        if removed:
            log.info("zalo_link.unlinked", links=removed)
        return removed

    # --- a dossier code: its status if this account proved its phone, else a code to that phone ---

    async def _about_dossier(self, user_id: str, message: Message) -> list[Outgoing]:
        assert message.dossier_code is not None
        async with self.sessions() as session:
            dossier = await session.get(Dossier, message.dossier_code)
            linked = dossier is not None and await zalo_links.is_linked(
                session, dossier.applicant_phone, user_id
            )
        if dossier is not None and linked:
            return [OaText(user_id, status_text(self.settings, dossier))]
        minutes = self.settings.zalo_link_code_minutes
        sent = CODE_SENT_FOR_DOSSIER.format(code=message.dossier_code, minutes=minutes)
        phone = dossier.applicant_phone if dossier is not None else None
        return await self._send_code(user_id, phone, message.dossier_code, sent)

    async def _send_code(
        self, user_id: str, phone: str | None, dossier_code: str | None, sent: str
    ) -> list[Outgoing]:
        """A one-time code by ZNS to `phone` if it has dossiers; the same answer to the account either way."""
        minutes = self.settings.zalo_link_code_minutes
        wait = await self.limiter.take((Counted.LINK_CODE_USER, user_id))
        if wait is not None:
            return [OaText(user_id, wait_text(wait))]
        reply = OaText(user_id, sent)
        async with self.sessions() as session:
            if phone is None or not await zalo_links.has_dossiers(session, phone):
                return [reply]  # nothing to send, and nothing said about it
            if await zalo_links.is_linked(session, phone, user_id):
                return [OaText(user_id, ALREADY_LINKED)]
        if await self.limiter.take((Counted.LINK_CODE_PHONE, phone)) is not None:
            # The phone had its codes for now: nothing sent, and the same answer (it has dossiers, but
            # this account need not learn that).
            log.info("zalo_link.phone_limited", dossier_code=dossier_code)
            return [reply]
        template_id = self.settings.zns_template_id(LINK_CODE.key)
        if template_id is None:
            log.error("zalo_link.no_template", template=LINK_CODE.key)
            return [OaText(user_id, UNAVAILABLE)]
        code = f"{secrets.randbelow(10**6):06d}"
        async with self.sessions() as session:
            row = await zalo_links.new_code(
                session,
                user_id=user_id,
                phone=phone,
                code_hash=code_hash(self.settings, user_id, phone, code),
                dossier_code=dossier_code,
                now=self.now,
                lifetime=timedelta(minutes=minutes),
            )
        log.info("zalo_link.code_sent", dossier_code=dossier_code)
        zns = ZnsMessage(
            phone,
            LINK_CODE,
            template_id,
            zns_templates.params_for(LINK_CODE.key, {"otp": code, "minutes": minutes}),
            tracking_id(LINK_CODE, f"{row.id}:{row.created_at.isoformat()}"),
        )
        return [zns, reply]

    # --- the answer: the one-time code, counted before it is compared ---

    async def _answer(self, user_id: str, message: Message) -> list[Outgoing]:
        wait = await self.limiter.take((Counted.LINK_VERIFY_USER, user_id))
        if wait is not None:
            return [OaText(user_id, wait_text(wait))]
        async with self.sessions() as session:
            pending = await zalo_links.pending_code(session, user_id, self.now)
        if pending is None or pending.id is None:
            return [OaText(user_id, VOID)]
        phone = pending.phone
        wait = await self.limiter.take((Counted.LINK_VERIFY_PHONE, phone))
        if wait is not None:
            return [OaText(user_id, wait_text(wait))]
        async with self.sessions() as session:
            counted = await zalo_links.count_answer(
                session, pending.id, self.settings.zalo_link_code_attempts, self.now
            )
        if not counted:
            return [OaText(user_id, VOID)]
        expected = pending.code_hash.encode()
        given = code_hash(self.settings, user_id, phone, message.answer or "").encode()
        if not message.answer or not hmac.compare_digest(given, expected):
            log.info("zalo_link.wrong_code", attempts=pending.attempts + 1)
            return [OaText(user_id, WRONG)]
        async with self.sessions() as session:
            if not await zalo_links.use_code(session, pending.id, self.now):
                return [OaText(user_id, VOID)]
            new_account = await zalo_links.link(session, phone, user_id, self.now)
            await session.commit()
            user = await session.get(ZaloUser, user_id)
            dossier = await session.get(Dossier, pending.dossier_code) if pending.dossier_code else None
            office = self.settings.notice_office_name
            if dossier is not None:
                office = (await agency_card(session, dossier.agency_code, office)).name
        await self.limiter.forgive((Counted.LINK_VERIFY_USER, user_id), (Counted.LINK_VERIFY_PHONE, phone))
        log.info("zalo_link.linked", dossier_code=pending.dossier_code, new_account=new_account)
        lines = [LINKED]
        if user is None or not user.following:
            lines.append(FOLLOW_PLEASE)
        if dossier is not None:
            lines += ["", status_text(self.settings, dossier)]
        outgoing: list[Outgoing] = [OaText(user_id, "\n".join(lines))]
        alert_id = self.settings.zns_template_id(LINK_ALERT.key)
        if new_account and alert_id is not None:
            outgoing.append(
                ZnsMessage(
                    phone,
                    LINK_ALERT,
                    alert_id,
                    zns_templates.params_for(
                        LINK_ALERT.key,
                        {"linked_at": vocabulary.vn_datetime(self.now), "office": office},
                    ),
                    tracking_id(LINK_ALERT, f"{pending.id}:{self.now.isoformat()}"),
                )
            )
        elif new_account:
            log.error("zalo_link.no_template", template=LINK_ALERT.key)
        return outgoing


async def deliver(zalo: ZaloClient, outgoing: list[Outgoing]) -> None:
    """Send what linking decided, in order (after the webhook answered); a failure is logged, the citizen
    can ask again."""
    for item in outgoing:
        try:
            if isinstance(item, OaText):
                await zalo.send_oa_text(item.user_id, item.text)
            else:
                await zalo.send_zns(item.phone, item.template_id, item.data, item.tracking_id)
        except ZaloError as exc:
            log.warning(
                "zalo_link.send_failed",
                kind=type(item).__name__,
                code=exc.code,
                error_class=exc.error_class.value,
            )
