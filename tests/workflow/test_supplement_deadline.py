"""A supplement's deadline and the count's resume rule, on the real path: the TTHC system's JSON routes →
the real Temporal dev server (time-skipping where the deadline's timers matter) → the database → the fake
Zalo's journal.

The catalogue gives each procedure its supplement rule: how long the citizen has to supply what was asked
(`supply_within_days`, working days), and whether the count restarts from zero when it arrives or resumes
with the time already spent (`restart_count`). Reminders go to the citizen before the deadline; when it
passes unsupplied the dossier stops (`stopped`, DVCQG 8), the citizen and the officer told.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from db.engine import SessionFactory
from db.models import Dossier, Notice
from db.procedures import load_catalogue
from domain import limits
from domain.notices import NoticeKind
from domain.procedures import check_catalogue
from domain.vocabulary import vn_datetime
from pages import labels
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import CALENDAR, WORKING_DAY, Moments, due_after, new_code, paused
from tests.support.journal import ok, sent_text, tthc_clients

SHORT = "local.test.bo-sung-5-ngay"  # the citizen has 5 working days to supply; the count restarts
RESUMES = "local.test.tinh-tiep"  # the count resumes when the supplement arrives (default deadline)
RESTARTS = "local.test.tinh-lai"  # the law's default rule
ENTRY: dict[str, Any] = {
    "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "level": "huyện",
    "agency_kinds": ["UBND cấp huyện"],
    "working_days": 15,
    "fees": [],
    "documents": ["Đơn đề nghị cấp giấy phép xây dựng"],
}
ITEMS = ["Bản vẽ thiết kế có chữ ký", "Giấy chứng nhận quyền sử dụng đất (bản sao)"]


@dataclass
class Clients:
    api: httpx.AsyncClient  # the TTHC system (an H21.65 key), on the ordinary dev server
    timed: httpx.AsyncClient  # the same, on the time-skipping dev server
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
    async with session_factory() as session:
        entries = check_catalogue(
            {
                "procedures": [
                    ENTRY | {"code": SHORT, "supplement": {"supply_within_days": 5}},
                    ENTRY | {"code": RESUMES, "supplement": {"restart_count": False}},
                    ENTRY | {"code": RESTARTS},
                ]
            }
        )
        await load_catalogue(session, entries, loaded_by="test")
    async with tthc_clients(settings, session_factory, workflow_env, time_skipping_env) as tthc:
        yield Clients(tthc.api, tthc.timed, time_skipping_env)


async def register(client: httpx.AsyncClient, procedure: str, at: datetime, **more: Any) -> str:
    code = new_code()
    body: dict[str, Any] = {
        "code": code,
        "procedure": {"code": procedure, "name": ENTRY["name"], "working_days": 15},
        "agency_code": "H21.65",
        "applicant": {"name": "Nguyễn Văn An", "phone": "0905 123 456", "zalo_user_id": None},
        "received_at": at.isoformat(),
        "channel": "online" if more.get("submitted") else "counter",
    } | more
    response = await client.post("/api/v1/dossiers", json=body)
    assert response.status_code == 201, response.text
    return code


def just_past() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)


async def test_a_supplement_never_supplied_reminds_the_citizen_then_stops_the_dossier(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    at = just_past()
    with clients.env.with_time_skipping_disabled():
        code = await register(clients.timed, SHORT, at)
        view = await ok(
            clients.timed,
            code,
            "supplement-request",
            {"event_id": "s1", "at": (at + timedelta(seconds=1)).isoformat(), "items": ITEMS},
        )
    asked_at = at + timedelta(seconds=1)
    supply_by = CALENDAR.add_working_time(asked_at, 5 * WORKING_DAY)
    assert view["status"] == "supplement_required"
    assert datetime.fromisoformat(view["timeline"][-1]["detail"]["supply_by"]) == supply_by
    assert datetime.fromisoformat(view["supplement"]["supply_by"]) == supply_by
    [asked] = await sent_text(session_factory, fake_zalo, code, NoticeKind.SUPPLEMENT_REQUIRED)
    # By phone (ZNS: the applicant follows no OA), as the registered template reads.
    assert f"Hạn nộp bổ sung: {vn_datetime(supply_by)}; quá hạn mà không bổ sung, hồ sơ bị dừng" in asked

    # The citizen's lookup page: what to supply, and by when.
    page = (await clients.api.get(f"/tra-cuu?code={code}&phone_last4=3456")).text
    assert f"Hạn nộp hồ sơ bổ sung: <strong>{labels.vn_day_dt(supply_by)}</strong>" in page
    assert "hồ sơ sẽ bị dừng xử lý" in page

    await clients.env.fast_forward(
        clients.env.client.get_workflow_handle(f"dossier-{code}"), timedelta(days=20)
    )

    async def stopped() -> dict[str, Any] | None:
        found: dict[str, Any] = (await clients.api.get(f"/api/v1/dossiers/{code}")).json()
        return found if found["status"] == "stopped" else None

    view = await eventually(stopped, seconds=30)
    assert [(e["kind"], e["by"]) for e in view["timeline"]] == [
        ("received", "tthc"),
        ("supplement_requested", "tthc-h21"),
        ("supplement_reminder", "system"),
        ("supplement_reminder", "system"),
        ("stopped", "system"),
    ]
    at_of = [datetime.fromisoformat(e["at"]) for e in view["timeline"]]
    for n, days in enumerate(limits.SUPPLY_REMINDER_WORKING_DAYS):
        assert at_of[2 + n] == CALENDAR.add_working_time(supply_by, -days * WORKING_DAY)
    assert at_of[4] == supply_by
    assert view["timeline"][4]["detail"]["items"] == ITEMS
    assert view["dvcqg_status"] == 8
    assert datetime.fromisoformat(view["finished_at"]) == supply_by
    assert (view["due_at"], view["overdue"]) == (None, False)

    reminders = await sent_text(session_factory, fake_zalo, code, NoticeKind.SUPPLEMENT_REMINDER)
    assert len(reminders) == 2
    for text in reminders:
        assert text.startswith(f"Nhắc nộp hồ sơ bổ sung {code}")
        assert f"còn chờ bổ sung: {ITEMS[0]}; {ITEMS[1]}. Hạn nộp bổ sung: {vn_datetime(supply_by)}" in text
    [citizen] = await sent_text(session_factory, fake_zalo, code, NoticeKind.STOPPED)
    assert citizen.startswith(f"Dừng xử lý hồ sơ {code}")
    assert (
        f"đã dừng xử lý vì không được bổ sung trong thời hạn (hạn nộp bổ sung: {vn_datetime(supply_by)}). "
        "Khi có nhu cầu, ông/bà có thể nộp hồ sơ mới."
    ) in citizen
    [officer] = await sent_text(session_factory, fake_zalo, code, NoticeKind.SUPPLEMENT_LAPSED)
    print("timeline:", [(e["kind"], e["at"]) for e in view["timeline"]])  # for the closing note (-s)
    print("reminder:", reminders[0], "\ncitizen:", citizen, "\nofficer:", officer)
    assert officer.startswith(f"[DỪNG XỬ LÝ] Hồ sơ {code}")
    assert f"hạn nộp {vn_datetime(supply_by)}" in officer

    async with session_factory() as session:
        row = await session.get(Dossier, code)
    assert row is not None
    assert (row.status, row.finished_at, row.due_at, row.dvcqg_status) == ("stopped", supply_by, None, 8)
    page = (await clients.api.get(f"/tra-cuu?code={code}&phone_last4=3456")).text
    assert "Dừng xử lý (không bổ sung hồ sơ đúng hạn)" in page
    assert "Hồ sơ đã dừng xử lý vì ông/bà không bổ sung hồ sơ theo yêu cầu trong thời hạn." in page
    assert "có thể nộp hồ sơ mới" in page


async def test_a_supplement_asked_before_reception_has_its_deadline_too(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    at = just_past()
    with clients.env.with_time_skipping_disabled():
        code = await register(clients.timed, SHORT, at, submitted=True)
        view = await ok(
            clients.timed,
            code,
            "supplement-request",
            {"event_id": "s1", "at": (at + timedelta(seconds=1)).isoformat(), "items": ITEMS},
        )
    supply_by = CALENDAR.add_working_time(at + timedelta(seconds=1), 5 * WORKING_DAY)
    assert view["timeline"][-1]["detail"]["before_reception"] is True
    assert datetime.fromisoformat(view["timeline"][-1]["detail"]["supply_by"]) == supply_by
    await clients.env.fast_forward(
        clients.env.client.get_workflow_handle(f"dossier-{code}"), timedelta(days=20)
    )

    async def stopped() -> dict[str, Any] | None:
        found: dict[str, Any] = (await clients.api.get(f"/api/v1/dossiers/{code}")).json()
        return found if found["status"] == "stopped" else None

    view = await eventually(stopped, seconds=30)
    assert [e["kind"] for e in view["timeline"]] == [
        "submitted",
        "supplement_requested",
        "supplement_reminder",
        "supplement_reminder",
        "stopped",
    ]
    assert (view["dvcqg_status"], view["due_at"]) == (8, None)
    [citizen] = await sent_text(session_factory, fake_zalo, code, NoticeKind.STOPPED)
    assert f"(hạn nộp bổ sung: {vn_datetime(supply_by)})" in citizen
    [officer] = await sent_text(session_factory, fake_zalo, code, NoticeKind.SUPPLEMENT_LAPSED)
    assert "Hệ thống đã dừng xử lý hồ sơ và thông báo cho công dân." in officer


async def test_a_supplement_supplied_in_time_cancels_the_deadline(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    at = just_past()
    with clients.env.with_time_skipping_disabled():
        code = await register(clients.timed, SHORT, at)
        await ok(
            clients.timed,
            code,
            "supplement-request",
            {"event_id": "s1", "at": (at + timedelta(seconds=1)).isoformat(), "items": ITEMS},
        )
        arrived = at + timedelta(seconds=2)
        view = await ok(clients.timed, code, "supplement", {"event_id": "s2", "at": arrived.isoformat()})
    assert (view["status"], view["supplement"]) == ("received", None)
    assert datetime.fromisoformat(view["due_at"]) == due_after(arrived)  # restarted from zero

    # Past the deadline (5 working days), short of the new due date's reminder (14 working days).
    await clients.env.fast_forward(
        clients.env.client.get_workflow_handle(f"dossier-{code}"), timedelta(days=9)
    )
    view = (await clients.api.get(f"/api/v1/dossiers/{code}")).json()
    assert view["status"] == "received"
    assert [e["kind"] for e in view["timeline"]] == [
        "received",
        "supplement_requested",
        "supplement_received",
    ]
    [back] = await sent_text(session_factory, fake_zalo, code, NoticeKind.SUPPLEMENT_RECEIVED)
    assert (
        f"Thời hạn giải quyết được tính lại; ngày hẹn trả kết quả mới: {vn_datetime(due_after(arrived))}"
        in back
    )
    async with session_factory() as session:
        kinds = (await session.exec(select(Notice.kind).where(Notice.dossier_code == code))).all()
    assert NoticeKind.SUPPLEMENT_REMINDER.value not in kinds
    assert NoticeKind.STOPPED.value not in kinds


async def test_a_resuming_procedure_moves_the_due_date_by_the_wait_and_a_restarting_one_restarts(
    clients: Clients, session_factory: SessionFactory, fake_zalo: httpx.AsyncClient
) -> None:
    t = Moments()
    resumes = await register(clients.api, RESUMES, t(0))
    restarts = await register(clients.api, RESTARTS, t(0))
    for code in (resumes, restarts):
        view = await ok(
            clients.api,
            code,
            "supplement-request",
            {"event_id": "s1", "at": t(1).isoformat(), "items": ITEMS},
        )
        assert view["due_at"] is None  # the count stops while the supplement is awaited
        deadline = CALENDAR.add_working_time(t(1), limits.SUPPLY_WITHIN_WORKING_DAYS * WORKING_DAY)
        assert datetime.fromisoformat(view["timeline"][-1]["detail"]["supply_by"]) == deadline
    [asked] = await sent_text(session_factory, fake_zalo, resumes, NoticeKind.SUPPLEMENT_REQUIRED)
    assert "tính lại" not in asked  # the phone's template says neither restart nor resume

    resumed = await ok(clients.api, resumes, "supplement", {"event_id": "s2", "at": t(3.5).isoformat()})
    restarted = await ok(clients.api, restarts, "supplement", {"event_id": "s2", "at": t(3.5).isoformat()})

    # The due date when it was asked, moved by the working time the dossier waited (2.5 working days).
    expected = paused(due_after(t(0)), t(1), t(3.5))
    assert expected == CALENDAR.add_working_time(due_after(t(0)), 2.5 * WORKING_DAY)
    assert datetime.fromisoformat(resumed["due_at"]) == expected
    entry = resumed["timeline"][-1]
    assert (entry["kind"], entry["detail"]["resumed"]) == ("supplement_received", True)
    assert datetime.fromisoformat(entry["detail"]["old_due_at"]) == due_after(t(0))
    [text] = await sent_text(session_factory, fake_zalo, resumes, NoticeKind.SUPPLEMENT_RESUMED)
    assert (
        "Thời hạn giải quyết được tính tiếp, lùi thêm bằng thời gian chờ bổ sung; "
        f"ngày hẹn trả kết quả mới: {vn_datetime(expected)}"
    ) in text

    # The law's default: the count restarts from zero from the complete dossier.
    assert datetime.fromisoformat(restarted["due_at"]) == due_after(t(3.5))
    [text] = await sent_text(session_factory, fake_zalo, restarts, NoticeKind.SUPPLEMENT_RECEIVED)
    assert f"được tính lại; ngày hẹn trả kết quả mới: {vn_datetime(due_after(t(3.5)))}" in text
    async with session_factory() as session:
        rows = (await session.exec(select(Dossier).where(col(Dossier.code).in_([resumes, restarts])))).all()
    assert {row.code: row.due_at for row in rows} == {resumes: expected, restarts: due_after(t(3.5))}
