"""Internal steps (issue 17, part B) on the real path: the catalogue loaded over HTTP gives a procedure
four steps with budgets in working hours; the TTHC system reports each hand-over through the API; the
workflow on the Temporal dev server keeps each step's deadline, tells the holder and their head once when
one passes (the fake Zalo's journal), and judges each step early, on time or late when it ends; the desk's
pages show who holds the dossier, the process-control sheet (Mẫu 06) in HTML and PDF, and the statistics
by step. Hand-overs that break a rule are refused with a problem detail and change nothing.

Times are legal times in the past (Moments: six working days ago up to now): a step whose deadline is in
the past is late as soon as it starts, which is how the late step is made here, with no waiting.
"""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pypdf import PdfReader

from db.engine import SessionFactory
from db.models import Dossier, DossierEvent
from domain.steps import StepOutcome
from domain.vocabulary import vn_datetime
from tests.conftest import eventually, zalo_messages
from tests.support.api import Keys, bearer, registration
from tests.support.builders import Moments, new_code
from tests.support.pages import seed_officer, sign_in

PROCEDURE = "local.test.bon-buoc"
STEPS = [
    # 56 hours: from t(0), due at t(7), ahead of now; it ends early, and no timer fires for it.
    {"name": "Tiếp nhận, kiểm tra hồ sơ", "unit": "Bộ phận Một cửa", "hours": 56},
    {"name": "Thẩm định hồ sơ", "unit": "Phòng chuyên môn", "hours": 24},
    {"name": "Phê duyệt", "unit": "Lãnh đạo UBND", "hours": 24},
    {"name": "Trả kết quả", "unit": "Bộ phận Một cửa", "hours": 16},
]


def catalogue() -> dict[str, Any]:
    return {
        "province": "Gia Lai",
        "procedures": [
            {
                "code": PROCEDURE,
                "name": "Cấp giấy phép thử nghiệm bốn bước",
                "level": "huyện",
                "agency_kinds": ["UBND cấp huyện"],
                "working_days": 15,
                "fees": [],
                "documents": ["Đơn đề nghị"],
                "steps": STEPS,
                "source": "thử nghiệm",
            }
        ],
    }


async def events(sessions: SessionFactory, code: str) -> list[DossierEvent]:
    async with sessions() as session:
        from db.dossiers import events_of

        return await events_of(session, code)


