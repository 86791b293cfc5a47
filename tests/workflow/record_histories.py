"""Record the event histories that test_replay.py replays: `python -m tests.workflow.record_histories [name]`.

Run it when a new lifecycle shape deserves a saved history; never re-record existing files to make a
replay pass — a failing replay means the workflow change needs `workflow.patched`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import SQLModel
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine, make_session_factory
from domain.dossier import (
    Delivery,
    DossierPolicy,
    Handover,
    PaymentReceived,
    Rating,
    ResultReady,
    Returned,
    Step,
    SupplementRule,
    Withdrawal,
)
from settings import Settings
from tests.conftest import FAKE_ZALO_URL, OFFICERS, venv_binary
from tests.support.builders import (
    Moments,
    dossier_input,
    event_ids,
    fee,
    register,
    result,
    supplement,
    supplement_request,
)
from worker import build_worker
from workflows import search_attributes
from workflows.dossier import DossierWorkflow
from zalo.fake_server import create_fake_zalo_app

HISTORIES = Path(__file__).parent / "histories"


async def settle(handle: WorkflowHandle[Any, Any]) -> None:
    """Wait until the workflow has handed over its notices (or finished)."""
    for _ in range(200):
        description = await handle.describe()
        if description.close_time is not None or not (await handle.query(DossierWorkflow.state)).outbox:
            return
        await asyncio.sleep(0.05)


async def full_lifecycle(
    client: Client, settings: Settings, _: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """received → supplement_required → received → fee_due → payment → received → result_ready → returned."""
    t = Moments()
    handle, _ = await register(client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(0.5)))
    await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(1)))
    await handle.execute_update(DossierWorkflow.request_fee, fee(t(2)))
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-REPLAY-1", 1_250_000, t(2.5)))
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-REPLAY-1", 1_250_000, t(2.5)))
    await settle(handle)
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(3)))
    await handle.execute_update(
        DossierWorkflow.mark_returned, Returned(event_id=event_ids(), at=t(4), to="Chủ hồ sơ")
    )
    await handle.result()
    return handle


async def withdrawn_while_fee_due(
    client: Client, settings: Settings, _: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """A partial payment, then the citizen withdraws while the fee is still due."""
    t = Moments()
    handle, _ = await register(client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_fee, fee(t(1), amount_vnd=2_000_000))
    await handle.signal(DossierWorkflow.payment_received, PaymentReceived("TX-REPLAY-2", 500_000, t(1.5)))
    await settle(handle)
    await handle.execute_update(
        DossierWorkflow.withdraw, Withdrawal(event_id=event_ids(), at=t(2), reason="Rút")
    )
    await handle.result()
    return handle


async def overdue_then_returned_late(
    client: Client, settings: Settings, env: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """Overdue escalation to the top of the ladder, then a late result, returned."""
    t = Moments()
    policy = replace(DossierPolicy(), quiet_hours_start="00:00", quiet_hours_end="00:00")
    input = dossier_input(settings, received_at=t(0), policy=policy)
    with env.with_time_skipping_disabled():
        handle, outcome = await register(client, settings, input)
    await env.fast_forward(handle, timedelta(days=40))
    for _ in range(100):
        if (await handle.query(DossierWorkflow.state)).escalation_level == 2:
            break
        await asyncio.sleep(0.1)
    assert outcome.due_at is not None
    await settle(handle)
    late = outcome.due_at + timedelta(days=20)
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(late))
    await handle.execute_update(
        DossierWorkflow.mark_returned,
        Returned(event_id=event_ids(), at=late + timedelta(hours=1), to="Chủ hồ sơ"),
    )
    await handle.result()
    return handle


async def paid_by_update(
    client: Client, settings: Settings, _: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """A fee paid in two parts through the record_payment update (one repeated), a result sent by post."""
    t = Moments()
    handle, _ = await register(client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.request_fee, fee(t(0.5), amount_vnd=2_000_000))
    part = PaymentReceived("TX-REPLAY-3", 500_000, t(1), require_fee_due=True)
    await handle.execute_update(DossierWorkflow.record_payment, part)
    await handle.execute_update(DossierWorkflow.record_payment, part)
    rest = PaymentReceived("TX-REPLAY-4", 1_500_000, t(1.5), require_fee_due=True)
    await handle.execute_update(DossierWorkflow.record_payment, rest)
    await handle.execute_update(
        DossierWorkflow.mark_result_ready,
        ResultReady(event_id=event_ids(), at=t(2), delivery=Delivery(note="Bưu điện huyện")),
    )
    await settle(handle)
    await handle.execute_update(
        DossierWorkflow.mark_returned, Returned(event_id=event_ids(), at=t(3), to="Chủ hồ sơ")
    )
    await handle.result()
    return handle


async def supplement_rule(
    client: Client, settings: Settings, _: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """A procedure allowing two supplement requests (patch supplement-rule-per-procedure): two asked and
    received, a third refused, then the result, returned."""
    t = Moments()
    input = replace(dossier_input(settings, received_at=t(0)), supplement=SupplementRule(2, True))
    handle, _ = await register(client, settings, input)
    for day in (0.5, 1.5):
        await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(day)))
        await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(day + 0.5)))
    with contextlib.suppress(WorkflowUpdateFailedError):  # refused by the validator: nothing in history
        await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(3)))
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(4)))
    await settle(handle)
    await handle.execute_update(
        DossierWorkflow.mark_returned, Returned(event_id=event_ids(), at=t(5), to="Chủ hồ sơ")
    )
    await handle.result()
    return handle


async def rated_low(client: Client, settings: Settings, _: WorkflowEnvironment) -> WorkflowHandle[Any, Any]:
    """Returned (patch wait-for-rating: the rating invite), then a low rating (the agency head's notice),
    a second rating refused by the validator; the dossier completes once rated."""
    t = Moments()
    handle, _ = await register(client, settings, dossier_input(settings, received_at=t(0)))
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(1)))
    await handle.execute_update(
        DossierWorkflow.mark_returned, Returned(event_id=event_ids(), at=t(2), to="Chủ hồ sơ")
    )
    await settle(handle)
    await handle.execute_update(DossierWorkflow.rate, Rating(2, "Phải đi lại nhiều lần", t(2.5)))
    with contextlib.suppress(WorkflowUpdateFailedError):  # rated already: refused, nothing in history
        await handle.execute_update(DossierWorkflow.rate, Rating(5, "", t(2.6)))
    await handle.result()
    return handle


async def rating_window_closed(
    client: Client, settings: Settings, env: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """Returned, no rating: the rating timer runs out (time skipped) and the dossier completes."""
    t = Moments()
    with env.with_time_skipping_disabled():
        handle, _ = await register(client, settings, dossier_input(settings, received_at=t(0)))
        await handle.execute_update(DossierWorkflow.mark_result_ready, result(t(1)))
        await handle.execute_update(
            DossierWorkflow.mark_returned, Returned(event_id=event_ids(), at=t(2), to="Chủ hồ sơ")
        )
        await settle(handle)
    await env.fast_forward(handle, timedelta(days=8))
    await handle.result()
    return handle


async def internal_steps(
    client: Client, settings: Settings, env: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """Internal steps (patch internal-steps-and-handovers): three hand-overs, the second step left past its
    deadline (its holder and head told), the result, returned (which ends the last step)."""
    t = Moments()
    steps = [
        Step("Tiếp nhận, kiểm tra hồ sơ", "Bộ phận Một cửa", 16),
        Step("Thẩm định hồ sơ", "Phòng Kinh tế - Hạ tầng", 16),
        Step("Ký, trả kết quả", "Lãnh đạo; Bộ phận Một cửa", 8),
    ]
    input = replace(dossier_input(settings, received_at=t(0)), steps=steps)
    with env.with_time_skipping_disabled():
        handle, _ = await register(client, settings, input)
        for step, officer, day in ((1, "mot.cua", 4.5), (2, "chuyen.vien", 5)):
            await handle.execute_update(
                DossierWorkflow.handover,
                Handover(event_id=event_ids(), at=t(day), step=step, officer=officer),
            )
    await env.fast_forward(handle, timedelta(days=5))
    for _ in range(100):
        if (await handle.query(DossierWorkflow.state)).timeline[-1].kind == "step_late":
            break
        await asyncio.sleep(0.1)
    await settle(handle)
    later = (await handle.query(DossierWorkflow.state)).timeline[-1].at + timedelta(hours=1)
    await handle.execute_update(
        DossierWorkflow.handover, Handover(event_id=event_ids(), at=later, step=3, officer="lanh.dao")
    )
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(later + timedelta(minutes=30)))
    await settle(handle)
    await handle.execute_update(
        DossierWorkflow.mark_returned,
        Returned(event_id=event_ids(), at=later + timedelta(hours=1), to="Chủ hồ sơ"),
    )
    await handle.result()
    return handle


async def supplement_never_supplied(
    client: Client, settings: Settings, env: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """A supplement asked with a 5-working-day deadline (patch supplement-deadline-stops-dossier), never
    supplied: the citizen's two reminders (time skipped), then the dossier stops."""
    t = Moments()
    input = replace(dossier_input(settings, received_at=t(0)), supplement=SupplementRule(1, True, 5))
    with env.with_time_skipping_disabled():
        handle, _ = await register(client, settings, input)
        await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(5)))
        await settle(handle)
    await env.fast_forward(handle, timedelta(days=20))
    await handle.result()
    return handle


