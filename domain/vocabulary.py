"""Every Vietnamese word people read for one of our identifiers, and how dates and money are written.

States, event kinds, transitions, the escalation ladder's roles, notice kinds, channels, audiences,
actors, refusals, the portal's status codes: one table each, keyed by the enum whose members they name.
`LABELS` lists the tables; a test checks that every member of every enum has its label, and another scans
every notice and page for an identifier that reached a reader raw. Pages, notices and the Temporal UI's
details all read from here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any

from domain.access import DeskRole
from domain.dossier import Actor, IntakeChannel
from domain.dvcqg import PortalStatus, SyncRefused
from domain.feedback import Channel as FeedbackChannel
from domain.feedback import Reply as FeedbackReply
from domain.feedback import Status as FeedbackStatus
from domain.imports import ImportRefusal
from domain.limits import RATING_COMMENT_MAX
from domain.notices import Audience, NoticeChannel, NoticeFailure, NoticeKind, NoticeStatus, OfficerRole
from domain.queue import Channel as QueueChannel
from domain.queue import Refused as QueueRefused
from domain.queue import TicketStatus
from domain.refusals import Refusal
from domain.rules import Rule
from domain.status import DossierStatus, EventKind, Transition
from domain.steps import StepOutcome
from domain.timefmt import to_office

STATUS: dict[DossierStatus, str] = {
    DossierStatus.RECEIVED: "Đã tiếp nhận, đang giải quyết",
    DossierStatus.SUPPLEMENT_REQUIRED: "Đang chờ bổ sung hồ sơ",
    DossierStatus.FEE_DUE: "Đang chờ nộp phí, lệ phí",
    DossierStatus.RESULT_READY: "Đã có kết quả, chờ trả",
    DossierStatus.RETURNED: "Đã trả kết quả",
    DossierStatus.REJECTED: "Không được tiếp nhận / từ chối giải quyết",
    DossierStatus.WITHDRAWN: "Đã rút hồ sơ",
    DossierStatus.SUBMITTED: "Đã nộp trực tuyến, chờ kiểm tra tiếp nhận",
    DossierStatus.STOPPED: "Dừng xử lý (không bổ sung hồ sơ đúng hạn)",
}
# Short enough to stand beside a bar of a chart on a phone.
STATUS_SHORT: dict[DossierStatus, str] = {
    DossierStatus.RECEIVED: "Đang giải quyết",
    DossierStatus.SUPPLEMENT_REQUIRED: "Chờ bổ sung",
    DossierStatus.FEE_DUE: "Chờ nộp phí",
    DossierStatus.RESULT_READY: "Chờ trả",
    DossierStatus.RETURNED: "Đã trả",
    DossierStatus.REJECTED: "Từ chối",
    DossierStatus.WITHDRAWN: "Đã rút",
    DossierStatus.SUBMITTED: "Chờ tiếp nhận",
    DossierStatus.STOPPED: "Dừng xử lý",
}
# What the dossier waits for, in each open state (the Temporal UI's current details).
WAITING_FOR: dict[DossierStatus, str] = {
    DossierStatus.RECEIVED: "kết quả giải quyết của cơ quan",
    DossierStatus.SUPPLEMENT_REQUIRED: "công dân bổ sung hồ sơ (dừng tính thời hạn)",
    DossierStatus.FEE_DUE: "công dân nộp phí, lệ phí (tạm dừng tính thời hạn)",
    DossierStatus.RESULT_READY: "công dân nhận kết quả",
    DossierStatus.RETURNED: "không (hồ sơ đã kết thúc)",
    DossierStatus.REJECTED: "không (hồ sơ đã kết thúc)",
    DossierStatus.WITHDRAWN: "không (hồ sơ đã kết thúc)",
    DossierStatus.SUBMITTED: "bộ phận một cửa kiểm tra hồ sơ nộp trực tuyến (chưa tính thời hạn)",
    DossierStatus.STOPPED: "không (hồ sơ đã kết thúc)",
}

TRANSITIONS: dict[Transition, str] = {
    Transition.REQUEST_SUPPLEMENT: "Yêu cầu bổ sung hồ sơ",
    Transition.SUPPLEMENT_RECEIVED: "Nhận hồ sơ bổ sung (tính lại thời hạn)",
    Transition.REQUEST_FEE: "Thông báo nghĩa vụ tài chính",
    Transition.PAYMENT_RECEIVED: "Xác nhận đã nộp phí, lệ phí",
    Transition.MARK_RESULT_READY: "Có kết quả giải quyết",
    Transition.MARK_RETURNED: "Trả kết quả cho công dân",
    Transition.REJECT: "Từ chối giải quyết (nêu rõ lý do)",
    Transition.WITHDRAW: "Công dân rút hồ sơ",
    Transition.APOLOGIZE: "Xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04), một lần",
    Transition.HANDOVER: "Chuyển hồ sơ sang bước xử lý tiếp theo",
    Transition.RECEIVE: "Tiếp nhận hồ sơ nộp trực tuyến (bắt đầu tính thời hạn)",
    Transition.REFUSE_RECEPTION: "Từ chối tiếp nhận hồ sơ (Mẫu 03, nêu rõ lý do)",
}

EVENTS: dict[EventKind, str] = {
    EventKind.RECEIVED: "Tiếp nhận hồ sơ",
    EventKind.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung hồ sơ",
    EventKind.SUPPLEMENT_RECEIVED: "Nhận hồ sơ bổ sung",
    EventKind.FEE_REQUESTED: "Thông báo nộp phí, lệ phí",
    EventKind.PAYMENT_RECEIVED: "Đã nộp phí, lệ phí",
    EventKind.PAYMENT_PARTIAL: "Nộp chưa đủ phí, lệ phí",
    EventKind.PAYMENT_NOT_DUE: "Khoản nộp ngoài thời gian chờ nộp phí",
    EventKind.RESULT_READY: "Có kết quả giải quyết",
    EventKind.RETURNED: "Đã trả kết quả",
    EventKind.REJECTED: "Từ chối giải quyết",
    EventKind.WITHDRAWN: "Rút hồ sơ",
    EventKind.APOLOGY: "Thư xin lỗi, hẹn lại ngày trả kết quả",
    EventKind.DUE_SOON: "Nhắc cán bộ: còn 1 ngày làm việc",
    EventKind.OVERDUE: "Quá hạn: báo cáo lãnh đạo",
    EventKind.ESCALATION: "Quá hạn: báo cáo cấp trên",
    EventKind.FEE_REMINDER: "Nhắc nộp phí, lệ phí",
    EventKind.FEE_UNPAID: "Quá hạn nộp phí: báo cán bộ",
    EventKind.PICKUP_REMINDER: "Nhắc nhận kết quả",
    EventKind.RATED: "Công dân đánh giá mức độ hài lòng",
    EventKind.PROCEDURE_UNKNOWN: "Mã thủ tục chưa có trong danh mục thủ tục của tỉnh",
    EventKind.WORKING_DAYS_DIFFER: "Thời hạn giải quyết khác danh mục thủ tục của tỉnh",
    EventKind.HANDOVER: "Bàn giao hồ sơ sang bước xử lý",
    EventKind.STEP_LATE: "Quá hạn bước xử lý: báo người giữ hồ sơ và lãnh đạo",
    EventKind.SUBMITTED: "Nộp hồ sơ trực tuyến, chờ kiểm tra tiếp nhận",
    EventKind.CHECK_DUE_SOON: "Nhắc cán bộ: sắp hết thời hạn kiểm tra hồ sơ nộp trực tuyến",
    EventKind.CHECK_OVERDUE: "Quá thời hạn kiểm tra hồ sơ nộp trực tuyến",
    EventKind.SUPPLEMENT_REMINDER: "Nhắc công dân: sắp hết hạn nộp hồ sơ bổ sung",
    EventKind.STOPPED: "Dừng xử lý: quá hạn mà không bổ sung hồ sơ",
}
# The supplement's deadline, on the desk, the lookup page and the Temporal UI's details.
SUPPLY_BY = "Hạn nộp hồ sơ bổ sung"
# The desk's check of an online submission, in the Temporal UI's details and on the desk.
CHECK_DUE = "Hạn kiểm tra hồ sơ trực tuyến"
CHECK_LATE = "QUÁ HẠN KIỂM TRA"

# How the citizen reads the entries that officers label for themselves.
EVENTS_FOR_CITIZEN: dict[EventKind, str] = EVENTS | {EventKind.OVERDUE: "Hồ sơ quá hạn giải quyết"}

PORTAL: dict[PortalStatus, str] = {
    PortalStatus.REGISTERED: "Mới đăng ký",
    PortalStatus.RECEIVED: "Được tiếp nhận",
    PortalStatus.NOT_ACCEPTED: "Không được tiếp nhận",
    PortalStatus.PROCESSING: "Đang xử lý",
    PortalStatus.SUPPLEMENT_REQUIRED: "Yêu cầu bổ sung giấy tờ",
    PortalStatus.FEE_REQUIRED: "Yêu cầu thực hiện nghĩa vụ tài chính",
    PortalStatus.WITHDRAWN: "Công dân yêu cầu rút hồ sơ",
    PortalStatus.STOPPED: "Dừng xử lý",
    PortalStatus.DONE: "Đã xử lý xong",
    PortalStatus.RETURNED: "Đã trả kết quả",
}

NOTICE_KINDS: dict[NoticeKind, str] = {
    NoticeKind.RECEIVED: "Xác nhận tiếp nhận, hẹn ngày trả kết quả",
    NoticeKind.SUPPLEMENT_REQUIRED: "Yêu cầu bổ sung hồ sơ",
    NoticeKind.SUPPLEMENT_RECEIVED: "Xác nhận nhận đủ hồ sơ bổ sung, hẹn ngày trả mới",
    NoticeKind.FEE_DUE: "Thông báo nộp phí, lệ phí",
    NoticeKind.FEE_REMINDER: "Nhắc nộp phí, lệ phí",
    NoticeKind.PAYMENT_CONFIRMED: "Xác nhận đã nộp phí, lệ phí",
    NoticeKind.RESULT_READY: "Thông báo đã có kết quả",
    NoticeKind.PICKUP_REMINDER: "Nhắc nhận kết quả",
    NoticeKind.REJECTED: "Thông báo từ chối giải quyết",
    NoticeKind.RECEPTION_REFUSED: "Thông báo từ chối tiếp nhận hồ sơ",
    NoticeKind.APOLOGY: "Thư xin lỗi, hẹn lại ngày trả kết quả",
    NoticeKind.WITHDRAWN: "Xác nhận rút hồ sơ",
    NoticeKind.RATING_INVITE: "Mời đánh giá mức độ hài lòng",
    NoticeKind.DUE_SOON: "Nhắc cán bộ: sắp đến hạn",
    NoticeKind.OVERDUE: "Báo quá hạn",
    NoticeKind.ESCALATION: "Báo cáo cấp trên (quá hạn)",
    NoticeKind.FEE_UNPAID: "Báo quá hạn nộp phí",
    NoticeKind.PAYMENT_MISMATCH: "Báo khoản nộp không khớp",
    NoticeKind.LOW_RATING: "Báo lãnh đạo: công dân đánh giá chưa hài lòng",
    NoticeKind.STEP_LATE: "Báo quá hạn bước xử lý",
    NoticeKind.CHECK_DUE_SOON: "Nhắc cán bộ: sắp hết hạn kiểm tra hồ sơ trực tuyến",
    NoticeKind.CHECK_OVERDUE: "Báo quá hạn kiểm tra hồ sơ trực tuyến",
    NoticeKind.SUPPLEMENT_RESUMED: "Xác nhận nhận đủ hồ sơ bổ sung, tính tiếp thời hạn",
    NoticeKind.SUPPLEMENT_REMINDER: "Nhắc nộp hồ sơ bổ sung",
    NoticeKind.STOPPED: "Thông báo dừng xử lý hồ sơ (không bổ sung đúng hạn)",
    NoticeKind.SUPPLEMENT_LAPSED: "Báo hồ sơ dừng xử lý do không bổ sung đúng hạn",
}

NOTICE_STATUSES: dict[NoticeStatus, str] = {
    NoticeStatus.SCHEDULED: "Hẹn gửi (ngoài giờ nghỉ đêm)",
    NoticeStatus.QUEUED: "Đang chờ gửi",
    NoticeStatus.SENT: "Đã gửi",
    NoticeStatus.DELIVERED: "Đã đến người nhận",
    NoticeStatus.FAILED_RETRYING: "Gửi lỗi, đang thử lại",
    NoticeStatus.FAILED_PERMANENT: "Không gửi được",
}

# Why a notice could not go out, for the officer who deals with it (the detail stays in the log).
NOTICE_FAILURES: dict[NoticeFailure, str] = {
    NoticeFailure.DOSSIER_MISSING: "Không tìm thấy hồ sơ của thông báo.",
    NoticeFailure.NO_OFFICER_ID: "Chưa cấu hình tài khoản Zalo của cán bộ nhận thông báo cho cơ quan này.",
    NoticeFailure.NO_RECIPIENT: "Công dân chưa liên kết Zalo và hồ sơ không có số điện thoại.",
    NoticeFailure.NO_ZNS_TEMPLATE: "Chưa đăng ký mẫu tin ZNS cho loại thông báo này.",
    NoticeFailure.UNCOMPOSABLE: (
        "Không soạn được nội dung thông báo từ dữ liệu đã lưu; cần kỹ thuật kiểm tra."
    ),
    NoticeFailure.ZALO_REFUSED: (
        "Zalo từ chối gửi (người nhận chặn tin, số điện thoại hoặc mẫu tin không hợp lệ)."
    ),
    NoticeFailure.ZALO_UNAVAILABLE: "Zalo chưa trả lời; hệ thống đang thử gửi lại.",
    NoticeFailure.GAVE_UP: "Đã thử gửi lại trong thời gian cho phép nhưng không thành công.",
    NoticeFailure.INTERNAL: "Lỗi của hệ thống khi gửi; đã ghi lại để kỹ thuật xử lý.",
}

CHANNELS: dict[NoticeChannel, str] = {
    NoticeChannel.OA: "Zalo (tin nhắn từ Official Account)",
    NoticeChannel.ZNS: "Zalo ZNS (tin nhắn theo số điện thoại)",
}

AUDIENCES: dict[Audience, str] = {Audience.CITIZEN: "Công dân", Audience.OFFICER: "Cán bộ"}

INTAKE_CHANNELS: dict[IntakeChannel, str] = {
    IntakeChannel.COUNTER: "Nộp trực tiếp",
    IntakeChannel.ONLINE: "Nộp trực tuyến",
    IntakeChannel.POST: "Qua bưu chính",
}

# The rungs of the escalation ladder, as a notice or a timeline names them.
ROLES: dict[OfficerRole, str] = {
    OfficerRole.OFFICER: "cán bộ xử lý hồ sơ",
    OfficerRole.DEPARTMENT_HEAD: "lãnh đạo phòng chuyên môn",
    OfficerRole.AGENCY_HEAD: "lãnh đạo cơ quan",
}

DESK_ROLES: dict[DeskRole, str] = {DeskRole.OFFICER: "Cán bộ xử lý", DeskRole.VIEWER: "Chỉ xem"}

# Who did what, on timelines (API clients and officers are shown by their own names).
ACTORS: dict[Actor, str] = {
    Actor.TTHC: "Hệ thống một cửa điện tử",
    Actor.API: "Hệ thống một cửa điện tử",
    Actor.SYSTEM: "Hệ thống (tự động)",
    Actor.WEBHOOK: "Nền tảng thanh toán",
    Actor.DVCQG: "Cổng Dịch vụ công quốc gia",
    Actor.CITIZEN: "Công dân",
}

# What the officer reads when the workflow refuses an action (the machine API answers in English).
REFUSALS: dict[Refusal, str] = {
    Refusal.ILLEGAL_TRANSITION: "Thao tác này không được phép ở trạng thái hiện tại của hồ sơ.",
    Refusal.DUPLICATE_EVENT: "Thao tác này đã được ghi trước đó.",
    Refusal.EVENT_ID_REUSED: (
        "Biểu mẫu này đã được dùng cho một thao tác khác. Vui lòng mở lại biểu mẫu từ trang hồ sơ."
    ),
    Refusal.EVENT_TIME: (
        "Thời điểm thực hiện phải sau sự kiện gần nhất của hồ sơ. Vui lòng kiểm tra lại thời điểm."
    ),
    Refusal.APOLOGY_REFUSED: "Không thể gửi thư xin lỗi (Mẫu 04) lúc này.",
    Refusal.INVALID_COMMAND: "Hệ thống không chấp nhận thông tin này. Vui lòng kiểm tra lại các ô đã nhập.",
    Refusal.REGISTRATION_CONFLICT: "Mã hồ sơ này đã được đăng ký với nội dung khác.",
    Refusal.SUPPLEMENT_LIMIT: (
        "Hồ sơ đã được yêu cầu bổ sung; theo quy định chỉ yêu cầu bổ sung một lần, nêu đầy đủ giấy tờ "
        "cần bổ sung (trừ thủ tục được danh mục của tỉnh cho phép nhiều lần hơn)."
    ),
    Refusal.RATING_REFUSED: (
        "Hồ sơ không nhận đánh giá lúc này (chưa trả kết quả, đã được đánh giá, hoặc đã hết hạn đánh giá)."
    ),
    Refusal.UNKNOWN_STEP: "Quy trình của thủ tục này không có bước xử lý đó.",
    Refusal.STEP_OUT_OF_ORDER: (
        "Chỉ được chuyển hồ sơ sang bước kế tiếp của quy trình (không bỏ qua, không quay lại bước trước)."
    ),
}

# Each rule a command can break, in the officer's words (domain/rules.py).
RULES: dict[Rule, str] = {
    Rule.EVENT_ID_REUSED: REFUSALS[Refusal.EVENT_ID_REUSED],
    Rule.ILLEGAL_TRANSITION: REFUSALS[Refusal.ILLEGAL_TRANSITION],
    Rule.EVENT_TIME: REFUSALS[Refusal.EVENT_TIME],
    Rule.SUPPLEMENT_ITEMS: "Vui lòng nhập ít nhất một loại giấy tờ cần bổ sung.",
    Rule.FEE_ITEMS: "Vui lòng nhập ít nhất một khoản phí với số tiền lớn hơn 0.",
    Rule.PAY_WITHIN_DAYS: "Hạn nộp phải từ 1 ngày làm việc trở lên.",
    Rule.HANDOVER: "Vui lòng chọn cách trả kết quả.",
    Rule.REJECTION_REASON: "Vui lòng nhập lý do từ chối.",
    Rule.APOLOGY_ONCE: "Hồ sơ này đã có thư xin lỗi (Mẫu 04); mỗi hồ sơ chỉ được xin lỗi một lần.",
    Rule.APOLOGY_CLOCK_STOPPED: "Thời hạn đang dừng (chờ bổ sung) nên chưa có hạn để hẹn lại.",
    Rule.APOLOGY_BEFORE_DUE: "Thư xin lỗi phải được ghi trước thời hạn trả kết quả.",
    Rule.APOLOGY_NEW_DUE_LATER: "Ngày hẹn mới phải sau hạn hiện tại.",
    Rule.APOLOGY_REASON: "Vui lòng nhập lý do chậm trễ.",
    Rule.PAYMENT_AMOUNT: "Số tiền phải lớn hơn 0.",
    Rule.NO_FEE_DUE: "Hồ sơ không ở trạng thái chờ nộp phí.",
    Rule.SUPPLEMENT_ONCE: REFUSALS[Refusal.SUPPLEMENT_LIMIT],
    Rule.RATING_SCORE: "Vui lòng chọn mức độ hài lòng, từ 1 đến 5 sao.",
    Rule.RATING_COMMENT: f"Ý kiến dài quá {RATING_COMMENT_MAX} ký tự; vui lòng rút gọn.",
    Rule.RATING_NOT_OPEN: "Hồ sơ này chưa trả kết quả nên chưa thể đánh giá.",
    Rule.RATING_ONCE: "Hồ sơ này đã được đánh giá. Mỗi hồ sơ chỉ đánh giá một lần. Xin cảm ơn ông/bà.",
    Rule.RATING_CLOSED: "Đã hết thời gian đánh giá hồ sơ này.",
    Rule.STEP_KNOWN: REFUSALS[Refusal.UNKNOWN_STEP],
    Rule.STEP_ORDER: REFUSALS[Refusal.STEP_OUT_OF_ORDER],
}

# How a step that ended stands against its deadline (the process-control sheet, Mẫu 06).
STEP_OUTCOMES: dict[StepOutcome, str] = {
    StepOutcome.EARLY: "Trước hạn",
    StepOutcome.ON_TIME: "Đúng hạn",
    StepOutcome.LATE: "Quá hạn",
}

# Why a line of an import file was not imported (`python -m admin.dossiers import`; domain/imports.py).
IMPORT_REFUSALS: dict[ImportRefusal, str] = {
    ImportRefusal.NOT_JSON: "Dòng không phải một đối tượng JSON hợp lệ (UTF-8)",
    ImportRefusal.MALFORMED: "Thiếu trường bắt buộc hoặc giá trị không đúng định dạng",
    ImportRefusal.DOSSIER_CODE: "Mã hồ sơ không đúng định dạng",
    ImportRefusal.UNKNOWN_AGENCY: "Cơ quan không có trong danh bạ cơ quan",
    ImportRefusal.UNKNOWN_PROCEDURE: "Thủ tục không có trong danh mục thủ tục đang áp dụng",
    ImportRefusal.PHONE: "Số điện thoại của người nộp không phải số di động Việt Nam",
    ImportRefusal.DATE: "Thời điểm không hợp lệ (cần ngày giờ ISO 8601 kèm múi giờ)",
    ImportRefusal.FUTURE: "Thời điểm nằm trong tương lai",
    ImportRefusal.DUE_BEFORE_RECEIVED: "Ngày hẹn trả không sau ngày tiếp nhận",
    ImportRefusal.OUT_OF_ORDER: "Các sự kiện không theo thứ tự thời gian",
    ImportRefusal.UNKNOWN_EVENT: "Loại sự kiện không được hỗ trợ khi nhập",
    ImportRefusal.EVENT_BODY: "Nội dung sự kiện không hợp lệ",
    ImportRefusal.UNREACHABLE_STATE: "Chuỗi sự kiện không hợp lệ theo quy trình xử lý hồ sơ",
    ImportRefusal.STATE_MISMATCH: "Trạng thái khai báo không khớp với chuỗi sự kiện",
    ImportRefusal.CLOSED: "Hồ sơ đã kết thúc, không cần nhập",
    ImportRefusal.DUPLICATE_IN_FILE: "Mã hồ sơ xuất hiện nhiều lần trong tệp",
    ImportRefusal.CODE_TAKEN: "Mã hồ sơ đã có trong hệ thống với nội dung khác",
    ImportRefusal.TRANSACTION_TAKEN: "Mã giao dịch thanh toán đã thuộc về hồ sơ khác",
    ImportRefusal.NOT_STARTED: "Đã ghi hồ sơ nhưng chưa khởi động được quy trình; chạy lại lệnh nhập",
}

# Every table above, by the enum it labels: a test holds each to every member.
LABELS: dict[type[Enum], Mapping[Any, str]] = {
    DossierStatus: STATUS,
    EventKind: EVENTS,
    Transition: TRANSITIONS,
    PortalStatus: PORTAL,
    NoticeKind: NOTICE_KINDS,
    NoticeStatus: NOTICE_STATUSES,
    NoticeFailure: NOTICE_FAILURES,
    NoticeChannel: CHANNELS,
    Audience: AUDIENCES,
    IntakeChannel: INTAKE_CHANNELS,
    OfficerRole: ROLES,
    DeskRole: DESK_ROLES,
    Actor: ACTORS,
    Refusal: REFUSALS,
    Rule: RULES,
    StepOutcome: STEP_OUTCOMES,
    ImportRefusal: IMPORT_REFUSALS,
}


def label(member: Enum) -> str:
    """The Vietnamese label of any labelled enum member."""
    return LABELS[type(member)][member]


def label_of(enum: type[Enum], value: str | None, *, missing: str = "—") -> str:
    """The label of a raw value as stored (a status, a kind, a channel), or `missing` for none; a value
    no member has is shown as "—" rather than raw."""
    if value is None or value == "":
        return missing
    try:
        return LABELS[enum][enum(value)]
    except ValueError:
        return missing


def role_label(role: str | None) -> str:
    """A rung of the escalation ladder; a rung the office configured beyond the known three is named
    generically rather than shown as an identifier."""
    return label_of(OfficerRole, role, missing="lãnh đạo cấp trên")


_ZALO_CODE = re.compile(r"zalo (-?\d+)")


def notice_failure(last_error: str | None) -> str:
    """A notice's recorded failure (`<failure>: <detail>`) for an officer, with Zalo's code if any."""
    if not last_error:
        return ""
    kind, _, detail = last_error.partition(":")
    try:
        text = NOTICE_FAILURES[NoticeFailure(kind)]
    except ValueError:
        text = "Không gửi được; xem nhật ký hệ thống."
    code = _ZALO_CODE.search(detail)
    return f"{text} (mã lỗi Zalo {code.group(1)})" if code else text


def actor_label(by: str) -> str:
    """Who did something, for a timeline: our own actors by name, anyone else (an API client, an
    officer's user name) as they are called."""
    try:
        return ACTORS[Actor(by)]
    except ValueError:
        return by


def sync_refusal(refused: SyncRefused) -> str:
    """Why a national-portal sync cannot apply, for the TTHC system's operators (beside the English)."""
    if refused.current is None:
        return (
            "Chưa có hồ sơ này; chỉ trạng thái 1, 2, 3 hoặc 4 mới tạo hồ sơ mới "
            f"(nhận được {refused.portal.value})."
        )
    return (
        f"Không thể chuyển hồ sơ từ trạng thái '{STATUS[refused.current]}' sang "
        f"'{PORTAL[refused.portal]}' (TrangThaiHoSo {refused.portal.value})."
    )


# ---------------------------------------------------------------- dates and money

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def _moment(value: datetime | str | None) -> datetime | None:
    if value is None or value == "":
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"a time without an offset: {value!r}")
    return to_office(moment)


