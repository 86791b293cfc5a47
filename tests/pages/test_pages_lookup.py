"""The citizen lookup page through httpx: what a citizen sees, what nobody else can learn, the limits."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from db.engine import SessionFactory
from server import create_app
from settings import Settings
from tests.support.pages import hours_ago, seed_dossier

FEE = {
    "fee": {
        "items": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 1_250_000}],
        "total_vnd": 1_250_000,
        "paid_vnd": 0,
        "pay_within_days": 5,
        "pay_url": "https://dichvucong.gov.vn/thanh-toan/H21",
        "pay_by": hours_ago(-50).isoformat(),
        "requested_at": hours_ago(1).isoformat(),
    }
}


def client_on(app: FastAPI, address: str = "203.0.113.7") -> httpx.AsyncClient:
    """A browser at `address` (the limits count per client address)."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://pages.test")


@pytest.fixture
async def web(settings: Settings, session_factory: SessionFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with client_on(create_app(settings, session_factory=session_factory)) as client:
        yield client


def alert(html: str) -> str:
    """The text of the page's alert box (what a screen reader announces)."""
    match = re.search(r'<div class="alert alert-error" role="alert">(.*?)</div>', html, re.S)
    assert match, "no alert on the page"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


async def test_the_form_is_a_plain_accessible_get_form(web: httpx.AsyncClient) -> None:
    page = await web.get("/tra-cuu")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="vi">' in html
    assert '<form method="get" action="/tra-cuu"' in html
    assert '<label for="code">Mã hồ sơ</label>' in html
    assert '<label for="phone_last4">4 số cuối điện thoại</label>' in html
    assert 'href="#noi-dung"' in html
    assert '<main id="noi-dung"' in html
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': no script at all
    assert page.headers["cache-control"] == "no-store"
    css = await web.get("/static/pages.css")
    assert css.status_code == 200
    assert ":focus-visible" in css.text
    assert (await web.get("/", follow_redirects=False)).headers["location"] == "/tra-cuu"


async def test_a_shareable_link_shows_the_dossier_but_never_the_name_or_phone(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(
        session_factory,
        status="fee_due",
        due_at=hours_ago(-100),
        detail=FEE,
        events=[
            ("fee_requested", {"total_vnd": 1_250_000, "pay_by": FEE["fee"]["pay_by"]}),
            ("due_soon", {}),
        ],
        notices=[
            {"kind": "received", "status": "delivered", "channel": "zns", "sent_at": hours_ago(47)},
            {"kind": "fee_due", "status": "sent", "channel": "oa", "sent_at": hours_ago(1)},
            {"kind": "overdue", "audience": "officer", "status": "failed-permanent", "last_error": "blocked"},
        ],
    )
    page = await web.get("/tra-cuu", params={"code": code.lower(), "phone_last4": "3456"})
    assert page.status_code == 200, page.text
    html = page.text
    assert f"Hồ sơ {code}" in html
    assert "Đang chờ nộp phí, lệ phí" in html
    assert "Cấp giấy phép xây dựng" in html
    assert "1.250.000 đ" in html
    assert 'href="https://dichvucong.gov.vn/thanh-toan/H21" rel="noopener noreferrer"' in html
    assert "Tiếp nhận hồ sơ" in html
    assert "Thông báo nộp phí, lệ phí" in html
    assert "Nhắc cán bộ" not in html  # internal reminders are the office's business
    assert "Xác nhận tiếp nhận, hẹn ngày trả kết quả" in html
    assert "Đã đến người nhận" in html
    assert "Báo quá hạn" not in html
    assert "blocked" not in html
    for secret in ("Nguyễn", "84905123456", "0905123456", "905123"):
        assert secret not in html


async def test_supplement_items_are_what_the_citizen_must_do(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    supplement = {
        "items": ["Bản vẽ mặt bằng có chữ ký", "Giấy chứng nhận quyền sử dụng đất"],
        "note": "Quầy số 3",
    }
    code = await seed_dossier(
        session_factory,
        status="supplement_required",
        due_at=None,
        detail={"supplement": supplement | {"requested_at": hours_ago(2).isoformat(), "late": False}},
        events=[("supplement_requested", supplement)],
    )
    html = (await web.get(f"/tra-cuu?code={code}&phone_last4=3456")).text
    assert "Đang chờ bổ sung hồ sơ" in html
    assert "<li>Bản vẽ mặt bằng có chữ ký</li>" in html
    assert "Hướng dẫn: Quầy số 3" in html
    assert "thời hạn tính lại từ đầu" in html


async def test_wrong_code_and_wrong_digits_get_one_neutral_answer(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(session_factory)
    wrong_digits = await web.get("/tra-cuu", params={"code": code, "phone_last4": "0000"})
    wrong_code = await web.get("/tra-cuu", params={"code": "H21.65-261123-9999", "phone_last4": "3456"})
    assert wrong_digits.status_code == wrong_code.status_code == 404
    assert alert(wrong_digits.text) == alert(wrong_code.text)
    assert "Không tìm thấy hồ sơ khớp với mã hồ sơ và 4 số cuối điện thoại" in alert(wrong_code.text)
    assert "Cấp giấy phép" not in wrong_digits.text


async def test_malformed_input_is_explained_and_escaped(web: httpx.AsyncClient) -> None:
    page = await web.get("/tra-cuu", params={"code": "<script>alert(1)</script>", "phone_last4": "12"})
    assert page.status_code == 422
    assert "<script>" not in page.text
    assert "&lt;SCRIPT&gt;" in page.text  # echoed back in the field, escaped
    assert "Mã hồ sơ chưa đúng dạng" in page.text
    assert "Vui lòng nhập đúng 4 chữ số cuối" in page.text
    assert 'aria-invalid="true"' in page.text


async def test_the_qr_form_asks_only_for_the_digits(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(session_factory)
    page = await web.get(f"/tra-cuu/{code}")
    assert page.status_code == 200
    assert f'<input type="hidden" name="code" value="{code}">' in page.text
    assert 'id="phone_last4"' in page.text
    assert "Cấp giấy phép" not in page.text  # nothing about the dossier before the digits
    assert (await web.get("/tra-cuu/not-a-code")).status_code == 422


async def test_hostile_text_from_other_systems_is_escaped(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    reason = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
    code = await seed_dossier(
        session_factory,
        status="rejected",
        procedure=("1.0009", "<b>Thủ tục</b>"),
        finished_at=hours_ago(1),
        events=[("rejected", {"reason": reason})],
    )
    html = (await web.get("/tra-cuu", params={"code": code, "phone_last4": "3456"})).text
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "<b>Thủ tục</b>" not in html
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in html
    assert "&lt;b&gt;Thủ tục&lt;/b&gt;" in html


async def test_failures_are_rate_limited_per_address_with_a_vietnamese_429(
    settings: Settings, session_factory: SessionFactory
) -> None:
    settings = settings.model_copy(
        update={"lookup_max_failures_per_address": 3, "lookup_max_failures_per_code": 100}
    )
    code = await seed_dossier(session_factory)
    app = create_app(settings, session_factory=session_factory)
    async with client_on(app, "198.51.100.1") as guesser:
        for digits in ("0001", "0002", "0003"):
            assert (
                await guesser.get("/tra-cuu", params={"code": code, "phone_last4": digits})
            ).status_code == 404
        blocked = await guesser.get("/tra-cuu", params={"code": code, "phone_last4": "3456"})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) > 0
        assert "Tạm dừng tra cứu" in blocked.text
        assert "phút" in blocked.text
        assert "Cấp giấy phép" not in blocked.text  # even the right digits are not checked now
        # Malformed input and the bare form are not lookups: still answered.
        assert (await guesser.get("/tra-cuu")).status_code == 200
        # Another address is not held back.
        async with client_on(app, "198.51.100.2") as citizen:
            found = await citizen.get("/tra-cuu", params={"code": code, "phone_last4": "3456"})
            assert found.status_code == 200


async def test_guesses_spread_over_addresses_slow_the_code_down(
    settings: Settings, session_factory: SessionFactory
) -> None:
    """Past the free failures, the code waits (even the right digits), for everyone: briefly
    (tests/security/test_rate_limits.py shows the wait ends)."""
    settings = settings.model_copy(update={"lookup_max_failures_per_code": 2})
    code = await seed_dossier(session_factory)
    app = create_app(settings, session_factory=session_factory)
    for n, digits in enumerate(("1111", "2222", "3456")):
        async with client_on(app, f"192.0.2.{n}") as client:
            answer = await client.get("/tra-cuu", params={"code": code, "phone_last4": digits})
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) <= settings.shared_key_ceiling_seconds
