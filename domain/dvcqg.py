"""The national public-service portal's (Cổng DVCQG) dossier status sync, mapped onto our transitions.

A TTHC system that already syncs its dossiers to the portal can send us the same payload
(`POST /api/v1/dvcqg/sync`): `TrangThaiHoSo` says where the dossier is now, and `plan_sync` says which of
our steps take the dossier there from the state it has here. Pure: no I/O, safe anywhere.

TrangThaiHoSo (1–10) and what it does here:

| code | portal meaning | unknown dossier | from … → steps |
|---|---|---|---|
| 1 | mới đăng ký (chờ tiếp nhận) | register submitted | submitted: nothing; others as 2 |
| 2 | được tiếp nhận | register | received: nothing; supplement_required: supplement received; |
|   |   |   | fee_due: payment confirmed; submitted: receive |
| 3 | không được tiếp nhận | register submitted, refuse reception | submitted: refuse reception; |
|   |   |   | received, supplement_required: reject |
| 4 | đang xử lý | register | as 2 |
| 5 | yêu cầu bổ sung giấy tờ | 404 | received, submitted: request supplement |
| 6 | yêu cầu thực hiện nghĩa vụ tài chính | 404 | received: request fee |
| 7 | công dân yêu cầu rút hồ sơ | 404 | any open state: withdraw |
| 8 | dừng xử lý | 404 | received, supplement_required: reject, reason "Dừng xử lý: …" |
| 9 | đã xử lý xong | 404 | received: result ready |
| 10 | đã trả kết quả | 404 | received: result ready, then returned; result_ready: returned |

A code that names the state the dossier is already in changes nothing (a resent sync). Anything else is
impossible from the current state: 409, with the reason in Vietnamese and English.

Code 8 ("dừng xử lý": the office stops handling the dossier, e.g. the citizen never sent the supplement)
ends the dossier without a result, which is what a rejection with its reason is here; our table allows a
rejection only from received and supplement_required, so a dossier waiting for its fee or holding its
result answers 409. Codes 2/4 while a fee is due mean the portal has moved past the financial obligation:
the fee is confirmed paid (source "dvcqg"), for the amount still outstanding.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum, StrEnum

from domain.dossier import IntakeChannel
from domain.status import DossierStatus
from domain.timefmt import OFFICE_TZ

DVCQG_TIME_FORMAT = "%Y%m%d%H%M%S"
DVCQG_TIME_PATTERN = r"^[0-9]{14}$"
_PORTAL_TIME = re.compile(DVCQG_TIME_PATTERN)


class PortalStatus(IntEnum):
    """TrangThaiHoSo of the national portal."""

    REGISTERED = 1  # Mới đăng ký
    RECEIVED = 2  # Được tiếp nhận
    NOT_ACCEPTED = 3  # Không được tiếp nhận
    PROCESSING = 4  # Đang xử lý
    SUPPLEMENT_REQUIRED = 5  # Yêu cầu bổ sung giấy tờ
    FEE_REQUIRED = 6  # Yêu cầu thực hiện nghĩa vụ tài chính
    WITHDRAWN = 7  # Công dân yêu cầu rút hồ sơ
    STOPPED = 8  # Dừng xử lý
    DONE = 9  # Đã xử lý xong
    RETURNED = 10  # Đã trả kết quả


class SyncStep(StrEnum):
    """One thing a sync does to a dossier; all but REGISTER and CONFIRM_PAYMENT are workflow updates."""

    REGISTER = "register"
    SUPPLEMENT_RECEIVED = "supplement_received"
    CONFIRM_PAYMENT = "confirm_payment"
    REQUEST_SUPPLEMENT = "request_supplement"
    REQUEST_FEE = "request_fee"
    REJECT = "reject"
    STOP = "stop"  # a rejection whose reason says the handling was stopped (code 8)
    WITHDRAW = "withdraw"
    MARK_RESULT_READY = "mark_result_ready"
    MARK_RETURNED = "mark_returned"
    # An online submission not yet received (codes 1 and 3 of a dossier never seen here): registered in
    # `submitted`; then received (2, 4) or refused at reception (3).
    REGISTER_SUBMITTED = "register_submitted"
    RECEIVE = "receive"
    REFUSE_RECEPTION = "refuse_reception"


_S = DossierStatus
_OPEN = (_S.RECEIVED, _S.SUPPLEMENT_REQUIRED, _S.FEE_DUE, _S.RESULT_READY, _S.SUBMITTED)
_BACK_TO_PROCESSING: dict[DossierStatus | None, tuple[SyncStep, ...]] = {
    None: (SyncStep.REGISTER,),
    _S.RECEIVED: (),
    _S.SUPPLEMENT_REQUIRED: (SyncStep.SUPPLEMENT_RECEIVED,),
    _S.FEE_DUE: (SyncStep.CONFIRM_PAYMENT,),
    _S.SUBMITTED: (SyncStep.RECEIVE,),
}

# The one table: portal code -> {our current state (None: not registered) -> the steps}; a state that is
# missing means the code is impossible from it.
SYNC_TABLE: dict[PortalStatus, dict[DossierStatus | None, tuple[SyncStep, ...]]] = {
    PortalStatus.REGISTERED: {
        **_BACK_TO_PROCESSING,
        None: (SyncStep.REGISTER_SUBMITTED,),
        _S.SUBMITTED: (),
    },
    PortalStatus.RECEIVED: _BACK_TO_PROCESSING,
    PortalStatus.PROCESSING: _BACK_TO_PROCESSING,
    PortalStatus.NOT_ACCEPTED: {
        # A refusal of a dossier never seen here still reaches the citizen: registered, then refused.
        None: (SyncStep.REGISTER_SUBMITTED, SyncStep.REFUSE_RECEPTION),
        _S.SUBMITTED: (SyncStep.REFUSE_RECEPTION,),
        _S.RECEIVED: (SyncStep.REJECT,),
        _S.SUPPLEMENT_REQUIRED: (SyncStep.REJECT,),
        _S.REJECTED: (),
    },
    PortalStatus.SUPPLEMENT_REQUIRED: {
        _S.RECEIVED: (SyncStep.REQUEST_SUPPLEMENT,),
        _S.SUBMITTED: (SyncStep.REQUEST_SUPPLEMENT,),
        _S.SUPPLEMENT_REQUIRED: (),
    },
    PortalStatus.FEE_REQUIRED: {
        _S.RECEIVED: (SyncStep.REQUEST_FEE,),
        _S.FEE_DUE: (),
    },
    PortalStatus.WITHDRAWN: {**{state: (SyncStep.WITHDRAW,) for state in _OPEN}, _S.WITHDRAWN: ()},
    PortalStatus.STOPPED: {
        _S.RECEIVED: (SyncStep.STOP,),
        _S.SUPPLEMENT_REQUIRED: (SyncStep.STOP,),
        _S.REJECTED: (),
        _S.STOPPED: (),  # stopped here when its supplement's deadline passed
    },
    PortalStatus.DONE: {
        _S.RECEIVED: (SyncStep.MARK_RESULT_READY,),
        _S.RESULT_READY: (),
    },
    PortalStatus.RETURNED: {
        _S.RECEIVED: (SyncStep.MARK_RESULT_READY, SyncStep.MARK_RETURNED),
        _S.RESULT_READY: (SyncStep.MARK_RETURNED,),
        _S.RETURNED: (),
    },
}


_SYNC_EVENT_PREFIX = "dvcqg-"


def sync_event_id(sync_digest: str, step: SyncStep) -> str:
    """The event id of one step of a sync: a resent sync repeats the same events and changes nothing."""
    return f"{_SYNC_EVENT_PREFIX}{sync_digest}-{step.value}"


def sync_events_prefix(sync_digest: str) -> str:
    return f"{_SYNC_EVENT_PREFIX}{sync_digest}-"


def is_sync_event_id(event_id: str) -> bool:
    return event_id.startswith(_SYNC_EVENT_PREFIX)


@dataclass(frozen=True)
class SyncRefused(Exception):
    """The sync cannot apply: `status` is the HTTP status (404 unknown dossier, 409 impossible).

    `current` is the dossier's state here (None: unknown); the Vietnamese wording of the refusal is
    domain/vocabulary.py's `sync_refusal`."""

    status: int
    portal: PortalStatus
    current: DossierStatus | None

    def __str__(self) -> str:
        return self.message_en

    @property
    def message_en(self) -> str:
        if self.current is None:
            return (
                "unknown dossier: only TrangThaiHoSo 1, 2, 3 or 4 registers a new one "
                f"(got {self.portal.value})"
            )
        return (
            f"TrangThaiHoSo {self.portal.value} ({self.portal.name.lower()}) is impossible for a dossier in "
            f"state '{self.current.value}'"
        )


