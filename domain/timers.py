"""The dossier's timers: which reminder or escalation its state calls for, and what firing one changes.

Pure. The workflow asks `plan` for the timers of its state, turns each offset of working time into an
instant through the calendar activity, waits for the earliest (or for a change of state), then applies
`fire` to its state and records the entry and notices it returns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from domain.dossier import DossierPolicy, DossierState
from domain.notices import NoticeKind, NoticeOrder, OfficerRole, citizen_notice, officer_notice
from domain.status import DossierStatus, EventKind, lapsed
from domain.timefmt import iso


@dataclass(frozen=True)
class PlannedTimer:
    kind: EventKind
    base: datetime
    working_seconds: int  # working time after `base` (negative: before it); 0: at `base` itself
    label: str  # shown on the timer in the Temporal UI


@dataclass
class Firing:
    """What a timer that ran out records: the timeline entry's detail and the notices it sends."""

    detail: dict[str, Any]
    notices: list[NoticeOrder] = field(default_factory=list)


def plan(s: DossierState, p: DossierPolicy) -> list[PlannedTimer]:
    """Every timer the state calls for (the workflow sleeps until the earliest)."""
    day = p.working_day_seconds
    timers: list[PlannedTimer] = []
    if s.status is DossierStatus.RECEIVED and s.due_at is not None:
        if not s.overdue and s.due_soon_notified_for != s.due_at:
            timers.append(
                PlannedTimer(
                    EventKind.DUE_SOON,
                    s.due_at,
                    -p.due_soon_working_days * day,
                    "due soon: remind the officer",
                )
            )
        if not s.overdue:
            timers.append(PlannedTimer(EventKind.OVERDUE, s.due_at, 0, "due time: overdue escalation"))
        elif s.escalation_level < len(p.escalation_ladder) - 1:
            role = p.escalation_ladder[s.escalation_level + 1]
            offset = s.escalation_level * p.escalate_every_working_days * day
            timers.append(PlannedTimer(EventKind.ESCALATION, s.due_at, offset, f"escalate to {role}"))
    elif s.status is DossierStatus.SUBMITTED and s.check_due_at is not None:
        # The desk's check of an online submission: a reminder before its deadline, the flag at it.
        if not s.check_reminded and not s.overdue:
            timers.append(
                PlannedTimer(
                    EventKind.CHECK_DUE_SOON,
                    s.check_due_at,
                    -p.check_reminder_working_hours * 3600,
                    "online submission: remind the desk to check it",
                )
            )
        if not s.overdue:
            timers.append(
                PlannedTimer(EventKind.CHECK_OVERDUE, s.check_due_at, 0, "online submission: check overdue")
            )
    elif s.status is DossierStatus.FEE_DUE and s.fee is not None:
        if s.fee.reminders_sent < len(p.fee_reminder_working_days):
            days = p.fee_reminder_working_days[s.fee.reminders_sent]
            timers.append(
                PlannedTimer(
                    EventKind.FEE_REMINDER, s.fee.requested_at, days * day, f"fee reminder (day {days})"
                )
            )
        if not s.fee.unpaid_alerted and s.fee.pay_by is not None:
            timers.append(PlannedTimer(EventKind.FEE_UNPAID, s.fee.pay_by, 0, "fee unpaid: alert officer"))
    elif (
        s.status is DossierStatus.SUPPLEMENT_REQUIRED
        and s.supplement is not None
        and s.supplement.supply_by is not None
    ):
        # The citizen's deadline to supply (set under the supplement-deadline patch): reminders before it,
        # then the stop.
        supply_by = s.supplement.supply_by
        sent = s.supplement.reminders_sent
        if sent < len(p.supply_reminder_working_days):
            days = p.supply_reminder_working_days[sent]
            timers.append(
                PlannedTimer(
                    EventKind.SUPPLEMENT_REMINDER,
                    supply_by,
                    -days * day,
                    f"supplement reminder {sent + 1}: {days} working day(s) before its deadline",
                )
            )
        timers.append(
            PlannedTimer(
                EventKind.STOPPED, supply_by, 0, "supplement deadline: not supplied, the dossier stops"
            )
        )
    elif (
        s.status is DossierStatus.RESULT_READY
        and s.result is not None
        and s.result.pickup is not None
        and s.result.pickup_reminders_sent < len(p.pickup_reminder_working_days)
    ):
        days = p.pickup_reminder_working_days[s.result.pickup_reminders_sent]
        timers.append(
            PlannedTimer(
                EventKind.PICKUP_REMINDER, s.result.ready_at, days * day, f"pick-up reminder (day {days})"
            )
        )
    if s.step is not None and not s.step.late_notified and not s.status.is_final:
        timers.append(
            PlannedTimer(
                EventKind.STEP_LATE,
                s.step.due_at,
                0,
                f"step {s.step.number} deadline: tell its holder and their head",
            )
        )
    return timers