def vn_datetime(value: datetime | str | None, *, missing: str = "") -> str:
    """dd/MM/yyyy HH:mm in office time; ISO strings (as details and contexts hold times) are accepted."""
    moment = _moment(value)
    return moment.strftime("%d/%m/%Y %H:%M") if moment else missing


def vn_date(value: datetime | str | None, *, missing: str = "") -> str:
    """dd/MM/yyyy in office time."""
    moment = _moment(value)
    return moment.strftime("%d/%m/%Y") if moment else missing


def vn_day_datetime(value: datetime | str | None, *, missing: str = "") -> str:
    """With the weekday, for dates people plan around: "Thứ Hai, 24/11/2026 07:00"."""
    moment = _moment(value)
    return f"{WEEKDAYS[moment.weekday()]}, {moment:%d/%m/%Y %H:%M}" if moment else missing


def vn_money(amount: int | str | None, *, missing: str = "") -> str:
    """1250000 → "1.250.000 đ" (Vietnamese groups thousands with dots)."""
    if amount is None or amount == "":
        return missing
    value = int(amount)
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value):,}".replace(",", ".") + " đ"


# ---------------------------------------------------------------- the agency directory

# The fields of a directory entry, as the administrator's tool names them (db/agencies.py checks them).
AGENCY_FIELDS: dict[str, str] = {
    "code": "mã cơ quan",
    "name": "tên cơ quan",
    "address": "địa chỉ",
    "hotline": "đường dây nóng",
    "opening_hours": "giờ làm việc",
    "oa_url": "địa chỉ Zalo OA",
}


