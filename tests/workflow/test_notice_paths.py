"""Every notice kind on every branch that produces it, as the real workflow produces it.

Dossiers are driven the ways they are in production: the TTHC system's JSON routes, the national
portal's sync, the payment platform's signed callback and the officer desk's forms; the timers
(reminders, overdue, escalation, fee and pick-up reminders) run on the time-skipping server. Each notice
row the record activity wrote is then checked as the fake Zalo received it: sent, in Vietnamese a citizen
or an officer can read, naming the agency from the directory, with no raw identifier of the code.

The run writes `test-artifacts/notice-gallery.md`: every notice as the fake Zalo received it.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.desk import ListKind
from db.engine import SessionFactory
from db.models import Notice
from db.procedures import load_catalogue
from domain import vocabulary, zns_templates
from domain.dvcqg import format_portal_time
from domain.notices import Audience, NoticeChannel, NoticeKind, NoticeStatus, OfficerRole
from domain.procedures import check_catalogue
from domain.timefmt import to_office
from domain.vocabulary import vn_datetime
from settings import Settings
from tests.conftest import eventually, zalo_messages
from tests.support.builders import Moments, due_after, new_code
from tests.support.journal import tthc_clients
from tests.support.pages import act, hidden, seed_officer, sign_in
from tests.support.text_scan import raw_identifiers, visible_text

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "test-artifacts" / "notice-gallery.md"
PAYMENT_SECRET = "change-me"  # the settings fixture's PAYMENT_SECRET (the local default)
GLUED = re.compile(r"\)[^\W\d_]")  # "(H21.65)Hạn trả": a template lost a line break
DONE = {NoticeStatus.SENT.value, NoticeStatus.DELIVERED.value}
CATALOGUE_ENTRY: dict[str, Any] = {
    "code": "1.004415",
    "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "level": "huyện",
    "agency_kinds": ["UBND cấp huyện"],
    "working_days": 15,
    "fees": [],
    "documents": ["Đơn đề nghị cấp giấy phép xây dựng"],
}
STEPS_PROCEDURE = "local.xaydung.gpxd-theo-buoc"
RESUMES_PROCEDURE = "local.xaydung.gpxd-tinh-tiep"  # the count resumes when the supplement arrives


@dataclass
class Run:
    """The clients of one run and what it drove: each dossier's code with the branches it went through."""

    api: httpx.AsyncClient  # the TTHC system (an H21.65 key), on the ordinary server
    timed: httpx.AsyncClient  # the same, on the time-skipping server
    desk: httpx.AsyncClient  # an officer of H21.65, signed in
    csrf: str
    env: WorkflowEnvironment  # the time-skipping one
    zalo: httpx.AsyncClient  # the fake Zalo: what citizens' phones received
    paths: dict[str, str] = field(default_factory=dict)  # code -> what this dossier is for

    async def register(
        self,
        client: httpx.AsyncClient,
        path: str,
        procedure: str = "1.004415",
        *,
        submitted: bool = False,
    ) -> tuple[str, Moments]:
        t, code = Moments(), new_code()
        body = {
            "code": code,
            "procedure": {
                "code": procedure,
                "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
                "working_days": 15,
            },
            "agency_code": "H21.65",
            "applicant": {"name": "Nguyễn Văn An", "phone": "0905 123 456", "zalo_user_id": None},
            "received_at": t(0).isoformat(),
            "channel": "online",
        }
        if submitted:  # submitted online, waiting for the desk's check
            body["submitted"] = True
        response = await client.post("/api/v1/dossiers", json=body)
        assert response.status_code == 201, response.text
        self.paths[code] = path
        return code, t

    async def step(
        self, code: str, route: str, body: dict[str, Any], client: httpx.AsyncClient | None = None
    ) -> None:
        response = await (client or self.api).post(f"/api/v1/dossiers/{code}/{route}", json=body)
        assert response.status_code == 200, (route, response.text)

    async def callback(self, code: str, amount: int, transaction: str) -> None:
        """The payment platform's signed callback (MaXacThuc = SHA-256 of the fields and the secret)."""
        signed = f"00|{code}|{amount}|{transaction}|{PAYMENT_SECRET}"
        body = {
            "MaLoi": "00",
            "MaThamChieu": code,
            "SoTien": amount,
            "MaGiaoDich": transaction,
            "MaXacThuc": hashlib.sha256(signed.encode()).hexdigest(),
        }
        response = await self.api.post("/webhooks/payments", json=body)
        assert response.status_code == 200, response.text


