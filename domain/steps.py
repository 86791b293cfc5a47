"""Internal steps: how a step that ended is judged against its deadline (the process-control sheet's
early / on time / late), and the record a hand-over keeps of the step it closes.

Pure. A step's deadline is its start plus its budget in working hours (the workflow asks the calendar);
the judgement compares the end with it: after the deadline is late; on the deadline's office day (and not
after it) is on time; an earlier office day is early — the day-level reading the one-stop office uses for
dossiers (trước hạn / đúng hạn / quá hạn), applied to each step.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.dossier import StepInfo
from domain.timefmt import iso, to_office


class StepOutcome(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


def outcome(ended_at: datetime, due_at: datetime) -> StepOutcome:
    """How a step that ended at `ended_at` stands against its deadline `due_at`."""
    if ended_at > due_at:
        return StepOutcome.LATE
    if to_office(ended_at).date() < to_office(due_at).date():
        return StepOutcome.EARLY
    return StepOutcome.ON_TIME


def closed(step: StepInfo, ended_at: datetime) -> dict[str, Any]:
    """The timeline's record of a step that ends at `ended_at` (JSON, in the entry that ends it)."""
    return {
        "step": step.number,
        "name": step.name,
        "holder": step.holder,
        "started_at": iso(step.started_at),
        "due_at": iso(step.due_at),
        "ended_at": iso(ended_at),
        "outcome": outcome(ended_at, step.due_at).value,
    }
