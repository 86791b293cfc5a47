"""What people read on the pages: Vietnamese labels for notices and channels, dates and money."""

from __future__ import annotations

from datetime import datetime, timedelta

from db.desk import ListKind
from domain.notices import NoticeKind, NoticeStatus
from domain.status import DossierStatus, EventKind
from domain.timefmt import to_office

WEEKDAYS_VI = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

NOTICE_KINDS_VI: dict[str, str] = {
    NoticeKind.RECEIVED: "Xác nhận tiếp nhận, hẹn ngày trả kết quả",
    NoticeKind.SUPPLEMENT_REQUIRED: "Yêu cầu bổ sung hồ sơ",
    NoticeKind.FEE_DUE: "Thông báo nộp phí, lệ phí",
    NoticeKind.FEE_REMINDER: "Nhắc nộp phí, lệ phí",
    NoticeKind.PAYMENT_CONFIRMED: "Xác nhận đã nộp phí, lệ phí",
    NoticeKind.RESULT_READY: "Thông báo đã có kết quả",
    NoticeKind.PICKUP_REMINDER: "Nhắc nhận kết quả",
    NoticeKind.REJECTED: "Thông báo từ chối giải quyết",
    NoticeKind.APOLOGY: "Thư xin lỗi, hẹn lại ngày trả kết quả",
    NoticeKind.WITHDRAWN: "Xác nhận rút hồ sơ",
    NoticeKind.DUE_SOON: "Nhắc cán bộ: sắp đến hạn",
    NoticeKind.OVERDUE: "Báo quá hạn",
    NoticeKind.ESCALATION: "Báo cáo cấp trên (quá hạn)",
    NoticeKind.FEE_UNPAID: "Báo quá hạn nộp phí",
    NoticeKind.PAYMENT_MISMATCH: "Báo khoản nộp không khớp",
}

NOTICE_STATUSES_VI: dict[str, str] = {
    NoticeStatus.SCHEDULED: "Hẹn gửi (ngoài giờ nghỉ đêm)",
    NoticeStatus.QUEUED: "Đang chờ gửi",
    NoticeStatus.SENT: "Đã gửi",
    NoticeStatus.DELIVERED: "Đã đến người nhận",
    NoticeStatus.FAILED_RETRYING: "Gửi lỗi, đang thử lại",
    NoticeStatus.FAILED_PERMANENT: "Không gửi được",
}

CHANNELS_VI: dict[str, str] = {
    "oa": "Zalo (tin nhắn từ Official Account)",
    "zns": "Zalo ZNS (tin nhắn theo số điện thoại)",
}

AUDIENCES_VI = {"citizen": "Công dân", "officer": "Cán bộ"}

INTAKE_CHANNELS_VI = {"counter": "Nộp trực tiếp", "online": "Nộp trực tuyến", "post": "Qua bưu chính"}

ROLES_VI = {"officer": "cán bộ xử lý", "department_head": "lãnh đạo phòng", "agency_head": "lãnh đạo cơ quan"}

LIST_TITLES_VI: dict[ListKind, str] = {
    ListKind.OVERDUE: "Hồ sơ quá hạn",
    ListKind.DUE_SOON: "Hồ sơ đến hạn trong 1 ngày làm việc",
    ListKind.FEE_DUE: "Hồ sơ chờ nộp phí, lệ phí",
    ListKind.SUPPLEMENT: "Hồ sơ chờ bổ sung",
    ListKind.FAILED_NOTICES: "Thông báo không gửi được",
}
LIST_EMPTY_VI: dict[ListKind, str] = {
    ListKind.OVERDUE: "Không có hồ sơ nào quá hạn.",
    ListKind.DUE_SOON: "Không có hồ sơ nào đến hạn trong 1 ngày làm việc tới.",
    ListKind.FEE_DUE: "Không có hồ sơ nào đang chờ nộp phí, lệ phí.",
    ListKind.SUPPLEMENT: "Không có hồ sơ nào đang chờ bổ sung.",
    ListKind.FAILED_NOTICES: "Không có thông báo nào bị lỗi.",
}

# How the citizen reads timeline entries that officers label for themselves.
CITIZEN_EVENT_LABELS_VI: dict[str, str] = {
    EventKind.OVERDUE: "Hồ sơ quá hạn giải quyết",
}
# Internal reminders and escalations: the citizen sees that the dossier is late, not whom we told.
OFFICER_ONLY_EVENTS = frozenset({EventKind.DUE_SOON, EventKind.ESCALATION, EventKind.FEE_UNPAID})


def status_vi(status: str) -> str:
    try:
        return DossierStatus(status).label_vi
    except ValueError:
        return status


def event_vi(kind: str, *, citizen: bool = False) -> str:
    if citizen and kind in CITIZEN_EVENT_LABELS_VI:
        return CITIZEN_EVENT_LABELS_VI[kind]
    try:
        return EventKind(kind).label_vi
    except ValueError:
        return kind


def list_title_vi(kind: ListKind) -> str:
    return LIST_TITLES_VI[kind]


def list_empty_vi(kind: ListKind) -> str:
    return LIST_EMPTY_VI[kind]


def notice_kind_vi(kind: str) -> str:
    return NOTICE_KINDS_VI.get(kind, kind)


def notice_status_vi(status: str) -> str:
    return NOTICE_STATUSES_VI.get(status, status)


def channel_vi(channel: str | None) -> str:
    return CHANNELS_VI.get(channel or "", "—")


def vn_dt(at: datetime | str | None) -> str:
    """dd/MM/yyyy HH:mm in office time ("" for nothing); ISO strings from JSON details are accepted."""
    if at is None or at == "":
        return ""
    value = datetime.fromisoformat(at) if isinstance(at, str) else at
    return to_office(value).strftime("%d/%m/%Y %H:%M")


def vn_day_dt(at: datetime | str | None) -> str:
    """With the weekday, for dates people plan around: "Thứ Hai, 24/11/2026 07:00"."""
    if at is None or at == "":
        return ""
    value = to_office(datetime.fromisoformat(at) if isinstance(at, str) else at)
    return f"{WEEKDAYS_VI[value.weekday()]}, {value:%d/%m/%Y %H:%M}"


def iso(at: datetime | None) -> str:
    return at.isoformat() if at else ""


def money(amount: int | None) -> str:
    """1250000 → "1.250.000 đ" (Vietnamese groups thousands with dots)."""
    if amount is None:
        return ""
    return f"{amount:,} đ".replace(",", ".")


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
