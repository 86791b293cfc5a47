"""One notice never holds up another: a failing officer Zalo id delays no citizen's notice.

Timings are measured in `bench/notice_isolation.py`; here only what must hold: the citizen's notice is sent
while the officer's is still being retried, and an officer's permanent error fails at once.
"""

from __future__ import annotations

import httpx
import pytest
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from db.engine import SessionFactory
from db.models import Notice
from domain.dossier import Outcome, PaymentAnswer, PaymentReceived, Withdrawal
from domain.notices import NoticeFailure, NoticeKind, NoticeStatus
from domain.status import Transition
from settings import Settings
from tests.conftest import eventually
from tests.support.builders import Moments, dossier_input, event_ids, fee, register
from workflows import contracts
from workflows.client import TemporalConnection
from workflows.dossier import DossierWorkflow
from workflows.gateway import Gateway

pytestmark = pytest.mark.usefixtures("worker")


async def rows(session_factory: SessionFactory, code: str) -> dict[str, Notice]:
    async with session_factory() as session:
        found = (await session.exec(select(Notice).where(Notice.dossier_code == code))).all()
    return {row.kind: row for row in found}


async def short_payment_then_withdrawal(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    fake_zalo: httpx.AsyncClient,
    fault: dict[str, object],
) -> str:
    """A dossier whose officer is told of a short payment over a failing OA, then withdrawn."""
    t = Moments()
    input = dossier_input(settings, received_at=t(0))
    handle, _ = await register(workflow_env.client, settings, input)
    await handle.execute_update(DossierWorkflow.request_fee, fee(t(1)))
    (await fake_zalo.post("/_fake/faults", json=fault)).raise_for_status()
    gateway = Gateway(TemporalConnection(settings, workflow_env.client), settings)
    short = PaymentReceived("PAY-SHORT-1", 1000, t(1.5), source="webhook")
    await gateway.update(input, contracts.RECORD_PAYMENT, short, PaymentAnswer)
    withdrawal = Withdrawal(event_id=event_ids(), at=t(2), by="tthc", reason="Công dân xin rút")
    await gateway.update(input, Transition.WITHDRAW.value, withdrawal, Outcome)
    return input.code


async def test_a_citizen_notice_goes_out_while_the_officers_zalo_is_failing(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    outage = {"target": "oa", "http_status": 503, "seconds": 600}
    code = await short_payment_then_withdrawal(workflow_env, settings, fake_zalo, outage)

    async def withdrawn_sent() -> dict[str, Notice] | None:
        found = await rows(session_factory, code)
        withdrawn = found.get(NoticeKind.WITHDRAWN.value)
        return found if withdrawn is not None and withdrawn.status == NoticeStatus.SENT else None

    found = await eventually(withdrawn_sent)
    officer = found[NoticeKind.PAYMENT_MISMATCH.value]
    assert officer.status == NoticeStatus.FAILED_RETRYING  # still behind the outage, and waited for by nobody
    assert (officer.last_error or "").startswith(NoticeFailure.ZALO_UNAVAILABLE.value)


async def test_an_officer_notice_refused_for_good_fails_at_once(
    workflow_env: WorkflowEnvironment,
    settings: Settings,
    session_factory: SessionFactory,
    fake_zalo: httpx.AsyncClient,
) -> None:
    refused = {"target": "oa", "error": -201, "count": 1}  # Zalo: the user id is not valid
    code = await short_payment_then_withdrawal(workflow_env, settings, fake_zalo, refused)

    async def both_done() -> dict[str, Notice] | None:
        found = await rows(session_factory, code)
        done = {NoticeStatus.SENT, NoticeStatus.FAILED_PERMANENT}
        return found if all(row.status in done for row in found.values()) and len(found) == 4 else None

    found = await eventually(both_done)
    officer = found[NoticeKind.PAYMENT_MISMATCH.value]
    assert (officer.status, officer.attempts) == (NoticeStatus.FAILED_PERMANENT, 1)
    assert (officer.last_error or "").startswith(NoticeFailure.ZALO_REFUSED.value)
    assert found[NoticeKind.WITHDRAWN.value].status == NoticeStatus.SENT
