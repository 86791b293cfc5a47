"""Importing the open dossiers of the TTHC system (`python -m admin.dossiers import`), on the real path:
the catalogue and agency directory loaded from the deploy samples, the CLI's own function over a file, the
workflows on the time-skipping dev server with the real worker, the database projection and the fake
Zalo's journal."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from db.agencies import load_agencies, read_directory
from db.dossiers import events_of
from db.engine import SessionFactory
from db.models import Dossier, Notice, Payment
from db.procedures import load_catalogue, read_catalogue
from domain import vocabulary
from domain.codes import workflow_id
from domain.dossier import DossierState
from domain.imports import IMPORTED
from domain.status import DossierStatus, EventKind
from server import create_app
from settings import Settings
from tests.conftest import eventually, zalo_messages
from tests.support.builders import Moments, due_after, new_code
from tests.support.imports import importing
from workflows.dossier import DossierWorkflow

pytestmark = pytest.mark.usefixtures("time_skipping_worker")

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BUILDING = {
    "code": "local.xaydung.gpxd-nha-o",
    "name": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
    "working_days": 15,
}
MARRIAGE = {
    "code": "local.hotich.xac-nhan-hon-nhan",
    "name": "Cấp Giấy xác nhận tình trạng hôn nhân",
    "working_days": 3,
}


def iso(at: datetime) -> str:
    return at.isoformat()


def line(
    code: str,
    status: str,
    received: datetime,
    due: datetime | None,
    events: list[dict[str, Any]],
    **more: Any,
) -> dict[str, Any]:
    return {
        "code": code,
        "agency_code": "H21.65",
        "procedure": more.pop("procedure", BUILDING),
        "applicant": {"name": "Trần Thị Bích", "phone": "0905123456", "zalo_user_id": None},
        "received_at": iso(received),
        "channel": "counter",
        "due_at": iso(due) if due else None,
        "status": status,
        "events": events,
    } | more


async def seed_catalogue(session_factory: SessionFactory) -> None:
    entries, about = read_catalogue(DEPLOY / "procedures.sample.json")
    async with session_factory() as session:
        await load_catalogue(session, entries, loaded_by="test", about=about)
        await load_agencies(session, read_directory(DEPLOY / "agencies.sample.json"))


async def workflow_state(env: WorkflowEnvironment, code: str) -> DossierState:
    state: DossierState = await env.client.get_workflow_handle(workflow_id(code)).query(DossierWorkflow.state)
    return state


async def test_open_dossiers_are_imported_in_their_state_without_notices_for_their_past(
    time_skipping_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    await seed_catalogue(session_factory)
    t = Moments()
    due = due_after(t(0))
    codes = {
        name: new_code()
        for name in ("received", "late", "supplement", "fee", "result", *[f"bad{i}" for i in range(6)])
    }
    future = datetime.now(due.tzinfo) + timedelta(days=2)
    rows = [
        line(codes["received"], "received", t(0), due, []),
        # Received 6 working days ago for 3 days: its due-soon reminder and overdue escalation are past.
        line(codes["late"], "received", t(0), due_after(t(0), 3), [], procedure=MARRIAGE),
        line(
            codes["supplement"],
            "supplement_required",
            t(0),
            None,
            [
                {
                    "kind": "supplement_requested",
                    "at": iso(t(1)),
                    "items": ["Bản vẽ mặt bằng"],
                    "event_id": "tthc-77",
                }
            ],
        ),
        line(
            codes["fee"],
            "fee_due",
            t(0),
            due,
            [
                {
                    "kind": "fee_requested",
                    "at": iso(t(5.5)),
                    "items": [{"name": "Lệ phí", "amount_vnd": 150_000}],
                    "pay_within_days": 5,
                }
            ],
        ),
        line(
            codes["result"],
            "result_ready",
            t(0),
            due,
            [
                {
                    "kind": "fee_requested",
                    "at": iso(t(1)),
                    "items": [{"name": "Lệ phí", "amount_vnd": 75_000}],
                },
                {
                    "kind": "payment_received",
                    "at": iso(t(2)),
                    "transaction_id": f"VNP-{codes['result']}",
                    "amount_vnd": 75_000,
                },
                {"kind": "result_ready", "at": iso(t(4)), "pickup": {"place": "Quầy số 3"}},
            ],
        ),
        line(
            codes["bad0"],
            "received",
            t(0),
            due,
            [],
            procedure={"code": "no.such.procedure", "name": "Không có", "working_days": 5},
        ),
        line(codes["bad1"], "received", t(2), t(1), []),
        line(
            codes["bad2"],
            "supplement_required",
            t(0),
            None,
            [
                {"kind": "supplement_requested", "at": iso(t(3)), "items": ["Bản sao CCCD"]},
                {"kind": "supplement_received", "at": iso(t(2))},
                {"kind": "supplement_requested", "at": iso(t(4)), "items": ["Bản sao CCCD"]},
            ],
        ),
        line(
            codes["bad3"],
            "result_ready",
            t(0),
            due,
            [{"kind": "fee_requested", "at": iso(t(1)), "items": [{"name": "Lệ phí", "amount_vnd": 75_000}]}],
        ),
        line(
            codes["bad4"],
            "supplement_required",
            t(0),
            None,
            [{"kind": "supplement_requested", "at": iso(future), "items": ["Bản sao CCCD"]}],
        ),
        line(
            codes["bad5"],
            "received",
            t(0),
            due,
            [
                {"kind": "result_ready", "at": iso(t(1)), "pickup": {"place": "Quầy 1"}},
                {"kind": "supplement_requested", "at": iso(t(2)), "items": ["A"]},
            ],
        ),
    ]
    path = tmp_path / "open.jsonl"
    path.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n{not json\n", encoding="utf-8"
    )

    status, out, err = await importing(settings, session_factory, time_skipping_env, path, concurrency=3)

    assert status == 1
    assert "12/12" in err
    assert "hồ sơ/giây" in err
    assert "Xong: đã nhập 5, đã có từ trước 0, không nhập 7." in out
    report = out.splitlines()
    expected = {
        6: (
            "Thủ tục không có trong danh mục thủ tục đang áp dụng: no.such.procedure",
            "not in the catalogue",
        ),
        7: ("Ngày hẹn trả không sau ngày tiếp nhận", "is not after received_at"),
        8: ("Các sự kiện không theo thứ tự thời gian", "earlier than the event before it"),
        9: ("Trạng thái khai báo không khớp với chuỗi sự kiện", "the events lead to fee_due"),
        10: ("Thời điểm nằm trong tương lai", "is in the future"),
        11: ("Chuỗi sự kiện không hợp lệ theo quy trình xử lý hồ sơ", "'request_supplement' is not allowed"),
        12: ("Dòng không phải một đối tượng JSON hợp lệ (UTF-8)", "not JSON"),
    }
    for row, (vi, en) in expected.items():
        said = " ".join(r for r in report if r.startswith((f"dòng {row}:", f"dòng {row} (")))
        assert vi in said, (row, said)
        assert en in said, (row, said)
    assert "0905123456" not in out + err
    assert "84905123456" not in out + err

    # Nothing at all for a refused line: no row, no workflow.
    async with session_factory() as session:
        for name in [n for n in codes if n.startswith("bad")]:
            assert await session.get(Dossier, codes[name]) is None
            with pytest.raises(RPCError):
                await time_skipping_env.client.get_workflow_handle(workflow_id(codes[name])).describe()

    # Each imported dossier: its workflow in its state, its row and timeline, no notice for the past. (On
    # the time-skipping server the timers still to come may fire any moment now: they follow the past.)
    imported_seq: dict[str, int] = {}
    kinds: dict[str, list[str]] = {}
    async with session_factory() as session:
        for name in ("received", "late", "supplement", "fee", "result"):
            events = await events_of(session, codes[name])
            past = [e for e in events if e.detail.get(IMPORTED)]
            imported_seq[name] = len(past)
            kinds[name] = [e.kind for e in past]
            assert [e.seq for e in events] == list(range(1, len(events) + 1))
            assert events[: len(past)] == past
    async with session_factory() as session:
        rows = {c: await session.get(Dossier, c) for c in codes.values()}
        payments = (await session.exec(select(Payment).where(Payment.dossier_code == codes["result"]))).all()
    assert kinds["received"] == ["received"]
    # Its due-soon reminder, overdue escalation and the escalation two working days later: all past.
    assert kinds["late"] == ["received", "due_soon", "overdue", "escalation"]
    assert kinds["supplement"] == ["received", "supplement_requested"]
    assert kinds["fee"] == ["received", "fee_requested"]
    assert kinds["result"] == ["received", "fee_requested", "payment_received", "result_ready"]
    assert [(p.amount_vnd, p.outcome) for p in payments] == [(75_000, "applied")]
    late = rows[codes["late"]]
    assert late is not None
    assert late.overdue
    assert late.escalation_level == 2
    supplement = rows[codes["supplement"]]
    assert supplement is not None
    assert supplement.status == "supplement_required"
    assert supplement.due_at is None
    fee = rows[codes["fee"]]
    assert fee is not None
    assert fee.status == "fee_due"
    assert fee.detail["fee"]["pay_by"]
    assert fee.due_at == due
    result = rows[codes["result"]]
    assert result is not None
    assert result.on_time is True
    assert result.dvcqg_status == 9

    # The citizen's lookup page reads the imported dossier like any other: its state, what to bring, its past.
    app = create_app(settings, temporal=time_skipping_env.client, session_factory=session_factory)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://pages.test") as web:
        page = await web.get(f"/tra-cuu?code={codes['supplement']}&phone_last4=3456")
    assert page.status_code == 200
    assert vocabulary.STATUS[DossierStatus.SUPPLEMENT_REQUIRED] in page.text
    assert "Bản vẽ mặt bằng" in page.text
    assert vocabulary.EVENTS[EventKind.SUPPLEMENT_REQUESTED] in page.text

    supplement_state = await workflow_state(time_skipping_env, codes["supplement"])
    assert supplement_state.status is DossierStatus.SUPPLEMENT_REQUIRED
    assert supplement_state.supplement is not None
    assert supplement_state.supplement.items == ["Bản vẽ mặt bằng"]
    assert "tthc-77" in supplement_state.events  # a repeat of the TTHC system's own event is recognised
    fee_state = await workflow_state(time_skipping_env, codes["fee"])
    assert fee_state.status is DossierStatus.FEE_DUE
    assert fee_state.due_at == due

    # The timers still to come fire on the workflow's clock, each notice once; nothing past is sent.
    async def fired(name: str, kind: EventKind) -> DossierState | None:
        s = await workflow_state(time_skipping_env, codes[name])
        return s if any(e.kind == kind.value for e in s.timeline) else None

    fee_after = await eventually(lambda: fired("fee", EventKind.FEE_REMINDER), 60)
    reminder = next(e for e in fee_after.timeline if e.kind == EventKind.FEE_REMINDER.value)
    assert reminder.seq == imported_seq["fee"] + 1
    assert reminder.at > datetime.now(due.tzinfo) - timedelta(hours=1)
    result_after = await eventually(lambda: fired("result", EventKind.PICKUP_REMINDER), 60)
    assert result_after.timeline[-1].kind == EventKind.PICKUP_REMINDER.value
    await eventually(lambda: fired("received", EventKind.DUE_SOON), 60)

    async def sent(kind: str, code: str) -> list[Notice]:
        async with session_factory() as session:
            found = await session.exec(select(Notice).where(Notice.dossier_code == code, Notice.kind == kind))
            done = [n for n in found.all() if n.status == "sent"]
        return done

    fee_notices = await eventually(lambda: sent("fee_reminder", codes["fee"]), 30)
    pickup_notices = await eventually(lambda: sent("pickup_reminder", codes["result"]), 30)
    assert len([n for n in fee_notices if n.context.get("reminder_no") == 1]) == 1
    assert len(pickup_notices) == 1
    async with session_factory() as session:
        for name, seq in imported_seq.items():
            notices = (await session.exec(select(Notice).where(Notice.dossier_code == codes[name]))).all()
            assert all(n.seq > seq for n in notices), name  # none for an imported (past) entry
            assert not [
                n
                for n in notices
                if n.kind
                in ("received", "supplement_required", "fee_due", "result_ready", "payment_confirmed")
            ]
    journal = await zalo_messages(fake_zalo)
    for name in ("received", "supplement", "late"):
        citizen = [m for m in journal if codes[name] in str(m) and m.get("user_id") != "officer-1"]
        assert not [m for m in citizen if "tiếp nhận" in str(m).lower() and "nhắc" not in str(m).lower()], (
            name
        )
    assert not [m for m in journal if codes["supplement"] in str(m)]  # its clock is stopped: nothing to send

    # A second run starts nothing and writes nothing.
    handles = {
        name: await time_skipping_env.client.get_workflow_handle(workflow_id(codes[name])).describe()
        for name in imported_seq
    }
    async with session_factory() as session:
        counts_before = {name: len(await events_of(session, codes[name])) for name in imported_seq}
    status, out, err = await importing(settings, session_factory, time_skipping_env, path, concurrency=3)
    assert status == 1
    assert "Xong: đã nhập 0, đã có từ trước 5, không nhập 7." in out
    for name, before in handles.items():
        after = await time_skipping_env.client.get_workflow_handle(workflow_id(codes[name])).describe()
        assert after.run_id == before.run_id
        assert after.status is WorkflowExecutionStatus.RUNNING
    async with session_factory() as session:
        for name, seq in imported_seq.items():
            events = await events_of(session, codes[name])
            assert len(events) >= counts_before[name]
            assert all(e.detail.get(IMPORTED) for e in events[:seq])
            assert not [
                e for e in events[seq:] if e.detail.get(IMPORTED)
            ]  # only the timers' own entries since
        count = len(
            (
                await session.exec(select(Dossier.code).where(col(Dossier.code).in_(list(codes.values()))))
            ).all()
        )
    assert count == 5