# ---------------------------------------------------------------- the procedure catalogue


def catalogue_flag(kind: EventKind, detail: Mapping[str, Any]) -> list[str]:
    """What an officer reads under a registration the catalogue did not match (domain/procedures.py)."""
    version = detail.get("catalogue_version")
    catalogue = f"danh mục thủ tục của tỉnh (phiên bản {version})" if version else "danh mục thủ tục của tỉnh"
    if kind is EventKind.PROCEDURE_UNKNOWN:
        return [
            f"Mã thủ tục {detail.get('procedure_code', '?')} không có trong {catalogue}.",
            "Hồ sơ vẫn được tiếp nhận như đã gửi; yêu cầu bổ sung theo quy định chung (một lần).",
        ]
    if kind is EventKind.WORKING_DAYS_DIFFER:
        return [
            f"Thời hạn theo hồ sơ: {detail.get('working_days', '?')} ngày làm việc; theo {catalogue}: "
            f"{detail.get('catalogue_working_days', '?')} ngày làm việc.",
            "Ngày hẹn trả kết quả giữ như đã in trên giấy tiếp nhận.",
        ]
    return []


# ---------------------------------------------------------------- failed notices on the desk

# Whether an officer has dealt with a notice that could not be sent (the desk's failed-notice list).
NOTICE_HANDLED = "Đã xử lý"
NOTICE_UNHANDLED = "Chưa xử lý"