@pytest.fixture
async def run(
    workflow_env: WorkflowEnvironment,
    time_skipping_env: WorkflowEnvironment,
    worker: Worker,
    time_skipping_worker: Worker,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> AsyncIterator[Run]:
    async with tthc_clients(settings, session_factory, workflow_env, time_skipping_env) as tthc:
        async with session_factory() as session:
            # The catalogue: the run's procedure as registered, and one with internal steps.
            entries = check_catalogue(
                {
                    "procedures": [
                        CATALOGUE_ENTRY,
                        CATALOGUE_ENTRY | {"code": RESUMES_PROCEDURE, "supplement": {"restart_count": False}},
                        CATALOGUE_ENTRY
                        | {
                            "code": STEPS_PROCEDURE,
                            "steps": [
                                {"name": "Tiếp nhận, kiểm tra hồ sơ", "unit": "Bộ phận Một cửa", "hours": 60},
                                {"name": "Thẩm định hồ sơ", "unit": "Phòng Kinh tế - Hạ tầng", "hours": 16},
                            ],
                        },
                    ]
                }
            )
            await load_catalogue(session, entries, loaded_by="test")
        await seed_officer(session_factory, agencies=["H21.65"])
        # The officer desk, on the same app as the TTHC system's client.
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=tthc.app), base_url="http://a.test"
        ) as desk:
            yield Run(tthc.api, tthc.timed, desk, await sign_in(desk), time_skipping_env, fake_zalo)


