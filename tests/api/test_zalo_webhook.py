"""`POST /webhooks/zalo` mounted on a tiny app: signatures, follows, linking by a one-time code, receipts,
repeats (the attacks on linking: tests/security/test_zalo_linking.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import select
from temporalio.testing import ActivityEnvironment

from api.routes.zalo import router
from db.engine import SessionFactory
from db.models import ZaloEvent, ZaloLink, ZaloUser
from db.procedures import load_catalogue, read_catalogue
from domain.notices import NoticeKind
from tests.support.zalo import (
    CODE,
    ICT,
    PHONE,
    TEMPLATE_IDS,
    Harness,
    add_dossier,
    add_notice,
    make_settings,
    notices,
    zalo_harness,
)
from workflows.contracts import NoticeBatch
from zalo.config import FAKE_APP_ID, FAKE_OA_SECRET
from zalo.webhook import signature_header

USER = "2512000000000000001"
LINK_CODE_ID = TEMPLATE_IDS["link_code"]
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=ICT)


class Api:
    def __init__(self, http: httpx.AsyncClient, h: Harness) -> None:
        self.http = http
        self.h = h
        self.seq = 0

    def event(self, name: str, at: datetime = T0, **fields: Any) -> dict[str, Any]:
        return {
            "app_id": FAKE_APP_ID,
            "oa_id": "4318000000000000001",
            "user_id_by_app": "9000000000000000001",
            "event_name": name,
            "timestamp": str(int(at.timestamp() * 1000)),
            **fields,
        }

    def text(self, text: str, user: str = USER, msg_id: str | None = None) -> dict[str, Any]:
        self.seq += 1
        return self.event(
            "user_send_text",
            sender={"id": user},
            recipient={"id": "4318000000000000001"},
            message={"msg_id": msg_id or f"msg-{self.seq}", "text": text},
        )

    async def post(
        self, event: dict[str, Any], *, secret: str = FAKE_OA_SECRET, signature: str | None = "auto"
    ) -> httpx.Response:
        body = json.dumps(event, ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "auto":
            headers["X-ZEvent-Signature"] = signature_header(FAKE_APP_ID, body, secret)
        elif signature is not None:
            headers["X-ZEvent-Signature"] = signature
        return await self.http.post("/webhooks/zalo", content=body, headers=headers)

    def replies(self) -> list[str]:
        return [m["text"] for m in self.h.fake.messages if m["channel"] == "oa" and m["user_id"] == USER]


@pytest.fixture
async def api(session_factory: SessionFactory) -> AsyncIterator[Api]:
    # These events are up to an hour older than the harness's clock (freshness: tests/security).
    settings = make_settings(zalo_webhook_max_age_seconds=86_400)
    async with zalo_harness(session_factory, settings=settings) as h:
        await add_dossier(session_factory)
        app = FastAPI()
        app.include_router(router)
        app.state.settings = h.settings
        app.state.session_factory = session_factory
        app.state.zalo = h.zalo
        app.state.clock = h.clock
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http:
            yield Api(http, h)


async def table(session_factory: SessionFactory, model: Any) -> list[Any]:
    async with session_factory() as session:
        return list((await session.exec(select(model))).all())


@pytest.mark.parametrize(
    "how", ["missing", "wrong secret", "garbage", "other body", "no timestamp", "empty mac", "not json"]
)
async def test_a_bad_or_missing_signature_is_401_and_changes_nothing(api: Api, how: str) -> None:
    event = api.text(CODE)
    if how == "missing":
        response = await api.post(event, signature=None)
    elif how == "wrong secret":
        response = await api.post(event, secret="not-the-oa-secret")
    elif how == "garbage":
        response = await api.post(event, signature="mac=deadbeef")
    elif how == "other body":
        other = json.dumps(api.text(f"{CODE} 0000")).encode()
        response = await api.post(event, signature=signature_header(FAKE_APP_ID, other, FAKE_OA_SECRET))
    elif how == "no timestamp":
        del event["timestamp"]
        response = await api.post(event)
    elif how == "empty mac":
        response = await api.post(event, signature="mac=")
    else:
        response = await api.http.post(
            "/webhooks/zalo", content=b"{not json", headers={"X-ZEvent-Signature": "mac=00"}
        )

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail"}
    assert body["status"] == 401
    for model in (ZaloUser, ZaloLink, ZaloEvent):
        assert await table(api.h.session_factory, model) == []
    assert api.h.fake.calls == []


async def test_follow_and_unfollow_record_the_user_newest_event_wins(api: Api) -> None:
    follow = api.event("follow", at=T0, follower={"id": USER}, source="oa_profile")
    unfollow = api.event("unfollow", at=T0.replace(hour=10), follower={"id": USER})

    assert (await api.post(follow)).json() == {"status": "ok"}
    [user] = await table(api.h.session_factory, ZaloUser)
    assert (user.following, user.follow_changed_at) == (True, T0)

    assert (await api.post(unfollow)).json() == {"status": "ok"}
    assert (await api.post(follow)).json() == {"status": "duplicate"}  # a redelivery
    late_follow = {**follow, "source": "qr_code"}  # the same old follow, delivered late with another body
    assert (await api.post(late_follow)).json() == {"status": "ok"}

    [user] = await table(api.h.session_factory, ZaloUser)
    assert user.following is False
    assert user.follow_changed_at == T0.replace(hour=10)


def codes_sent(api: Api) -> list[dict[str, Any]]:
    return [m for m in api.h.fake.messages if m["channel"] == "zns" and m["template_id"] == LINK_CODE_ID]


async def link(api: Api) -> None:
    """The citizen follows, sends the dossier code, and sends back the one-time code the phone got."""
    await api.post(api.event("follow", follower={"id": USER}))
    await api.post(api.text(CODE))
    await api.post(api.text(codes_sent(api)[-1]["template_data"]["otp"]))


async def test_a_dossier_code_sends_a_one_time_code_to_the_registered_phone(api: Api) -> None:
    response = await api.post(api.text(f"Cho tôi hỏi hồ sơ {CODE.lower()} với"))

    assert response.json() == {"status": "ok"}
    assert await table(api.h.session_factory, ZaloLink) == []
    [sent] = codes_sent(api)
    assert sent["phone"] == PHONE
    assert set(sent["template_data"]) == {"otp", "minutes"}
    [reply] = api.replies()
    assert f"Nếu mã hồ sơ {CODE} đúng" in reply
    assert sent["template_data"]["otp"] not in reply


async def test_the_code_sent_back_links_the_phone_and_answers_with_the_status(api: Api) -> None:
    await link(api)

    [row] = await table(api.h.session_factory, ZaloLink)
    assert (row.phone, row.user_id) == (PHONE, USER)
    reply = api.replies()[-1]
    assert reply.startswith("Liên kết thành công.")
    assert reply.endswith(
        f"Hồ sơ {CODE}\n"
        "Thủ tục: Cấp giấy phép xây dựng nhà ở riêng lẻ\n"
        "Trạng thái: Đã tiếp nhận, đang giải quyết\n"
        "Ngày hẹn trả kết quả: 14/12/2026 16:00\n"
        f"Tra cứu chi tiết: https://dichvucong.gialai.example/tra-cuu?code={CODE}"
    )
    assert "0905123456" not in reply
    assert "Nguyễn Văn An" not in reply


async def test_a_phone_number_asks_for_a_code_too(api: Api) -> None:
    await api.post(api.text("sđt 0905 123 456"))

    [sent] = codes_sent(api)
    assert sent["phone"] == PHONE
    await api.post(api.text(sent["template_data"]["otp"]))
    assert len(await table(api.h.session_factory, ZaloLink)) == 1
    assert "Vui lòng quan tâm (theo dõi) Zalo OA".lower() in api.replies()[-1].lower()  # not following yet


async def test_duplicate_deliveries_send_one_code_and_answer_once(api: Api) -> None:
    event = api.text(CODE, msg_id="msg-dup")

    answers = [(await api.post(event)).json() for _ in range(3)]

    assert answers == [{"status": "ok"}, {"status": "duplicate"}, {"status": "duplicate"}]
    assert len(codes_sent(api)) == 1
    assert len(api.replies()) == 1


async def test_text_without_a_code_gets_no_automatic_answer(api: Api) -> None:
    response = await api.post(api.text("Xin chào, cho tôi hỏi giờ làm việc"))

    assert response.json() == {"status": "ok"}
    assert api.replies() == []
    [user] = await table(api.h.session_factory, ZaloUser)
    assert user.following is None


async def test_zns_delivery_receipt_marks_the_notice_delivered_once(api: Api) -> None:
    await add_notice(api.h.session_factory, NoticeKind.RECEIVED)
    await ActivityEnvironment().run(
        api.h.activities.send, NoticeBatch(CODE, 1, "received", workflow_time=api.h.clock.now)
    )
    [row] = await notices(api.h.session_factory)
    delivered_at = datetime(2026, 11, 24, 10, 0, 7, tzinfo=ICT)
    receipt = api.event(
        "user_received_message",
        sender={"id": "4318000000000000001"},
        recipient={"id": "zns-user"},
        message={
            "msg_id": row.zalo_message_id,
            "tracking_id": row.tracking_id,
            "delivery_time": str(int(delivered_at.timestamp() * 1000)),
        },
    )

    first = await api.post(receipt)
    again = await api.post(receipt)
    later = await api.post({**receipt, "timestamp": str(int(delivered_at.timestamp() * 1000) + 60_000)})

    assert [r.status_code for r in (first, again, later)] == [200, 200, 200]
    assert again.json() == {"status": "duplicate"}
    [row] = await notices(api.h.session_factory)
    assert (row.status, row.delivered_at) == ("delivered", delivered_at)
    # A retried send after the receipt still sends nothing.
    await ActivityEnvironment().run(
        api.h.activities.send, NoticeBatch(CODE, 1, "received", workflow_time=api.h.clock.now)
    )
    assert len(api.h.fake.messages) == 1


async def test_oa_receipt_by_message_ids_and_then_notices_go_by_oa(api: Api) -> None:
    await link(api)
    await add_notice(api.h.session_factory, NoticeKind.RESULT_READY, seq=9)

    [outcome] = await ActivityEnvironment().run(
        api.h.activities.send, NoticeBatch(CODE, 9, "result_ready", workflow_time=api.h.clock.now)
    )
    assert outcome.channel == "oa"
    [row] = await notices(api.h.session_factory)
    assert api.replies()[-1] == row.text

    await api.post(
        api.event(
            "user_received_message",
            sender={"id": "4318000000000000001"},
            recipient={"id": USER},
            message={"msg_ids": [row.zalo_message_id]},
        )
    )
    [row] = await notices(api.h.session_factory)
    assert row.status == "delivered"
    assert row.delivered_at == T0


async def test_other_events_are_acknowledged_and_ignored(api: Api) -> None:
    response = await api.post(api.event("user_send_image", sender={"id": USER}, message={"msg_id": "m"}))
    assert response.json() == {"status": "ignored"}
    assert await table(api.h.session_factory, ZaloEvent) == []


# ---------------------------------------------------------------- "TT <words>": the procedure catalogue


async def load_sample_catalogue(session_factory: SessionFactory) -> None:
    """The province's sample catalogue, loaded as the administrator's CLI loads a file."""
    entries, about = read_catalogue(Path(__file__).parents[2] / "deploy" / "procedures.sample.json")
    async with session_factory() as session:
        await load_catalogue(session, entries, loaded_by="test", about=about)


async def test_tt_words_answers_the_matching_procedures_of_the_catalogue(api: Api) -> None:
    await load_sample_catalogue(api.h.session_factory)
    await api.post(api.text("TT khai sinh"))

    [reply] = api.replies()
    assert reply == (
        "Thủ tục phù hợp với “khai sinh” (1):\n"
        "1. Đăng ký khai sinh\n"
        "Thời hạn giải quyết: 1 ngày làm việc\n"
        "Phí, lệ phí: Lệ phí: Không thu\n"
        "Nơi nộp: UBND cấp xã, Trung tâm Phục vụ hành chính công cấp xã\n"
        "Chi tiết: https://dichvucong.gialai.example/thu-tuc/local.hotich.khai-sinh"
    )
    assert await table(api.h.session_factory, ZaloLink) == []  # not mistaken for linking


async def test_tt_without_diacritics_finds_the_same_and_many_matches_link_the_full_list(api: Api) -> None:
    await load_sample_catalogue(api.h.session_factory)
    await api.post(api.text("thu tuc: dang ky"))

    [reply] = api.replies()
    lines = reply.splitlines()
    assert lines[0].startswith("Thủ tục phù hợp với “dang ky” (")
    assert sum(line[:2] in ("1.", "2.", "3.", "4.") for line in lines) == 3  # at most three in one answer
    assert lines[1].startswith("1. Đăng ký")
    assert lines[-1].startswith("Xem đủ ")
    assert lines[-1].endswith("https://dichvucong.gialai.example/thu-tuc?q=dang+ky")
    assert "Phí chứng thực" not in reply


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("TT", "Để tra cứu thủ tục hành chính, gửi: TT <tên thủ tục>, ví dụ: TT khai sinh."),
        (
            "TT xin cấp sao hỏa",
            "Không tìm thấy thủ tục nào phù hợp với “xin cấp sao hỏa”. Thử lại với từ khác, ví dụ: "
            "TT khai sinh.\nDanh mục thủ tục: https://dichvucong.gialai.example/thu-tuc?q=xin+c%E1%BA%A5p+sao+h%E1%BB%8Fa",
        ),
    ],
)
async def test_tt_alone_or_without_a_match_says_how(api: Api, text: str, expected: str) -> None:
    await load_sample_catalogue(api.h.session_factory)
    await api.post(api.text(text))
    assert api.replies() == [expected]


async def test_tt_before_any_catalogue_says_it_is_being_updated(api: Api) -> None:
    await api.post(api.text("TT khai sinh"))
    assert api.replies() == [
        "Danh mục thủ tục hành chính đang được cập nhật. Vui lòng liên hệ Bộ phận Một cửa."
    ]
