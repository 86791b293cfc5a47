"""The counter's printed documents: the receipt of a dossier (Mẫu số 01) with the QR codes of its lookup
link and of the OA, as a page and as a PDF from the same template, and an agency's OA poster. Only
officers of the dossier's agency print them."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from db.agencies import load_agencies, read_directory
from db.engine import SessionFactory
from server import create_app
from settings import Settings
from tests.support.pages import seed_dossier, seed_officer, sign_in

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "agencies.sample.json"
OA = "https://zalo.me/4318496069224014291"


@pytest.fixture
async def web(settings: Settings, session_factory: SessionFactory) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings.model_copy(
        update={"public_base_url": "https://dichvucong.gialai.example", "zalo_oa_follow_url": OA}
    )
    async with session_factory() as session:
        await load_agencies(session, read_directory(SAMPLE))
    app = create_app(settings, session_factory=session_factory)
    async with pages_client(app) as client:
        yield client


def pages_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pages.test")


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def qr_titles(html: str) -> list[str]:
    return re.findall(r'<svg role="img"[^>]*class="qr"><title>([^<]*)</title>', html)


async def test_the_receipt_prints_the_form_with_both_qr_codes(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(session_factory, applicant_name="Trần Thị Bình")
    await seed_officer(session_factory, agencies=["H21.65"])
    await sign_in(web)

    dossier = await web.get(f"/can-bo/ho-so/{code}")
    assert f'href="/can-bo/ho-so/{code}/giay-tiep-nhan"' in dossier.text

    page = await web.get(f"/can-bo/ho-so/{code}/giay-tiep-nhan")
    assert page.status_code == 200
    html = page.text
    assert "Giấy tiếp nhận hồ sơ và hẹn trả kết quả" in html
    assert "Mẫu số 01" in html
    assert "UBND huyện Chư Păh" in html  # from the directory
    assert "Trần Thị Bình" in html
    assert "Cấp giấy phép xây dựng" in html
    assert "15 ngày làm việc" in html
    assert "•••••••3456" in html  # the phone, masked
    assert "84905123456" not in html
    assert "Nguyễn Thị Lan" in html  # who received it: the signed-in officer
    assert qr_titles(html) == ["Mã QR: trang tra cứu hồ sơ", "Mã QR: quan tâm Zalo OA"]
    assert f"https://dichvucong.gialai.example/tra-cuu?code={code}" in html
    assert 'href="/static/print.css' in html
    assert page.headers["content-security-policy"].startswith("default-src 'none'")

    pdf = await web.get(f"/can-bo/ho-so/{code}/giay-tiep-nhan.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    text = pdf_text(pdf.content)
    assert code in text
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text.upper()
    assert "Trần Thị Bình" in text  # Vietnamese glyphs survive (DejaVu embedded)
    assert "Tải bản PDF" not in text  # the toolbar is not printed


async def test_another_agencys_receipt_is_not_found(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(session_factory, agency="H21.65.12")
    await seed_officer(session_factory, agencies=["H21.65"])
    await sign_in(web)
    for path in (f"/can-bo/ho-so/{code}/giay-tiep-nhan", f"/can-bo/ho-so/{code}/giay-tiep-nhan.pdf"):
        answer = await web.get(path)
        assert answer.status_code == 404
        assert not answer.content.startswith(b"%PDF")


async def test_the_receipt_needs_a_signed_in_officer(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    code = await seed_dossier(session_factory)
    answer = await web.get(f"/can-bo/ho-so/{code}/giay-tiep-nhan.pdf")
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/can-bo/dang-nhap")


async def test_the_poster_shows_the_oa_code_for_each_agency_in_scope(
    web: httpx.AsyncClient, session_factory: SessionFactory
) -> None:
    await seed_officer(session_factory, agencies=["H21.65"])
    await sign_in(web)
    desk = await web.get("/can-bo")
    assert 'href="/can-bo/ap-phich/H21.65"' in desk.text
    assert "/can-bo/ap-phich/H21.01" not in desk.text  # outside the officer's scope

    page = await web.get("/can-bo/ap-phich/H21.65")
    assert page.status_code == 200
    assert "UBND huyện Chư Păh" in page.text
    assert qr_titles(page.text) == ["Mã QR: quan tâm Zalo OA"]
    pdf = await web.get("/can-bo/ap-phich/H21.65.pdf")
    assert pdf.content.startswith(b"%PDF")
    assert "THEO DÕI HỒ SƠ QUA ZALO" in pdf_text(pdf.content).upper()
    assert (await web.get("/can-bo/ap-phich/H21.01")).status_code == 404
    assert (await web.get("/can-bo/ap-phich/H99.99")).status_code == 404


async def test_without_an_oa_address_the_receipt_has_one_code_and_the_poster_says_so(
    settings: Settings, session_factory: SessionFactory
) -> None:
    async with session_factory() as session:
        await load_agencies(session, read_directory(SAMPLE))
    app = create_app(settings, session_factory=session_factory)  # no ZALO_OA_FOLLOW_URL, no oa_url
    async with pages_client(app) as web:
        code = await seed_dossier(session_factory)
        await seed_officer(session_factory)
        await sign_in(web)
        receipt = await web.get(f"/can-bo/ho-so/{code}/giay-tiep-nhan")
        assert qr_titles(receipt.text) == ["Mã QR: trang tra cứu hồ sơ"]
        poster = await web.get("/can-bo/ap-phich/H21.65")
        assert "Chưa cấu hình địa chỉ Zalo OA" in poster.text
        assert (await web.get("/can-bo/ap-phich/H21.65.pdf")).status_code == 404
