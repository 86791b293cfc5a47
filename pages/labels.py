"""What the pages print: the vocabulary's labels as template filters, the work lists' titles, spans.

Every label of an identifier comes from domain/vocabulary.py; this module only adapts it to what pages
hold (raw values from the database) and adds the page-only words (the desk's list titles).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from db.desk import ListKind
from domain import vocabulary
from domain.access import DeskRole
from domain.dossier import IntakeChannel
from domain.notices import Audience, NoticeChannel, NoticeKind, NoticeStatus
from domain.status import DossierStatus, EventKind

LIST_TITLES_VI: dict[ListKind, str] = {
    ListKind.OVERDUE: "Hồ sơ quá hạn",
    ListKind.DUE_SOON: "Hồ sơ đến hạn trong 1 ngày làm việc",
    ListKind.FEE_DUE: "Hồ sơ chờ nộp phí, lệ phí",
    ListKind.SUPPLEMENT: "Hồ sơ chờ bổ sung",
    ListKind.FAILED_NOTICES: "Thông báo không gửi được",
    ListKind.NOT_STARTED: "Hồ sơ chưa khởi động được quy trình",
}
LIST_EMPTY_VI: dict[ListKind, str] = {
    ListKind.OVERDUE: "Không có hồ sơ nào quá hạn.",
    ListKind.DUE_SOON: "Không có hồ sơ nào đến hạn trong 1 ngày làm việc tới.",
    ListKind.FEE_DUE: "Không có hồ sơ nào đang chờ nộp phí, lệ phí.",
    ListKind.SUPPLEMENT: "Không có hồ sơ nào đang chờ bổ sung.",
    ListKind.FAILED_NOTICES: "Không có thông báo nào bị lỗi.",
    ListKind.NOT_STARTED: "Mọi hồ sơ đã tiếp nhận đều đã khởi động quy trình giải quyết.",
}

# Internal reminders and escalations: the citizen sees that the dossier is late, not whom we told.
# A registration the procedure catalogue did not match is for the administrator, not the citizen.
OFFICER_ONLY_EVENTS = frozenset(
    {
        EventKind.DUE_SOON,
        EventKind.ESCALATION,
        EventKind.FEE_UNPAID,
        EventKind.PROCEDURE_UNKNOWN,
        EventKind.WORKING_DAYS_DIFFER,
        EventKind.HANDOVER,  # who holds the dossier inside the agency is the agency's own business
        EventKind.STEP_LATE,
    }
)


def status_vi(status: str | DossierStatus) -> str:
    return vocabulary.label_of(DossierStatus, status)


def event_vi(kind: str, *, citizen: bool = False) -> str:
    try:
        event = EventKind(kind)
    except ValueError:
        return "—"
    return (vocabulary.EVENTS_FOR_CITIZEN if citizen else vocabulary.EVENTS)[event]


def list_title_vi(kind: ListKind) -> str:
    return LIST_TITLES_VI[kind]


def list_empty_vi(kind: ListKind) -> str:
    return LIST_EMPTY_VI[kind]


def notice_kind_vi(kind: str) -> str:
    return vocabulary.label_of(NoticeKind, kind)


def notice_status_vi(status: str) -> str:
    return vocabulary.label_of(NoticeStatus, status)


def channel_vi(channel: str | None) -> str:
    return vocabulary.label_of(NoticeChannel, channel)


def audience_vi(audience: str) -> str:
    return vocabulary.label_of(Audience, audience)


def intake_vi(channel: str) -> str:
    return vocabulary.label_of(IntakeChannel, channel)


def desk_role_vi(role: str) -> str:
    return vocabulary.label_of(DeskRole, role)


def vn_dt(at: datetime | str | None) -> str:
    return vocabulary.vn_datetime(at)


def vn_day_dt(at: datetime | str | None) -> str:
    return vocabulary.vn_day_datetime(at)


def money(amount: int | None) -> str:
    return vocabulary.vn_money(amount)


def iso(at: datetime | None) -> str:
    return at.isoformat() if at else ""


def working_span(span: timedelta, day: timedelta = timedelta(hours=8)) -> str:
    """A working-time span in words: "2 ngày 3 giờ làm việc"."""
    total_minutes = int(span.total_seconds() // 60)
    day_minutes = int(day.total_seconds() // 60)
    days, rest = divmod(total_minutes, day_minutes)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} ngày"] if days else []
    if hours:
        parts.append(f"{hours} giờ")
    if minutes and not days:
        parts.append(f"{minutes} phút")
    return (" ".join(parts) or "0 giờ") + " làm việc"
