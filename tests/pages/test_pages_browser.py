"""The pages in a real browser: Debian's Chromium driven by Playwright, against a real worker.

A citizen looks a dossier up on a phone-width screen; an officer signs in on a desk screen and works the
overdue list. Screenshots go to test-artifacts/ (git-ignored) for people to look at.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from db.clients import create_client
from db.engine import SessionFactory
from db.models import Dossier
from db.types import utcnow
from server import create_app
from settings import Settings
from tests.conftest import eventually
from tests.support.api import registration
from tests.support.builders import CALENDAR, WORKING_DAY, Moments, new_code
from tests.support.pages import PASSWORD, seed_officer

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("worker")]

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Never `playwright install`: the browser is Debian's, found by path, and must not phone home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_INSTALLED = CHROMIUM.exists()
PHONE = {"width": 375, "height": 812}
DESK = {"width": 1366, "height": 900}


@dataclass
class Site:
    url: str
    api: httpx.AsyncClient  # the TTHC system, for registering dossiers


@pytest.fixture
async def site(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> AsyncIterator[Site]:
    """The app served over real HTTP on a free port, in this event loop (it shares the test's Temporal)."""
    async with session_factory() as session:
        key = await create_client(session, "tthc-h21", ["H21.65"])
    app = create_app(settings, temporal=workflow_env.client, session_factory=session_factory)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            serving.result()
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
        yield Site(url, api)
    server.should_exit = True
    await serving


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
async def browser(artifacts: Path) -> AsyncIterator[Browser]:
    if not CHROMIUM_INSTALLED:
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium chromium-driver)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


async def register(site: Site, received_at: datetime | None = None) -> str:
    code = new_code()
    response = await site.api.post(
        "/api/v1/dossiers", json=registration(code, received_at, channel="counter")
    )
    assert response.status_code == 201, response.text
    return code


async def unlabelled_inputs(page: Page) -> list[str]:
    """Form controls a screen reader could not name."""
    names: list[str] = await page.evaluate(
        """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label'))
              .map(el => el.name)"""
    )
    return names


async def test_a_citizen_looks_a_dossier_up_on_a_phone(browser: Browser, site: Site) -> None:
    t = Moments()
    code = await register(site, t(0))
    fee = await site.api.post(
        f"/api/v1/dossiers/{code}/fee",
        json={
            "event_id": "fee-1",
            "at": t(1).isoformat(),
            "items": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 150_000}],
            "pay_url": "https://dichvucong.gov.vn/thanh-toan/H21",
        },
    )
    assert fee.status_code == 200, fee.text
    context = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = await context.new_page()
    await page.goto(f"{site.url}/tra-cuu")
    assert await page.get_attribute("html", "lang") == "vi"
    await page.keyboard.press("Tab")  # the first stop is the skip link, shown when focused
    await expect(page.locator(".skip-link")).to_be_focused()
    await expect(page.locator(".skip-link")).to_be_visible()
    assert await unlabelled_inputs(page) == []

    await page.get_by_label("Mã hồ sơ").fill(code.lower())
    await page.get_by_label("4 số cuối điện thoại").fill("0000")
    await page.get_by_role("button", name="Tra cứu").click()
    await expect(page.get_by_role("alert")).to_contain_text("Không tìm thấy hồ sơ")

    await page.get_by_label("Mã hồ sơ").fill(code)
    await page.get_by_label("4 số cuối điện thoại").fill("3456")
    await page.get_by_label("4 số cuối điện thoại").press("Enter")
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {code}")
    await expect(page.locator(".status-big")).to_contain_text("Đang chờ nộp phí, lệ phí")
    await expect(page.get_by_role("link", name="Thanh toán trực tuyến")).to_be_visible()
    body = await page.inner_text("body")
    assert "150.000 đ" in body
    assert "Tiếp nhận hồ sơ" in body
    for secret in ("Nguyễn", "0905123456", "84905123456"):
        assert secret not in body
    assert page.url.endswith(f"/tra-cuu?code={code}&phone_last4=3456")  # a link the citizen can keep
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at 375 px ({width} px wide)"
    await page.screenshot(path=ARTIFACTS / "tra-cuu-375.png", full_page=True)
    await context.close()


