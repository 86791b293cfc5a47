"""The national portal's status codes mapped onto our transitions: every code from every state."""

from __future__ import annotations

from datetime import datetime

import pytest

from domain import vocabulary
from domain.dvcqg import (
    PortalStatus,
    SyncRefused,
    SyncStep,
    format_portal_time,
    parse_portal_time,
    plan_sync,
)
from domain.status import TRANSITIONS, DossierStatus, Transition, next_status
from domain.timefmt import OFFICE_TZ

S = DossierStatus
R, SR, FD, RR, RT, RJ, WD, SB = (
    S.RECEIVED,
    S.SUPPLEMENT_REQUIRED,
    S.FEE_DUE,
    S.RESULT_READY,
    S.RETURNED,
    S.REJECTED,
    S.WITHDRAWN,
    S.SUBMITTED,
)
STATES: list[DossierStatus | None] = [None, R, SR, FD, RR, RT, RJ, WD, SB]

# Written out by hand from the portal's meaning of each code: (code, state) -> steps, or 404/409.
BACK = {None: "register", R: "", SR: "supplement_received", FD: "confirm_payment", SB: "receive"}
EXPECTED: dict[int, dict[DossierStatus | None, str | int]] = {
    # A new dossier in 1 is an online submission waiting for the desk's check; one in 3 was refused at
    # that check, and is registered so that the refusal reaches the citizen.
    1: {**BACK, None: "register_submitted", SB: ""},
    2: BACK,
    4: BACK,
    3: {
        None: "register_submitted refuse_reception",
        SB: "refuse_reception",
        R: "reject",
        SR: "reject",
        RJ: "",
    },
    5: {None: 404, R: "request_supplement", SB: "request_supplement", SR: ""},
    6: {None: 404, R: "request_fee", FD: ""},
    7: {None: 404, R: "withdraw", SR: "withdraw", FD: "withdraw", RR: "withdraw", SB: "withdraw", WD: ""},
    8: {None: 404, R: "stop", SR: "stop", RJ: ""},
    9: {None: 404, R: "mark_result_ready", RR: ""},
    10: {None: 404, R: "mark_result_ready mark_returned", RR: "mark_returned", RT: ""},
}


@pytest.mark.parametrize("code", range(1, 11))
@pytest.mark.parametrize("state", STATES, ids=lambda s: s.value if s else "unknown")
def test_every_code_from_every_state(code: int, state: DossierStatus | None) -> None:
    wanted = EXPECTED[code].get(state, 404 if state is None else 409)
    if isinstance(wanted, int):
        with pytest.raises(SyncRefused) as refused:
            plan_sync(PortalStatus(code), state)
        assert refused.value.status == wanted
        message_vi = vocabulary.sync_refusal(refused.value)
        assert str(code) in message_vi
        assert str(code) in refused.value.message_en
        if state is not None:
            assert state.value in refused.value.message_en
            assert vocabulary.STATUS[state] in message_vi
    else:
        assert [step.value for step in plan_sync(PortalStatus(code), state)] == wanted.split()


STEP_TRANSITION = {
    SyncStep.SUPPLEMENT_RECEIVED: Transition.SUPPLEMENT_RECEIVED,
    SyncStep.CONFIRM_PAYMENT: Transition.PAYMENT_RECEIVED,
    SyncStep.REQUEST_SUPPLEMENT: Transition.REQUEST_SUPPLEMENT,
    SyncStep.REQUEST_FEE: Transition.REQUEST_FEE,
    SyncStep.REJECT: Transition.REJECT,
    SyncStep.STOP: Transition.REJECT,
    SyncStep.WITHDRAW: Transition.WITHDRAW,
    SyncStep.MARK_RESULT_READY: Transition.MARK_RESULT_READY,
    SyncStep.MARK_RETURNED: Transition.MARK_RETURNED,
    SyncStep.RECEIVE: Transition.RECEIVE,
    SyncStep.REFUSE_RECEPTION: Transition.REFUSE_RECEPTION,
}
# Where each portal code leaves a dossier here.
LANDS_IN = {1: R, 2: R, 4: R, 3: RJ, 5: SR, 6: FD, 7: WD, 8: RJ, 9: RR, 10: RT}


@pytest.mark.parametrize("code", range(1, 11))
def test_every_plan_is_legal_in_the_transition_table_and_lands_where_the_code_says(code: int) -> None:
    for state in STATES:
        try:
            steps = plan_sync(PortalStatus(code), state)
        except SyncRefused:
            continue
        current = state
        for step in steps:
            if step in (SyncStep.REGISTER, SyncStep.REGISTER_SUBMITTED):
                current = SB if step is SyncStep.REGISTER_SUBMITTED else R
                continue
            assert current is not None
            current = next_status(STEP_TRANSITION[step], current)  # raises on an illegal step
        # 1 leaves a submission the desk has not checked where it is: waiting for the check.
        lands_in = SB if code == 1 and state in (None, SB) else LANDS_IN[code]
        assert current is lands_in, (code, state)
    assert set(STEP_TRANSITION.values()) <= set(TRANSITIONS)


def test_portal_times_are_office_time() -> None:
    at = parse_portal_time("20261123091500")
    assert at == datetime(2026, 11, 23, 9, 15, tzinfo=OFFICE_TZ)
    assert at.utcoffset() is not None
    assert format_portal_time(at) == "20261123091500"
    for bad in ("2026-11-23", "20261323091500", "20261123251500", "2026112309150"):
        with pytest.raises(ValueError, match="not a time yyyyMMddHHmmss"):
            parse_portal_time(bad)


def test_unknown_codes_are_not_portal_statuses() -> None:
    for code in (0, 11, -1):
        with pytest.raises(ValueError, match="is not a valid PortalStatus"):
            PortalStatus(code)