def notice_handled(by: str | None, at: datetime | str | None) -> str:
    """Who marked a failed notice handled and when, "Đã xử lý: lan.nt, 30/11/2026 09:15"; "" if nobody."""
    if not by:
        return ""
    when = vn_datetime(at)
    return f"{NOTICE_HANDLED}: {by}, {when}" if when else f"{NOTICE_HANDLED}: {by}"


# ---------------------------------------------------------------- printed documents (pages/receipt.py)

# The receipt's title and form number: Mẫu số 01 of the forms that go with Decree 61/2018/NĐ-CP (issued
# with Circular 01/2018/TT-VPCP); docs/citizen-services.md says where this comes from.
RECEIPT_TITLE = "Giấy tiếp nhận hồ sơ và hẹn trả kết quả"
RECEIPT_FORM_NO = "Mẫu số 01"
RECEIPT_DESK = "Bộ phận tiếp nhận và trả kết quả"
RECEIPT_NO_DUE = "tạm dừng tính thời hạn (sẽ báo lại ngày hẹn)"
# The process-control sheet: Mẫu số 06 of Circular 03/2025/TT-VPCP (Decree 118/2025/NĐ-CP); it was Mẫu số
# 05 of Circular 01/2018/TT-VPCP. docs/legal.md says where this comes from.
SHEET_TITLE = "Phiếu kiểm soát quá trình giải quyết hồ sơ"
SHEET_FORM_NO = "Mẫu số 06"
QR_LOOKUP = "Mã QR: trang tra cứu hồ sơ"
QR_OA = "Mã QR: quan tâm Zalo OA"


