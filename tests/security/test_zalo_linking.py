"""Linking a Zalo account proves the phone: a one-time code by ZNS to the dossier's phone, sent back over
the OA. Everything goes the real way: the citizen writes through the fake Zalo (which signs the webhook
events as Zalo does), the API answers through the fake Zalo, the worker sends notices through it, and the
tests read what it received (`/_fake/messages`).

The attacks: one OA message carrying hundreds of four-digit guesses (all tried, counted as one failure)
linked whoever sent it, who then received every later notice (name, fees, pay link) instead of the
citizen; concurrent messages lost each other's failure counts; nobody told the citizen.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from db.clients import create_client
from db.engine import SessionFactory
from db.models import ZaloLink
from db.zalo_tokens import zalo_client
from domain.zns_templates import LINK_ALERT, LINK_CODE
from server import create_app
from settings import Settings
from tests.conftest import FAKE_ZALO_URL, eventually
from tests.support.api import bearer, registration
from tests.support.builders import Moments, new_code
from worker import build_worker
from zalo.fake_server import FakeZalo, create_fake_zalo_app

PHONE = "84905123456"  # what the dossiers below are registered with ("0905 123 456")
CITIZEN = "2512000000000000001"
ATTACKER = "2512000000000000666"


@dataclass
class Oa:
    """The system with one fake Zalo: citizens write to it, the API and the worker send through it."""

    fake: FakeZalo
    zalo: httpx.AsyncClient  # to the fake Zalo: its control API, and what the app's Zalo client uses
    api: httpx.AsyncClient  # to the API, with an H21.65 key
    sessions: SessionFactory
    settings: Settings

    async def follow(self, user: str) -> None:
        assert (await self.zalo.post(f"/_fake/users/{user}/follow")).json() == {"webhook_status": 200}

    async def says(self, user: str, text: str) -> None:
        """The citizen writes to the OA: the fake Zalo posts the signed `user_send_text` event."""
        answer = await self.zalo.post(f"/_fake/users/{user}/text", json={"text": text})
        assert answer.json() == {"webhook_status": 200}, answer.text

    def messages(self) -> list[dict[str, Any]]:
        return list(self.fake.messages)

    def to_user(self, user: str) -> list[str]:
        return [m["text"] for m in self.messages() if m["channel"] == "oa" and m["user_id"] == user]

    def zns(self, template_id: str) -> list[dict[str, Any]]:
        return [m for m in self.messages() if m["channel"] == "zns" and m["template_id"] == template_id]

    def codes_sent(self) -> list[str]:
        return [m["template_data"]["otp"] for m in self.zns("fake-link_code")]

    async def register(self, **changes: Any) -> str:
        body = registration(new_code(), Moments()(0), **changes)
        created = await self.api.post("/api/v1/dossiers", json=body)
        assert created.status_code == 201, created.text
        code: str = body["code"]
        return code

    async def links(self) -> list[tuple[str, str]]:
        async with self.sessions() as session:
            return [(link.phone, link.user_id) for link in (await session.exec(select(ZaloLink))).all()]

    async def notices_of(self, code: str) -> list[dict[str, Any]]:
        async def sent() -> list[dict[str, Any]]:
            view = (await self.api.get(f"/api/v1/dossiers/{code}")).json()
            notices: list[dict[str, Any]] = view["notices"]
            return notices if notices and all(n["status"] in ("sent", "delivered") for n in notices) else []

        return await eventually(sent)


@pytest.fixture
async def oa(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> AsyncIterator[Oa]:
    fake = FakeZalo(webhook_url="http://api.test/webhooks/zalo", receipt_delay=0.05)
    fake_app = create_fake_zalo_app(fake)
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=fake_app), base_url=FAKE_ZALO_URL) as zalo,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test") as api,
    ):
        app.state.zalo = zalo_client(session_factory, settings, zalo)
        fake.webhook_http = api
        api.headers.update(bearer(key))
        async with build_worker(workflow_env.client, settings, session_factory, zalo):
            yield Oa(fake, zalo, api, session_factory, settings)


async def test_one_message_full_of_guesses_links_nobody(oa: Oa) -> None:
    code = await oa.register()
    await oa.notices_of(code)
    await oa.follow(ATTACKER)
    guesses = " ".join(f"{n:04d}" for n in range(3400, 3790))  # the right last four, 3456, among them

    await oa.says(ATTACKER, f"{code} {guesses}")

    print("attacker's answer:", oa.to_user(ATTACKER))
    assert await oa.links() == []
    assert "Liên kết thành công" not in " ".join(oa.to_user(ATTACKER))
    assert len(oa.codes_sent()) <= 1  # at most a code to the citizen's own phone
    assert all(m["phone"] == PHONE for m in oa.zns("fake-link_code"))
    # The dossier's next notice goes to the citizen's phone, not to the attacker.
    moved = await oa.api.post(
        f"/api/v1/dossiers/{code}/supplement-request",
        json={"event_id": "s-1", "at": Moments()(1).isoformat(), "items": ["Bản vẽ"]},
    )
    assert moved.status_code == 200
    notices = await oa.notices_of(code)
    assert [n["channel"] for n in notices] == ["zns", "zns"]
    assert not any("Bản vẽ" in text for text in oa.to_user(ATTACKER))


async def test_a_code_goes_to_the_phone_and_only_the_code_links_it(oa: Oa) -> None:
    """The demo of the closing note: code by ZNS, returned over the OA, a later dossier delivered by OA."""
    first = await oa.register()
    await oa.notices_of(first)
    await oa.follow(CITIZEN)

    await oa.says(CITIZEN, f"Cho tôi nhận thông báo hồ sơ {first}")
    [sent] = oa.zns("fake-link_code")
    assert sent["phone"] == PHONE
    assert tuple(sent["template_data"]) == tuple(LINK_CODE.declared())  # exactly the declared parameters
    otp = sent["template_data"]["otp"]
    assert re.fullmatch(r"[0-9]{6}", otp)
    assert await oa.links() == []  # asking proves nothing
    assert otp not in " ".join(oa.to_user(CITIZEN))  # the code went to the phone only

    await oa.says(CITIZEN, otp)

    assert await oa.links() == [(PHONE, CITIZEN)]
    linked = oa.to_user(CITIZEN)[-1]
    assert linked.startswith("Liên kết thành công")
    assert "kể cả những hồ sơ khác được nộp sau này" in linked
    assert f"Hồ sơ {first}" in linked
    [alert] = oa.zns("fake-link_alert")
    assert alert["phone"] == PHONE
    assert tuple(alert["template_data"]) == tuple(LINK_ALERT.declared())

    # A dossier the same phone registers later is delivered over the OA, with no new proof.
    later = await oa.register()
    [received] = await oa.notices_of(later)
    assert received["channel"] == "oa"
    assert later in oa.to_user(CITIZEN)[-1]
    for message in oa.messages():
        shown = {
            k: message[k]
            for k in ("channel", "user_id", "phone", "template_id", "template_data", "text")
            if k in message
        }
        print(shown)  # the journal, for the closing note (-s)


async def test_concurrent_wrong_answers_are_each_counted(oa: Oa) -> None:
    code = await oa.register()
    await oa.notices_of(code)
    await oa.says(ATTACKER, code)  # the code goes to the citizen's phone
    [real] = oa.codes_sent()
    guesses = [f"{n:06d}" for n in range(100_000, 100_020) if f"{n:06d}" != real]

    await asyncio.gather(*(oa.says(ATTACKER, guess) for guess in guesses))

    replies = oa.to_user(ATTACKER)
    wrong = [r for r in replies if r.startswith("Mã xác nhận chưa đúng")]
    print(f"{len(guesses)} concurrent answers →", len(wrong), "checked, the rest refused")
    assert len(wrong) <= oa.settings.zalo_link_code_attempts
    await oa.says(ATTACKER, real)  # even the right code: it is void now
    assert await oa.links() == []
    assert "Liên kết thành công" not in " ".join(oa.to_user(ATTACKER))


async def test_wrong_answers_slow_down_per_account(oa: Oa) -> None:
    code = await oa.register()
    await oa.notices_of(code)
    answers = 0
    for _ in range(2):  # two codes: three answers void the first
        await oa.says(ATTACKER, code)
        for _ in range(3):
            if answers < oa.settings.zalo_link_max_failures:
                await oa.says(ATTACKER, "000000")
                answers += 1
    await oa.says(ATTACKER, oa.codes_sent()[-1])  # the right one, but past the free failures
    assert oa.to_user(ATTACKER)[-1].startswith("Ông/bà đã thử quá nhiều lần")
    assert await oa.links() == []


async def test_codes_asked_for_are_limited_per_account_and_per_phone(oa: Oa) -> None:
    code = await oa.register()
    await oa.notices_of(code)
    for n in range(6):
        await oa.says(ATTACKER, f"{code} lần {n}")
    for n in range(3):
        await oa.says("2512000000000000777", f"{code} lần {n}")  # a second account, same phone
    print("codes sent to the phone after 9 requests:", len(oa.codes_sent()))
    assert len(oa.codes_sent()) == oa.settings.zalo_link_codes_per_hour
    assert oa.to_user(ATTACKER)[-1].startswith("Ông/bà đã thử quá nhiều lần")


async def test_a_new_account_moves_the_link_and_the_phone_is_told(oa: Oa) -> None:
    code = await oa.register()
    await oa.notices_of(code)
    for user in (CITIZEN, "2512000000000000002"):
        await oa.follow(user)
        await oa.says(user, code)
        await oa.says(user, oa.codes_sent()[-1])
    assert await oa.links() == [(PHONE, "2512000000000000002")]
    assert len(oa.zns("fake-link_alert")) == 2  # told each time a new account was linked
    await oa.says("2512000000000000002", code)  # linked: the answer is the status, no new code
    assert oa.to_user("2512000000000000002")[-1].startswith(f"Hồ sơ {code}")
    assert len(oa.codes_sent()) == 2


async def test_unfollowing_or_asking_unlinks(oa: Oa) -> None:
    code = await oa.register()
    await oa.notices_of(code)
    await oa.follow(CITIZEN)
    await oa.says(CITIZEN, "0905 123 456")  # by phone number: a code to that phone
    await oa.says(CITIZEN, oa.codes_sent()[-1])
    assert await oa.links() == [(PHONE, CITIZEN)]

    await oa.says(CITIZEN, "Hủy liên kết")
    assert await oa.links() == []
    assert oa.to_user(CITIZEN)[-1].startswith("Đã hủy liên kết")

    await oa.says(CITIZEN, code)
    await oa.says(CITIZEN, oa.codes_sent()[-1])
    assert await oa.links() == [(PHONE, CITIZEN)]
    event = oa.fake.event("unfollow", follower={"id": CITIZEN})
    assert await oa.fake.post_event(event) == 200
    assert await oa.links() == []
    later = await oa.register()
    [received] = await oa.notices_of(later)
    assert received["channel"] == "zns"
