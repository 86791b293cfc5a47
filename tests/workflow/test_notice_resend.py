"""A failed notice sent again from the desk: the page starts NoticeResendWorkflow, the real worker requeues
the row and sends it through the same send activity as every notice. The failures are real: the fake
Zalo refuses for good, or OFFICER_ZALO_IDS names nobody, and the dossier's own workflow records it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, select
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from db.engine import SessionFactory
from db.models import Notice
from db.types import utcnow
from domain.quiet_hours import quiet_hours_end_after
from domain.timefmt import OFFICE_TZ, to_office
from settings import Settings
from tests.conftest import eventually
from tests.support.api import Keys, bearer
from tests.support.builders import Moments, new_code
from tests.support.failed_notices import (
    failed_notice,
    messages_for,
    notice_row,
    refused_receipt_notice,
    registration,
    zalo_accepts_again,
)
from tests.support.pages import seed_officer, sign_in
from worker import build_worker
from workflows import gateway as gateway_module
from workflows.client import TemporalConnection
from workflows.contracts import resend_workflow_id
from workflows.gateway import Gateway

FAILED_LIST = "/can-bo/danh-sach/thong-bao-loi"


async def resend(
    web: httpx.AsyncClient, csrf: str, notice: Notice, back: str = FAILED_LIST
) -> httpx.Response:
    return await web.post(f"/can-bo/thong-bao/{notice.id}/gui-lai", data={"csrf_token": csrf, "next": back})


@pytest.mark.usefixtures("worker")
async def test_a_notice_zalo_refused_is_resent_from_the_desk_once_the_cause_is_fixed(
    http: httpx.AsyncClient,
    keys: Keys,
    fake_zalo: httpx.AsyncClient,
    session_factory: SessionFactory,
    workflow_env: WorkflowEnvironment,
    settings: Settings,
) -> None:
    failed = await refused_receipt_notice(http, fake_zalo, session_factory, bearer(keys.admin))
    assert failed.attempts == 1
    await seed_officer(session_factory, agencies=["H21.65"])
    csrf = await sign_in(http)

    listed = await http.get(FAILED_LIST)
    assert failed.dossier_code in listed.text
    assert "Zalo từ chối gửi" in listed.text
    assert f'action="/can-bo/thong-bao/{failed.id}/gui-lai"' in listed.text
    assert await messages_for(fake_zalo, failed.tracking_id or "") == []  # Zalo took nothing

    await zalo_accepts_again(fake_zalo)
    answer = await resend(http, csrf, failed)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"{FAILED_LIST}?thong-bao=da-gui-lai"
    page = await http.get(answer.headers["location"])
    assert "Đã gửi lại thông báo." in page.text
    assert "Không có thông báo nào bị lỗi." in page.text

    sent = await notice_row(session_factory, failed.dossier_code, "received")
    assert sent is not None
    assert (sent.id, sent.key, sent.status, sent.attempts, sent.last_error) == (
        failed.id,
        failed.key,
        "sent",
        1,  # attempts start again from zero
        None,
    )
    assert sent.channel == "zns"
    assert sent.tracking_id == failed.tracking_id  # the same row, the same tracking id
    [message] = await messages_for(fake_zalo, failed.tracking_id or "")
    assert message["message_id"] == sent.zalo_message_id
    assert message["template_data"]["dossier_code"] == failed.dossier_code

    handle = workflow_env.client.get_workflow_handle(resend_workflow_id(failed.key))
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    result = await handle.result()
    assert (result["requeued"], result["status"]) == (True, "sent")

    # Again: nothing to resend, the page says so, and Zalo gets nothing more.
    again = await resend(http, csrf, failed)
    assert again.headers["location"] == f"{FAILED_LIST}?thong-bao=khong-gui-lai&trang-thai=sent"
    said = await http.get(again.headers["location"])
    assert "Không gửi lại: thông báo không ở trạng thái «Không gửi được» (hiện: «Đã gửi»)." in said.text
    # Past the page's own check (a second desk racing the first): the worker refuses as well.
    gateway = Gateway(TemporalConnection(settings, workflow_env.client), settings)
    async with session_factory() as session:
        raced = await gateway.resend_notice(session, failed.key, "lan.nt")
    assert raced is not None
    assert (raced.requeued, raced.status) == (False, "sent")
    assert len(await messages_for(fake_zalo, failed.tracking_id or "")) == 1


async def test_an_officer_notice_without_a_recipient_goes_to_the_officers_named_since(
    http: httpx.AsyncClient,
    keys: Keys,
    fake_zalo: httpx.AsyncClient,
    session_factory: SessionFactory,
    workflow_env: WorkflowEnvironment,
    settings: Settings,
) -> None:
    admin = bearer(keys.admin)
    nobody = settings.model_copy(update={"officer_zalo_ids": {}})
    await seed_officer(session_factory, agencies=["H21.65"])
    csrf = await sign_in(http)
    t = Moments()
    code = new_code("H21.65")
    async with build_worker(workflow_env.client, nobody, session_factory, fake_zalo):
        assert (
            await http.post("/api/v1/dossiers", json=registration(code, "H21.65"), headers=admin)
        ).is_success
        fee = {
            "event_id": "fee-1",
            "at": t(1).isoformat(),
            "items": [{"name": "Lệ phí", "amount_vnd": 1_000_000}],
        }
        assert (await http.post(f"/api/v1/dossiers/{code}/fee", json=fee, headers=admin)).is_success
        paid = {"transaction_id": f"VNP-{code}", "amount_vnd": 400_000, "at": t(1.5).isoformat()}
        assert (await http.post(f"/api/v1/dossiers/{code}/payment", json=paid, headers=admin)).is_success
        # Underpaid: officers are to be told, and OFFICER_ZALO_IDS names nobody.
        failed = await failed_notice(session_factory, code, "payment_mismatch")
        assert failed.recipient is None
        assert (failed.last_error or "").startswith("no_officer_id: ")

        # Resent before the settings are fixed: refused, and the row stays as it was.
        refused = await resend(http, csrf, failed, back=f"/can-bo/ho-so/{code}")
        assert refused.headers["location"] == f"/can-bo/ho-so/{code}?thong-bao=chua-co-nguoi-nhan"
        page = await http.get(refused.headers["location"])
        assert "vẫn chưa cấu hình tài khoản Zalo của cán bộ nhận thông báo này" in page.text
        unchanged = await notice_row(session_factory, code, "payment_mismatch")
        assert unchanged is not None
        assert (unchanged.status, unchanged.last_error) == ("failed-permanent", failed.last_error)

    # OFFICER_ZALO_IDS fixed and the worker restarted with it.
    fixed = settings.model_copy(
        update={"officer_zalo_ids": {"H21.65": {"officer": ["officer-7", "officer-8"]}}}
    )
    async with build_worker(workflow_env.client, fixed, session_factory, fake_zalo):
        answer = await resend(http, csrf, failed, back=f"/can-bo/ho-so/{code}")
        assert answer.headers["location"] == f"/can-bo/ho-so/{code}?thong-bao=da-gui-lai"
        page = await http.get(answer.headers["location"])
        assert "Đã gửi lại thông báo." in page.text

    async with session_factory() as session:
        rows = (
            await session.exec(
                select(Notice)
                .where(col(Notice.dossier_code) == code, col(Notice.kind) == "payment_mismatch")
                .order_by(col(Notice.id))
            )
        ).all()
    assert [(r.key, r.recipient, r.status, r.attempts) for r in rows] == [
        (failed.key, "officer-7", "sent", 1),
        (f"{failed.key}:officer-8", "officer-8", "sent", 1),
    ]
    for officer in ("officer-7", "officer-8"):
        [message] = await messages_for(fake_zalo, officer)
        assert message["channel"] == "oa"
        assert code in message["text"]


async def test_a_resend_during_quiet_hours_waits_for_the_morning(
    http: httpx.AsyncClient,
    keys: Keys,
    fake_zalo: httpx.AsyncClient,
    session_factory: SessionFactory,
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gateway_module, "RESEND_WAIT", timedelta(seconds=1))  # the page waits less
    async with build_worker(workflow_env.client, settings, session_factory, fake_zalo):
        failed = await refused_receipt_notice(http, fake_zalo, session_factory, bearer(keys.admin))
    await zalo_accepts_again(fake_zalo)
    await seed_officer(session_factory, agencies=["H21.65"])
    csrf = await sign_in(http)

    # The officer resends late in the evening: the worker keeps the phone quiet until the window ends.
    now = to_office(utcnow()).replace(second=0, microsecond=0)
    start, end = (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    night = settings.model_copy(update={"quiet_hours_start": start, "quiet_hours_end": end})
    async with build_worker(workflow_env.client, night, session_factory, fake_zalo):
        answer = await resend(http, csrf, failed)
        assert answer.headers["location"] == f"{FAILED_LIST}?thong-bao=dang-gui-lai"
        page = await http.get(answer.headers["location"])
        assert "Đang gửi lại thông báo" in page.text
        assert "Không có thông báo nào bị lỗi." in page.text  # no longer failed: waiting

        async def scheduled() -> Notice | None:
            row = await notice_row(session_factory, failed.dossier_code, "received")
            return row if row is not None and row.status == "scheduled" else None

        row = await eventually(scheduled)
    assert row.scheduled_for == quiet_hours_end_after(utcnow(), start, end, OFFICE_TZ)
    assert (row.attempts, row.last_error) == (0, None)
    assert await messages_for(fake_zalo, failed.tracking_id or "") == []
    handle = workflow_env.client.get_workflow_handle(resend_workflow_id(failed.key))
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # retried at the end
    await handle.terminate("test over")