# ---------------------------------------------------------------- feedback (phản ánh, kiến nghị)

FEEDBACK = "Phản ánh, kiến nghị"
FEEDBACK_CHANNEL: dict[FeedbackChannel, str] = {
    FeedbackChannel.WEB: "Trang tra cứu",
    FeedbackChannel.OA: "Zalo OA",
}
FEEDBACK_STATUS: dict[FeedbackStatus, str] = {
    FeedbackStatus.OPEN: "Chờ trả lời",
    FeedbackStatus.ANSWERED: "Đã trả lời",
}
FEEDBACK_REPLY: dict[FeedbackReply, str] = {
    FeedbackReply.ON_PAGE: "Hiển thị trên trang tra cứu",
    FeedbackReply.SENT: "Đã gửi qua Zalo OA",
    FeedbackReply.FAILED: "Gửi qua Zalo OA không được",
}
LABELS.update(
    {FeedbackChannel: FEEDBACK_CHANNEL, FeedbackStatus: FEEDBACK_STATUS, FeedbackReply: FEEDBACK_REPLY}
)
FEEDBACK_PROVINCE_QUEUE = "Cấp tỉnh (không ghi mã hồ sơ)"
FEEDBACK_VERIFIED = {
    True: "Người gửi đã xác minh (mã hồ sơ và số điện thoại, hoặc Zalo đã liên kết số điện thoại của hồ sơ)",
    False: "Người gửi chưa xác minh: không cung cấp thông tin cá nhân của hồ sơ trong câu trả lời",
}
# Over the OA: how to send feedback, and what the citizen is told.
FEEDBACK_OA_HOW = (
    "Để gửi phản ánh, kiến nghị, vui lòng nhắn: PA <mã hồ sơ> <nội dung>, ví dụ: "
    "PA H21.65-261123-0001 Đã quá ngày hẹn nhưng chưa nhận được kết quả. "
    "Nếu không liên quan đến hồ sơ nào: PA <nội dung>."
)
FEEDBACK_OA_RECEIVED = (
    "Đã nhận phản ánh, kiến nghị số {id}{about}. Cơ quan giải quyết sẽ trả lời qua Zalo OA này "
    "chậm nhất {due}."
)
FEEDBACK_OA_ABOUT = " về hồ sơ {code}"
FEEDBACK_WAIT = (
    "Ông/bà đã gửi nhiều phản ánh trong thời gian ngắn. Vui lòng gửi lại sau khoảng {minutes} phút."
)
FEEDBACK_OA_ANSWER = "Trả lời phản ánh, kiến nghị số {id}{about}:\n{answer}"
FEEDBACK_CODE_IN_TEXT = "(Mã hồ sơ ghi trong tin nhắn: {code}) "


