"""The workflow's pure parts without a server: command rules, timers, the UI details, codes and digests.

The workflow tests (tests/workflow) drive the same rules through a real Temporal server; these pin each
rule with concrete values, in milliseconds.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime, timedelta

import pytest

from domain import codes, details, rules, timers
from domain.digest import canonical_json, digest
from domain.dossier import (
    Apology,
    Applicant,
    Delivery,
    DossierInput,
    DossierPolicy,
    DossierState,
    EventRecord,
    FeeInfo,
    FeeItem,
    FeeRequest,
    PaymentReceived,
    Pickup,
    Procedure,
    Rejection,
    ResultInfo,
    ResultReady,
    SupplementReceived,
    SupplementRequest,
)
from domain.notices import NoticeKind
from domain.refusals import Refusal
from domain.status import DossierStatus, EventKind, Transition
from domain.timefmt import OFFICE_TZ

AT = datetime(2026, 11, 23, 9, 15, tzinfo=OFFICE_TZ)
DUE = datetime(2026, 12, 14, 9, 15, tzinfo=OFFICE_TZ)
DAY = 8 * 3600
POLICY = DossierPolicy()


def state(**changes: object) -> DossierState:
    s = DossierState(
        code="H21.65-261123-0001",
        agency_code="H21.65",
        procedure_code="1.001234",
        procedure_name="Cấp giấy phép xây dựng",
        working_days=15,
        received_at=AT,
        clock_started_at=AT,
        due_at=DUE,
        last_command_at=AT,
    )
    return replace(s, **changes)  # type: ignore[arg-type]


# ---------------------------------------------------------------- rules: the turn


def test_a_new_legal_event_is_not_a_repeat() -> None:
    command = SupplementRequest(event_id="e1", at=AT + timedelta(hours=1), items=["Bản vẽ"])
    assert rules.check_turn(state(), Transition.REQUEST_SUPPLEMENT, command) is False


def test_the_same_event_again_is_a_repeat_and_another_body_under_its_id_is_refused() -> None:
    command = SupplementRequest(event_id="e1", at=AT + timedelta(hours=1), items=["Bản vẽ"])
    seen = state(
        events={"e1": EventRecord(Transition.REQUEST_SUPPLEMENT, rules.fingerprint(command), 2)},
        status=DossierStatus.SUPPLEMENT_REQUIRED,
    )
    assert rules.check_turn(seen, Transition.REQUEST_SUPPLEMENT, command) is True
    with pytest.raises(rules.Broken) as broken:
        rules.check_turn(seen, Transition.REQUEST_SUPPLEMENT, replace(command, items=["Khác"]))
    assert (broken.value.rule, broken.value.refusal) == (rules.Rule.EVENT_ID_REUSED, Refusal.EVENT_ID_REUSED)


def test_an_illegal_transition_names_the_current_state() -> None:
    command = SupplementReceived(event_id="e2", at=AT + timedelta(hours=1))
    with pytest.raises(rules.Broken) as broken:
        rules.check_turn(state(), Transition.SUPPLEMENT_RECEIVED, command)
    assert broken.value.refusal is Refusal.ILLEGAL_TRANSITION
    assert broken.value.details == ("received",)
    assert "allowed from: supplement_required" in broken.value.message


def test_an_event_earlier_than_the_last_is_refused() -> None:
    command = SupplementRequest(event_id="e3", at=AT - timedelta(minutes=1), items=["Bản vẽ"])
    with pytest.raises(rules.Broken) as broken:
        rules.check_turn(state(), Transition.REQUEST_SUPPLEMENT, command)
    assert broken.value.refusal is Refusal.EVENT_TIME


# ---------------------------------------------------------------- rules: the body


@pytest.mark.parametrize(
    ("command", "rule"),
    [
        (SupplementRequest(event_id="x", at=AT, items=[]), rules.Rule.SUPPLEMENT_ITEMS),
        (FeeRequest(event_id="x", at=AT, items=[], pay_within_days=5), rules.Rule.FEE_ITEMS),
        (
            FeeRequest(event_id="x", at=AT, items=[FeeItem("Lệ phí", 0)], pay_within_days=5),
            rules.Rule.FEE_ITEMS,
        ),
        (
            FeeRequest(event_id="x", at=AT, items=[FeeItem("Lệ phí", 1)], pay_within_days=0),
            rules.Rule.PAY_WITHIN_DAYS,
        ),
        (ResultReady(event_id="x", at=AT), rules.Rule.HANDOVER),
        (ResultReady(event_id="x", at=AT, pickup=Pickup("Quầy 3"), delivery=Delivery()), rules.Rule.HANDOVER),
        (Rejection(event_id="x", at=AT, reason="  "), rules.Rule.REJECTION_REASON),
    ],
)
def test_a_body_that_breaks_its_rule_is_invalid(command: object, rule: rules.Rule) -> None:
    with pytest.raises(rules.Broken) as broken:
        rules.check_body(command, due_at=DUE, apologized=False)  # type: ignore[arg-type]
    assert broken.value.rule is rule
    assert broken.value.refusal is Refusal.INVALID_COMMAND


def test_good_bodies_pass() -> None:
    for command in (
        SupplementRequest(event_id="x", at=AT, items=["Bản vẽ"]),
        FeeRequest(event_id="x", at=AT, items=[FeeItem("Lệ phí", 1)], pay_within_days=1),
        ResultReady(event_id="x", at=AT, delivery=Delivery()),
        Rejection(event_id="x", at=AT, reason="Không thuộc thẩm quyền"),
    ):
        rules.check_body(command, due_at=DUE, apologized=False)


@pytest.mark.parametrize(
    ("at", "new_due_at", "due_at", "apologized", "rule"),
    [
        (AT, DUE + timedelta(days=3), DUE, True, rules.Rule.APOLOGY_ONCE),
        (AT, DUE + timedelta(days=3), None, False, rules.Rule.APOLOGY_CLOCK_STOPPED),
        (DUE, DUE + timedelta(days=3), DUE, False, rules.Rule.APOLOGY_BEFORE_DUE),
        (AT, DUE, DUE, False, rules.Rule.APOLOGY_NEW_DUE_LATER),
    ],
)
def test_the_apology_comes_once_before_the_due_time_with_a_later_date(
    at: datetime, new_due_at: datetime, due_at: datetime | None, apologized: bool, rule: rules.Rule
) -> None:
    apology = Apology(event_id="x", at=at, new_due_at=new_due_at, reason="Cần xác minh thực địa")
    with pytest.raises(rules.Broken) as broken:
        rules.check_body(apology, due_at=due_at, apologized=apologized)
    assert broken.value.rule is rule
    rules.check_body(
        replace(apology, at=AT, new_due_at=DUE + timedelta(days=1)), due_at=DUE, apologized=False
    )


def test_a_payment_asks_for_a_fee_due_only_when_the_caller_says_so() -> None:
    payment = PaymentReceived("TX-1", 1_250_000, AT, require_fee_due=True)
    with pytest.raises(rules.Broken) as broken:
        rules.check_payment(state(), payment)
    assert broken.value.refusal is Refusal.ILLEGAL_TRANSITION
    assert broken.value.details == ("received",)
    rules.check_payment(state(), replace(payment, require_fee_due=False))  # the platform: recorded not_due
    rules.check_payment(state(status=DossierStatus.FEE_DUE), payment)
    with pytest.raises(rules.Broken):
        rules.check_payment(state(status=DossierStatus.FEE_DUE), replace(payment, amount_vnd=0))


# ---------------------------------------------------------------- timers


def test_a_running_clock_plans_the_reminder_and_the_overdue_escalation() -> None:
    planned = timers.plan(state(), POLICY)
    assert [(t.kind, t.base, t.working_seconds) for t in planned] == [
        (EventKind.DUE_SOON, DUE, -DAY),
        (EventKind.OVERDUE, DUE, 0),
    ]


def test_once_overdue_each_rung_of_the_ladder_comes_every_two_working_days() -> None:
    first = timers.plan(state(overdue=True, escalation_level=1), POLICY)
    assert [(t.kind, t.working_seconds, t.label) for t in first] == [
        (EventKind.ESCALATION, 2 * DAY, "escalate to agency_head")
    ]
    assert timers.plan(state(overdue=True, escalation_level=2), POLICY) == []  # the top of the ladder


def test_a_stopped_clock_plans_nothing() -> None:
    assert timers.plan(state(status=DossierStatus.SUPPLEMENT_REQUIRED, due_at=None), POLICY) == []


def test_a_fee_due_plans_its_reminders_and_the_unpaid_alert() -> None:
    fee = FeeInfo([FeeItem("Lệ phí", 1_250_000)], 1_250_000, 5, AT, pay_by=DUE)
    planned = timers.plan(state(status=DossierStatus.FEE_DUE, fee=fee), POLICY)
    assert [(t.kind, t.base, t.working_seconds) for t in planned] == [
        (EventKind.FEE_REMINDER, AT, DAY),
        (EventKind.FEE_UNPAID, DUE, 0),
    ]


def test_a_result_to_pick_up_plans_one_reminder_and_a_delivered_one_none() -> None:
    picked = state(status=DossierStatus.RESULT_READY, result=ResultInfo(AT, pickup=Pickup("Quầy 3")))
    assert [(t.kind, t.working_seconds) for t in timers.plan(picked, POLICY)] == [
        (EventKind.PICKUP_REMINDER, 3 * DAY)
    ]
    posted = state(status=DossierStatus.RESULT_READY, result=ResultInfo(AT, delivery=Delivery()))
    assert timers.plan(posted, POLICY) == []


def test_the_overdue_timer_flags_the_dossier_and_tells_the_department_head() -> None:
    s = state()
    firing = timers.fire(s, POLICY, EventKind.OVERDUE)
    assert (s.overdue, s.escalation_level) == (True, 1)
    assert firing.detail == {"due_at": DUE.isoformat(), "level": 1, "role": "department_head"}
    [notice] = firing.notices
    assert (notice.kind, notice.role) == (NoticeKind.OVERDUE.value, "department_head")
    assert notice.context == {
        "code": s.code,
        "procedure_name": s.procedure_name,
        "agency_code": "H21.65",
        "due_at": DUE.isoformat(),
        "level": 1,
        "role": "department_head",
    }


def test_a_fee_reminder_counts_and_asks_for_what_is_still_owed() -> None:
    fee = FeeInfo(
        [FeeItem("Lệ phí", 1_250_000)], 1_250_000, 5, AT, pay_url="https://pay", pay_by=DUE, paid_vnd=250_000
    )
    s = state(status=DossierStatus.FEE_DUE, fee=fee)
    firing = timers.fire(s, POLICY, EventKind.FEE_REMINDER)
    assert fee.reminders_sent == 1
    assert firing.detail == {"reminder_no": 1, "pay_by": DUE.isoformat()}
    [notice] = firing.notices
    assert notice.role is None
    assert notice.context["total_vnd"] == 1_000_000
    assert notice.context["reminder_no"] == 1


def test_the_due_soon_reminder_is_not_planned_again_for_the_same_due_date() -> None:
    s = state()
    timers.fire(s, POLICY, EventKind.DUE_SOON)
    assert [t.kind for t in timers.plan(s, POLICY)] == [EventKind.OVERDUE]


# ---------------------------------------------------------------- what the UI shows


def test_the_ui_details_say_the_state_the_due_date_and_what_the_dossier_waits_for() -> None:
    text = details.current_details(state(overdue=True))
    assert "**Trạng thái:** `received` — Đã tiếp nhận, đang giải quyết" in text
    assert "**Hạn trả kết quả:** 14/12/2026 09:15 · **QUÁ HẠN**" in text
    assert "**Đang chờ:** kết quả giải quyết của cơ quan" in text
    assert "Nguyễn" not in text


def test_the_start_summary_fits_temporals_limit_and_names_no_applicant() -> None:
    input = DossierInput(
        code="H21.65-261123-0001",
        procedure=Procedure("1.001234", "Cấp giấy phép xây dựng " * 20, 15),
        agency_code="H21.65",
        applicant=Applicant("Nguyễn Văn A", "84905123456"),
        received_at=AT,
        channel="online",
        fingerprint="0" * 64,
    )
    summary = details.start_summary(input)
    assert len(summary.encode()) <= details.SUMMARY_MAX_BYTES
    assert summary.startswith("H21.65-261123-0001 · 1.001234 Cấp giấy phép")
    assert "Nguyễn" not in summary + details.start_details(input)
    assert "84905123456" not in summary + details.start_details(input)


# ---------------------------------------------------------------- codes and digests


def test_the_workflow_id_is_the_code_behind_one_prefix() -> None:
    assert codes.workflow_id("H21.65-261123-0001") == "dossier-H21.65-261123-0001"
    assert codes.code_of_workflow("dossier-H21.65-261123-0001") == "H21.65-261123-0001"
    assert codes.code_of_workflow("bench-1") is None


def test_codes_in_a_message_are_found_and_the_rest_is_kept() -> None:
    text = "Tra cứu h21.65-261123-0001 giúp tôi, 1234; không phải H21.65-261399-0001"
    assert codes.codes_in(text) == ["H21.65-261123-0001"]
    assert "1234" in codes.without_codes(text)
    assert "261123" not in codes.without_codes(text)
    assert codes.normalize_code(" h21.65 -261123-0001\n") == "H21.65-261123-0001"


def test_the_star_scope_covers_every_agency() -> None:
    assert codes.in_scope(["*"], "H22.01")
    assert codes.in_scope(["H21.65"], "H21.65")
    assert not codes.in_scope(["H21.65"], "H22.01")


def test_the_canonical_digest_ignores_key_order_and_keeps_accents() -> None:
    assert canonical_json({"b": "Lệ phí", "a": 1}) == '{"a": 1, "b": "Lệ phí"}'
    assert digest({"b": 1, "a": 2}) == digest({"a": 2, "b": 1})
    # A command's fingerprint is the digest of its fields, datetimes as str(): what running workflows hold.
    command = SupplementRequest(event_id="e1", at=AT, items=["Bản vẽ"])
    assert rules.fingerprint(command) == digest(asdict(command))
    # Pinned: running workflows hold fingerprints made this way; another form would turn repeats into 422s.
    assert rules.fingerprint(command) == "85c17acc9823e912a113373dbfde5cd197d8a69acb4cd218735b1d4079652e06"
    assert "2026-11-23 09:15:00+07:00" in canonical_json(asdict(command))