@pytest.mark.usefixtures("worker")
async def test_a_dossier_goes_through_its_steps_with_one_late(
    app: FastAPI,
    http: httpx.AsyncClient,
    keys: Keys,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    admin, tthc = bearer(keys.admin), bearer(keys.h21)
    loaded = await http.post("/api/v1/procedures/versions", json=catalogue(), headers=admin)
    assert loaded.status_code == 201, loaded.text
    for username in ("mot.cua", "chuyen.vien", "lanh.dao"):
        await seed_officer(session_factory, username, ["H21.65"], display_name=f"Cán bộ {username}")
    await seed_officer(session_factory, "khac.coquan", ["H22.01"], display_name="Cán bộ cơ quan khác")

    t = Moments()
    code = new_code()
    body = registration(code, received_at=t(0))
    body["procedure"] = {"code": PROCEDURE, "name": "Cấp giấy phép thử nghiệm bốn bước", "working_days": 15}
    created = await http.post("/api/v1/dossiers", json=body, headers=tthc)
    assert created.status_code == 201, created.text
    async with session_factory() as session:
        row = await session.get(Dossier, code)
    assert row is not None
    assert row.steps == STEPS
    base = f"/api/v1/dossiers/{code}"

    async def hand_over(n: int, step: int, officer: str, at: float) -> httpx.Response:
        return await http.post(
            f"{base}/handover",
            json={"event_id": f"ho-{n}", "at": t(at).isoformat(), "step": step, "officer": officer},
            headers=tthc,
        )

    first = await hand_over(1, 1, "mot.cua", 0)
    assert first.status_code == 200, first.text
    # Step 1 (56 h from t(0)) ends at t(0.25): early. Step 2 (24 h from t(0.25)) is due at t(3.25), in
    # the past: it is late at once, and its holder and their head are told.
    assert (await hand_over(2, 2, "chuyen.vien", 0.25)).status_code == 200

    async def step_late() -> list[DossierEvent]:
        return [e for e in await events(session_factory, code) if e.kind == "step_late"]

    late = await eventually(step_late)
    assert late[0].detail["step"] == 2
    assert late[0].detail["holder"] == "chuyen.vien"

    async def told() -> list[dict[str, Any]]:
        sent = [m for m in await zalo_messages(fake_zalo) if "QUÁ HẠN BƯỚC XỬ LÝ" in str(m.get("text", ""))]
        return sent if len(sent) >= 2 else []

    messages = await eventually(told)
    assert sorted(m["user_id"] for m in messages if code in m["text"]) == ["head-1", "officer-1"]
    assert all("Bước 2: Thẩm định hồ sơ" in m["text"] and "chuyen.vien" in m["text"] for m in messages)

    # Refused hand-overs change nothing: a step the procedure lacks, a step out of order, an officer of
    # another agency, an unknown officer, a bad body.
    before = await events(session_factory, code)
    unknown = await hand_over(10, 9, "lanh.dao", 3)
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["type"].endswith(":unknown-step")
    out_of_order = await hand_over(11, 4, "lanh.dao", 3)
    assert out_of_order.status_code == 409, out_of_order.text
    assert out_of_order.json()["type"].endswith(":step-out-of-order")
    back = await hand_over(12, 1, "lanh.dao", 3)
    assert back.status_code == 409
    other = await hand_over(13, 3, "khac.coquan", 3)
    assert other.status_code == 403, other.text
    assert other.json()["type"].endswith(":officer-of-another-agency")
    nobody = await hand_over(14, 3, "khong.co.ai", 3)
    assert nobody.status_code == 422
    bad = await http.post(f"{base}/handover", json={"event_id": "ho-15", "step": 3}, headers=tthc)
    assert bad.status_code == 422
    assert [(e.seq, e.kind) for e in await events(session_factory, code)] == [(e.seq, e.kind) for e in before]

    assert (await hand_over(3, 3, "lanh.dao", 4)).status_code == 200
    # The same hand-over again (the TTHC system's retry) changes nothing.
    again = await hand_over(3, 3, "lanh.dao", 4)
    assert again.status_code == 200
    assert len(await events(session_factory, code)) == len(before) + 1

    # The officer desk: who holds the dossier now, the step and its deadline.
    desk = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://pages.test")
    async with desk:
        await sign_in(desk, "mot.cua")
        page = await desk.get(f"/can-bo/ho-so/{code}")
        assert page.status_code == 200
        shown = text_of(page.text)
        assert "Bước 3/4: Phê duyệt · người giữ hồ sơ lanh.dao (Cán bộ lanh.dao)" in shown
        assert f'href="/can-bo/ho-so/{code}/phieu-kiem-soat"' in page.text
        # A fee is due while the head holds it: the work list shows the holder and the step's deadline.
        fee = await http.post(
            f"{base}/fee",
            json={
                "event_id": "phi",
                "at": t(4.1).isoformat(),
                "items": [{"name": "Lệ phí", "amount_vnd": 50000}],
            },
            headers=tthc,
        )
        assert fee.status_code == 200, fee.text
        listed = text_of((await desk.get("/can-bo/danh-sach/cho-nop-phi")).text)
        step_due = vn_datetime(
            next(e for e in await events(session_factory, code) if e.seq == 5).detail["step_due_at"]
        )
        assert f"{code} " in listed
        assert f"lanh.dao Bước 3/4 · Phê duyệt hạn {step_due}" in listed
    paid = await http.post(
        f"{base}/payment",
        json={"transaction_id": "VNP-STEPS-1", "amount_vnd": 50000, "at": t(4.2).isoformat()},
        headers=tthc,
    )
    assert paid.status_code == 200, paid.text
    assert (await hand_over(4, 4, "mot.cua", 4.5)).status_code == 200
    done = await http.post(
        f"{base}/result",
        json={"event_id": "kq", "at": t(4.75).isoformat(), "pickup": {"place": "Quầy số 3"}},
        headers=tthc,
    )
    assert done.status_code == 200, done.text
    returned = await http.post(
        f"{base}/return", json={"event_id": "tra", "at": t(5).isoformat(), "to": "Chủ hồ sơ"}, headers=tthc
    )
    assert returned.status_code == 200, returned.text

    timeline = await events(session_factory, code)
    # The fee was asked about two working days ago (legal time), so its day-1 reminder is due at once and
    # may land before the payment does: it is the fee's timer, not this test's subject.
    kinds = [e.kind for e in timeline if e.kind != "fee_reminder"]
    assert kinds == [
        "received",
        "handover",
        "handover",
        "step_late",
        "handover",
        "fee_requested",
        "payment_received",
        "handover",
        "result_ready",
        "returned",
    ]
    closed = [e.detail["closed"] for e in timeline if "closed" in e.detail]
    assert [(c["step"], c["holder"], c["outcome"]) for c in closed] == [
        (1, "mot.cua", StepOutcome.EARLY),
        (2, "chuyen.vien", StepOutcome.LATE),
        (3, "lanh.dao", StepOutcome.EARLY),
        (4, "mot.cua", StepOutcome.EARLY),
    ]
    handovers = [e.detail for e in timeline if e.kind == "handover"]
    assert [(h["step"], h["from"], h["holder"]) for h in handovers] == [
        (1, None, "mot.cua"),
        (2, "mot.cua", "chuyen.vien"),
        (3, "chuyen.vien", "lanh.dao"),
        (4, "lanh.dao", "mot.cua"),
    ]
    # Once: the late step's notice went to its holder and their head, and to nobody again.
    messages = [m for m in await zalo_messages(fake_zalo) if "QUÁ HẠN BƯỚC XỬ LÝ" in str(m.get("text", ""))]
    assert len(messages) == 2
    async with session_factory() as session:
        row = await session.get(Dossier, code)
    assert row is not None
    assert row.detail["late_steps"] == [2]
    assert row.detail["step"] is None

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pages.test"
    ) as desk:
        await sign_in(desk, "mot.cua")
        # The process-control sheet (Mẫu 06), in HTML and PDF: every hand-over, early/on time/late.
        sheet = await desk.get(f"/can-bo/ho-so/{code}/phieu-kiem-soat")
        assert sheet.status_code == 200
        html = text_of(sheet.text)
        assert "Mẫu số 06" in html
        assert "Phiếu kiểm soát quá trình giải quyết hồ sơ" in html
        for step in STEPS:
            assert step["name"] in html
        outcomes = re.findall(r"(Trước hạn|Đúng hạn|Quá hạn) kết thúc", html)
        assert outcomes == ["Trước hạn", "Quá hạn", "Trước hạn", "Trước hạn"]
        assert "Giao: Cán bộ mot.cua (mot.cua) Nhận: Cán bộ chuyen.vien (chuyen.vien)" in html
        assert "Đã báo người giữ hồ sơ và lãnh đạo khi quá hạn bước" in html
        pdf = await desk.get(f"/can-bo/ho-so/{code}/phieu-kiem-soat.pdf")
        assert pdf.status_code == 200
        assert pdf.headers["content-type"] == "application/pdf"
        text = " ".join(
            " ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf.content)).pages
        )
        assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text.upper()
        for step in STEPS:
            assert step["name"] in text
        assert text.count("Quá hạn") == 1
        assert text.count("Trước hạn") == 3

        # The statistics page: on time and late by step and by procedure.
        figures = await desk.get("/can-bo/thong-ke")
        assert figures.status_code == 200
        by_step = text_of(figures.text)
        for n, step in enumerate(STEPS, start=1):
            late = 1 if n == 2 else 0
            rate = "0%" if late else "100%"
            early = 0 if late else 1
            assert f"{n}. {step['name']} {early} 0 {late} {rate}" in by_step

    # Another agency's officer sees no sheet of this dossier (the same 404 as no dossier).
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://pages.test"
    ) as other:
        await sign_in(other, "khac.coquan")
        assert (await other.get(f"/can-bo/ho-so/{code}/phieu-kiem-soat")).status_code == 404
        assert (await other.get(f"/can-bo/ho-so/{code}/phieu-kiem-soat.pdf")).status_code == 404


def text_of(html: str) -> str:
    """The page's text, tags dropped and white space folded (what a reader sees, in order)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
