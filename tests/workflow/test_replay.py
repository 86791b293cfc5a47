"""Replay safety: saved histories of complete lifecycles replay against today's workflow code.

A failure here means a change would break dossiers already running in production: guard the change with
`workflow.patched(...)` instead of re-recording (see tests/workflow/record_histories.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from workflows.dossier import DossierWorkflow

HISTORIES = {
    path.stem: path.read_text() for path in sorted((Path(__file__).parent / "histories").glob("*.json"))
}


def test_there_are_saved_histories_to_replay() -> None:
    assert set(HISTORIES) >= {
        "full_lifecycle",
        "withdrawn_while_fee_due",
        "overdue_then_returned_late",
        "full_lifecycle_local_record",
        "paid_by_update",
        "supplement_rule",
        "rated_low",
        "rating_window_closed",
        "internal_steps",
        "supplement_never_supplied",
        "supplement_resumed",
    }


@pytest.mark.parametrize("name", HISTORIES)
async def test_saved_history_replays(name: str) -> None:
    raw = HISTORIES[name]
    workflow_id = json.loads(raw)["events"][0]["workflowExecutionStartedEventAttributes"]["workflowId"]
    history = WorkflowHistory.from_json(workflow_id, raw)
    result = await Replayer(workflows=[DossierWorkflow]).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, f"{name} no longer replays: {result.replay_failure}"
