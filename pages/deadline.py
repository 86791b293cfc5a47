"""How a dossier's due date came to be, in steps an officer can check against the law.

The dates come from the timeline (what the workflow computed and recorded); the calendar only explains
them (when the count started, how much working time a pause took), using today's holidays and overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from db.models import Dossier, DossierEvent
from domain import vocabulary
from domain.calendar import WorkingCalendar
from domain.status import DossierStatus, EventKind
from domain.timefmt import to_office
from pages import labels


@dataclass
class Step:
    at: datetime
    title: str
    lines: list[str] = field(default_factory=list)


def _when(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def office_hours_text(calendar: WorkingCalendar) -> str:
    periods = ", ".join(f"{start:%H:%M}–{end:%H:%M}" for start, end in calendar.hours.periods)
    hours = calendar.hours.day_length.total_seconds() / 3600
    return (
        f"mỗi ngày làm việc {hours:g} giờ ({periods}); không tính thứ Bảy, Chủ nhật, ngày lễ, Tết "
        "và ngày nghỉ bù"
    )


def start_reason(calendar: WorkingCalendar, received: datetime, start: datetime) -> str:
    """Why the count starts later than the receipt, in words."""
    local = to_office(received)
    if not calendar.is_working_day(local.date()):
        return "nhận vào ngày nghỉ"
    if local.time() >= calendar.hours.cutoff:
        return f"nhận sau {calendar.hours.cutoff:%H:%M}, tính từ ngày làm việc tiếp theo"
    return "nhận ngoài giờ làm việc"


def _count_start(
    calendar: WorkingCalendar, at: datetime, working_days: int, due: datetime | None
) -> list[str]:
    start = calendar.clock_start(at)
    lines = []
    if to_office(start) != to_office(at):
        lines.append(f"Bắt đầu tính từ {labels.vn_day_dt(start)} ({start_reason(calendar, at, start)}).")
    else:
        lines.append(f"Bắt đầu tính từ lúc nhận, {labels.vn_day_dt(start)}.")
    if due is not None:
        lines.append(f"Cộng {working_days} ngày làm việc: hạn {labels.vn_day_dt(due)}.")
    return lines


def explain(row: Dossier, events: list[DossierEvent], calendar: WorkingCalendar, now: datetime) -> list[Step]:
    """The steps from receipt to the current due date (or to the stop that holds it)."""
    steps: list[Step] = []
    day = calendar.hours.day_length
    clock_start: datetime | None = None
    fee_at: datetime | None = None
    for event in events:
        detail = event.detail or {}
        due = _when(detail.get("due_at"))
        if event.kind == EventKind.RECEIVED:
            clock_start = calendar.clock_start(event.at)
            steps.append(
                Step(
                    event.at,
                    f"Tiếp nhận: {row.working_days} ngày làm việc",
                    _count_start(calendar, event.at, row.working_days, due),
                )
            )
        elif event.kind == EventKind.SUPPLEMENT_REQUESTED:
            lines = ["Dừng tính thời hạn cho đến khi nhận đủ hồ sơ bổ sung."]
            if clock_start is not None:
                used = calendar.working_time_between(clock_start, event.at)
                lines.append(
                    f"Đã dùng {labels.working_span(used, day)} trước khi dừng (không được tính lại)."
                )
            if detail.get("late"):
                lines.append("Yêu cầu bổ sung sau 3 ngày làm việc kể từ khi tiếp nhận (trễ so với quy định).")
            if detail.get("supply_by"):
                lines.append(f"{vocabulary.SUPPLY_BY}: {labels.vn_day_dt(detail['supply_by'])}.")
            steps.append(Step(event.at, "Yêu cầu bổ sung: dừng thời hạn", lines))
        elif event.kind == EventKind.SUPPLEMENT_RECEIVED and detail.get("resumed"):
            # The procedure's count resumes: the due date moved by the working time the supplement took.
            lines = [
                f"Hạn cũ {labels.vn_day_dt(detail.get('old_due_at'))}, lùi thêm đúng bằng thời gian chờ."
            ]
            if due is not None:
                lines.append(f"Hạn mới: {labels.vn_day_dt(due)}.")
            steps.append(Step(event.at, "Nhận đủ hồ sơ bổ sung: tính tiếp thời hạn", lines))
        elif event.kind == EventKind.SUPPLEMENT_RECEIVED:
            clock_start = calendar.clock_start(event.at)
            steps.append(
                Step(
                    event.at,
                    "Nhận đủ hồ sơ bổ sung: tính lại từ đầu",
                    _count_start(calendar, event.at, row.working_days, due),
                )
            )
        elif event.kind == EventKind.FEE_REQUESTED:
            fee_at = event.at
            steps.append(
                Step(
                    event.at,
                    "Thông báo nộp phí: tạm dừng thời hạn",
                    ["Thời gian chờ nộp phí không tính vào thời hạn; hạn lùi lại đúng bằng thời gian chờ."],
                )
            )
        elif event.kind == EventKind.PAYMENT_RECEIVED:
            lines = []
            if fee_at is not None:
                waited = calendar.working_time_between(fee_at, event.at)
                lines.append(f"Thời gian chờ nộp phí: {labels.working_span(waited, day)}.")
            if due is not None:
                lines.append(f"Hạn mới: {labels.vn_day_dt(due)}.")
            fee_at = None
            steps.append(Step(event.at, "Đã nộp đủ phí: tính tiếp thời hạn", lines))
        elif event.kind == EventKind.APOLOGY:
            lines = [
                f"Hạn cũ {labels.vn_day_dt(detail.get('old_due_at'))}, "
                f"hẹn lại {labels.vn_day_dt(detail.get('new_due_at'))}."
            ]
            if detail.get("reason"):
                lines.append(f"Lý do: {detail['reason']}")
            steps.append(Step(event.at, "Thư xin lỗi (Mẫu 04): hẹn lại ngày trả", lines))
        elif event.kind == EventKind.OVERDUE:
            lines = [f"Hạn {labels.vn_day_dt(due)} đã qua mà chưa có kết quả."] if due else []
            steps.append(Step(event.at, "Quá hạn: đã báo lãnh đạo", lines))
    status = DossierStatus(row.status)
    if status is DossierStatus.SUPPLEMENT_REQUIRED:
        asked = (row.detail or {}).get("supplement") or {}
        lines = [
            "Khi nhận đủ hồ sơ bổ sung, thời hạn được tính tiếp (hạn lùi thêm bằng thời gian chờ)."
            if asked.get("paused_due_at")
            else "Khi nhận đủ hồ sơ bổ sung, thời hạn tính lại từ đầu."
        ]
        if asked.get("supply_by"):
            lines.append(
                f"{vocabulary.SUPPLY_BY}: {labels.vn_day_dt(asked['supply_by'])}; "
                "quá hạn, hồ sơ bị dừng xử lý."
            )
        steps.append(Step(now, "Hiện tại: đang dừng", lines))
    elif status is DossierStatus.STOPPED:
        steps.append(Step(now, "Đã dừng xử lý", ["Công dân không bổ sung hồ sơ trong thời hạn."]))
    elif status is DossierStatus.FEE_DUE and fee_at is not None:
        waited = calendar.working_time_between(fee_at, now)
        steps.append(
            Step(
                now,
                "Hiện tại: đang tạm dừng",
                [
                    f"Đã chờ nộp phí {labels.working_span(waited, day)}; hạn "
                    f"{labels.vn_day_dt(row.due_at)} sẽ lùi thêm đúng bằng thời gian chờ."
                ],
            )
        )
    return steps
