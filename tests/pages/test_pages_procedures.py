"""The public procedure lookup (`/thu-tuc`): the catalogue in force as the administrator loaded it, searched
as the OA's "TT <words>" searches it; no login, nothing personal."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from db.engine import SessionFactory
from db.procedures import load_catalogue, read_catalogue
from server import create_app
from settings import Settings

SAMPLE = Path(__file__).parents[2] / "deploy" / "procedures.sample.json"


@pytest.fixture
async def web(settings: Settings, session_factory: SessionFactory) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, session_factory=session_factory)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pages.test"
    ) as client:
        yield client


@pytest.fixture
async def catalogue(session_factory: SessionFactory) -> int:
    entries, about = read_catalogue(SAMPLE)
    async with session_factory() as session:
        await load_catalogue(session, entries, loaded_by="test", about=about)
    return len(entries)


def titles(html: str) -> list[str]:
    return re.findall(r'<h2><a href="/thu-tuc/[^"]+">([^<]+)</a></h2>', html)


async def test_the_whole_catalogue_and_a_search_without_diacritics(
    web: httpx.AsyncClient, catalogue: int
) -> None:
    whole = await web.get("/thu-tuc")
    assert whole.status_code == 200
    assert len(titles(whole.text)) == catalogue
    assert f"{catalogue} thủ tục." in whole.text

    found = await web.get("/thu-tuc", params={"q": "ket hon"})
    assert titles(found.text) == ["Đăng ký kết hôn", "Đăng ký kết hôn có yếu tố nước ngoài"]
    assert "2 thủ tục phù hợp với “ket hon”" in found.text
    assert "Lệ phí: Không thu" in found.text


async def test_one_procedure_in_full(web: httpx.AsyncClient, catalogue: int) -> None:
    page = await web.get("/thu-tuc/local.hotich.khai-sinh")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text))
    assert "Đăng ký khai sinh" in text
    assert "Thời hạn giải quyết 1 ngày làm việc" in text
    assert "Giấy chứng sinh (hoặc văn bản thay thế)" in text
    assert "Tiếp nhận, kiểm tra hồ sơ (Bộ phận Một cửa): 1 giờ làm việc" in text


async def test_no_match_an_unknown_code_and_no_catalogue_say_so_in_vietnamese(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    empty = await web.get("/thu-tuc")
    assert "Danh mục thủ tục hành chính đang được cập nhật" in empty.text

    entries, _ = read_catalogue(SAMPLE)
    async with session_factory() as session:
        await load_catalogue(session, entries, loaded_by="test")
    none = await web.get("/thu-tuc", params={"q": "sao hỏa"})
    assert none.status_code == 200
    assert "Không tìm thấy thủ tục nào phù hợp với “sao hỏa”" in none.text
    missing = await web.get("/thu-tuc/khong-co", headers={"Accept": "text/html"})
    assert missing.status_code == 404
    assert "Không tìm thấy thủ tục" in missing.text
    too_long = await web.get("/thu-tuc", params={"q": "x" * 101}, headers={"Accept": "text/html"})
    assert too_long.status_code == 400  # a page answers a bad address with its Vietnamese 400 page
    assert '<html lang="vi">' in too_long.text
