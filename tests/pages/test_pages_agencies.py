"""The pages name the agency that holds a dossier, from the agency directory: the citizen lookup with its
address, hotline and opening hours, the officer lists, the CSV export and the dossier page; a code the
directory lacks gets the neutral name. Dossiers are registered through the API and a real worker."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from db.agencies import load_agencies, read_directory
from db.engine import SessionFactory
from db.models import Notice
from tests.conftest import eventually
from tests.support.api import Keys, bearer
from tests.support.builders import Moments, new_code
from tests.support.pages import seed_officer, sign_in

pytestmark = pytest.mark.usefixtures("worker")

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "agencies.sample.json"
CHU_PAH = "UBND huyện Chư Păh"
IA_LY = "Trung tâm Phục vụ hành chính công xã Ia Ly"
NEUTRAL = "Bộ phận Một cửa"  # settings.notice_office_name


@dataclass
class Office:
    web: httpx.AsyncClient  # an officer of every agency, signed in; also the TTHC system with `key`
    key: dict[str, str]


@pytest.fixture
async def office(http: httpx.AsyncClient, keys: Keys, session_factory: SessionFactory) -> Office:
    async with session_factory() as session:
        await load_agencies(session, read_directory(SAMPLE))
    await seed_officer(session_factory)
    await sign_in(http)
    return Office(http, bearer(keys.admin))


@pytest.fixture
def agency_queries(engine: AsyncEngine) -> Iterator[list[str]]:
    """Every SQL statement that reads the agency directory, as the engine runs it."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if re.search(r"\bFROM agencies\b", statement):
            seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine.sync_engine, "before_cursor_execute", record)


async def waiting_for_papers(office: Office, agency: str) -> str:
    """A dossier of `agency`, registered and then asked for a supplement (so it is on the desk's list)."""
    t = Moments()
    code = new_code(agency)
    body = {
        "code": code,
        "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
        "agency_code": agency,
        "applicant": {"name": "Nguyễn Văn A", "phone": "0905 123 456", "zalo_user_id": None},
        "received_at": t(0).isoformat(),
        "channel": "online",
    }
    created = await office.web.post("/api/v1/dossiers", json=body, headers=office.key)
    assert created.status_code == 201, created.text
    asked = await office.web.post(
        f"/api/v1/dossiers/{code}/supplement-request",
        json={"event_id": f"ask-{code}", "at": t(1).isoformat(), "items": ["Bản vẽ mặt bằng"]},
        headers=office.key,
    )
    assert asked.status_code == 200, asked.text
    return code


async def all_sent(session_factory: SessionFactory) -> bool:
    async with session_factory() as session:
        statuses = (await session.exec(select(Notice.status))).all()
    return bool(statuses) and set(statuses) == {"sent"}


async def test_lists_csv_and_the_dossier_page_name_the_agency(
    office: Office, agency_queries: list[str], session_factory: SessionFactory
) -> None:
    chu_pah = await waiting_for_papers(office, "H21.65")
    ia_ly = await waiting_for_papers(office, "H21.65.12")
    unknown = await waiting_for_papers(office, "H99.01")

    # The worker reads the directory too (each notice names the agency): count once it is done.
    await eventually(lambda: all_sent(session_factory))
    agency_queries.clear()
    page = await office.web.get("/can-bo/danh-sach/cho-bo-sung")
    assert page.status_code == 200
    assert len(agency_queries) == 1  # one batched query for every row and the filter, not one per row
    # Each row: the code, the procedure (name, code), then the agency (name, code in small text).
    rows = re.findall(
        r'<a href="/can-bo/ho-so/([^"]+)">[^<]*</a></th>\s*<td>[^<]*<br><span class="muted">[^<]*</span></td>'
        r'\s*<td>([^<]+)<br><span class="muted">([^<]+)</span></td>',
        page.text,
    )
    assert sorted(rows) == sorted(
        [(chu_pah, CHU_PAH, "H21.65"), (ia_ly, IA_LY, "H21.65.12"), (unknown, NEUTRAL, "H99.01")]
    )
    assert '<option value="H21.65">H21.65 — UBND huyện Chư Păh</option>' in page.text
    assert '<option value="H99.01">H99.01 — Bộ phận Một cửa</option>' in page.text
    filtered = await office.web.get("/can-bo/danh-sach/cho-bo-sung", params={"agency": "H21.65.12"})
    assert f"Hồ sơ chờ bổ sung, {IA_LY}</caption>" in filtered.text

    export = await office.web.get("/can-bo/danh-sach/cho-bo-sung.csv")
    table = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert table[0][:4] == ["Mã hồ sơ", "Cơ quan", "Tên cơ quan", "Mã thủ tục"]
    assert {line[0]: (line[1], line[2]) for line in table[1:]} == {
        chu_pah: ("H21.65", CHU_PAH),
        ia_ly: ("H21.65.12", IA_LY),
        unknown: ("H99.01", NEUTRAL),
    }

    known = (await office.web.get(f"/can-bo/ho-so/{chu_pah}")).text
    assert (
        f'<dt>Cơ quan</dt><dd>{CHU_PAH} <small class="muted">H21.65</small>'
        "<br>Đường dây nóng 0269 3845 123</dd>" in known
    )
    lacking = (await office.web.get(f"/can-bo/ho-so/{unknown}")).text
    assert (
        f'<dt>Cơ quan</dt><dd>{NEUTRAL} <small class="muted">'
        "H99.01 · chưa có trong danh bạ cơ quan</small></dd>" in lacking
    )

    desk = await office.web.get("/can-bo")
    assert (
        '<option value="H21.65.12">H21.65.12 — Trung tâm Phục vụ hành chính công xã Ia Ly</option>'
        in desk.text
    )


async def test_the_citizen_lookup_names_the_agency_and_how_to_reach_it(office: Office) -> None:
    code = await waiting_for_papers(office, "H21.65")
    page = await office.web.get("/tra-cuu", params={"code": code, "phone_last4": "3456"})
    assert page.status_code == 200
    html = page.text
    assert f"<dt>Cơ quan giải quyết</dt><dd>{CHU_PAH}</dd>" in html
    assert f"Nộp tại {CHU_PAH} hoặc trên Cổng Dịch vụ công." in html
    contact = html[html.index('<h2 id="lien-he">') : html.index('<section aria-labelledby="qua-trinh">')]
    assert f"<strong>{CHU_PAH}</strong>" in contact
    assert (
        "<dt>Địa chỉ</dt><dd>Bộ phận Một cửa, 01 Trần Hưng Đạo, thị trấn Phú Hòa, huyện Chư Păh, "
        "tỉnh Gia Lai</dd>" in contact
    )
    assert '<dt>Đường dây nóng</dt><dd><a href="tel:02693845123">0269 3845 123</a></dd>' in contact
    assert "<dt>Giờ làm việc</dt><dd>Sáng 7:00–11:30, chiều 13:30–17:00, thứ Hai đến thứ Sáu</dd>" in contact

    lacking = await waiting_for_papers(office, "H99.01")
    other = (await office.web.get("/tra-cuu", params={"code": lacking, "phone_last4": "3456"})).text
    assert f"<dt>Cơ quan giải quyết</dt><dd>{NEUTRAL}</dd>" in other
    assert f"Nộp tại {NEUTRAL} hoặc trên Cổng Dịch vụ công." in other
    assert "Đường dây nóng" not in other
    assert "Vui lòng liên hệ nơi ông/bà đã nộp hồ sơ" in other
