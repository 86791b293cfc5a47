"""Feedback and complaints (phản ánh, kiến nghị), end to end: from the lookup page or the OA (through the
fake Zalo, which signs its webhook events as Zalo does), to the officer desk of the dossier's agency (or
the province's queue), the answer, and back to the citizen the way they came (the lookup page, or an OA
message in the fake Zalo's journal). And the attacks: no proof, no token, a flood, an oversized text,
another agency's officer, a second answer."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlmodel import select

from db import zalo_links
from db.calendar import office_calendar
from db.engine import SessionFactory
from db.models import Feedback
from db.types import utcnow
from db.zalo_tokens import zalo_client
from domain.feedback import answer_due
from server import create_app
from settings import Settings
from tests.conftest import FAKE_ZALO_URL
from tests.support.pages import PHONE, hidden, seed_dossier, seed_officer, sign_in
from zalo.fake_server import FAKE_OA_ID, FakeZalo, create_fake_zalo_app
from zalo.webhook import USER_SEND_TEXT

CITIZEN = "2512000000000000001"
STRANGER = "2512000000000000666"
COMPLAINT = "Đã quá ngày hẹn mà tôi vẫn chưa nhận được kết quả, đề nghị kiểm tra giúp."


@dataclass
class Office:
    web: httpx.AsyncClient  # a citizen's browser (and, signed in, an officer's)
    fake: FakeZalo
    zalo: httpx.AsyncClient
    sessions: SessionFactory
    settings: Settings

    async def says(self, user: str, text: str) -> None:
        answer = await self.zalo.post(f"/_fake/users/{user}/text", json={"text": text})
        assert answer.json() == {"webhook_status": 200}, answer.text

    def to_user(self, user: str) -> list[str]:
        return [m["text"] for m in self.fake.messages if m["channel"] == "oa" and m["user_id"] == user]

    async def rows(self) -> list[Feedback]:
        async with self.sessions() as session:
            return list((await session.exec(select(Feedback).order_by(Feedback.id))).all())  # type: ignore[arg-type]


@pytest.fixture
async def office(settings: Settings, session_factory: SessionFactory) -> AsyncIterator[Office]:
    fake = FakeZalo(webhook_url="http://pages.test/webhooks/zalo", followers=set())
    app = create_app(settings, session_factory=session_factory)
    async with (
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_fake_zalo_app(fake)), base_url=FAKE_ZALO_URL
        ) as zalo,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, client=("203.0.113.7", 50000)),
            base_url="http://pages.test",
        ) as web,
    ):
        app.state.zalo = zalo_client(session_factory, settings, zalo)
        fake.webhook_http = web
        yield Office(web, fake, zalo, session_factory, settings)
        for task in list(fake._tasks):  # delivery receipts still waiting: not for these tests
            task.cancel()


async def lookup(web: httpx.AsyncClient, code: str, digits: str = "3456") -> httpx.Response:
    return await web.get("/tra-cuu", params={"code": code, "phone_last4": digits})


async def send(web: httpx.AsyncClient, code: str, text: str, **changes: str) -> httpx.Response:
    page = await lookup(web, code)
    assert page.status_code == 200, page.text
    form = {
        "code": code,
        "phone_last4": "3456",
        "feedback_token": hidden(page.text, "feedback_token"),
        "text": text,
    }
    return await web.post("/tra-cuu/phan-anh", data=form | changes)


def item_id(html: str) -> str:
    match = re.search(r'href="/can-bo/phan-anh/(\d+)"', html)
    assert match, "no feedback item listed"
    return match.group(1)


async def test_web_feedback_reaches_the_agency_and_its_answer_the_lookup_page(office: Office) -> None:
    code = await seed_dossier(office.sessions)

    sent = await send(office.web, code, COMPLAINT)
    assert sent.status_code == 303
    assert sent.headers["location"].endswith("#phan-anh")
    [row] = await office.rows()
    assert (row.dossier_code, row.agency_code, row.channel, row.status) == (code, "H21.65", "web", "open")
    assert row.sender_verified
    assert row.text == COMPLAINT
    async with office.sessions() as session:
        calendar = await office_calendar(session, office.settings.office_hours())
    assert row.answer_due_at == answer_due(calendar, row.received_at, 10)  # 10 working days
    page = await office.web.get(sent.headers["location"])
    assert "Đã nhận phản ánh" in page.text
    assert COMPLAINT in page.text
    assert "Hạn trả lời" in page.text

    await seed_officer(office.sessions, agencies=["H21.65"])
    csrf = await sign_in(office.web)
    desk = await office.web.get("/can-bo")
    assert re.search(r'<span class="number">1</span> phản ánh', desk.text)
    listed = await office.web.get("/can-bo/phan-anh")
    assert code in listed.text
    path = f"/can-bo/phan-anh/{item_id(listed.text)}"
    assert COMPLAINT in (await office.web.get(path)).text
    dossier = await office.web.get(f"/can-bo/ho-so/{code}")
    assert f'href="{path}"' in dossier.text  # the dossier's page lists its feedback

    answered = await office.web.post(
        path, data={"csrf_token": csrf, "answer": "Hồ sơ đã có kết quả, mời ông/bà đến nhận."}
    )
    assert answered.status_code == 303
    assert "ghi-chu=da-tra-loi" in answered.headers["location"]
    [row] = await office.rows()
    assert (row.status, row.answered_by, row.reply) == ("answered", "lan.nt", "on-page")
    # The citizen reads the answer on the lookup page; nothing went over Zalo.
    citizen = await lookup(office.web, code)
    assert "Hồ sơ đã có kết quả, mời ông/bà đến nhận." in citizen.text
    assert office.fake.messages == []

    # A second answer (another tab) changes nothing.
    again = await office.web.post(path, data={"csrf_token": csrf, "answer": "Một câu trả lời khác hẳn."})
    assert "ghi-chu=tra-loi-truoc" in again.headers["location"]
    [row] = await office.rows()
    assert row.answer == "Hồ sơ đã có kết quả, mời ông/bà đến nhận."


async def test_web_feedback_needs_the_proof_and_the_pages_token(office: Office) -> None:
    code = await seed_dossier(office.sessions)
    page = await lookup(office.web, code)
    token = hidden(page.text, "feedback_token")

    wrong_digits = await office.web.post(
        "/tra-cuu/phan-anh",
        data={"code": code, "phone_last4": "0000", "feedback_token": token, "text": COMPLAINT},
    )
    assert wrong_digits.status_code == 404
    no_token = await office.web.post(
        "/tra-cuu/phan-anh", data={"code": code, "phone_last4": "3456", "text": COMPLAINT}
    )
    assert no_token.status_code == 403
    forged = await office.web.post(
        "/tra-cuu/phan-anh",
        data={"code": code, "phone_last4": "3456", "feedback_token": "1800000000.abc", "text": COMPLAINT},
    )
    assert forged.status_code == 403
    other = await seed_dossier(office.sessions)
    elsewhere = await office.web.post(  # a token is good for its own dossier only
        "/tra-cuu/phan-anh",
        data={"code": other, "phone_last4": "3456", "feedback_token": token, "text": COMPLAINT},
    )
    assert elsewhere.status_code == 403
    assert await office.rows() == []


async def test_an_oversized_or_empty_text_is_refused_in_vietnamese_and_nothing_is_written(
    office: Office,
) -> None:
    code = await seed_dossier(office.sessions)
    too_long = await send(office.web, code, "x" * 2001)
    assert too_long.status_code == 422
    assert "Nội dung quá dài: 2001 ký tự, tối đa 2000 ký tự." in too_long.text
    assert 'aria-invalid="true"' in too_long.text
    too_short = await send(office.web, code, "   ")
    assert too_short.status_code == 422
    assert "Vui lòng viết rõ nội dung" in too_short.text
    assert await office.rows() == []


async def test_a_flood_from_one_address_slows_down(office: Office) -> None:
    code = await seed_dossier(office.sessions)
    for n in range(5):
        assert (await send(office.web, code, f"{COMPLAINT} ({n})")).status_code == 303
    flooded = await send(office.web, code, COMPLAINT + " (6)")
    assert flooded.status_code == 429
    assert "Vui lòng gửi lại sau khoảng 1 phút" in flooded.text
    assert len(await office.rows()) == 5


async def test_oa_feedback_is_answered_over_the_oa(office: Office) -> None:
    code = await seed_dossier(office.sessions)
    await office.zalo.post(f"/_fake/users/{CITIZEN}/follow")

    await office.says(CITIZEN, f"PA {code} {COMPLAINT}")

    [row] = await office.rows()
    assert (row.dossier_code, row.agency_code, row.channel, row.zalo_user_id) == (
        code,
        "H21.65",
        "oa",
        CITIZEN,
    )
    assert row.text == COMPLAINT
    assert not row.sender_verified  # the account did not prove the dossier's phone
    [ack] = office.to_user(CITIZEN)
    assert f"Đã nhận phản ánh, kiến nghị số {row.id} về hồ sơ {code}" in ack

    await seed_officer(office.sessions, agencies=["H21.65"])
    csrf = await sign_in(office.web)
    path = f"/can-bo/phan-anh/{row.id}"
    item = await office.web.get(path)
    assert "Người gửi chưa xác minh" in item.text
    answered = await office.web.post(
        path, data={"csrf_token": csrf, "answer": "Chúng tôi đã kiểm tra, kết quả có vào thứ Sáu."}
    )
    assert "ghi-chu=da-gui" in answered.headers["location"]
    reply = office.to_user(CITIZEN)[-1]
    assert reply.startswith(f"Trả lời phản ánh, kiến nghị số {row.id} về hồ sơ {code}")
    assert "kết quả có vào thứ Sáu" in reply
    [row] = await office.rows()
    assert (row.reply, row.reply_message_id is not None) == ("sent", True)


async def test_an_oa_answer_zalo_refuses_is_recorded_and_can_be_sent_again(office: Office) -> None:
    code = await seed_dossier(office.sessions)
    await office.zalo.post(f"/_fake/users/{CITIZEN}/follow")
    await office.says(CITIZEN, f"phản ánh {code} {COMPLAINT}")
    office.fake.followers.discard(CITIZEN)  # the citizen left the OA meanwhile
    [row] = await office.rows()
    await seed_officer(office.sessions, agencies=["H21.65"])
    csrf = await sign_in(office.web)
    path = f"/can-bo/phan-anh/{row.id}"

    answered = await office.web.post(
        path, data={"csrf_token": csrf, "answer": "Kết quả đã sẵn sàng tại quầy."}
    )
    assert "ghi-chu=gui-loi" in answered.headers["location"]
    [row] = await office.rows()
    assert (row.status, row.reply) == ("answered", "failed")
    page = await office.web.get(answered.headers["location"])
    assert "Zalo từ chối gửi" in page.text
    assert "mã lỗi Zalo -213" in page.text

    office.fake.followers.add(CITIZEN)  # followed again
    resent = await office.web.post(f"{path}/gui-lai", data={"csrf_token": csrf})
    assert "ghi-chu=da-gui" in resent.headers["location"]
    assert "Kết quả đã sẵn sàng tại quầy." in office.to_user(CITIZEN)[-1]
    again = await office.web.post(f"{path}/gui-lai", data={"csrf_token": csrf})
    assert "ghi-chu=khong-gui-lai" in again.headers["location"]
    assert sum("Kết quả đã sẵn sàng" in text for text in office.to_user(CITIZEN)) == 1


async def test_feedback_without_a_code_goes_to_the_province_queue(office: Office) -> None:
    await office.zalo.post(f"/_fake/users/{CITIZEN}/follow")
    await office.zalo.post(f"/_fake/users/{STRANGER}/follow")
    await office.says(CITIZEN, "Kiến nghị: bố trí thêm chỗ ngồi chờ ở bộ phận một cửa tỉnh.")
    await office.says(STRANGER, "PA H21.65-261123-9999 hồ sơ này sao lâu vậy ạ?")  # a code that names nothing
    first, second = await office.rows()
    assert (first.agency_code, first.dossier_code) == (None, None)
    assert (second.agency_code, second.dossier_code) == (None, None)
    assert second.text.startswith("(Mã hồ sơ ghi trong tin nhắn: H21.65-261123-9999)")
    # The answer is the same as for a code that exists: it tells nothing about which codes exist.
    assert "về hồ sơ H21.65-261123-9999" in office.to_user(STRANGER)[0]

    await seed_officer(office.sessions, "lan.nt", agencies=["H21.65"])
    await seed_officer(office.sessions, "can.bo.tinh", agencies=["*"])
    await sign_in(office.web, "lan.nt")
    assert "bố trí thêm chỗ ngồi" not in (await office.web.get("/can-bo/phan-anh")).text
    assert (await office.web.get(f"/can-bo/phan-anh/{first.id}")).status_code == 404
    await sign_in(office.web, "can.bo.tinh")
    province = await office.web.get("/can-bo/phan-anh")
    assert "bố trí thêm chỗ ngồi" in province.text
    assert "Cấp tỉnh" in province.text


async def test_another_agency_neither_sees_nor_answers_and_forms_need_the_csrf_token(office: Office) -> None:
    code = await seed_dossier(office.sessions)
    await send(office.web, code, COMPLAINT)
    [row] = await office.rows()
    await seed_officer(office.sessions, "can.bo.xa", agencies=["H21.65.12"])
    await seed_officer(office.sessions, "lan.nt", agencies=["H21.65"])
    csrf = await sign_in(office.web, "can.bo.xa")
    assert COMPLAINT not in (await office.web.get("/can-bo/phan-anh")).text
    refused = await office.web.post(
        f"/can-bo/phan-anh/{row.id}", data={"csrf_token": csrf, "answer": "Không phải việc của tôi."}
    )
    assert refused.status_code == 404
    await sign_in(office.web, "lan.nt")
    forged = await office.web.post(f"/can-bo/phan-anh/{row.id}", data={"answer": "Trả lời không có mã CSRF."})
    assert forged.status_code == 403
    [row] = await office.rows()
    assert (row.status, row.answer) == ("open", None)


async def test_an_oa_flood_and_an_oversized_oa_message_are_refused(office: Office) -> None:
    code = await seed_dossier(office.sessions)
    await office.zalo.post(f"/_fake/users/{STRANGER}/follow")
    await office.says(STRANGER, f"PA {code}")  # nothing to say
    assert "Vui lòng viết rõ nội dung" in office.to_user(STRANGER)[-1]
    # Zalo itself delivers at most 2,000 characters; a longer signed event is refused all the same.
    long_text = f"PA {code} " + "x" * 2100
    event = office.fake.event(
        USER_SEND_TEXT,
        sender={"id": STRANGER},
        recipient={"id": FAKE_OA_ID},
        message={"msg_id": "m-long", "text": long_text},
    )
    assert await office.fake.post_event(event) == 200
    assert "Nội dung quá dài: 2100 ký tự, tối đa 2000 ký tự." in office.to_user(STRANGER)[-1]
    assert await office.rows() == []
    for n in range(6):
        await office.says(STRANGER, f"PA {code} {COMPLAINT} ({n})")
    assert len(await office.rows()) == 5
    assert "Vui lòng gửi lại sau khoảng 1 phút" in office.to_user(STRANGER)[-1]


async def test_a_linked_sender_is_verified_and_a_redelivered_message_makes_one_item(office: Office) -> None:
    code = await seed_dossier(office.sessions)
    await office.zalo.post(f"/_fake/users/{CITIZEN}/follow")
    async with office.sessions() as session:
        await zalo_links.link(session, PHONE, CITIZEN, utcnow())  # the citizen proved the dossier's phone
        await session.commit()
    event = office.fake.event(
        USER_SEND_TEXT,
        sender={"id": CITIZEN},
        recipient={"id": FAKE_OA_ID},
        message={"msg_id": "m-once", "text": f"Góp ý {code} {COMPLAINT}"},
    )
    assert await office.fake.post_event(event) == 200
    assert await office.fake.post_event(event) == 200  # Zalo delivers it again

    [row] = await office.rows()
    assert row.sender_verified
    assert len(office.to_user(CITIZEN)) == 1