async def supplement_resumed(
    client: Client, settings: Settings, _: WorkflowEnvironment
) -> WorkflowHandle[Any, Any]:
    """A procedure whose count resumes (patch supplement-deadline-stops-dossier): the supplement asked and
    received in time (its deadline cancelled), the due date moved by the wait; then withdrawn."""
    t = Moments()
    input = replace(dossier_input(settings, received_at=t(0)), supplement=SupplementRule(1, False))
    handle, _ = await register(client, settings, input)
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(0.5)))
    await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(2)))
    await settle(handle)
    await handle.execute_update(
        DossierWorkflow.withdraw, Withdrawal(event_id=event_ids(), at=t(3), reason="Công dân đề nghị rút")
    )
    await handle.result()
    return handle


Scenario = Callable[[Client, Settings, WorkflowEnvironment], Awaitable[WorkflowHandle[Any, Any]]]
SCENARIOS: dict[str, tuple[Scenario, bool]] = {
    "full_lifecycle": (full_lifecycle, False),
    "withdrawn_while_fee_due": (withdrawn_while_fee_due, False),
    "overdue_then_returned_late": (overdue_then_returned_late, True),
    # Recorded after the projection became a local activity (patch record-projection-as-local-activity);
    # the three above predate it and replay through the unpatched branch.
    "full_lifecycle_local_record": (full_lifecycle, False),
    # Recorded after payments became the record_payment update (the re-cut of workflows/gateway.py).
    "paid_by_update": (paid_by_update, False),
    # Recorded after the supplement rule per procedure (patch supplement-rule-per-procedure).
    "supplement_rule": (supplement_rule, False),
    # Recorded after the wait for the citizen's rating (patch wait-for-rating).
    "rated_low": (rated_low, False),
    "rating_window_closed": (rating_window_closed, True),
    # Recorded after internal steps and hand-overs (patch internal-steps-and-handovers).
    "internal_steps": (internal_steps, True),
    # Recorded after the supplement's deadline and the resume rule (patch supplement-deadline-stops-dossier).
    "supplement_never_supplied": (supplement_never_supplied, True),
    "supplement_resumed": (supplement_resumed, False),
}


