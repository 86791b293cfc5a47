"""The gateway sends a plain update to a dossier whose workflow has reported, and falls back to
update-with-start only when the server does not find it running: an ended dossier still answers Closed."""

from __future__ import annotations

import pytest
from sqlmodel import select
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from db.engine import SessionFactory
from db.models import Dossier, DossierEvent
from domain.dossier import Outcome, Withdrawal
from domain.status import DossierStatus, Transition
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import Moments, dossier_input, event_ids, register, supplement_request
from workflows.client import TemporalConnection
from workflows.gateway import Closed, Gateway

pytestmark = pytest.mark.usefixtures("worker")


async def reported_row(session_factory: SessionFactory, code: str, status: DossierStatus) -> Dossier:
    async def row() -> Dossier | None:
        async with session_factory() as session:
            found = await session.get(Dossier, code)
        return found if found is not None and found.status == status.value else None

    found = await eventually(row)
    assert found.last_seq > 0
    return found


async def test_a_reported_dossier_takes_a_plain_update_and_an_ended_one_answers_closed(
    workflow_env: WorkflowEnvironment, settings: Settings, session_factory: SessionFactory
) -> None:
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    handle, _ = await register(workflow_env.client, settings, input)
    gateway = Gateway(TemporalConnection(settings, workflow_env.client), settings)
    row = await reported_row(session_factory, input.code, DossierStatus.RECEIVED)

    async with session_factory() as session:
        applied = await gateway.apply(session, row, Transition.REQUEST_SUPPLEMENT, supplement_request(t(1)))
    assert applied.outcome is not None
    assert applied.outcome.status == DossierStatus.SUPPLEMENT_REQUIRED
    history = await handle.fetch_history()
    starts = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED]
    assert len(starts) == 1  # one run, started by the registration; the update went to it

    withdrawal = Withdrawal(event_id=event_ids(), at=t(2), by="tthc", reason="Công dân xin rút")
    async with session_factory() as session:
        await gateway.apply(session, row, Transition.WITHDRAW, withdrawal)
    await handle.result()
    # The row as a caller read it before the end: the plain update is not found, the fallback says Closed.
    late = Withdrawal(event_id=event_ids(), at=t(3), by="tthc", reason="lần nữa")
    async with session_factory() as session:
        with pytest.raises(Closed):
            await gateway.update(
                gateway.input_of(row), Transition.WITHDRAW.value, late, Outcome, started=True
            )
        events = (
            await session.exec(select(DossierEvent.event_id).where(DossierEvent.dossier_code == input.code))
        ).all()
    assert late.event_id not in events
