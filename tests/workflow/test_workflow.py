"""DossierWorkflow on a real Temporal dev server with the real worker, database and fake Zalo.

Legal times are working days after a base in the recent past (tests/builders.py: `Moments`), so the
tests mean the same on any day they run; the calendar rules themselves are pinned in test_calendar.py.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.problems import gateway_problem
from db.engine import SessionFactory
from db.models import Dossier, DossierEvent, Notice, Payment
from domain.dossier import (
    Apology,
    DossierState,
    PaymentReceived,
    Rating,
    Rejection,
    Returned,
    Withdrawal,
)
from domain.refusals import Refusal
from domain.status import DossierStatus
from domain.timefmt import vn_datetime
from settings import Settings
from tests.conftest import eventually, zalo_messages
from tests.support.builders import (
    Moments,
    dossier_input,
    due_after,
    event_ids,
    fee,
    paused,
    register,
    result,
    supplement,
    supplement_request,
)
from worker import build_worker
from workflows.dossier import DossierWorkflow
from workflows.gateway import Refused

pytestmark = pytest.mark.usefixtures("worker")


async def state(handle: WorkflowHandle[Any, Any]) -> DossierState:
    result: DossierState = await handle.query(DossierWorkflow.state)
    return result


async def history_length(handle: WorkflowHandle[Any, Any]) -> int:
    """The history's length once the workflow is idle (its notices handed over), so it can be compared."""

    async def idle() -> bool:
        return not (await state(handle)).outbox

    await eventually(idle)
    return len((await handle.fetch_history()).events)


async def refusal(call: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await call
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    return cause


async def test_a_received_dossier_gets_its_appointment_a_record_and_a_notice(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    handle, outcome = await register(workflow_env.client, settings, input)
    appointment = due_after(t(0))

    assert outcome.status is DossierStatus.RECEIVED
    assert outcome.due_at == appointment
    assert outcome.seq == 1

    async with session_factory() as session:
        row = await session.get(Dossier, input.code)
        assert row is not None
        assert (row.status, row.due_at, row.last_seq, row.dvcqg_status) == ("received", appointment, 1, 2)
        events = (
            await session.exec(select(DossierEvent).where(DossierEvent.dossier_code == input.code))
        ).all()
        assert [(e.seq, e.kind, e.by) for e in events] == [(1, "received", "tthc")]

    async def sent() -> list[dict[str, Any]]:
        return [m for m in await zalo_messages(fake_zalo) if input.code in str(m)]

    [message] = await eventually(sent)
    assert vn_datetime(appointment) in str(message)
    assert "Cấp giấy phép xây dựng" in str(message)

    async def notice_rows() -> list[Notice]:
        async with session_factory() as session:
            rows = (await session.exec(select(Notice).where(Notice.dossier_code == input.code))).all()
            return list(rows) if rows and all(n.status == "sent" for n in rows) else []

    [notice] = await eventually(notice_rows)
    assert notice.key == f"dossier-{input.code}:1:received"
    assert notice.kind == "received"

    # What an officer reads in the UI's "current details": the state, the appointment, nothing pending.
    async def details() -> str | None:
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        text: str = metadata.current_details
        return text if "Thông báo chờ gửi" not in text else None

    text = await eventually(details)
    assert "`received` — Đã tiếp nhận, đang giải quyết" in text
    assert vn_datetime(appointment) in text
    assert "Nguyễn" not in text


async def test_the_dossier_is_searchable_by_status_agency_and_procedure(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    input = dossier_input(settings)
    handle, _ = await register(workflow_env.client, settings, input)
    query = (
        f'WorkflowId = "{handle.id}" AND DossierStatus = "received" AND AgencyCode = "H21.65" '
        f'AND ProcedureCode = "1.001234" AND Overdue = false'
    )

    async def found() -> list[Any]:
        return [wf async for wf in workflow_env.client.list_workflows(query)]

    [execution] = await eventually(found)
    description = await handle.describe()
    summary = await description.static_summary()
    assert summary is not None
    assert input.code in summary
    assert "Cấp giấy phép xây dựng" in summary
    assert "Nguyễn" not in str(description.typed_search_attributes) + summary
    assert execution.typed_search_attributes is not None


# WORKER_WORKFLOW_SANDBOX=false (a production option, docs/performance.md) runs the same workflow code
# outside the SDK's sandbox: the whole lifecycle must come out the same.
@pytest.mark.parametrize(
    "settings", [{}, {"worker_workflow_sandbox": False}], ids=["sandboxed", "unsandboxed"], indirect=True
)
async def test_full_lifecycle_keeps_the_legal_clock(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))

    out = await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(0.5)))
    assert (out.status, out.due_at) == (DossierStatus.SUPPLEMENT_REQUIRED, None)

    # The count restarts from zero when the supplement arrives.
    out = await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(1)))
    restarted = due_after(t(1))
    assert (out.status, out.due_at) == (DossierStatus.RECEIVED, restarted)
    assert restarted > due_after(t(0))

    out = await handle.execute_update(DossierWorkflow.request_fee, fee(t(2)))
    assert out.status is DossierStatus.FEE_DUE

    # Paid half a working day later: the due date moves by the 4 working hours waited.
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("VNPAY-0001", 1_250_000, t(2.5)))
    s = await eventually(lambda: _status_is(handle, DossierStatus.RECEIVED))
    assert s.due_at == paused(restarted, t(2), t(2.5))
    assert s.due_at is not None
    assert s.due_at > restarted
    assert s.fee is not None
    assert s.fee.paid_vnd == 1_250_000

    out = await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(3)))
    assert out.status is DossierStatus.RESULT_READY
    out = await handle.execute_update(
        DossierWorkflow.mark_returned, Returned(event_id=event_ids(), at=t(4), to="Chủ hồ sơ")
    )
    assert out.status is DossierStatus.RETURNED
    # Returned, the dossier waits for the citizen's rating (patch wait-for-rating), and ends once rated.
    assert (await handle.describe()).close_time is None
    await handle.execute_update(DossierWorkflow.rate, Rating(5, "", t(4.5)))

    final = await handle.result()
    assert (final.status, final.on_time) == (DossierStatus.RETURNED, True)
    kinds = [entry.kind for entry in (await state(handle)).timeline]
    assert kinds == [
        "received",
        "supplement_requested",
        "supplement_received",
        "fee_requested",
        "payment_received",
        "result_ready",
        "returned",
        "rated",
    ]
    async with session_factory() as session:
        row = await session.get(Dossier, final.code)
        assert row is not None
        assert (row.status, row.dvcqg_status, row.on_time, row.last_seq) == ("returned", 10, True, 8)
        payments = (await session.exec(select(Payment))).all()
        assert [(p.transaction_id, p.outcome, p.amount_vnd) for p in payments] == [
            ("VNPAY-0001", "applied", 1_250_000)
        ]
        seqs = (
            await session.exec(
                select(DossierEvent.seq)
                .where(DossierEvent.dossier_code == final.code)
                .order_by(col(DossierEvent.seq))
            )
        ).all()
        assert list(seqs) == [1, 2, 3, 4, 5, 6, 7, 8]


