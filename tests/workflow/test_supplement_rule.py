"""The procedure's supplement rule in the workflow (real Temporal dev server, worker, database).

A dossier carries its rule in its input (DossierInput.supplement, from the catalogue at registration):
a request beyond what it allows is refused before it reaches history; a dossier without a rule (registered
before the catalogue) asks as often as it did.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.dossier import DossierState, SupplementRule
from domain.refusals import Refusal
from domain.status import DossierStatus
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import Moments, dossier_input, due_after, register, supplement, supplement_request
from workflows.dossier import PATCH_SUPPLEMENT_RULE, DossierWorkflow

pytestmark = pytest.mark.usefixtures("worker")


async def state(handle: WorkflowHandle[Any, Any]) -> DossierState:
    result: DossierState = await handle.query(DossierWorkflow.state)
    return result


async def settled_history(handle: WorkflowHandle[Any, Any]) -> list[Any]:
    async def idle() -> bool:
        return not (await state(handle)).outbox

    await eventually(idle)
    return list((await handle.fetch_history()).events)


async def test_a_second_request_is_refused_before_it_reaches_history(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    input = replace(dossier_input(settings, received_at=t(0)), supplement=SupplementRule(1, True))
    handle, _ = await register(workflow_env.client, settings, input)
    await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(0.5)))
    back = await handle.execute_update(DossierWorkflow.supplement_received, supplement(t(1)))
    assert back.due_at == due_after(t(1))  # the count restarted from the complete dossier

    before = await settled_history(handle)
    markers = [e for e in before if e.HasField("marker_recorded_event_attributes")]
    assert any(PATCH_SUPPLEMENT_RULE.encode() in e.SerializeToString() for e in markers)

    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(2)))
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == Refusal.SUPPLEMENT_LIMIT.value
    assert "allows it once" in cause.message
    s = await state(handle)
    assert (s.status, s.supplement_count, len(s.timeline)) == (DossierStatus.RECEIVED, 1, 3)
    assert len(await settled_history(handle)) == len(before)  # a validator's refusal leaves no trace


async def test_the_catalogue_may_allow_more_and_a_dossier_without_a_rule_is_not_limited(
    workflow_env: WorkflowEnvironment, settings: Settings
) -> None:
    t = Moments()
    twice = replace(dossier_input(settings, received_at=t(0)), supplement=SupplementRule(2, True))
    handle, _ = await register(workflow_env.client, settings, twice)
    old = dossier_input(settings, received_at=t(0))
    assert old.supplement is None
    unlimited, _ = await register(workflow_env.client, settings, old)
    for day in (1, 2, 3):
        for dossier in (handle, unlimited):
            if dossier is handle and day == 3:
                continue
            await dossier.execute_update(DossierWorkflow.request_supplement, supplement_request(t(day)))
            await dossier.execute_update(DossierWorkflow.supplement_received, supplement(t(day + 0.5)))
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update(DossierWorkflow.request_supplement, supplement_request(t(3)))
    assert isinstance(failed.value.cause, ApplicationError)
    assert failed.value.cause.type == Refusal.SUPPLEMENT_LIMIT.value
    assert "allows it 2 times" in failed.value.cause.message
    assert (await state(handle)).supplement_count == 2
    assert (await state(unlimited)).supplement_count == 3
