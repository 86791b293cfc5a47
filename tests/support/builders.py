"""Test data: dossiers and commands with realistic Vietnamese content and legal times."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from temporalio.client import Client, WorkflowHandle

from domain.calendar import OfficeHours, WorkingCalendar
from domain.codes import workflow_id
from domain.dossier import (
    Applicant,
    DossierInput,
    DossierPolicy,
    FeeItem,
    FeeRequest,
    Outcome,
    Pickup,
    Procedure,
    Register,
    ResultReady,
    SupplementReceived,
    SupplementRequest,
)
from settings import Settings
from workflows import contracts
from workflows.client import TemporalConnection
from workflows.dossier import DossierWorkflow
from workflows.gateway import Gateway

_serial = count(1)


CALENDAR = WorkingCalendar(OfficeHours())
WORKING_DAY = timedelta(hours=8)


class Moments:
    """Legal times for one test, as working days after a base six working days ago.

    Everything up to five working days after the base lies in the past (the API refuses future events),
    and every 15-working-day deadline counted from them lies more than a week ahead, so no reminder or
    escalation timer fires while the test runs, whatever day it runs on. Expected dates come from the
    calendar, whose own rules tests/test_calendar.py pins to hand-computed dates.
    """

    def __init__(self) -> None:
        # Whole minutes: inside office hours the base is now itself, and the portal's times carry no
        # fraction of a second (a microsecond base made its dates differ from the ones computed here).
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        self.base = CALENDAR.add_working_time(CALENDAR.clock_start(now), -6 * WORKING_DAY)

    def __call__(self, working_days: float) -> datetime:
        return CALENDAR.add_working_time(self.base, working_days * WORKING_DAY)


def due_after(start: datetime, working_days: int = 15) -> datetime:
    return CALENDAR.due_at(start, working_days)


def paused(due: datetime, fee_at: datetime, paid_at: datetime) -> datetime:
    """The due date after a fee pause from `fee_at` to `paid_at`."""
    return CALENDAR.add_working_time(due, CALENDAR.working_time_between(fee_at, paid_at))


def new_code(agency: str = "H21.65", day: str = "261123") -> str:
    return f"{agency}-{day}-{next(_serial):04d}"


def dossier_input(
    settings: Settings,
    code: str | None = None,
    *,
    received_at: datetime | None = None,
    working_days: int = 15,
    policy: DossierPolicy | None = None,
) -> DossierInput:
    code = code or new_code()
    return DossierInput(
        code=code,
        procedure=Procedure("1.001234", "Cấp giấy phép xây dựng", working_days),
        agency_code=code.split("-")[0],
        applicant=Applicant("Nguyễn Văn A", "84905123456"),
        received_at=received_at or Moments()(0),
        channel="online",
        fingerprint=hashlib.sha256(code.encode()).hexdigest(),
        policy=policy or settings.dossier_policy(),
    )


async def register(
    client: Client, settings: Settings, input: DossierInput
) -> tuple[WorkflowHandle[Any, Any], Outcome]:
    """Start a dossier the way the API does (the gateway's update-with-start of `register`)."""
    gateway = Gateway(TemporalConnection(settings, client), settings)
    outcome = await gateway.update(input, contracts.REGISTER, Register(input.fingerprint), Outcome)
    assert outcome is not None
    return client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(input.code)), outcome


def event_ids() -> str:
    return f"evt-{next(_serial)}"


def supplement_request(when: datetime, items: list[str] | None = None) -> SupplementRequest:
    return SupplementRequest(
        event_id=event_ids(),
        at=when,
        items=items or ["Bản vẽ mặt bằng có chữ ký của chủ đầu tư"],
        note="Nộp tại quầy số 3",
    )


def supplement(when: datetime) -> SupplementReceived:
    return SupplementReceived(event_id=event_ids(), at=when, note="Đã nhận đủ")


def fee(when: datetime, amount_vnd: int = 1_250_000, pay_within_days: int = 5) -> FeeRequest:
    return FeeRequest(
        event_id=event_ids(),
        at=when,
        items=[FeeItem("Lệ phí cấp giấy phép xây dựng", amount_vnd)],
        pay_within_days=pay_within_days,
        pay_url="https://dichvucong.gov.vn/thanh-toan/H21",
    )


def result(when: datetime) -> ResultReady:
    return ResultReady(event_id=event_ids(), at=when, pickup=Pickup("Bộ phận Một cửa UBND huyện, quầy số 3"))
