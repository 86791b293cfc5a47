"""Test data: dossiers and commands with realistic Vietnamese content and legal times."""

from __future__ import annotations

import hashlib
from datetime import datetime
from itertools import count
from typing import Any

from temporalio.client import Client, WorkflowHandle

from api.dossiers import input_from_row, policy_from_settings, run_update, workflow_id
from db.models import Dossier
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
from domain.timefmt import OFFICE_TZ
from settings import Settings
from workflows.dossier import DossierWorkflow

_serial = count(1)


def at(day: int, hour: int, minute: int = 0, month: int = 11, year: int = 2026) -> datetime:
    """An office-time instant (Asia/Ho_Chi_Minh)."""
    return datetime(year, month, day, hour, minute, tzinfo=OFFICE_TZ)


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
        received_at=received_at or at(23, 9, 15),
        channel="online",
        fingerprint=hashlib.sha256(code.encode()).hexdigest(),
        policy=policy or policy_from_settings(settings),
    )


async def register(client: Client, settings: Settings, input: DossierInput) -> tuple[WorkflowHandle[Any, Any], Outcome]:
    """Start a dossier the way the API does (update-with-start of `register`)."""
    outcome = await run_update(client, settings, input, DossierWorkflow.register, Register(input.fingerprint))
    assert outcome is not None
    return client.get_workflow_handle_for(DossierWorkflow.run, workflow_id(input.code)), outcome


def event_ids() -> str:
    return f"evt-{next(_serial)}"


def supplement_request(when: datetime, items: list[str] | None = None) -> SupplementRequest:
    return SupplementRequest(
        event_id=event_ids(), at=when, items=items or ["Bản vẽ mặt bằng có chữ ký của chủ đầu tư"], note="Nộp tại quầy số 3"
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


def input_of(row: Dossier, settings: Settings) -> DossierInput:
    return input_from_row(row, settings)
