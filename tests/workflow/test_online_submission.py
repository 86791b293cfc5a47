"""Online submission before reception (`submitted`), on the real path: the TTHC system's JSON routes and
the national portal's sync → the real Temporal dev server (time-skipping where the check's timers matter)
→ the database → the fake Zalo's journal.

A dossier submitted online waits for the one-stop desk's check with no legal clock and no due date; the
desk receives it (the count starts then, the receipt notice gives the appointment), asks for a supplement
before reception (it counts as the one request; the supplement goes back to the check), or refuses it
(Mẫu 03, final, DVCQG 3). A check left too long reminds the desk, then flags the dossier overdue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.engine import SessionFactory
from db.models import Notice
from db.procedures import load_catalogue, read_catalogue
from domain import limits
from domain.dvcqg import format_portal_time
from domain.notices import NoticeKind
from domain.timefmt import to_office
from domain.vocabulary import vn_datetime
from settings import Settings
from tests.conftest import eventually
from tests.support.api import registration
from tests.support.builders import CALENDAR, due_after, new_code
from tests.support.journal import ok, post, sent_text, tthc_clients
from tests.support.pages import act, seed_officer, sign_in

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CATALOGUE = ROOT / "deploy" / "procedures.sample.json"
CHECK = timedelta(hours=limits.ONLINE_CHECK_WORKING_HOURS)


@dataclass
class Clients:
    api: httpx.AsyncClient  # the TTHC system (an H21.65 key), on the ordinary dev server
    timed: httpx.AsyncClient  # the same, on the time-skipping dev server
    desk: httpx.AsyncClient  # an officer of H21.65, signed in
    csrf: str
    env: WorkflowEnvironment  # the time-skipping one


@pytest.fixture
async def clients(
    workflow_env: WorkflowEnvironment,
    time_skipping_env: WorkflowEnvironment,
    worker: Worker,
    time_skipping_worker: Worker,
    settings: Settings,
    session_factory: SessionFactory,
) -> AsyncIterator[Clients]:
    await seed_officer(session_factory, agencies=["H21.65"])
    async with (
        tthc_clients(settings, session_factory, workflow_env, time_skipping_env) as tthc,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=tthc.app), base_url="http://a.test") as desk,
    ):
        yield Clients(tthc.api, tthc.timed, desk, await sign_in(desk), time_skipping_env)


class Ticks:
    """Legal times just past (the API refuses times ahead of its clock), each a second after the last."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)

    def __call__(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


async def submit(client: httpx.AsyncClient, at: datetime, code: str | None = None) -> dict[str, Any]:
    body = registration(code or new_code(), received_at=at, submitted=True)
    response = await client.post("/api/v1/dossiers", json=body)
    assert response.status_code == 201, response.text
    again = await client.post("/api/v1/dossiers", json=body)  # the TTHC system's retry: the same dossier
    assert again.status_code == 200, again.text
    view: dict[str, Any] = response.json()
    assert again.json()["timeline"] == view["timeline"]
    return view


async def test_submitted_checked_in_time_received_with_its_appointment_then_one_supplement_only(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    now = Ticks()
    submitted_at = now()
    view = await submit(clients.api, submitted_at)
    code = view["code"]
    assert (view["status"], view["dvcqg_status"], view["due_at"]) == ("submitted", 1, None)
    check_due = CALENDAR.add_working_time(submitted_at, CHECK)
    assert datetime.fromisoformat(view["check_due_at"]) == check_due
    assert [(e["kind"], e["detail"]["check_due_at"]) for e in view["timeline"]] == [
        ("submitted", check_due.isoformat())
    ]
    assert view["notices"] == []  # the receipt waits for the desk

    received_at = now()
    view = await ok(clients.api, code, "reception", {"event_id": "r1", "at": received_at.isoformat()})
    due = due_after(received_at)  # the count starts at the desk's reception, not at the submission
    assert (view["status"], view["dvcqg_status"], view["check_due_at"]) == ("received", 2, None)
    assert datetime.fromisoformat(view["due_at"]) == due
    reception = view["timeline"][-1]
    assert reception["kind"] == "received"
    assert reception["detail"]["checked_in_time"] is True
    assert reception["detail"]["submitted_at"] == submitted_at.isoformat()
    [receipt] = await sent_text(session_factory, fake_zalo, code, NoticeKind.RECEIVED)
    assert code in receipt
    assert f"Ngày hẹn trả kết quả: {vn_datetime(due)}" in receipt
    # The same reception sent again changes nothing; a second one is not a transition from `received`.
    again = await ok(clients.api, code, "reception", {"event_id": "r1", "at": received_at.isoformat()})
    assert len(again["timeline"]) == 2
    refused = await post(clients.api, code, "reception", {"event_id": "r2", "at": received_at.isoformat()})
    assert refused.status_code == 409, refused.text

    asked = {"event_id": "s1", "at": now().isoformat(), "items": ["Bản vẽ"]}
    assert (await ok(clients.api, code, "supplement-request", asked))["status"] == "supplement_required"
    back = await ok(clients.api, code, "supplement", {"event_id": "s2", "at": now().isoformat()})
    assert back["status"] == "received"
    second = await post(
        clients.api, code, "supplement-request", asked | {"event_id": "s3", "at": now().isoformat()}
    )
    assert second.status_code == 409, second.text
    assert second.json()["type"].endswith("supplement-limit")
    final = (await clients.api.get(f"/api/v1/dossiers/{code}")).json()
    assert [e["kind"] for e in final["timeline"]] == [
        "submitted",
        "received",
        "supplement_requested",
        "supplement_received",
    ]


async def test_refused_at_reception_the_citizen_reads_the_reasons(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    now = Ticks()
    view = await submit(clients.api, now())
    code = view["code"]
    # Bad input is refused and changes nothing: no reason, and a result before reception.
    empty = await post(clients.api, code, "reception-refusal", {"event_id": "x1", "at": now().isoformat()})
    assert empty.status_code == 422, empty.text
    early = await post(
        clients.api,
        code,
        "result",
        {"event_id": "x2", "at": now().isoformat(), "pickup": {"place": "Quầy 3"}},
    )
    assert early.status_code == 409, early.text
    reason = "Thủ tục không thuộc thẩm quyền tiếp nhận của UBND huyện Chư Păh"
    view = await ok(
        clients.api, code, "reception-refusal", {"event_id": "x3", "at": now().isoformat(), "reason": reason}
    )
    assert (view["status"], view["dvcqg_status"], view["due_at"]) == ("rejected", 3, None)
    assert view["finished_at"] is not None
    assert [(e["kind"], e["detail"]) for e in view["timeline"]][1:] == [
        ("rejected", {"reason": reason, "at_reception": True})
    ]
    [text] = await sent_text(session_factory, fake_zalo, code, NoticeKind.RECEPTION_REFUSED)
    assert reason in text  # as the citizen got it (by ZNS: no Zalo account is linked to the phone)
    assert "từ chối tiếp nhận hồ sơ" in text
    late = await post(clients.api, code, "reception", {"event_id": "x4", "at": now().isoformat()})
    assert late.status_code == 409, late.text
    # Never received, so never due: the on-time figures leave it out (it is counted among the states).
    figures = (await clients.desk.get("/can-bo/thong-ke")).text
    assert "Chưa có hồ sơ nào kết thúc" in figures
    assert "100% (1/1)" not in figures


def portal(code: str, status: str, at: datetime, **fields: Any) -> dict[str, Any]:
    """The national portal's sync of an online submission (no appointment yet: no NgayHenTra)."""
    return {
        "MaHoSo": code,
        "MaTTHC": "local.hotich.khai-sinh",
        "TenTTHC": "Đăng ký khai sinh",
        "KenhThucHien": "2",
        "ChuHoSo": "Nguyễn Văn An",
        "SoDienThoai": "0905123456",
        "NgayTiepNhan": format_portal_time(at),
        "TrangThaiHoSo": status,
        **fields,
    }


async def test_the_portal_registers_submissions_it_never_saw_so_a_refusal_reaches_the_citizen(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    entries, about = read_catalogue(SAMPLE_CATALOGUE)
    async with session_factory() as session:
        await load_catalogue(session, entries, loaded_by="test", about=about)
    days = next(e.working_days for e in entries if e.code == "local.hotich.khai-sinh")

    # 3 for a dossier never seen: registered as a submission, then refused at reception.
    at = Ticks()().replace(second=0)
    refused_code, reason = new_code(), "Giấy tờ tải lên không đọc được"
    synced = await clients.api.post(
        "/api/v1/dvcqg/sync",
        json=portal(refused_code, "3", at, GhiChu=reason, NgayTuChoi=format_portal_time(at)),
    )
    assert synced.status_code == 201, synced.text
    assert synced.json()["applied"] == ["register_submitted", "refuse_reception"]
    dossier = synced.json()["dossier"]
    assert (dossier["status"], dossier["dvcqg_status"], dossier["channel"]) == ("rejected", 3, "online")
    [text] = await sent_text(session_factory, fake_zalo, refused_code, NoticeKind.RECEPTION_REFUSED)
    assert reason in text

    # 1 registers a submission (working days from the catalogue); 2 is then the desk's reception.
    code = new_code()
    first = await clients.api.post("/api/v1/dvcqg/sync", json=portal(code, "1", at))
    assert first.status_code == 201, first.text
    assert first.json()["applied"] == ["register_submitted"]
    assert (first.json()["dossier"]["status"], first.json()["dossier"]["procedure"]["working_days"]) == (
        "submitted",
        days,
    )
    resent = await clients.api.post("/api/v1/dvcqg/sync", json=portal(code, "1", at))
    assert (resent.status_code, resent.json()["applied"]) == (200, [])
    received_at = at + timedelta(seconds=1)
    accepted = await clients.api.post(
        "/api/v1/dvcqg/sync", json=portal(code, "2", at, ThoiDiemXuLy=format_portal_time(received_at))
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["applied"] == ["receive"]
    assert accepted.json()["dossier"]["status"] == "received"
    assert datetime.fromisoformat(accepted.json()["dossier"]["due_at"]) == due_after(received_at, days)


async def test_a_supplement_asked_before_reception_goes_back_to_the_check_and_counts_as_the_request(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    now = Ticks()
    view = await submit(clients.api, now())
    code = view["code"]
    asked_at = now()
    asked = {"event_id": "s1", "at": asked_at.isoformat(), "items": ["Tờ khai có chữ ký"]}
    view = await ok(clients.api, code, "supplement-request", asked)
    assert (view["status"], view["dvcqg_status"], view["due_at"]) == ("supplement_required", 5, None)
    [text] = await sent_text(session_factory, fake_zalo, code, NoticeKind.SUPPLEMENT_REQUIRED)
    assert "Tờ khai có chữ ký" in text  # as the citizen got it by ZNS (its registered text is fixed)
    # The OA text (for a citizen who follows the OA) says the count has not started.
    async with session_factory() as session:
        [row] = (await session.exec(select(Notice).where(Notice.dossier_code == code))).all()
    assert row.text is not None
    assert "Hồ sơ chưa được tiếp nhận" in row.text
    assert "tính lại từ đầu" not in row.text

    arrived_at = now()
    view = await ok(clients.api, code, "supplement", {"event_id": "s2", "at": arrived_at.isoformat()})
    assert (view["status"], view["dvcqg_status"], view["due_at"]) == ("submitted", 1, None)
    assert datetime.fromisoformat(view["check_due_at"]) == CALENDAR.add_working_time(arrived_at, CHECK)
    assert view["timeline"][-1]["detail"]["before_reception"] is True

    received_at = now()
    view = await ok(clients.api, code, "reception", {"event_id": "r1", "at": received_at.isoformat()})
    assert datetime.fromisoformat(view["due_at"]) == due_after(received_at)
    again = await post(
        clients.api, code, "supplement-request", asked | {"event_id": "s3", "at": now().isoformat()}
    )
    assert again.status_code == 409, again.text
    assert again.json()["type"].endswith("supplement-limit")


async def test_a_check_left_too_long_reminds_the_desk_then_flags_the_dossier_overdue(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    with clients.env.with_time_skipping_disabled():
        view = await submit(clients.timed, Ticks()())
    code = view["code"]
    check_due = datetime.fromisoformat(view["check_due_at"])
    handle = clients.env.client.get_workflow_handle(f"dossier-{code}")
    await clients.env.fast_forward(handle, timedelta(days=5))

    async def flagged() -> dict[str, Any] | None:
        found: dict[str, Any] = (await clients.api.get(f"/api/v1/dossiers/{code}")).json()
        return found if found["overdue"] else None

    view = await eventually(flagged, seconds=30)
    assert view["status"] == "submitted"
    assert [(e["kind"], e["by"]) for e in view["timeline"]] == [
        ("submitted", "tthc"),
        ("check_due_soon", "system"),
        ("check_overdue", "system"),
    ]
    reminder_at = CALENDAR.add_working_time(
        check_due, -timedelta(hours=limits.ONLINE_CHECK_REMINDER_WORKING_HOURS)
    )
    assert datetime.fromisoformat(view["timeline"][1]["at"]) == reminder_at
    assert datetime.fromisoformat(view["timeline"][2]["at"]) == check_due
    [reminder] = await sent_text(session_factory, fake_zalo, code, NoticeKind.CHECK_DUE_SOON)
    [late] = await sent_text(session_factory, fake_zalo, code, NoticeKind.CHECK_OVERDUE)
    assert f"Hạn kiểm tra: {vn_datetime(check_due)}" in reminder
    assert "đã quá hạn" in late

    # The desk: the machine API's overdue list and the officer's "quá hạn" list both show it.
    listed = (await clients.api.get("/api/v1/dossiers", params={"overdue": "true"})).json()
    assert code in [item["code"] for item in listed["items"]]
    page = await clients.desk.get("/can-bo/danh-sach/qua-han")
    assert page.status_code == 200
    assert code in page.text


def form_time(at: datetime) -> str:
    return to_office(at).strftime("%Y-%m-%dT%H:%M")


async def test_the_desk_receives_one_submission_and_refuses_another_with_its_forms(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    # Whole minutes: the desk's form takes hours and minutes.
    at = Ticks()().replace(second=0)
    received = (await submit(clients.api, at))["code"]
    page = await clients.desk.get(f"/can-bo/ho-so/{received}")
    assert page.status_code == 200
    assert "Tiếp nhận hồ sơ nộp trực tuyến" in page.text
    assert "Từ chối tiếp nhận hồ sơ (Mẫu 03" in page.text
    await act(clients.desk, clients.csrf, received, "tiep-nhan", note="", at=form_time(at))
    view = (await clients.api.get(f"/api/v1/dossiers/{received}")).json()
    assert view["status"] == "received"
    assert datetime.fromisoformat(view["due_at"]) == due_after(at)
    assert view["timeline"][-1]["by"] == "lan.nt"

    refused = (await submit(clients.api, at))["code"]
    reason = "Hồ sơ thiếu tờ khai theo mẫu"
    await act(clients.desk, clients.csrf, refused, "tu-choi-tiep-nhan", reason=reason, at=form_time(at))
    view = (await clients.api.get(f"/api/v1/dossiers/{refused}")).json()
    assert (view["status"], view["dvcqg_status"]) == ("rejected", 3)
    [text] = await sent_text(session_factory, fake_zalo, refused, NoticeKind.RECEPTION_REFUSED)
    assert reason in text