async def main(names: list[str]) -> None:
    HISTORIES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=f"sqlite+aiosqlite:///{tmp}/record.db",
            task_queue="record-histories",
            zalo_mode="fake",
            fake_zalo_url=FAKE_ZALO_URL,
            officer_zalo_ids=OFFICERS,
            notice_quiet_hours_guard=False,
            # No quiet hours: recording must not wait for 06:00 when run at night.
            quiet_hours_start=time(0, 0),
            quiet_hours_end=time(0, 0),
        )
        engine = make_engine(settings.database_url)
        async with engine.begin() as conn:
            await conn.run_sync(SQLModel.metadata.create_all)
        sessions = make_session_factory(engine)
        fake = create_fake_zalo_app()
        async with (
            await WorkflowEnvironment.start_time_skipping_v2(
                dev_server_existing_path=venv_binary("temporal"),
                search_attributes=list(search_attributes.ALL),
                dev_server_extra_args=["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"],
            ) as env,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=fake), base_url=FAKE_ZALO_URL) as http,
            build_worker(env.client, settings, sessions, http),
        ):
            for name in names or list(SCENARIOS):
                scenario, skips_time = SCENARIOS[name]
                if skips_time:
                    handle = await scenario(env.client, settings, env)
                else:
                    with env.with_time_skipping_disabled():
                        handle = await scenario(env.client, settings, env)
                history = await handle.fetch_history()
                path = HISTORIES / f"{name}.json"
                path.write_text(history.to_json())
                print(f"{path}: {len(history.events)} events")
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