async def _status_is(handle: WorkflowHandle[Any, Any], status: DossierStatus) -> DossierState | None:
    s = await state(handle)
    return s if s.status is status else None


async def test_supplement_twice_restarts_the_count_each_time(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(0.25)))
    await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(0.5)))
    # The second request comes four working days after the restart: allowed, and flagged late.
    out = await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(4.5)))
    assert out.status is DossierStatus.SUPPLEMENT_REQUIRED
    s = await state(handle)
    assert s.supplement is not None
    assert s.supplement.late is True
    assert s.supplement_count == 2
    out = await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(5)))
    assert out.due_at == due_after(t(5))


async def test_a_supplement_requested_within_three_working_days_is_not_late(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(2.75)))
    s = await state(handle)
    assert s.supplement is not None
    assert s.supplement.late is False


async def test_fee_then_supplement(workflow_env: WorkflowEnvironment, settings: Settings) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_fee, fee(t(0.5)))
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-1", 1_250_000, t(1)))
    await eventually(lambda: _status_is(handle, DossierStatus.RECEIVED))
    out = await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(1.5)))
    assert out.status is DossierStatus.SUPPLEMENT_REQUIRED
    out = await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(2)))
    assert (out.status, out.due_at) == (DossierStatus.RECEIVED, due_after(t(2)))


@pytest.mark.parametrize("state_name", ["received", "supplement_required", "fee_due", "result_ready"])
async def test_withdraw_from_each_open_state(
    workflow_env: WorkflowEnvironment, settings: Settings, fake_zalo: httpx.AsyncClient, state_name: str
) -> None:
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    handle, _ = await register(workflow_env.client, settings, input)
    if state_name == "supplement_required":
        await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(1)))
    elif state_name == "fee_due":
        await handle.execute_update(DossierWorkflow.request_fee, fee(t(1)))
    elif state_name == "result_ready":
        await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(1)))
    assert (await state(handle)).status.value == state_name

    out = await handle.execute_update(
        DossierWorkflow.withdraw, Withdrawal(event_id=event_ids(), at=t(2), reason="Công dân xin rút")
    )
    assert out.status is DossierStatus.WITHDRAWN
    assert (await handle.result()).status is DossierStatus.WITHDRAWN

    async def withdrawn_notice() -> list[dict[str, Any]]:
        return [m for m in await zalo_messages(fake_zalo) if input.code in str(m) and "rút" in str(m)]

    assert await eventually(withdrawn_notice)


