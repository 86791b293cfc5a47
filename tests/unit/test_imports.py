"""The import's checks and the state it builds (domain/imports.py), pure: no database, no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.dossier import DossierPolicy
from domain.imports import IMPORTED, ImportRefusal, ImportRefused, parse, state_of
from domain.status import DossierStatus, EventKind
from tests.support.builders import CALENDAR, Moments, due_after

PROCEDURES = {"local.xaydung.gpxd-nha-o": 15}


def line(status: str, events: list[dict[str, Any]], t: Moments, **more: Any) -> dict[str, Any]:
    return {
        "code": "H21.65-261130-0001",
        "agency_code": "H21.65",
        "procedure": {
            "code": "local.xaydung.gpxd-nha-o",
            "name": "Cấp giấy phép xây dựng",
            "working_days": 15,
        },
        "applicant": {"name": "Trần Thị Bích", "phone": "0905 123 456", "zalo_user_id": None},
        "received_at": t(0).isoformat(),
        "channel": "online",
        "due_at": due_after(t(0)).isoformat(),
        "status": status,
        "events": events,
    } | more


def reasons(data: dict[str, Any], agencies: set[str] | None = None) -> list[ImportRefusal]:
    with pytest.raises(ImportRefused) as refused:
        parse(data, procedures=PROCEDURES, agencies=agencies, now=datetime.now(UTC))
    return [p.reason for p in refused.value.problems]


def test_every_problem_of_a_line_is_reported_at_once() -> None:
    t = Moments()
    data = line("received", [], t, received_at="2026-11-03T09:15:00", channel="fax")
    data["procedure"]["code"] = "no.such"
    data["applicant"]["phone"] = "12345"
    assert set(reasons(data, agencies={"H22.01"})) == {
        ImportRefusal.DATE,
        ImportRefusal.MALFORMED,
        ImportRefusal.UNKNOWN_PROCEDURE,
        ImportRefusal.PHONE,
        ImportRefusal.UNKNOWN_AGENCY,
    }


def test_impossible_histories_are_refused() -> None:
    t = Moments()
    fee = {"kind": "fee_requested", "at": t(1).isoformat(), "items": [{"name": "Lệ phí", "amount_vnd": 100}]}
    pay = {"kind": "payment_received", "at": t(2).isoformat(), "transaction_id": "VNP-1", "amount_vnd": 100}
    assert reasons(line("received", [pay], t)) == [ImportRefusal.UNREACHABLE_STATE]
    assert reasons(line("received", [fee], t)) == [ImportRefusal.STATE_MISMATCH]
    assert reasons(line("returned", [], t)) == [ImportRefusal.CLOSED]
    assert reasons(line("received", [], t, due_at=t(-1).isoformat())) == [ImportRefusal.DUE_BEFORE_RECEIVED]
    late = datetime.now(UTC) + timedelta(hours=1)
    assert reasons(line("fee_due", [fee | {"at": late.isoformat()}], t)) == [ImportRefusal.FUTURE]
    assert reasons(line("received", [fee, pay | {"at": t(0.5).isoformat()}], t)) == [
        ImportRefusal.OUT_OF_ORDER
    ]


def test_a_partly_paid_fee_stays_due_and_past_reminders_are_on_the_timeline_without_notices() -> None:
    t = Moments()
    fee = {
        "kind": "fee_requested",
        "at": t(1).isoformat(),
        "items": [{"name": "Lệ phí", "amount_vnd": 100_000}],
    }
    pay = {
        "kind": "payment_received",
        "at": t(2).isoformat(),
        "transaction_id": "VNP-9",
        "amount_vnd": 40_000,
    }
    imported = parse(
        line("fee_due", [fee, pay], t), procedures=PROCEDURES, agencies=None, now=datetime.now(UTC)
    )
    assert imported.input.applicant.phone == "84905123456"
    s = state_of(imported, calendar=CALENDAR, policy=DossierPolicy(), now=datetime.now(UTC))
    assert s.status is DossierStatus.FEE_DUE
    assert s.fee is not None
    assert s.fee.paid_vnd == 40_000
    assert s.payments["VNP-9"].outcome == "underpaid"
    # Requested 5.5 working days ago, to pay within 5: both reminders are past, and the unpaid alert too.
    kinds = [e.kind for e in s.timeline]
    assert kinds == [
        EventKind.RECEIVED.value,
        EventKind.FEE_REQUESTED.value,
        EventKind.PAYMENT_PARTIAL.value,
        EventKind.FEE_REMINDER.value,
        EventKind.FEE_REMINDER.value,
        EventKind.FEE_UNPAID.value,
    ]
    assert all(e.detail[IMPORTED] for e in s.timeline)
    assert not s.outbox
    assert s.due_at == due_after(t(0))
