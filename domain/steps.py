"""Internal steps: how a step that ended is judged against its deadline (the process-control sheet's
early / on time / late), and the record a hand-over keeps of the step it closes.

Pure. A step's deadline is its start plus its budget in working hours (the workflow asks the calendar);
the judgement compares the end with it: after the deadline is late; on the deadline's office day (and not
after it) is on time; an earlier office day is early — the day-level reading the one-stop office uses for
dossiers (trước hạn / đúng hạn / quá hạn), applied to each step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.dossier import StepInfo
from domain.status import EventKind
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


@dataclass
class SheetRow:
    """One hand-over on the process-control sheet (Mẫu 06): who gave the dossier to whom, when, the
    step's deadline, and how the step ended (None while it runs)."""

    step: int
    name: str
    unit: str
    hours: float
    handed_by: str | None  # the holder of the step before (None: the first step)
    holder: str
    started_at: datetime
    due_at: datetime | None
    ended_at: datetime | None = None
    outcome: StepOutcome | None = None
    late_notified: bool = False


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def sheet_rows(entries: Iterable[tuple[str, datetime, dict[str, Any]]]) -> list[SheetRow]:
    """The sheet's rows from a dossier's timeline entries (kind, legal time, detail), in order: a row per
    hand-over, completed by the entry that ended its step (the next hand-over, or the dossier's end)."""
    rows: list[SheetRow] = []
    for kind, at, detail in entries:
        ended = detail.get("closed")
        if isinstance(ended, dict):
            for row in reversed(rows):
                if row.step == ended.get("step") and row.ended_at is None:
                    row.ended_at = _time(ended.get("ended_at")) or at
                    row.outcome = StepOutcome(str(ended.get("outcome")))
                    break
        if kind == EventKind.HANDOVER:
            rows.append(
                SheetRow(
                    step=int(detail["step"]),
                    name=str(detail.get("name", "")),
                    unit=str(detail.get("unit", "")),
                    hours=float(detail.get("hours") or 0),
                    handed_by=detail.get("from"),
                    holder=str(detail.get("holder", "")),
                    started_at=at,
                    due_at=_time(detail.get("step_due_at")),
                )
            )
        elif kind == EventKind.STEP_LATE and rows and rows[-1].step == detail.get("step"):
            rows[-1].late_notified = True
    return rows


@dataclass
class StepTally:
    """How the steps of one procedure ended (the statistics by step and procedure, index set 766)."""

    procedure_code: str
    procedure_name: str
    step: int
    name: str
    early: int = 0
    on_time: int = 0
    late: int = 0

    @property
    def ended(self) -> int:
        return self.early + self.on_time + self.late

    @property
    def rate(self) -> float | None:
        """The share that ended early or on time."""
        return (self.early + self.on_time) / self.ended if self.ended else None


def tally(ended: Iterable[tuple[str, str, dict[str, Any]]]) -> list[StepTally]:
    """Steps that ended (procedure code, procedure name, the `closed` record), counted by procedure and
    step, in procedure and step order."""
    found: dict[tuple[str, int], StepTally] = {}
    for code, name, record in ended:
        key = (code, int(record["step"]))
        counts = found.setdefault(key, StepTally(code, name, key[1], str(record.get("name", ""))))
        outcome = StepOutcome(str(record.get("outcome")))
        if outcome is StepOutcome.EARLY:
            counts.early += 1
        elif outcome is StepOutcome.ON_TIME:
            counts.on_time += 1
        else:
            counts.late += 1
    return [found[key] for key in sorted(found)]