def plan_sync(code: PortalStatus, current: DossierStatus | None) -> tuple[SyncStep, ...]:
    """The steps that take a dossier in `current` (None: unknown here) to portal status `code`."""
    steps = SYNC_TABLE[code].get(current)
    if steps is not None:
        return steps
    raise SyncRefused(404 if current is None else 409, code, current)


def parse_portal_time(value: str) -> datetime:
    """A portal time, `yyyyMMddHHmmss` in office time (Asia/Ho_Chi_Minh), as an aware datetime."""
    try:
        if not _PORTAL_TIME.match(value):  # strptime alone takes one-digit fields
            raise ValueError
        return datetime.strptime(value, DVCQG_TIME_FORMAT).replace(tzinfo=OFFICE_TZ)
    except ValueError:
        raise ValueError(f"not a time yyyyMMddHHmmss: {value!r}") from None


def format_portal_time(at: datetime) -> str:
    """An aware datetime as the portal writes it, in office time."""
    return at.astimezone(OFFICE_TZ).strftime(DVCQG_TIME_FORMAT)


class Channel(StrEnum):
    """KenhThucHien: how the dossier was submitted."""

    COUNTER = "1"  # Trực tiếp
    ONLINE = "2"  # Trực tuyến
    POST = "3"  # Qua bưu chính công ích


CHANNELS: dict[str, IntakeChannel] = {
    Channel.COUNTER: IntakeChannel.COUNTER,
    Channel.ONLINE: IntakeChannel.ONLINE,
    Channel.POST: IntakeChannel.POST,
}