async def test_illegal_transitions_are_refused_before_they_reach_history(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    before = await history_length(handle)

    cause = await refusal(
        handle.execute_update(
            DossierWorkflow.mark_returned, Returned(event_id=event_ids(), at=t(1), to="Chủ hồ sơ")
        )
    )
    assert cause.type == Refusal.ILLEGAL_TRANSITION.value
    assert list(cause.details) == ["received"]
    cause = await refusal(handle.execute_update(DossierWorkflow.supplement_received, supplement(t(1))))
    assert cause.type == Refusal.ILLEGAL_TRANSITION.value
    assert await history_length(handle) == before

    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(1)))
    after_supplement = await history_length(handle)
    apology = Apology(event_id=event_ids(), at=t(2), new_due_at=due_after(t(2), 30), reason="x")
    for command, update in [
        (fee(t(2)), DossierWorkflow.request_fee),
        (result(t(2)), DossierWorkflow.mark_result_ready),
        (apology, DossierWorkflow.apologize),
    ]:
        cause = await refusal(handle.execute_update(update, command))
        assert cause.type == Refusal.ILLEGAL_TRANSITION.value
        assert list(cause.details) == ["supplement_required"]
    assert await history_length(handle) == after_supplement
    assert after_supplement > before
    assert (await state(handle)).status is DossierStatus.SUPPLEMENT_REQUIRED


async def test_a_repeated_event_changes_nothing_and_a_reused_event_id_is_refused(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    command = supplement_request(t(1))
    await handle.execute_update(DossierWorkflow.request_supplement, command)
    length = await history_length(handle)

    cause = await refusal(handle.execute_update(DossierWorkflow.request_supplement, command))
    assert cause.type == Refusal.DUPLICATE_EVENT.value
    cause = await refusal(
        handle.execute_update(DossierWorkflow.request_supplement, replace(command, items=["Giấy tờ khác"]))
    )
    assert cause.type == Refusal.EVENT_ID_REUSED.value
    assert await history_length(handle) == length
    assert len((await state(handle)).timeline) == 2


async def test_an_event_earlier_than_the_previous_one_is_refused(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(2)))
    cause = await refusal(handle.execute_update(DossierWorkflow.supplement_received, supplement(t(1))))
    assert cause.type == Refusal.EVENT_TIME.value


