"""The step deadline's timer under time skipping: a hand-over starts a step whose deadline lies ahead in
working hours; when it passes, the holder and their head are told once, and the step ends judged late.
Dossiers without steps take no hand-over (their histories never see one)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from db.engine import SessionFactory
from domain.dossier import DossierState, Handover, Returned, Step
from domain.refusals import Refusal
from domain.steps import StepOutcome, outcome
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import CALENDAR, Moments, dossier_input, event_ids, register, result
from tests.workflow.test_timers import officer_notices, projected_through, state
from workflows.dossier import DossierWorkflow

pytestmark = pytest.mark.usefixtures("time_skipping_worker")

STEPS = [
    Step("Tiếp nhận, kiểm tra hồ sơ", "Bộ phận Một cửa", 16),
    Step("Thẩm định hồ sơ", "Phòng Kinh tế - Hạ tầng", 16),
    Step("Ký, trả kết quả", "Lãnh đạo; Bộ phận Một cửa", 8),
]


def handover(at: object, step: int, officer: str) -> Handover:
    return Handover(event_id=event_ids(), at=at, step=step, officer=officer)  # type: ignore[arg-type]


async def test_a_step_past_its_deadline_tells_its_holder_and_head_once(
    time_skipping_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    input = replace(dossier_input(settings, received_at=t(0)), steps=STEPS)
    with time_skipping_env.with_time_skipping_disabled():
        handle, _ = await register(time_skipping_env.client, settings, input)
        await handle.execute_update(DossierWorkflow.handover, handover(t(4.5), 1, "mot.cua"))
        # Step 2's 16 working hours from t(5) end at t(7): ahead of now, whatever day the test runs.
        await handle.execute_update(DossierWorkflow.handover, handover(t(5), 2, "chuyen.vien"))
    step_due = CALENDAR.add_working_time(t(5), timedelta(hours=16))
    assert (await state(handle)).step is not None
    await time_skipping_env.fast_forward(handle, timedelta(days=5))

    async def told() -> DossierState | None:
        s = await state(handle)
        return s if s.timeline[-1].kind == "step_late" else None

    s = await eventually(told)
    late = s.timeline[-1]
    assert (late.seq, late.at, late.detail) == (
        4,
        step_due,
        {"step": 2, "name": "Thẩm định hồ sơ", "holder": "chuyen.vien", "step_due_at": step_due.isoformat()},
    )
    await projected_through(session_factory, input.code, 4)
    assert await officer_notices(session_factory, input.code) == [
        (4, "step_late", "officer-1"),
        (4, "step_late", "head-1"),
    ]
    # Once: more time passes, nobody is told again.
    await time_skipping_env.fast_forward(handle, timedelta(days=2))
    assert [e.kind for e in (await state(handle)).timeline].count("step_late") == 1

    # Out of order and unknown steps are refused by the validator: nothing reaches the history.
    for step, refusal in ((1, Refusal.STEP_OUT_OF_ORDER), (4, Refusal.UNKNOWN_STEP)):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(DossierWorkflow.handover, handover(step_due, step, "lanh.dao"))
        assert getattr(refused.value.cause, "type", None) == refusal.value
    ended = step_due + timedelta(hours=1)
    await handle.execute_update(DossierWorkflow.handover, handover(ended, 3, "lanh.dao"))
    await handle.execute_update(DossierWorkflow.mark_result_ready, result(ended + timedelta(minutes=30)))
    await handle.execute_update(
        DossierWorkflow.mark_returned,
        Returned(event_id=event_ids(), at=ended + timedelta(hours=1), to="Chủ hồ sơ"),
    )
    s = await state(handle)
    closed = [e.detail["closed"] for e in s.timeline if "closed" in e.detail]
    step3_due = CALENDAR.add_working_time(ended, timedelta(hours=8))
    assert [(c["step"], c["holder"], c["outcome"]) for c in closed] == [
        (1, "mot.cua", outcome(t(5), CALENDAR.add_working_time(t(4.5), timedelta(hours=16)))),
        (2, "chuyen.vien", StepOutcome.LATE),
        (3, "lanh.dao", outcome(ended + timedelta(hours=1), step3_due)),
    ]
    assert closed[1]["ended_at"] == ended.isoformat()
    assert s.late_steps == [2]


async def test_a_dossier_without_steps_takes_no_handover(
    time_skipping_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    with time_skipping_env.with_time_skipping_disabled():
        handle, _ = await register(
            time_skipping_env.client, settings, dossier_input(settings, received_at=t(0))
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(DossierWorkflow.handover, handover(t(1), 1, "mot.cua"))
    assert getattr(refused.value.cause, "type", None) == Refusal.UNKNOWN_STEP.value
    assert [e.kind for e in (await state(handle)).timeline] == ["received"]
