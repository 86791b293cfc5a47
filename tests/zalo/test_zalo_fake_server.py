"""The fake Zalo answers and validates like Zalo, obeys its control API and shows what it received."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from tests.support.zalo import ICT, PHONE, Clock
from zalo.config import FAKE_APP_ID, FAKE_APP_SECRET, FAKE_OA_SECRET, FAKE_REFRESH_TOKEN
from zalo.fake_server import FakeZalo, create_fake_zalo_app
from zalo.webhook import verify_signature

OA = "/v3.0/oa/message/cs"
ZNS = "/message/template"
TOKEN = "/v4/oa/access_token"


class Fake:
    def __init__(self, fake: FakeZalo, http: httpx.AsyncClient) -> None:
        self.fake = fake
        self.http = http

    async def token(self, refresh_token: str | None = None, secret: str = FAKE_APP_SECRET) -> dict[str, Any]:
        response = await self.http.post(
            TOKEN,
            data={
                "refresh_token": refresh_token or self.fake.refresh_token,
                "app_id": FAKE_APP_ID,
                "grant_type": "refresh_token",
            },
            headers={"secret_key": secret},
        )
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    async def access(self) -> str:
        return str((await self.token())["access_token"])

    async def oa(self, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"access_token": token} if token else {}
        response = await self.http.post(OA, json=body, headers=headers)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer

    async def zns(self, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        headers = {"access_token": token} if token else {}
        response = await self.http.post(ZNS, json=body, headers=headers)
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer


def zns_body(**overrides: Any) -> dict[str, Any]:
    return {
        "phone": PHONE,
        "template_id": "400001",
        "template_data": {"customer_name": "Nguyễn Văn An", "code": "H21.65-261123-0001"},
        "tracking_id": "n123",
        **overrides,
    }


def oa_body(text: str = "Xin chào", user_id: str = "u1") -> dict[str, Any]:
    return {"recipient": {"user_id": user_id}, "message": {"text": text}}


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 23, 10, 0, tzinfo=ICT))


@pytest.fixture
async def f(clock: Clock) -> AsyncIterator[Fake]:
    fake = FakeZalo(clock=clock, templates={"400001": ["customer_name", "code"]})
    app = create_fake_zalo_app(fake)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://fake") as http:
        yield Fake(fake, http)


async def test_calls_without_a_valid_access_token_are_refused(f: Fake) -> None:
    assert (await f.oa(oa_body(), None))["error"] == -216
    assert (await f.zns(zns_body(), "made-up"))["error"] == -124
    token = await f.access()
    f.fake.expire_access_tokens()
    assert (await f.oa(oa_body(), token))["error"] == -220
    assert f.fake.messages == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (zns_body(phone="0905123456"), -108),
        (zns_body(phone="84123"), -108),
        (zns_body(template_id="999"), -109),
        (zns_body(template_data={}), -111),
        (zns_body(template_data={"customer_name": "A"}), -112),
        (zns_body(tracking_id="x" * 49), -201),
    ],
)
async def test_zns_validation(f: Fake, body: dict[str, Any], code: int) -> None:
    answer = await f.zns(body, await f.access())
    assert answer["error"] == code
    assert isinstance(answer["message"], str)
    assert f.fake.messages == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (oa_body(text="x" * 2001), -201),
        (oa_body(text="  "), -201),
        (oa_body(user_id=""), -201),
        ({"message": {"text": "hi"}}, -201),
    ],
)
async def test_oa_validation(f: Fake, body: dict[str, Any], code: int) -> None:
    assert (await f.oa(body, await f.access()))["error"] == code


async def test_success_answers_have_zalo_shapes(f: Fake) -> None:
    token = await f.access()
    oa = await f.oa(oa_body("Hồ sơ đã được tiếp nhận"), token)
    zns = await f.zns(zns_body(), token)

    assert oa["error"] == 0
    assert set(oa["data"]) == {"message_id", "user_id"}
    assert zns["error"] == 0
    assert set(zns["data"]) >= {"msg_id", "sent_time", "quota"}
    assert zns["data"]["quota"] == {"dailyQuota": "100000", "remainingQuota": "99999"}


async def test_refresh_tokens_are_single_use(f: Fake) -> None:
    first = await f.token(FAKE_REFRESH_TOKEN)
    assert set(first) == {"access_token", "refresh_token", "expires_in"}
    assert first["expires_in"] == "90000"

    reused = await f.token(FAKE_REFRESH_TOKEN)
    assert reused["error"] == -14014
    assert "access_token" not in reused
    assert (await f.token(first["refresh_token"], secret="wrong"))["error"] == -14002
    second = await f.token(first["refresh_token"])
    assert second["access_token"] != first["access_token"]
    assert f.fake.token_grants == 2


async def test_fault_control_api(f: Fake) -> None:
    token = await f.access()
    response = await f.http.post("/_fake/faults", json={"target": "oa", "error": -32, "count": 2})
    assert response.status_code == 201
    assert (await f.http.get("/_fake/faults")).json()[0]["remaining"] == 2

    codes = [(await f.oa(oa_body(f"tin {i}"), token))["error"] for i in range(3)]
    zns = await f.zns(zns_body(), token)

    assert codes == [-32, -32, 0]
    assert zns["error"] == 0  # another target
    assert (await f.http.get("/_fake/faults")).json() == []


async def test_outage_for_a_duration_then_recovery(f: Fake, clock: Clock) -> None:
    token = await f.access()
    await f.http.post("/_fake/faults", json={"http_status": 503, "seconds": 300})

    down = await f.http.post(OA, json=oa_body(), headers={"access_token": token})
    clock.advance(minutes=4, seconds=59)
    still_down = await f.http.post(OA, json=oa_body(), headers={"access_token": token})
    clock.advance(seconds=2)
    up = await f.oa(oa_body(), token)

    assert (down.status_code, still_down.status_code) == (503, 503)
    assert up["error"] == 0
    assert len(f.fake.messages) == 1


async def test_a_lost_answer_still_delivers_the_message(f: Fake) -> None:
    # The duplicate window: Zalo acted on the message, the sender never learns it.
    token = await f.access()
    await f.http.post("/_fake/faults", json={"target": "zns", "lose_answer": True, "http_status": 502})

    lost = await f.http.post(ZNS, json=zns_body(), headers={"access_token": token})
    retried = await f.zns(zns_body(), token)

    assert lost.status_code == 502
    assert retried["error"] == 0
    assert len(f.fake.messages) == 2  # Zalo does not de-duplicate: the retry is a second message


async def test_receipts_can_be_switched_off(f: Fake) -> None:
    assert f.fake.receipts
    answer = await f.http.put("/_fake/receipts", json={"enabled": False})
    assert answer.json() == {"enabled": False}
    assert not f.fake.receipts


async def test_messages_list_newest_first_and_clear(f: Fake) -> None:
    token = await f.access()
    for text in ("một", "hai", "ba"):
        await f.oa(oa_body(text), token)

    listed = (await f.http.get("/_fake/messages")).json()
    assert [m["text"] for m in listed] == ["ba", "hai", "một"]
    assert (await f.http.delete("/_fake/messages")).status_code == 204
    assert (await f.http.get("/_fake/messages")).json() == []


async def test_page_lists_messages_newest_first_escaped_in_vietnamese(f: Fake) -> None:
    token = await f.access()
    await f.oa(oa_body("Kính gửi ông/bà Nguyễn Văn An,\nHồ sơ <b>đã</b> có kết quả."), token)
    await f.zns(zns_body(), token)

    page = await f.http.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<meta charset="utf-8">' in html
    assert "Kính gửi ông/bà Nguyễn Văn An," in html
    assert "&lt;b&gt;đã&lt;/b&gt;" in html
    assert "<b>đã</b>" not in html
    assert html.index("ZNS → 84905123456") < html.index("Kính gửi")  # newest first
    assert "23/11/2026 10:00:00" in html


async def test_journal_keeps_messages_and_token_state_across_restarts(tmp_path: Path, clock: Clock) -> None:
    journal = tmp_path / "fake_zalo.jsonl"
    first = FakeZalo(clock=clock, journal_path=journal)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_fake_zalo_app(first)), base_url="http://fake"
    ) as http:
        f = Fake(first, http)
        token = await f.access()
        await f.oa(oa_body("Tin nhắn trước khi khởi động lại"), token)

    second = FakeZalo(clock=clock, journal_path=journal)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_fake_zalo_app(second)), base_url="http://fake"
    ) as http:
        f = Fake(second, http)
        assert [m["text"] for m in second.messages] == ["Tin nhắn trước khi khởi động lại"]
        assert (await f.oa(oa_body("sau"), token))["error"] == 0  # the access token survived
        assert (await f.token(FAKE_REFRESH_TOKEN))["error"] == -14014  # so did the rotation
        assert (await f.http.delete("/_fake/messages")).status_code == 204

    lines = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    assert [r["type"] for r in lines] == ["token"]


async def test_user_text_goes_out_as_a_signed_webhook(f: Fake) -> None:
    received: list[tuple[bytes, str | None]] = []
    target = FastAPI()

    @target.post("/webhooks/zalo")
    async def hook(request: Request) -> dict[str, str]:
        received.append((await request.body(), request.headers.get("X-ZEvent-Signature")))
        return {}

    f.fake.webhook_url = "http://api/webhooks/zalo"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=target)) as webhook_http:
        f.fake.webhook_http = webhook_http
        answer = await f.http.post("/_fake/users/u77/text", json={"text": "H21.65-261123-0001 3456"})

    assert answer.json() == {"webhook_status": 200}
    [(body, signature)] = received
    assert verify_signature(signature, FAKE_APP_ID, body, FAKE_OA_SECRET)
    event = json.loads(body)
    assert event["event_name"] == "user_send_text"
    assert event["sender"] == {"id": "u77"}
    assert event["message"]["text"] == "H21.65-261123-0001 3456"
    assert int(event["timestamp"]) == int((f.fake.clock()).timestamp() * 1000)


def test_fake_clock_default_is_aware() -> None:
    assert FakeZalo().clock().utcoffset() == timedelta(0)