def feedback_reply_error(error: str | None) -> str:
    """Why an answer did not reach the citizen over the OA (`zalo <code> (<class>): <detail>` as stored)."""
    if not error:
        return ""
    code = _ZALO_CODE.search(error)
    suffix = f" (mã lỗi Zalo {code.group(1)})" if code else ""
    if "(permanent)" in error:
        return (
            "Zalo từ chối gửi: người dân có thể đã bỏ quan tâm OA, chặn tin, hoặc đã quá thời hạn Zalo cho "
            "phép trả lời tin nhắn" + suffix + "."
        )
    if "(token)" in error or "no Zalo" in error:
        return "Hệ thống chưa kết nối được Zalo OA; vui lòng báo quản trị hệ thống" + suffix + "."
    return "Zalo chưa trả lời; vui lòng gửi lại sau ít phút" + suffix + "."


# ------------------------------------------------------- procedure lookup (OA "TT <words>", /thu-tuc)

PROCEDURE_LOOKUP_HOW = "Để tra cứu thủ tục hành chính, gửi: TT <tên thủ tục>, ví dụ: TT khai sinh."
PROCEDURE_LOOKUP_NONE = (
    "Không tìm thấy thủ tục nào phù hợp với “{query}”. Thử lại với từ khác, ví dụ: TT khai sinh.\n"
    "Danh mục thủ tục: {url}"
)
PROCEDURE_LOOKUP_FOUND = "Thủ tục phù hợp với “{query}” ({total}):"
PROCEDURE_LOOKUP_ITEM = (
    "{number}. {name}\n"
    "Thời hạn giải quyết: {days} ngày làm việc\n"
    "Phí, lệ phí: {fees}\n"
    "Nơi nộp: {where}\n"
    "Chi tiết: {url}"
)
PROCEDURE_LOOKUP_MORE = "Xem đủ {total} thủ tục: {url}"
PROCEDURE_LOOKUP_NO_CATALOGUE = (
    "Danh mục thủ tục hành chính đang được cập nhật. Vui lòng liên hệ Bộ phận Một cửa."
)
PROCEDURE_NO_FEE = "Không có thông tin"
PROCEDURE_FREE = "Không thu"
PROCEDURE_FEE_BY_RULE = "Theo quy định hiện hành"