async def test_an_officer_works_the_overdue_list_on_a_desk_screen(
    browser: Browser, site: Site, session_factory: SessionFactory
) -> None:
    await seed_officer(session_factory, display_name="Nguyễn Thị Lan")
    late = await register(site, CALENDAR.add_working_time(CALENDAR.clock_start(utcnow()), -20 * WORKING_DAY))
    on_time = await register(site)

    async def overdue() -> bool:
        async with session_factory() as session:
            row = await session.get(Dossier, late, populate_existing=True)
            return row is not None and row.overdue

    await eventually(overdue)
    context = await browser.new_context(viewport=DESK, locale="vi-VN")
    page = await context.new_page()
    await page.goto(f"{site.url}/can-bo/danh-sach/qua-han")
    await expect(page.get_by_role("heading", name="Đăng nhập")).to_be_visible()
    await page.get_by_label("Tên đăng nhập").fill("lan.nt")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_label("Mật khẩu").press("Enter")

    await expect(page.get_by_role("heading", level=1)).to_have_text("Hồ sơ quá hạn")
    table = page.get_by_role("table")
    await expect(table.get_by_role("link", name=late, exact=True)).to_be_visible()
    await expect(table.get_by_role("link", name=on_time, exact=True)).to_have_count(0)
    temporal = table.get_by_role("link", name=f"Mở hồ sơ {late} trong Temporal UI")
    assert (
        await temporal.get_attribute("href")
        == f"http://temporal-ui.test/namespaces/default/workflows/dossier-{late}"
    )
    assert await unlabelled_inputs(page) == []
    await page.get_by_label("Cơ quan").select_option("H21.65")
    await page.get_by_role("button", name="Lọc").click()
    await expect(page).to_have_url(f"{site.url}/can-bo/danh-sach/qua-han?agency=H21.65&procedure=")
    await expect(table.get_by_role("link", name=late, exact=True)).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "can-bo-qua-han-1366.png", full_page=True)

    await table.get_by_role("link", name=late, exact=True).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(f"Hồ sơ {late}")
    await expect(page.get_by_text("Cách tính hạn trả kết quả")).to_be_visible()
    await expect(page.get_by_text("Quá hạn: đã báo lãnh đạo")).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "can-bo-ho-so-1366.png", full_page=True)

    # Too late for an apology (Mẫu 04 comes before the due time): no button, and the page says why.
    await expect(
        page.get_by_role("link", name="Xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04), một lần")
    ).to_have_count(0)
    await expect(page.get_by_text("Đã quá thời hạn: không còn gửi được thư xin lỗi")).to_be_visible()

    # The result is ready: confirmed, it leaves the overdue list.
    await page.get_by_role("link", name="Có kết quả giải quyết").click()
    await page.get_by_label("Nơi nhận kết quả (không bắt buộc)").fill("Bộ phận Một cửa UBND huyện, quầy số 3")
    await page.get_by_role("button", name="Tiếp tục: xem lại").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Xác nhận: Có kết quả giải quyết")
    await page.get_by_role("button", name="Xác nhận: Có kết quả giải quyết").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã thực hiện: Có kết quả giải quyết.")
    await expect(page.locator(".status-big")).to_contain_text("Đã có kết quả, chờ trả")
    await expect(page.get_by_role("cell", name="lan.nt")).to_be_visible()

    await page.get_by_role("link", name="Quá hạn", exact=True).click()
    await expect(page.get_by_text("Không có hồ sơ nào quá hạn.")).to_be_visible()
    await page.get_by_role("button", name="Đăng xuất").click()
    await expect(page.get_by_role("status")).to_contain_text("Ông/bà đã đăng xuất.")
    await context.close()


async def test_the_counter_prints_the_receipt_and_the_citizen_sends_feedback(
    browser: Browser, site: Site, session_factory: SessionFactory
) -> None:
    """A dossier registered by the TTHC system and projected by the real worker: the officer prints its
    receipt (the page the browser prints, then the PDF); the citizen sends feedback from a phone."""
    await seed_officer(session_factory, agencies=["H21.65"])
    code = await register(site)

    async def projected() -> bool:
        async with session_factory() as session:
            row = await session.get(Dossier, code, populate_existing=True)
            return row is not None and row.due_at is not None

    await eventually(projected)
    context = await browser.new_context(viewport=DESK, locale="vi-VN")
    page = await context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda message: refused.append(message.text) if "Content Security" in message.text else None,
    )
    await page.goto(f"{site.url}/can-bo/ho-so/{code}")
    await page.get_by_label("Tên đăng nhập").fill("lan.nt")
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_label("Mật khẩu").press("Enter")
    await page.get_by_role("link", name="In giấy tiếp nhận và hẹn trả kết quả (Mẫu 01)").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Giấy tiếp nhận hồ sơ và hẹn trả kết quả")
    await expect(page.get_by_role("img", name="Mã QR: trang tra cứu hồ sơ")).to_be_visible()
    await page.emulate_media(media="print")
    await expect(page.get_by_role("navigation", name="Thao tác")).to_be_hidden()  # not on the paper
    await page.screenshot(path=ARTIFACTS / "giay-tiep-nhan-in.png", full_page=True)
    await page.emulate_media(media="screen")
    pdf = await page.request.get(f"{site.url}/can-bo/ho-so/{code}/giay-tiep-nhan.pdf")
    assert pdf.ok
    assert (await pdf.body()).startswith(b"%PDF")
    assert refused == []
    await context.close()

    phone = await browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = await phone.new_page()
    await page.goto(f"{site.url}/tra-cuu?code={code}&phone_last4=3456")
    await page.get_by_label("Nội dung phản ánh, kiến nghị về hồ sơ này").fill(
        "Xin cho biết khi nào có kết quả, tôi cần gấp."
    )
    await page.get_by_role("button", name="Gửi phản ánh").click()
    await expect(page.get_by_role("status")).to_contain_text("Đã nhận phản ánh, kiến nghị")
    await expect(page.get_by_text("Xin cho biết khi nào có kết quả, tôi cần gấp.")).to_be_visible()
    assert await unlabelled_inputs(page) == []
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways at 375 px ({width} px wide)"
    await page.screenshot(path=ARTIFACTS / "tra-cuu-phan-anh-375.png", full_page=True)
    await phone.close()
