"""The projection after a workflow task was lost (its worker or the server killed after the record had
committed): the task runs again and may put another entry at the same seq. The workflow's entry wins, the
lost one's rows and unsent notices go; a record retried as it was changes nothing. (`make chaos` drives
the same on the real stack: bench/chaos.py's worker-kill and temporal-kill scenarios.)"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import col, select
from temporalio.testing import ActivityEnvironment

from activities.records import RecordActivities
from db.engine import SessionFactory
from db.models import Dossier, DossierEvent, Notice
from domain.dossier import DossierState, TimelineEntry
from domain.notices import NoticeKind, NoticeOrder, citizen_notice
from domain.status import DossierStatus, EventKind
from domain.timefmt import iso
from settings import Settings
from tests.support.builders import Moments, dossier_input
from workflows.contracts import Projection, RecordRequest


def request(
    settings: Settings,
    state: DossierState,
    seq: int,
    kind: EventKind,
    notices: list[NoticeOrder],
    *,
    first: bool = False,
) -> RecordRequest:
    input = dossier_input(settings, code=state.code, received_at=state.received_at)
    return RecordRequest(
        workflow_id=f"dossier-{state.code}",
        code=state.code,
        entry=TimelineEntry(seq, state.received_at + timedelta(hours=seq), kind.value, "tthc"),
        projection=Projection(
            status=state.status.value,
            dvcqg_status=2,
            due_at=None,
            overdue=False,
            apologized=False,
            escalation_level=0,
            on_time=None,
            finished_at=None,
        ),
        notices=notices,
        registration=input if first else None,
    )


async def rows(
    session_factory: SessionFactory, code: str
) -> tuple[list[tuple[int, str]], list[tuple[int, str, str]], Dossier]:
    async with session_factory() as session:
        events = (
            await session.exec(
                select(DossierEvent).where(DossierEvent.dossier_code == code).order_by(col(DossierEvent.seq))
            )
        ).all()
        notices = (
            await session.exec(select(Notice).where(Notice.dossier_code == code).order_by(col(Notice.seq)))
        ).all()
        dossier = await session.get(Dossier, code)
    assert dossier is not None
    return [(e.seq, e.kind) for e in events], [(n.seq, n.kind, n.status) for n in notices], dossier


def confirmation(state: DossierState, at: datetime) -> NoticeOrder:
    """The payment confirmation as the workflow orders it (`_apply_payment`, then `_record` adds `at`)."""
    order = citizen_notice(
        state,
        NoticeKind.PAYMENT_CONFIRMED,
        amount_vnd=500_000,
        transaction_id="PAY-1",
        due_at=iso(at + timedelta(days=20)),
    )
    order.context["at"] = iso(at)
    return order


def reminder(state: DossierState, at: datetime) -> NoticeOrder:
    """The fee reminder as the timer orders it (domain/timers.py `fire`)."""
    order = citizen_notice(
        state,
        NoticeKind.FEE_REMINDER,
        reminder_no=1,
        total_vnd=500_000,
        pay_by=iso(at + timedelta(days=3)),
        pay_url="",
    )
    order.context["at"] = iso(at)
    return order


async def test_an_entry_of_a_lost_task_is_replaced_by_the_workflows_own(
    settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    state = DossierState(input.code, input.agency_code, "1.001234", "Cấp giấy phép xây dựng", 15, t(0))
    run = ActivityEnvironment().run
    records = RecordActivities(session_factory, settings)

    await run(records.record, request(settings, state, 1, EventKind.RECEIVED, [], first=True))
    state.status = DossierStatus.FEE_DUE
    await run(records.record, request(settings, state, 2, EventKind.FEE_REQUESTED, []))
    # The lost task: a payment recorded at seq 3 with its confirmation, then the worker died.
    state.status = DossierStatus.RECEIVED
    lost = request(settings, state, 3, EventKind.PAYMENT_RECEIVED, [confirmation(state, t(1))])
    assert await run(records.record, lost) is True

    # The task ran again: the fee reminder that came due meanwhile took seq 3, the payment comes at 4.
    state.status = DossierStatus.FEE_DUE
    again = request(settings, state, 3, EventKind.FEE_REMINDER, [reminder(state, t(1))])
    assert await run(records.record, again) is True
    state.status = DossierStatus.RECEIVED
    paid = request(settings, state, 4, EventKind.PAYMENT_RECEIVED, [confirmation(state, t(1))])
    assert await run(records.record, paid) is True

    events, notices, dossier = await rows(session_factory, input.code)
    assert events == [(1, "received"), (2, "fee_requested"), (3, "fee_reminder"), (4, "payment_received")]
    assert notices == [(3, "fee_reminder", "queued"), (4, "payment_confirmed", "queued")]
    assert (dossier.last_seq, dossier.status) == (4, "received")

    # The same record retried (a local activity re-run, a replay): nothing changes.
    assert await run(records.record, paid) is False
    assert (await rows(session_factory, input.code))[:2] == (events, notices)