def fire(s: DossierState, p: DossierPolicy, kind: EventKind) -> Firing:
    """Apply a timer of `kind` that ran out to the state (in place): the entry's detail and notices."""
    firing = Firing({"due_at": iso(s.due_at)})
    if kind is EventKind.DUE_SOON:
        s.due_soon_notified_for = s.due_at
        firing.notices.append(
            officer_notice(s, NoticeKind.DUE_SOON, p.escalation_ladder[0], due_at=iso(s.due_at))
        )
    elif kind in (EventKind.OVERDUE, EventKind.ESCALATION):
        s.overdue = True
        s.escalation_level += 1
        role = p.escalation_ladder[min(s.escalation_level, len(p.escalation_ladder) - 1)]
        firing.detail |= {"level": s.escalation_level, "role": role}
        if s.step is not None:  # the lateness is the step's that holds the dossier now
            firing.detail |= {"step": s.step.number, "holder": s.step.holder}
        notice = NoticeKind.OVERDUE if kind is EventKind.OVERDUE else NoticeKind.ESCALATION
        firing.notices.append(
            officer_notice(s, notice, role, due_at=iso(s.due_at), level=s.escalation_level, role=role)
        )
    elif kind is EventKind.FEE_REMINDER and s.fee is not None:
        s.fee.reminders_sent += 1
        firing.detail = {"reminder_no": s.fee.reminders_sent, "pay_by": iso(s.fee.pay_by)}
        firing.notices.append(
            citizen_notice(
                s,
                NoticeKind.FEE_REMINDER,
                total_vnd=s.fee.total_vnd - s.fee.paid_vnd,
                pay_url=s.fee.pay_url,
                pay_by=iso(s.fee.pay_by),
                reminder_no=s.fee.reminders_sent,
            )
        )
    elif kind is EventKind.FEE_UNPAID and s.fee is not None:
        s.fee.unpaid_alerted = True
        firing.detail = {
            "total_vnd": s.fee.total_vnd,
            "paid_vnd": s.fee.paid_vnd,
            "pay_by": iso(s.fee.pay_by),
        }
        firing.notices.append(
            officer_notice(
                s,
                NoticeKind.FEE_UNPAID,
                p.escalation_ladder[0],
                total_vnd=s.fee.total_vnd - s.fee.paid_vnd,
                pay_by=iso(s.fee.pay_by),
            )
        )
    elif kind in (EventKind.CHECK_DUE_SOON, EventKind.CHECK_OVERDUE):
        firing.detail = {"check_due_at": iso(s.check_due_at)}
        if kind is EventKind.CHECK_DUE_SOON:
            s.check_reminded = True
            notice = NoticeKind.CHECK_DUE_SOON
        else:
            s.overdue = True
            notice = NoticeKind.CHECK_OVERDUE
        firing.notices.append(
            officer_notice(s, notice, p.escalation_ladder[0], check_due_at=iso(s.check_due_at))
        )
    elif kind is EventKind.SUPPLEMENT_REMINDER and s.supplement is not None:
        s.supplement.reminders_sent += 1
        context: dict[str, Any] = {"items": s.supplement.items, "supply_by": iso(s.supplement.supply_by)}
        firing.detail = {"reminder_no": s.supplement.reminders_sent, "supply_by": context["supply_by"]}
        firing.notices.append(
            citizen_notice(
                s, NoticeKind.SUPPLEMENT_REMINDER, reminder_no=s.supplement.reminders_sent, **context
            )
        )
    elif kind is EventKind.STOPPED and s.supplement is not None:
        # Not supplied by the deadline: the dossier stops (final); the citizen may apply anew.
        asked = s.supplement
        s.status = lapsed(kind, s.status)
        s.finished_at = asked.supply_by
        s.overdue = False
        context = {
            "items": asked.items,
            "requested_at": iso(asked.requested_at),
            "supply_by": iso(asked.supply_by),
        }
        firing.detail = dict(context)
        firing.notices.append(citizen_notice(s, NoticeKind.STOPPED, **context))
        firing.notices.append(
            officer_notice(s, NoticeKind.SUPPLEMENT_LAPSED, p.escalation_ladder[0], **context)
        )
    elif kind is EventKind.PICKUP_REMINDER and s.result is not None:
        s.result.pickup_reminders_sent += 1
        pickup = asdict(s.result.pickup) if s.result.pickup else None
        firing.detail = {"reminder_no": s.result.pickup_reminders_sent, "pickup": pickup}
        firing.notices.append(citizen_notice(s, NoticeKind.PICKUP_REMINDER, pickup=pickup))
    elif kind is EventKind.STEP_LATE and s.step is not None:
        s.step.late_notified = True  # once per step
        step = s.step
        firing.detail = {
            "step": step.number,
            "name": step.name,
            "holder": step.holder,
            "step_due_at": iso(step.due_at),
        }
        context = {
            "step": step.number,
            "step_name": step.name,
            "holder": step.holder,
            "step_due_at": iso(step.due_at),
        }
        # The holder (the handling officer's rung) and their head.
        for role in (OfficerRole.OFFICER, OfficerRole.DEPARTMENT_HEAD):
            firing.notices.append(officer_notice(s, NoticeKind.STEP_LATE, role.value, **context))
    return firing