# ---------------------------------------------------------------- queue numbers (lấy số thứ tự)

QUEUE = "Lấy số thứ tự"
QUEUE_STATUS: dict[TicketStatus, str] = {
    TicketStatus.WAITING: "Đang chờ",
    TicketStatus.CALLED: "Đã gọi, mời đến quầy",
    TicketStatus.SERVED: "Đã phục vụ",
    TicketStatus.NO_SHOW: "Vắng mặt khi gọi",
    TicketStatus.CANCELLED: "Đã hủy",
    TicketStatus.EXPIRED: "Hết hiệu lực (số của ngày đã qua)",
}
QUEUE_CHANNEL: dict[QueueChannel, str] = {QueueChannel.WEB: "Trang lấy số", QueueChannel.OA: "Zalo OA"}
# Why no number is given; {opening} is when numbers are given again.
QUEUE_REFUSED: dict[QueueRefused, str] = {
    QueueRefused.CLOSED_DAY: "Hôm nay không phải ngày làm việc nên không cấp số thứ tự. Vui lòng quay lại "
    "từ {opening}.",
    QueueRefused.NOT_YET_OPEN: "Chưa đến giờ cấp số thứ tự. Số thứ tự hôm nay được cấp từ {opening}.",
    QueueRefused.CLOSED: "Đã hết giờ cấp số thứ tự hôm nay: thời gian làm việc còn lại không đủ để phục vụ "
    "thêm người. Vui lòng quay lại từ {opening}.",
    QueueRefused.OPEN_AT_AGENCY: "Ông/bà đang có một số thứ tự chưa được phục vụ tại cơ quan này. Mỗi số "
    "điện thoại (hoặc tài khoản Zalo) chỉ giữ một số tại mỗi cơ quan.",
    QueueRefused.DAILY_LIMIT: "Ông/bà đã lấy đủ số thứ tự cho phép trong ngày. Vui lòng quay lại vào ngày "
    "làm việc tiếp theo.",
}
LABELS.update({TicketStatus: QUEUE_STATUS, QueueChannel: QUEUE_CHANNEL, QueueRefused: QUEUE_REFUSED})
QUEUE_TAKEN = (
    "Số thứ tự của ông/bà tại {agency}: {number}. Đang có {ahead} người chờ trước. Theo dõi số thứ tự: {url}"
)
QUEUE_NEAR = (
    "Sắp đến lượt số {number} tại {agency}: còn {ahead} người trước ông/bà. Vui lòng có mặt gần quầy."
)
QUEUE_CALLED = "Mời số {number} đến {counter} tại {agency}."
QUEUE_COUNTER_DEFAULT = "quầy tiếp nhận"
QUEUE_OA_HOW = "Để lấy số thứ tự, nhắn: STT <mã cơ quan>, ví dụ: STT H21.65."
QUEUE_UNKNOWN_AGENCY = "Không có cơ quan với mã {code}. " + QUEUE_OA_HOW
QUEUE_WAIT = "Ông/bà đã lấy số quá nhiều lần. Vui lòng thử lại sau khoảng {minutes} phút."


# ---------------------------------------------------------------- satisfaction ratings

RATING_SCORES: dict[int, str] = {
    5: "Rất hài lòng",
    4: "Hài lòng",
    3: "Bình thường",
    2: "Không hài lòng",
    1: "Rất không hài lòng",
}
RATING_TITLE = "Đánh giá mức độ hài lòng"
# What the rating page answers a link it cannot take (pages/rating.py), by why.
RATING_LINK_FORGED = (
    "Liên kết đánh giá không hợp lệ. Vui lòng mở đúng liên kết trong tin nhắn Zalo đã nhận, "
    "hoặc tra cứu hồ sơ tại trang Tra cứu."
)
RATING_LINK_EXPIRED = "Liên kết đánh giá đã hết hạn (hạn đánh giá đến {rate_by}). Xin cảm ơn ông/bà."
RATING_DONE = "Cảm ơn ông/bà đã đánh giá. Ý kiến của ông/bà giúp cơ quan phục vụ tốt hơn."
RATING_LIMITED = "Ông/bà đã thử quá nhiều liên kết không hợp lệ. Vui lòng thử lại sau {minutes} phút."
RATING_UNAVAILABLE = "Hệ thống chưa ghi được đánh giá. Vui lòng gửi lại sau ít phút."
