"""Pure rules: dossier codes, phone numbers, the transition table, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.codes import is_dossier_code, mask_phone, normalize_phone
from domain.status import (
    FINAL_STATES,
    TRANSITIONS,
    DossierStatus,
    IllegalTransition,
    Transition,
    allowed_transitions,
    dvcqg_code,
    next_status,
)
from domain.timefmt import OFFICE_TZ, next_send_time, vn_datetime


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("H21.65-261123-0001", True),
        ("000.00.15.H21-261123-0042", True),
        ("H21-261123-123456", True),
        ("H21.65-261332-0001", False),  # month 13
        ("H21.65-260230-0001", False),  # 30 February
        ("h21.65-261123-0001", False),  # lower case
        ("H21.65-261123-01", False),
        ("H21.65_261123_0001", False),
        ("<script>-261123-0001", False),
        ("", False),
    ],
)
def test_dossier_codes(code: str, valid: bool) -> None:
    assert is_dossier_code(code) is valid


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("0905123456", "84905123456"),
        ("+84905123456", "84905123456"),
        ("84 905 123 456", "84905123456"),
        ("090-512-3456", "84905123456"),
        ("0386123456", "84386123456"),
    ],
)
def test_phone_numbers_normalise_to_zalo_form(raw: str, normal: str) -> None:
    assert normalize_phone(raw) == normal


@pytest.mark.parametrize("raw", ["0205123456", "090512345", "09051234567", "+1 905 123 4567", "abc"])
def test_phone_numbers_that_are_not_vietnamese_mobiles_are_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="Vietnamese mobile"):
        normalize_phone(raw)


def test_masked_phone_keeps_only_the_last_four_digits() -> None:
    assert mask_phone("84905123456") == "•••••••3456"


def test_every_open_state_can_be_withdrawn_and_no_final_state_moves() -> None:
    for state in DossierStatus:
        allowed = allowed_transitions(state)
        if state in FINAL_STATES:
            assert allowed == []
        else:
            assert Transition.WITHDRAW in allowed


@pytest.mark.parametrize(
    ("transition", "source", "target"),
    [
        (Transition.REQUEST_SUPPLEMENT, DossierStatus.RECEIVED, DossierStatus.SUPPLEMENT_REQUIRED),
        (Transition.SUPPLEMENT_RECEIVED, DossierStatus.SUPPLEMENT_REQUIRED, DossierStatus.RECEIVED),
        (Transition.REQUEST_FEE, DossierStatus.RECEIVED, DossierStatus.FEE_DUE),
        (Transition.PAYMENT_RECEIVED, DossierStatus.FEE_DUE, DossierStatus.RECEIVED),
        (Transition.MARK_RESULT_READY, DossierStatus.RECEIVED, DossierStatus.RESULT_READY),
        (Transition.MARK_RETURNED, DossierStatus.RESULT_READY, DossierStatus.RETURNED),
        (Transition.REJECT, DossierStatus.SUPPLEMENT_REQUIRED, DossierStatus.REJECTED),
        (Transition.APOLOGIZE, DossierStatus.FEE_DUE, DossierStatus.FEE_DUE),
    ],
)
def test_legal_transitions(transition: Transition, source: DossierStatus, target: DossierStatus) -> None:
    assert next_status(transition, source) is target


def test_illegal_transitions_name_the_current_state() -> None:
    illegal = [
        (transition, state)
        for transition, rule in TRANSITIONS.items()
        for state in DossierStatus
        if state not in rule.sources
    ]
    assert len(illegal) > 30
    for transition, state in illegal:
        with pytest.raises(IllegalTransition, match=f"in state '{state.value}'"):
            next_status(transition, state)


def test_dvcqg_codes() -> None:
    assert dvcqg_code(DossierStatus.RECEIVED, 0) == 2
    assert dvcqg_code(DossierStatus.RECEIVED, 3) == 4
    assert dvcqg_code(DossierStatus.SUPPLEMENT_REQUIRED, 1) == 5
    assert dvcqg_code(DossierStatus.RETURNED, 5) == 10


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 23, 21, 59, tzinfo=OFFICE_TZ), None),
        (datetime(2026, 11, 23, 22, 0, tzinfo=OFFICE_TZ), datetime(2026, 11, 24, 6, 0, tzinfo=OFFICE_TZ)),
        (datetime(2026, 11, 24, 3, 30, tzinfo=OFFICE_TZ), datetime(2026, 11, 24, 6, 0, tzinfo=OFFICE_TZ)),
        (datetime(2026, 11, 24, 6, 0, tzinfo=OFFICE_TZ), None),
    ],
)
def test_quiet_hours_defer_to_six_in_the_morning(local: datetime, expected: datetime | None) -> None:
    assert next_send_time(local.astimezone(UTC), "22:00", "06:00") == expected


def test_vietnamese_date_format() -> None:
    assert vn_datetime(datetime(2026, 12, 14, 10, 0, tzinfo=UTC)) == "14/12/2026 17:00"