async def test_payments_duplicate_partial_and_late(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    handle, _ = await register(workflow_env.client, settings, input)
    await handle.execute_update(DossierWorkflow.request_fee, fee(t(0.5), amount_vnd=1_000_000))

    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-A", 400_000, t(1)))
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-A", 400_000, t(1)))
    s = await eventually(lambda: _with_payments(handle, 1))
    assert s.status is DossierStatus.FEE_DUE
    assert s.fee is not None
    assert s.fee.paid_vnd == 400_000

    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-B", 600_000, t(1.5)))
    s = await eventually(lambda: _status_is(handle, DossierStatus.RECEIVED))
    assert s.fee is not None
    assert s.fee.paid_vnd == 1_000_000
    # The same transaction again, after the fee is settled: nothing changes.
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-B", 600_000, t(1.5)))
    # A new payment while no fee is due: recorded for the officers, state unchanged.
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-C", 50_000, t(2)))
    s = await eventually(lambda: _with_payments(handle, 3))
    assert s.status is DossierStatus.RECEIVED
    assert [e.kind for e in s.timeline][-3:] == ["payment_partial", "payment_received", "payment_not_due"]

    async def recorded() -> list[Payment] | None:
        # The workflow knows a payment as it records it (a retry meanwhile answers that record): the row
        # lands a moment after the query above sees it.
        async with session_factory() as session:
            rows = list((await session.exec(select(Payment).order_by(col(Payment.id)))).all())
        return rows if len(rows) == 3 else None

    rows = await eventually(recorded)
    async with session_factory() as session:
        assert [(p.transaction_id, p.outcome) for p in rows] == [
            ("TX-A", "underpaid"),
            ("TX-B", "applied"),
            ("TX-C", "not_due"),
        ]
        officer_notices = (
            await session.exec(
                select(Notice).where(Notice.kind == "payment_mismatch", Notice.dossier_code == input.code)
            )
        ).all()
        assert {n.recipient for n in officer_notices} == {"officer-1"}
        assert len(officer_notices) == 2


async def _with_payments(handle: WorkflowHandle[Any, Any], count: int) -> DossierState | None:
    s = await state(handle)
    return s if len(s.payments) == count else None


async def test_rejection_needs_a_reason_and_ends_the_dossier(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    cause = await refusal(
        handle.execute_update(DossierWorkflow.reject, Rejection(event_id=event_ids(), at=t(1), reason="  "))
    )
    assert cause.type == Refusal.INVALID_COMMAND.value
    out = await handle.execute_update(
        DossierWorkflow.reject,
        Rejection(event_id=event_ids(), at=t(1), reason="Hồ sơ không thuộc thẩm quyền giải quyết"),
    )
    assert out.status is DossierStatus.REJECTED
    assert (await handle.result()).status is DossierStatus.REJECTED


async def test_one_apology_before_the_due_time_moves_the_appointment(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    appointment = due_after(t(0))
    new_due = due_after(t(0), 20)
    out = await handle.execute_update(
        DossierWorkflow.apologize,
        Apology(event_id=event_ids(), at=t(2), new_due_at=new_due, reason="Chờ ý kiến liên ngành"),
    )
    assert out.due_at == new_due
    s = await state(handle)
    assert s.apologized is True
    assert s.timeline[-1].detail == {
        "reason": "Chờ ý kiến liên ngành",
        "old_due_at": appointment.isoformat(),
        "new_due_at": new_due.isoformat(),
    }
    cause = await refusal(
        handle.execute_update(
            DossierWorkflow.apologize,
            Apology(event_id=event_ids(), at=t(3), new_due_at=due_after(t(0), 25), reason="Lần hai"),
        )
    )
    assert cause.type == Refusal.APOLOGY_REFUSED.value


async def test_an_apology_after_the_due_time_is_refused(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    late = due_after(t(0)) + timedelta(hours=1)
    cause = await refusal(
        handle.execute_update(
            DossierWorkflow.apologize,
            Apology(event_id=event_ids(), at=late, new_due_at=due_after(t(0), 25), reason="Trễ"),
        )
    )
    assert cause.type == Refusal.APOLOGY_REFUSED.value


async def test_a_restarted_worker_picks_the_dossier_up_where_it_was(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
    worker: Worker,
) -> None:
    t = Moments()
    handle, _ = await register(workflow_env.client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(1)))
    await worker.shutdown()

    # While no worker runs, the update waits; a new worker (fresh process state, no cache) completes it.
    client: Client = workflow_env.client
    pending = asyncio.ensure_future(
        handle.execute_update(DossierWorkflow.supplement_received, supplement(t(2)))
    )
    await asyncio.sleep(0.5)
    assert not pending.done()
    async with build_worker(client, settings, session_factory, fake_zalo):
        out = await pending
        assert (out.status, out.due_at) == (DossierStatus.RECEIVED, due_after(t(2)))
        out = await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(3)))
        assert out.status is DossierStatus.RESULT_READY
        assert [e.kind for e in (await state(handle)).timeline] == [
            "received",
            "supplement_requested",
            "supplement_received",
            "result_ready",
        ]


async def test_long_histories_continue_as_new_with_their_state(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    policy = replace(dossier_input(settings).policy, continue_as_new_after_events=20)
    input = dossier_input(settings, received_at=t(0), policy=policy)
    handle, _ = await register(workflow_env.client, settings, input)
    first_run = (await handle.describe()).run_id
    first_request = supplement_request(t(1))
    for day in (1, 2, 3):
        request = first_request if day == 1 else supplement_request(t(day))
        await handle.execute_update(DossierWorkflow.request_supplement, request)
        await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(day + 0.5)))

    async def new_run() -> str | None:
        description = await workflow_env.client.get_workflow_handle(handle.id).describe()
        return description.run_id if description.run_id != first_run else None

    await eventually(new_run)
    latest = workflow_env.client.get_workflow_handle_for(DossierWorkflow.run, handle.id)
    s = await state(latest)
    assert len(s.timeline) == 7
    assert s.supplement_count == 3
    # The carried event ids still recognise a repeat from before continue-as-new.
    cause = await refusal(latest.execute_update(DossierWorkflow.request_supplement, first_request))
    assert cause.type == Refusal.DUPLICATE_EVENT.value
    out = await latest.execute_update(DossierWorkflow.request_supplement, supplement_request(t(4)))
    assert out.seq == 8
    assert (await latest.describe()).status == WorkflowExecutionStatus.RUNNING


async def test_registering_twice_answers_the_same_and_another_body_is_refused(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    input = dossier_input(settings, code=f"H21.66-261123-{uuid.uuid4().int % 10000:04d}")
    _, first = await register(workflow_env.client, settings, input)
    _, again = await register(workflow_env.client, settings, input)
    assert first == again
    with pytest.raises(Refused) as refused:
        await register(workflow_env.client, settings, replace(input, fingerprint="another"))
    assert refused.value.refusal is Refusal.REGISTRATION_CONFLICT
    assert gateway_problem(refused.value).status == 409
