"""Queue numbers (lấy số thứ tự), end to end: numbers taken on the public page `/lay-so` and over the OA
("STT <agency>", through the fake Zalo, which signs its webhook events as Zalo does), the officer desk calling
them, and the OA notices in the fake Zalo's journal (turn near, called: once each). The app's clock is
the test's (`app.state.clock`), so the office hours, the closing rule and the daily reset are driven
exactly. And the attacks: concurrent takers, hoarding, bad phones, unknown agencies, another agency's
officer, a repeated click."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from db import zalo_links
from db.agencies import set_agency
from db.engine import SessionFactory
from db.models import QueueTicket
from db.zalo_tokens import zalo_client
from domain import vocabulary
from domain.queue import Refused
from server import create_app
from settings import Settings
from tests.conftest import FAKE_ZALO_URL
from tests.support.pages import PASSWORD, hidden, seed_officer, sign_in
from tests.support.text_scan import raw_identifiers, visible_text
from tests.support.zalo import ICT, Clock
from zalo.fake_server import FakeZalo, create_fake_zalo_app

AGENCY = "H21.65"
OTHER = "H21.66"
# Wednesday 25/11/2026, a working day; the office works 07:00-11:30 and 13:30-17:00.
MORNING = datetime(2026, 11, 25, 9, 0, tzinfo=ICT)


@dataclass
class Office:
    app: FastAPI
    web: httpx.AsyncClient  # a citizen's browser (and, signed in, an officer's)
    fake: FakeZalo
    zalo: httpx.AsyncClient
    sessions: SessionFactory
    clock: Clock

    def browser(self, address: str) -> httpx.AsyncClient:
        """Another citizen's browser, from its own address."""
        transport = httpx.ASGITransport(app=self.app, client=(address, 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://pages.test")

    async def says(self, user: str, text: str) -> None:
        answer = await self.zalo.post(f"/_fake/users/{user}/text", json={"text": text})
        assert answer.json() == {"webhook_status": 200}, answer.text

    def to_user(self, user: str) -> list[str]:
        return [m["text"] for m in self.fake.messages if m["channel"] == "oa" and m["user_id"] == user]

    async def tickets(self) -> list[QueueTicket]:
        async with self.sessions() as session:
            query = select(QueueTicket).order_by(col(QueueTicket.day), col(QueueTicket.number))
            return list((await session.exec(query)).all())


@pytest.fixture
async def office(settings: Settings, session_factory: SessionFactory) -> AsyncIterator[Office]:
    clock = Clock(MORNING)
    fake = FakeZalo(webhook_url="http://pages.test/webhooks/zalo", followers=set(), clock=clock)
    app = create_app(settings, session_factory=session_factory)
    app.state.clock = clock
    async with session_factory() as session:
        await set_agency(session, AGENCY, {"name": "UBND huyện Chư Păh", "address": "Thị trấn Phú Hòa"})
        await set_agency(session, OTHER, {"name": "UBND huyện Ia Grai"})
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
        yield Office(app, web, fake, zalo, session_factory, clock)
        for task in list(fake._tasks):  # delivery receipts still waiting: not for these tests
            task.cancel()


async def take(web: httpx.AsyncClient, phone: str, agency: str = AGENCY) -> httpx.Response:
    return await web.post("/lay-so", data={"agency": agency, "phone": phone})


def number_of(page: str) -> int:
    found = re.search(r'<span class="queue-number">(\d+)</span>', page)
    assert found, page
    return int(found.group(1))


def ahead_of(page: str) -> int:
    found = re.search(r"<dt>Số người đang chờ trước</dt><dd><strong>(\d+)</strong>", page)
    assert found, page
    return int(found.group(1))


async def call(
    web: httpx.AsyncClient, csrf: str, counter: str = "Quầy số 3", agency: str = AGENCY
) -> httpx.Response:
    page = await web.get(f"/can-bo/lay-so/{agency}")
    assert page.status_code == 200, page.text
    seen = hidden(page.text, "seen")
    return await web.post(
        f"/can-bo/lay-so/{agency}/goi", data={"csrf_token": csrf, "seen": seen, "counter": counter}
    )


async def test_a_citizen_takes_a_number_and_the_desk_calls_it_once(office: Office) -> None:
    form = await office.web.get("/lay-so")
    assert form.status_code == 200
    assert "UBND huyện Chư Păh" in form.text
    # The first citizen's phone is linked to a Zalo account: the OA notices go there.
    await office.zalo.post("/_fake/users/u-first/follow")
    async with office.sessions() as session:
        await zalo_links.link(session, "84905123456", "u-first", MORNING)
        await session.commit()

    first = await take(office.web, "0905 123 456")
    assert first.status_code == 303
    status_path = first.headers["location"]
    assert re.fullmatch(r"/lay-so/ve/[A-Za-z0-9_\-]{32}", status_path)
    page = await office.web.get(status_path)
    assert (number_of(page.text), ahead_of(page.text)) == (1, 0)
    assert "Đang chờ" in page.text
    second = await take(office.browser("203.0.113.8"), "0912000002")
    assert second.status_code == 303
    second_page = await office.web.get(second.headers["location"])
    assert (number_of(second_page.text), ahead_of(second_page.text)) == (2, 1)

    # The table keeps no phone: an HMAC of it and the last 4 digits.
    [one, two] = await office.tickets()
    assert (one.phone_last4, one.zalo_user_id, two.zalo_user_id) == ("3456", "u-first", None)
    assert not any("905123456" in str(value) for value in one.model_dump().values())

    await seed_officer(office.sessions, agencies=[AGENCY])
    csrf = await sign_in(office.web)
    desk = await office.web.get(f"/can-bo/lay-so/{AGENCY}")
    assert "Đang chờ: <strong>2</strong>" in desk.text
    assert "•••••••3456" in desk.text
    called = await call(office.web, csrf)
    assert called.status_code == 303
    assert called.headers["location"].endswith("ghi-chu=da-goi")
    assert office.to_user("u-first") == ["Mời số 1 đến Quầy số 3 tại UBND huyện Chư Păh."]
    page = await office.web.get(status_path)
    assert "Đã gọi, mời đến quầy" in page.text
    assert "Quầy số 3" in page.text
    # The same click again (the page still shows nobody called): nobody else is called, nothing sent twice.
    again = await office.web.post(
        f"/can-bo/lay-so/{AGENCY}/goi", data={"csrf_token": csrf, "seen": "0", "counter": "Quầy số 3"}
    )
    assert again.headers["location"].endswith("ghi-chu=da-goi-truoc")
    assert [t.status for t in await office.tickets()] == ["called", "waiting"]
    assert office.to_user("u-first") == ["Mời số 1 đến Quầy số 3 tại UBND huyện Chư Păh."]

    # Every page people read here is Vietnamese through and through.
    for path in (
        "/lay-so",
        status_path,
        second.headers["location"],
        f"/can-bo/lay-so/{AGENCY}",
        "/can-bo/lay-so",
    ):
        assert raw_identifiers(visible_text((await office.web.get(path)).text)) == [], path

    served = await office.web.post(
        f"/can-bo/lay-so/{AGENCY}/so/{one.id}/da-phuc-vu", data={"csrf_token": csrf}
    )
    assert served.headers["location"].endswith("ghi-chu=da-cap-nhat")
    absent = await office.web.post(f"/can-bo/lay-so/{AGENCY}/so/{one.id}/vang-mat", data={"csrf_token": csrf})
    assert absent.headers["location"].endswith("ghi-chu=khong-doi")  # served already: nothing changes
    assert [t.status for t in await office.tickets()] == ["served", "waiting"]
    assert "Đã phục vụ" in (await office.web.get(status_path)).text

    # The second citizen gives the number up.
    cancelled = await office.web.post(second.headers["location"] + "/huy")
    assert cancelled.status_code == 303
    assert "Đã hủy" in (await office.web.get(cancelled.headers["location"])).text
    nobody = await call(office.web, csrf)
    assert nobody.headers["location"].endswith("ghi-chu=khong-ai")


async def test_over_the_oa_the_number_and_the_turn_near_notice_come_once_each(office: Office) -> None:
    users = [f"u-{n}" for n in range(1, 7)]
    for user in users:
        await office.zalo.post(f"/_fake/users/{user}/follow")
        await office.says(user, f"stt {AGENCY.lower()}")
    [taken] = office.to_user("u-1")
    assert taken.startswith("Số thứ tự của ông/bà tại UBND huyện Chư Păh: 1. Đang có 0 người chờ trước.")
    link = re.search(r"https?://\S+/lay-so/ve/(\S+)", taken)
    assert link, taken
    assert number_of((await office.web.get(f"/lay-so/ve/{link.group(1)}")).text) == 1
    assert "6. Đang có 5 người chờ trước" in office.to_user("u-6")[0]
    # The same account again: one open number per agency.
    await office.says("u-1", "Lấy số H21.65")
    assert office.to_user("u-1")[-1] == vocabulary.QUEUE_REFUSED[Refused.OPEN_AT_AGENCY]
    await office.says("u-1", "STT")
    assert office.to_user("u-1")[-1] == vocabulary.QUEUE_OA_HOW
    await office.says("u-1", "STT X99")
    assert office.to_user("u-1")[-1].startswith("Không có cơ quan với mã X99.")
    assert len(await office.tickets()) == 6

    await seed_officer(office.sessions, agencies=[AGENCY])
    csrf = await sign_in(office.web)
    await call(office.web, csrf, counter="")  # number 1: numbers 5 has 3 ahead now, 6 has 4
    assert office.to_user("u-1")[-1] == "Mời số 1 đến quầy tiếp nhận tại UBND huyện Chư Păh."
    near = "Sắp đến lượt số 5 tại UBND huyện Chư Păh: còn 3 người trước ông/bà. Vui lòng có mặt gần quầy."
    assert office.to_user("u-5")[1:] == [near]
    assert office.to_user("u-6")[1:] == []  # 4 ahead: not yet; 2 to 4 were told when they took theirs
    await call(office.web, csrf)  # number 2: number 6 is near now, 5 was told already
    assert office.to_user("u-5")[1:] == [near]
    assert len(office.to_user("u-6")) == 2
    assert office.to_user("u-2")[1:] == ["Mời số 2 đến Quầy số 3 tại UBND huyện Chư Păh."]
    # None of it went twice, and each ticket recorded its claims.
    rows = {t.number: t for t in await office.tickets()}
    assert rows[1].call_notice_at
    assert rows[2].call_notice_at
    assert rows[6].near_notice_at
    assert all(t.notice_error is None for t in rows.values())


@pytest.mark.parametrize(
    ("at", "refusal"),
    [
        (datetime(2026, 11, 28, 9, 0, tzinfo=ICT), "Hôm nay không phải ngày làm việc"),  # a Saturday
        (datetime(2026, 11, 24, 9, 0, tzinfo=ICT), "Hôm nay không phải ngày làm việc"),  # a public holiday
        (datetime(2026, 11, 25, 6, 30, tzinfo=ICT), "Chưa đến giờ cấp số thứ tự"),
        (datetime(2026, 11, 25, 16, 56, tzinfo=ICT), "Đã hết giờ cấp số thứ tự hôm nay"),
        (datetime(2026, 11, 25, 17, 30, tzinfo=ICT), "Đã hết giờ cấp số thứ tự hôm nay"),
    ],
)
async def test_no_number_outside_office_hours_or_too_close_to_closing(
    office: Office, at: datetime, refusal: str
) -> None:
    office.clock.now = at
    refused = await take(office.web, "0905123456")
    assert refused.status_code == 409
    assert refusal in refused.text
    assert await office.tickets() == []


async def test_near_closing_a_number_is_given_only_while_the_day_can_serve_it(office: Office) -> None:
    # 16:50: 10 working minutes left. Two numbers fit (5 minutes each); a third would not.
    office.clock.now = datetime(2026, 11, 25, 16, 50, tzinfo=ICT)
    assert (await take(office.web, "0905123456")).status_code == 303
    assert (await take(office.web, "0905123457")).status_code == 303
    late = await take(office.browser("203.0.113.8"), "0912000002")
    assert late.status_code == 409
    assert "thời gian làm việc còn lại không đủ" in late.text
    assert "Thứ Năm, 26/11/2026 07:00" in late.text  # when numbers are given again
    # At lunch (12:00) the afternoon's 3.5 hours count: numbers are given.
    office.clock.now = datetime(2026, 11, 26, 12, 0, tzinfo=ICT)
    assert (await take(office.web, "0912000002")).status_code == 303


async def test_numbers_reset_daily_and_yesterdays_expire(office: Office) -> None:
    first = await take(office.web, "0905123456")
    await take(office.web, "0912000002")
    office.clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=ICT)  # the next working day
    page = await office.web.get(first.headers["location"])
    assert "Hết hiệu lực" in page.text
    today = await take(office.web, "0905123456")  # yesterday's open number does not count
    assert today.status_code == 303
    assert number_of((await office.web.get(today.headers["location"])).text) == 1
    assert [(t.day.day, t.number) for t in await office.tickets()] == [(25, 1), (25, 2), (26, 1)]


async def test_bad_input_is_refused_and_writes_nothing(office: Office) -> None:
    unknown = await take(office.web, "0905123456", agency="X99.99")
    assert unknown.status_code == 404
    bad_phone = await take(office.web, "12345")
    assert bad_phone.status_code == 422
    assert "Vui lòng nhập đúng số điện thoại di động" in bad_phone.text
    assert (await office.web.get("/lay-so/ve/not-a-ticket")).status_code == 404
    assert await office.tickets() == []

    # Hoarding: one open number per agency, and at most 3 numbers a day per phone.
    ok = await take(office.web, "0905123456")
    assert ok.status_code == 303
    held = await take(office.web, "+84905123456")  # the same phone written otherwise
    assert held.status_code == 429
    assert "chỉ giữ một số tại mỗi cơ quan" in held.text
    await office.web.post(ok.headers["location"] + "/huy")
    assert (await take(office.web, "0905123456", agency=OTHER)).status_code == 303
    again = await take(office.web, "0905123456")
    assert again.status_code == 303
    fourth = await take(office.web, "0905123456", agency=OTHER)
    assert fourth.status_code == 429
    assert "đã lấy đủ số thứ tự cho phép trong ngày" in fourth.text
    assert len(await office.tickets()) == 3


async def test_one_address_cannot_take_numbers_for_many_phones(office: Office) -> None:
    for n in range(10):
        assert (await take(office.web, f"09120000{n:02d}")).status_code == 303
    flooded = await take(office.web, "0912000099")
    assert flooded.status_code == 429
    assert "Vui lòng thử lại sau khoảng" in flooded.text
    assert len(await office.tickets()) == 10


async def test_another_agencys_officer_is_refused(office: Office) -> None:
    await take(office.web, "0905123456")
    await seed_officer(office.sessions, username="ia.grai", agencies=[OTHER])
    csrf = await sign_in(office.web, "ia.grai", PASSWORD)
    assert (await office.web.get(f"/can-bo/lay-so/{AGENCY}")).status_code == 403
    refused = await office.web.post(f"/can-bo/lay-so/{AGENCY}/goi", data={"csrf_token": csrf, "seen": "0"})
    assert refused.status_code == 403
    listed = await office.web.get("/can-bo/lay-so")
    assert f"/can-bo/lay-so/{OTHER}" in listed.text
    assert f"/can-bo/lay-so/{AGENCY}" not in listed.text
    assert [t.status for t in await office.tickets()] == ["waiting"]


async def test_concurrent_takers_never_share_a_number(office: Office) -> None:
    browsers = [office.browser(f"198.51.100.{n}") for n in range(1, 17)]
    try:
        answers = await asyncio.gather(
            *(take(browser, f"09130000{n:02d}") for n, browser in enumerate(browsers))
        )
        # The same phone from four browsers at once: one number.
        same = await asyncio.gather(*(take(browser, "0988777666") for browser in browsers[:4]))
    finally:
        for browser in browsers:
            await browser.aclose()
    assert [a.status_code for a in answers] == [303] * 16
    assert sorted(s.status_code for s in same) == [303, 429, 429, 429]
    numbers = [t.number for t in await office.tickets()]
    assert numbers == list(range(1, 18))


async def test_two_officers_calling_at_once_call_one_number(office: Office) -> None:
    for n in range(3):
        await take(office.browser(f"198.51.100.{n}"), f"09140000{n:02d}")
    await seed_officer(office.sessions, agencies=[AGENCY])
    await seed_officer(office.sessions, username="hoa.pt", agencies=[AGENCY])
    other = office.browser("203.0.113.9")
    try:
        csrf_one, csrf_two = await sign_in(office.web), await sign_in(other, "hoa.pt", PASSWORD)
        clicks = await asyncio.gather(
            office.web.post(f"/can-bo/lay-so/{AGENCY}/goi", data={"csrf_token": csrf_one, "seen": "0"}),
            other.post(f"/can-bo/lay-so/{AGENCY}/goi", data={"csrf_token": csrf_two, "seen": "0"}),
        )
    finally:
        await other.aclose()
    assert sorted(c.headers["location"].rsplit("=", 1)[1] for c in clicks) == ["da-goi", "da-goi-truoc"]
    assert [t.status for t in await office.tickets()] == ["called", "waiting", "waiting"]


async def test_a_notice_zalo_refuses_is_kept_on_the_ticket_and_not_sent_again(office: Office) -> None:
    # The phone is linked to an account that has left the OA: Zalo refuses the message.
    async with office.sessions() as session:
        await zalo_links.link(session, "84905123456", "u-left", MORNING)
        await session.commit()
    await take(office.web, "0905123456")
    await seed_officer(office.sessions, agencies=[AGENCY])
    csrf = await sign_in(office.web)
    await call(office.web, csrf)
    [ticket] = await office.tickets()
    assert ticket.call_notice_at is not None
    assert ticket.notice_error is not None
    desk = await office.web.get(f"/can-bo/lay-so/{AGENCY}")
    assert "Chưa báo được qua Zalo" in desk.text
    assert "Zalo từ chối gửi" in desk.text
    sends = [c for c in office.fake.calls if c["path"] != "token"]
    await office.web.post(f"/can-bo/lay-so/{AGENCY}/goi", data={"csrf_token": csrf, "seen": "0"})
    assert [c for c in office.fake.calls if c["path"] != "token"] == sends