async def drive_every_path(r: Run) -> None:
    """Each dossier takes the branches named in its path; together they produce every kind of notice."""
    # The TTHC system's whole path, result to pick up: a supplement restarts the count; the fee is paid in
    # two parts, the first through our API (short), the rest by the payment platform's callback.
    code, t = await r.register(r.api, "API: supplement, fee paid in two parts (API, then platform), pick-up")
    await r.step(
        code,
        "supplement-request",
        {
            "event_id": "e1",
            "at": t(0.5).isoformat(),
            "items": ["Bản vẽ mặt bằng tầng 1 (02 bản)", "Bản sao Giấy chứng nhận quyền sử dụng đất"],
            "note": "Nộp tại quầy số 3",
        },
    )
    await r.step(code, "supplement", {"event_id": "e2", "at": t(1).isoformat()})
    fee = {
        "event_id": "e3",
        "at": t(2).isoformat(),
        "items": [
            {"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 75000},
            {"name": "Phí thẩm định", "amount_vnd": 1175000},
        ],
        "pay_url": "https://thanhtoan.gialai.gov.vn/p/abc",
        "pay_within_days": 5,
    }
    await r.step(code, "fee", fee)
    await r.step(
        code,
        "payment",
        {"transaction_id": "VNP-20261125-1001", "amount_vnd": 250000, "at": t(2.25).isoformat()},
    )
    await r.callback(code, 1_000_000, "PAY-20261125-1002")
    await r.step(
        code,
        "result",
        {
            "event_id": "e4",
            "at": t(3).isoformat(),
            "pickup": {
                "place": "Quầy số 3, Bộ phận Một cửa UBND huyện Chư Păh",
                "note": "Mang theo căn cước bản gốc",
            },
        },
    )
    await r.step(code, "return", {"event_id": "e5", "at": t(4).isoformat(), "to": "Nguyễn Văn An"})
    # Returned: the rating invite; rated low from its link, which tells the agency head.
    await rate_from_the_invite(r, code, score=1)

    # The officer desk: the fee paid at the counter with a receipt, the result sent by post.
    code, t = await r.register(r.api, "Desk: fee paid at the counter, result by post")
    await r.step(
        code,
        "fee",
        {"event_id": "e1", "at": t(1).isoformat(), "items": [{"name": "Lệ phí", "amount_vnd": 150000}]},
    )
    await act(r.desk, r.csrf, code, "xac-nhan-nop-phi", receipt="BL-0042", amount="150000", at=_form(t(1.5)))
    await act(
        r.desk,
        r.csrf,
        code,
        "co-ket-qua",
        how="delivery",
        place="",
        address="12 Hùng Vương, thị trấn Phú Hòa, Chư Păh",
        note="",
        at=_form(t(2)),
    )

    # The TTHC system again: the fee paid in full through the API, the result by post to an address.
    code, t = await r.register(r.api, "API: fee paid in full, result by post to an address")
    await r.step(
        code,
        "fee",
        {"event_id": "e1", "at": t(1).isoformat(), "items": [{"name": "Lệ phí", "amount_vnd": 200000}]},
    )
    await r.step(
        code,
        "payment",
        {"transaction_id": "VNP-20261125-3001", "amount_vnd": 200000, "at": t(1.5).isoformat()},
    )
    await r.step(
        code,
        "result",
        {
            "event_id": "e2",
            "at": t(2).isoformat(),
            "delivery": {
                "address": "45 Lê Lợi, xã Ia Ly, Gia Lai",
                "note": "Bưu điện giao trong 03 ngày làm việc",
            },
        },
    )

    # Money for a dossier that owes nothing, an apology before the due time, then a refusal after review.
    code, t = await r.register(
        r.api, "Platform payment owing nothing; apology (Mẫu 04); rejection after examination"
    )
    await r.callback(code, 50000, "PAY-20261125-2001")
    new_due = due_after(t(0)) + timedelta(days=7)
    await r.step(
        code,
        "apology",
        {
            "event_id": "e1",
            "at": t(1).isoformat(),
            "new_due_at": new_due.isoformat(),
            "reason": "Cần lấy ý kiến của cơ quan quản lý đê điều",
        },
    )
    await r.step(
        code,
        "rejection",
        {
            "event_id": "e2",
            "at": t(2).isoformat(),
            "reason": "Thửa đất nằm trong hành lang an toàn giao thông",
        },
    )

    # The national portal: one dossier received then refused at reception (TrangThaiHoSo 3), one
    # registered by the sync itself and done with its result sent by post (9, HinhThuc 1).
    for status, path, fields in (
        (
            "3",
            "DVCQG sync: refusal at reception (TrangThaiHoSo 3, Mẫu 03)",
            {"GhiChu": "Hồ sơ không thuộc thẩm quyền giải quyết của huyện", "NgayTuChoi": 1},
        ),
        (
            "9",
            "DVCQG sync: registered by the sync, result by post (TrangThaiHoSo 9, HinhThuc 1)",
            {"HinhThuc": "1", "ThongTinTra": "Gửi qua Bưu điện huyện Chư Păh", "NgayKetThucXuLy": 1},
        ),
    ):
        t, code = Moments(), new_code()
        portal = {
            "MaHoSo": code,
            "MaTTHC": "1.004415",
            "TenTTHC": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
            "KenhThucHien": "2",
            "ChuHoSo": "Nguyễn Văn An",
            "SoDienThoai": "0905123456",
            "NgayTiepNhan": _portal(t(0)),
            "NgayHenTra": _portal(due_after(t(0))),
            "TrangThaiHoSo": "2",
        }
        first = await r.api.post("/api/v1/dvcqg/sync", json=portal)
        assert first.status_code == 201, first.text
        later = {k: _portal(t(v)) if isinstance(v, int) else v for k, v in fields.items()}
        synced = await r.api.post("/api/v1/dvcqg/sync", json=portal | {"TrangThaiHoSo": status} | later)
        assert synced.status_code == 200, synced.text
        r.paths[code] = path

    # Internal steps: the dossier is handed to the reception step, then to a review step whose 16 working
    # hours ran out long ago: its holder (the handling officer's rung) and their head are told, once.
    code, t = await r.register(r.api, "Steps: a step handed over past its deadline", STEPS_PROCEDURE)
    for n, at in ((1, 0), (2, 0.25)):
        await r.step(
            code, "handover", {"event_id": f"h{n}", "at": t(at).isoformat(), "step": n, "officer": "lan.nt"}
        )

    # A procedure whose count resumes: the supplement moves the due date by the time it was awaited.
    code, t = await r.register(r.api, "Supplement of a procedure whose count resumes", RESUMES_PROCEDURE)
    await r.step(
        code,
        "supplement-request",
        {"event_id": "e1", "at": t(0.5).isoformat(), "items": ["Bản vẽ mặt cắt công trình"]},
    )
    await r.step(code, "supplement", {"event_id": "e2", "at": t(1.5).isoformat()})

    # Withdrawals, with and without a reason; the one by the desk.
    code, t = await r.register(r.api, "Withdrawal with a reason (API)")
    await r.step(
        code,
        "withdrawal",
        {"event_id": "e1", "at": t(1).isoformat(), "reason": "Công dân đề nghị rút để điều chỉnh thiết kế"},
    )
    code, t = await r.register(r.api, "Withdrawal without a reason (desk)")
    await act(r.desk, r.csrf, code, "rut-ho-so", reason="", at=_form(t(1)))

    # Online submissions: a supplement asked at the desk's check, before reception (the count never
    # started); a check left too long, on the time-skipping server: the desk's reminder, then overdue.
    code, t = await r.register(r.api, "Online submission: supplement before reception", submitted=True)
    await r.step(
        code,
        "supplement-request",
        {"event_id": "e1", "at": t(0.25).isoformat(), "items": ["Tờ khai có chữ ký của người nộp"]},
    )
    with r.env.with_time_skipping_disabled():
        code, t = await r.register(
            r.timed, "Timers: online submission's check reminder, then check overdue", submitted=True
        )
    await r.env.fast_forward(r.env.client.get_workflow_handle(f"dossier-{code}"), timedelta(days=5))

    # A supplement never supplied, on the time-skipping server: the citizen's two reminders, then the
    # dossier stops (the citizen and the handling officer told).
    with r.env.with_time_skipping_disabled():
        code, t = await r.register(r.timed, "Timers: supplement reminders 1 and 2, then stopped")
        await r.step(
            code,
            "supplement-request",
            {"event_id": "e1", "at": t(5).isoformat(), "items": ["Bản vẽ mặt bằng móng"]},
            client=r.timed,
        )
    await r.env.fast_forward(r.env.client.get_workflow_handle(f"dossier-{code}"), timedelta(days=60))

    # The timers, days ahead, on the time-skipping server: reminder, overdue (level 1), escalation (level 2).
    await r.register(
        r.timed, "Timers: due soon, overdue to the department head, escalation to the agency head"
    )
    # Fee reminders, then the officer's alert that it went unpaid.
    with r.env.with_time_skipping_disabled():
        code, t = await r.register(r.timed, "Timers: fee reminders 1 and 2, fee unpaid")
    await r.step(
        code,
        "fee",
        {
            "event_id": "e1",
            "at": t(5).isoformat(),
            "items": [{"name": "Lệ phí", "amount_vnd": 300000}],
            "pay_within_days": 5,
        },
        client=r.timed,
    )
    await r.env.fast_forward(r.env.client.get_workflow_handle(f"dossier-{code}"), timedelta(days=30))
    # A result not collected: the pick-up reminder.
    with r.env.with_time_skipping_disabled():
        code, t = await r.register(r.timed, "Timers: pick-up reminder")
    await r.step(
        code,
        "result",
        {"event_id": "e1", "at": t(5).isoformat(), "pickup": {"place": "Quầy số 3"}},
        client=r.timed,
    )
    await r.env.fast_forward(r.env.client.get_workflow_handle(f"dossier-{code}"), timedelta(days=20))


async def rate_from_the_invite(r: Run, code: str, score: int) -> None:
    """The citizen taps the rating button of the invite their phone received, and rates."""
    template = zns_templates.TEMPLATES[K.RATING_INVITE.value]

    async def invite() -> str | None:
        for message in await zalo_messages(r.zalo):
            data = message.get("template_data") or {}
            if data.get("dossier_code") == code and "rating_token" in data:
                return template.button_path.replace("<rating_token>", data["rating_token"])
        return None

    link = await eventually(invite)
    form = await r.desk.get(link)
    assert form.status_code == 200, form.text
    sent = await r.desk.post(link, data={"form_token": hidden(form.text, "form_token"), "score": str(score)})
    assert sent.status_code == 303, sent.text


def _form(at: datetime) -> str:
    return to_office(at).strftime("%Y-%m-%dT%H:%M")


def _portal(at: datetime) -> str:
    return format_portal_time(at)


# ---------------------------------------------------------------- what the run must have produced


def branch(row: Notice) -> str:
    """Which branch of its kind produced the row, read from the context the workflow gave it."""
    c = row.context
    match NoticeKind(row.kind):
        case NoticeKind.RESULT_READY | NoticeKind.PICKUP_REMINDER if c.get("pickup"):
            return "pickup"
        case NoticeKind.RESULT_READY:
            return "post, to an address" if c["delivery"]["address"] else "post"
        case NoticeKind.PAYMENT_CONFIRMED:
            return {"VNP": "API", "PAY": "payment platform", "quay": "desk"}[
                re.split(r"[-:]", c["transaction_id"])[0]
            ]
        case NoticeKind.PAYMENT_MISMATCH:
            return "underpaid" if "total_vnd" in c else "owing nothing"
        case NoticeKind.OVERDUE | NoticeKind.ESCALATION:
            return f"level {c['level']}, {c['role']}"
        case NoticeKind.STEP_LATE:
            return str(c["role"])
        case NoticeKind.FEE_REMINDER | NoticeKind.SUPPLEMENT_REMINDER:
            return f"reminder {c['reminder_no']}"
        case NoticeKind.SUPPLEMENT_REQUIRED if c.get("before_reception"):
            return "before reception"
        case NoticeKind.WITHDRAWN:
            return "with a reason" if c.get("reason") else "without a reason"
        case _:
            return ""


K = NoticeKind
EXPECTED = {
    (K.RECEIVED, ""),
    (K.SUPPLEMENT_REQUIRED, ""),
    (K.SUPPLEMENT_REQUIRED, "before reception"),
    (K.SUPPLEMENT_RECEIVED, ""),
    (K.FEE_DUE, ""),
    (K.FEE_REMINDER, "reminder 1"),
    (K.FEE_REMINDER, "reminder 2"),
    (K.PAYMENT_CONFIRMED, "API"),
    (K.PAYMENT_CONFIRMED, "payment platform"),
    (K.PAYMENT_CONFIRMED, "desk"),
    (K.RESULT_READY, "pickup"),
    (K.RESULT_READY, "post"),
    (K.RESULT_READY, "post, to an address"),
    (K.PICKUP_REMINDER, "pickup"),
    (K.REJECTED, ""),
    (K.RECEPTION_REFUSED, ""),
    (K.APOLOGY, ""),
    (K.WITHDRAWN, "with a reason"),
    (K.WITHDRAWN, "without a reason"),
    (K.DUE_SOON, ""),
    (K.OVERDUE, "level 1, department_head"),
    (K.ESCALATION, "level 2, agency_head"),
    (K.FEE_UNPAID, ""),
    (K.PAYMENT_MISMATCH, "underpaid"),
    (K.PAYMENT_MISMATCH, "owing nothing"),
    (K.RATING_INVITE, ""),
    (K.LOW_RATING, ""),
    (K.STEP_LATE, "officer"),
    (K.STEP_LATE, "department_head"),
    (K.CHECK_DUE_SOON, ""),
    (K.CHECK_OVERDUE, ""),
    (K.SUPPLEMENT_RESUMED, ""),
    (K.SUPPLEMENT_REMINDER, "reminder 1"),
    (K.SUPPLEMENT_REMINDER, "reminder 2"),
    (K.STOPPED, ""),
    (K.SUPPLEMENT_LAPSED, ""),
}


def test_the_paths_cover_every_kind_of_notice() -> None:
    """A new kind of notice fails here until a path of this module produces it."""
    assert {kind for kind, _ in EXPECTED} == set(NoticeKind)


async def rows_of(session_factory: SessionFactory, codes: list[str]) -> list[Notice]:
    async with session_factory() as session:
        found = await session.exec(
            select(Notice).where(col(Notice.dossier_code).in_(codes)).order_by(col(Notice.id))
        )
        return list(found.all())


async def test_every_notice_kind_on_every_branch(
    run: Run, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    await drive_every_path(run)
    codes = list(run.paths)

    async def all_sent() -> bool:
        rows = await rows_of(session_factory, codes)
        produced = {(NoticeKind(row.kind), branch(row)) for row in rows}
        return produced >= EXPECTED and all(
            row.status in DONE or row.status.startswith("failed") for row in rows
        )

    with contextlib.suppress(AssertionError):  # the assertions below say what is missing
        await eventually(all_sent, seconds=60)
    rows = await rows_of(session_factory, codes)
    assert EXPECTED - {(NoticeKind(row.kind), branch(row)) for row in rows} == set()
    assert {(NoticeKind(row.kind), branch(row)) for row in rows} == EXPECTED
    assert [(row.kind, row.status, row.last_error) for row in rows if row.status not in DONE] == []

    journal = {m["message_id"]: m for m in await zalo_messages(fake_zalo)}
    received = {row.key: journal[row.zalo_message_id]["text"] for row in rows if row.zalo_message_id}
    assert len(received) == len(rows)  # every row reached Zalo, once
    for row in rows:
        shown = received[row.key]
        assert row.text is not None
        for text in (row.text, shown):
            assert raw_identifiers(text) == [], (row.kind, branch(row), text)
            assert not GLUED.search(text), (row.kind, text)  # two lines run together
            assert "UBND huyện Chư Păh" in text, (row.kind, text)
        if row.audience == Audience.CITIZEN:
            assert "0269 3845 123" in row.text  # the agency's hotline, from the directory
            message = journal[row.zalo_message_id]
            if message["channel"] == "zns":
                assert set(message["template_data"]) == set(row.zns_params or {})
                assert not {"True", "False", "None", ""} & set(message["template_data"].values())

    by_kind = {(NoticeKind(row.kind), branch(row)): row for row in rows}
    supplement = by_kind[(K.SUPPLEMENT_RECEIVED, "")]
    assert "đã nhận đủ hồ sơ bổ sung" in supplement.text  # type: ignore[operator]
    assert f"Ngày hẹn trả kết quả mới: {vn_datetime(supplement.context['due_at'])}" in supplement.text  # type: ignore[operator]
    assert [row.kind for row in rows if row.dossier_code == supplement.dossier_code].count("received") == 1
    apology = by_kind[(K.APOLOGY, "")].text or ""
    assert "không thể trả kết quả đúng ngày hẹn" in apology
    assert "Cần lấy ý kiến của cơ quan quản lý đê điều" in apology
    assert "Mẫu số 04" in apology
    assert "Mẫu số 03" in (by_kind[(K.RECEPTION_REFUSED, "")].text or "")
    assert "Hồ sơ không thuộc thẩm quyền giải quyết của huyện" in (
        by_kind[(K.RECEPTION_REFUSED, "")].text or ""
    )
    assert "sau khi xem xét" in (by_kind[(K.REJECTED, "")].text or "")
    assert "45 Lê Lợi, xã Ia Ly, Gia Lai" in (by_kind[(K.RESULT_READY, "post, to an address")].text or "")
    assert "bưu chính" in (by_kind[(K.RESULT_READY, "post")].text or "")
    assert vocabulary.ROLES[OfficerRole.DEPARTMENT_HEAD] in (
        by_kind[(K.OVERDUE, "level 1, department_head")].text or ""
    )
    assert vocabulary.ROLES[OfficerRole.AGENCY_HEAD] in (
        by_kind[(K.ESCALATION, "level 2, agency_head")].text or ""
    )
    assert "Số biên lai: BL-0042" in (by_kind[(K.PAYMENT_CONFIRMED, "desk")].text or "")

    write_gallery(run, rows, received, journal)
    await every_page_reads_in_vietnamese(run)


async def every_page_reads_in_vietnamese(r: Run) -> None:
    """The officer's and the citizen's pages over the dossiers of the run: no raw identifier shows."""
    pages = [
        "/can-bo",
        "/can-bo/thong-ke",
        "/tra-cuu",
        *(f"/can-bo/danh-sach/{kind.value}" for kind in ListKind),
    ]
    for code in r.paths:
        pages += [f"/can-bo/ho-so/{code}", f"/tra-cuu?code={code}&phone_last4=3456"]
        dossier = await r.desk.get(f"/can-bo/ho-so/{code}")
        pages += sorted(
            set(re.findall(rf'href="(/can-bo/ho-so/{re.escape(code)}/xu-ly/[a-z\-]+)"', dossier.text))
        )
    pages += ["/can-bo/ho-so/H21.65-261123-9999", "/khong-co-trang-nay"]  # not found, in Vietnamese too
    found = {}
    for page in pages:
        response = await r.desk.get(page, headers={"Accept": "text/html"})  # as a browser asks
        assert response.status_code in (200, 404), (page, response.status_code)
        words = raw_identifiers(visible_text(response.text))
        if words:
            found[page] = words
    assert found == {}


def write_gallery(run: Run, rows: list[Notice], received: dict[str, str], journal: dict[str, Any]) -> None:
    """Every notice as the fake Zalo received it, by dossier, for people to read (CI keeps it)."""
    lines = [
        "# Every notice, as the fake Zalo received it",
        "",
        "Written by tests/workflow/test_notice_paths.py.",
        "",
    ]
    for code, path in run.paths.items():
        lines += [f"## {path}", "", f"Dossier `{code}`", ""]
        for row in (r for r in rows if r.dossier_code == code):
            message = journal[row.zalo_message_id]
            to = vocabulary.AUDIENCES[Audience(row.audience)]
            if row.audience == Audience.OFFICER:
                to += f" ({vocabulary.ROLES[OfficerRole(row.context.get('role', 'officer'))]})"
            via = vocabulary.CHANNELS[NoticeChannel(message["channel"])]
            title = vocabulary.NOTICE_KINDS[NoticeKind(row.kind)]
            lines += [
                f"### {title} — `{row.kind}`{' — ' + branch(row) if branch(row) else ''}",
                "",
                f"To: {to}; via {via}",
                "",
            ]
            lines += ["```", received[row.key], "```", ""]
            if message["channel"] == NoticeChannel.ZNS:
                lines += ["<details><summary>Văn bản đầy đủ (tin OA, khi công dân quan tâm OA)</summary>", ""]
                lines += ["```", row.text or "", "```", "", "</details>", ""]
    GALLERY.parent.mkdir(exist_ok=True)
    GALLERY.write_text("\n".join(lines), encoding="utf-8")
