"""Timeline entries and notices as the pages show them: Vietnamese labels and a few plain details."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from db.models import DossierEvent, Notice
from domain import vocabulary
from domain.notices import Audience
from domain.status import EventKind
from domain.steps import StepOutcome
from pages import labels


@dataclass
class TimelineRow:
    seq: int
    at: datetime
    kind: str
    label: str
    by: str
    details: list[str] = field(default_factory=list)


@dataclass
class NoticeRow:
    id: int | None
    kind: str
    label: str
    audience: str
    channel: str
    status: str
    status_label: str
    created_at: datetime
    when: datetime  # the most telling time: delivered, sent, scheduled or queued
    scheduled_for: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    last_error: str | None = None
    attempts: int = 0
    handled: str = ""  # for officers: who marked the failure handled, and when


def _fee_total(detail: dict[str, Any]) -> str:
    return labels.money(detail.get("total_vnd"))


def event_details(kind: str, detail: dict[str, Any], *, citizen: bool) -> list[str]:
    """A few lines about an entry; officers also see what only concerns the office."""
    lines: list[str] = []
    due = labels.vn_day_dt(detail.get("due_at"))
    if kind == EventKind.RECEIVED:
        lines.append(f"Thời hạn giải quyết: {detail.get('working_days', '?')} ngày làm việc")
        if due:
            lines.append(f"Hẹn trả kết quả: {due}")
    elif kind == EventKind.SUPPLEMENT_REQUESTED:
        items = detail.get("items") or []
        if items:
            lines.append("Cần bổ sung: " + "; ".join(str(i) for i in items))
        if detail.get("note"):
            lines.append(f"Ghi chú: {detail['note']}")
        lines.append("Thời hạn giải quyết tạm dừng cho đến khi nhận đủ hồ sơ bổ sung.")
        if detail.get("supply_by"):
            lines.append(
                f"{vocabulary.SUPPLY_BY}: {labels.vn_day_dt(detail['supply_by'])} "
                "(quá hạn mà không bổ sung, hồ sơ bị dừng xử lý)."
            )
        if not citizen and detail.get("late"):
            lines.append("Lưu ý: yêu cầu bổ sung sau 3 ngày làm việc kể từ khi tiếp nhận.")
    elif kind == EventKind.SUPPLEMENT_RECEIVED:
        if detail.get("resumed"):
            lines.append("Thời hạn giải quyết được tính tiếp: hạn lùi thêm đúng bằng thời gian chờ bổ sung.")
        else:
            lines.append("Thời hạn giải quyết được tính lại từ đầu.")
        if due:
            lines.append(f"Hẹn trả kết quả mới: {due}")
        if detail.get("note") and not citizen:
            lines.append(f"Ghi chú: {detail['note']}")
    elif kind == EventKind.FEE_REQUESTED:
        lines.append(f"Số tiền: {_fee_total(detail)}")
        if detail.get("pay_by"):
            lines.append(f"Hạn nộp: {labels.vn_day_dt(detail['pay_by'])}")
        lines.append("Thời hạn giải quyết tạm dừng trong thời gian chờ nộp phí.")
    elif kind in (EventKind.PAYMENT_RECEIVED, EventKind.PAYMENT_PARTIAL, EventKind.PAYMENT_NOT_DUE):
        lines.append(f"Số tiền: {labels.money(detail.get('amount_vnd'))}")
        if kind == EventKind.PAYMENT_RECEIVED and due:
            lines.append(f"Hẹn trả kết quả: {due}")
        if not citizen and detail.get("transaction_id"):
            lines.append(f"Mã giao dịch: {detail['transaction_id']}")
    elif kind == EventKind.RESULT_READY:
        pickup = detail.get("pickup") or {}
        if pickup.get("place"):
            lines.append(f"Nơi nhận kết quả: {pickup['place']}")
        if detail.get("delivery") is not None:
            lines.append("Kết quả gửi qua dịch vụ bưu chính.")
        if not citizen and detail.get("on_time") is not None:
            lines.append("Đúng hạn" if detail["on_time"] else "Trễ hạn")
    elif kind == EventKind.RETURNED:
        if not citizen and detail.get("to"):
            lines.append(f"Người nhận: {detail['to']}")
    elif kind == EventKind.RATED:
        score = detail.get("score")
        if isinstance(score, int):
            lines.append(f"Mức độ hài lòng: {score}/5 ({vocabulary.RATING_SCORES.get(score, '')})")
        if not citizen and detail.get("comment"):
            lines.append(f"Ý kiến: {detail['comment']}")
    elif kind in (EventKind.REJECTED, EventKind.WITHDRAWN):
        if detail.get("at_reception"):
            lines.append("Từ chối tiếp nhận hồ sơ (Mẫu số 03).")
        if detail.get("reason"):
            lines.append(f"Lý do: {detail['reason']}")
    elif kind == EventKind.SUPPLEMENT_REMINDER:
        if detail.get("supply_by"):
            lines.append(f"{vocabulary.SUPPLY_BY}: {labels.vn_day_dt(detail['supply_by'])}")
    elif kind == EventKind.STOPPED:
        if detail.get("supply_by"):
            lines.append(f"{vocabulary.SUPPLY_BY}: {labels.vn_day_dt(detail['supply_by'])} — đã qua.")
        items = detail.get("items") or []
        if items:
            lines.append("Giấy tờ chưa bổ sung: " + "; ".join(str(i) for i in items))
        lines.append("Công dân có thể nộp hồ sơ mới.")
    elif kind == EventKind.APOLOGY:
        if detail.get("old_due_at"):
            lines.append(f"Hạn cũ: {labels.vn_day_dt(detail['old_due_at'])}")
        if detail.get("new_due_at"):
            lines.append(f"Hẹn lại: {labels.vn_day_dt(detail['new_due_at'])}")
        if detail.get("reason"):
            lines.append(f"Lý do: {detail['reason']}")
    elif kind in (EventKind.OVERDUE, EventKind.ESCALATION) and not citizen:
        role = vocabulary.role_label(detail.get("role"))
        lines.append(f"Mức {detail.get('level', '?')}: báo {role}")
    elif kind in (EventKind.PROCEDURE_UNKNOWN, EventKind.WORKING_DAYS_DIFFER) and not citizen:
        lines.extend(vocabulary.catalogue_flag(EventKind(kind), detail))
    elif kind == EventKind.FEE_REMINDER:
        lines.append(f"Lần nhắc thứ {detail.get('reminder_no', '?')}")
    elif kind == EventKind.HANDOVER and not citizen:
        lines.append(
            f"Bước {detail.get('step', '?')}: {detail.get('name', '')} · giao: {detail.get('from') or '—'}"
            f" · nhận: {detail.get('holder', '')}"
        )
        lines.append(f"Hạn của bước: {labels.vn_day_dt(detail.get('step_due_at'))}")
    elif kind == EventKind.STEP_LATE and not citizen:
        lines.append(
            f"Bước {detail.get('step', '?')}: {detail.get('name', '')} · người giữ hồ sơ: "
            f"{detail.get('holder', '')} · hạn {labels.vn_day_dt(detail.get('step_due_at'))}"
        )
    ended = detail.get("closed")
    if isinstance(ended, dict) and not citizen:  # the step this entry ended, and how it stands
        lines.append(
            f"Kết thúc bước {ended.get('step', '?')} ({ended.get('holder', '')}): "
            + vocabulary.label_of(StepOutcome, ended.get("outcome"))
        )
    if kind in (EventKind.OVERDUE, EventKind.ESCALATION) and detail.get("step") and not citizen:
        lines.append(f"Đang ở bước {detail['step']} ({detail.get('holder', '')}): chậm thuộc về bước này")
    return lines


def timeline_rows(events: list[DossierEvent], *, citizen: bool) -> list[TimelineRow]:
    rows = []
    for event in events:
        if citizen and event.kind in labels.OFFICER_ONLY_EVENTS:
            continue
        rows.append(
            TimelineRow(
                seq=event.seq,
                at=event.at,
                kind=event.kind,
                label=labels.event_vi(event.kind, citizen=citizen),
                by=event.by,
                details=event_details(event.kind, event.detail or {}, citizen=citizen),
            )
        )
    return rows


def notice_rows(notices: list[Notice], *, citizen: bool) -> list[NoticeRow]:
    rows = []
    for notice in notices:
        if citizen and notice.audience != Audience.CITIZEN.value:
            continue
        rows.append(
            NoticeRow(
                id=notice.id,
                kind=notice.kind,
                label=labels.notice_kind_vi(notice.kind),
                audience=notice.audience,
                channel=labels.channel_vi(notice.channel),
                status=notice.status,
                status_label=labels.notice_status_vi(notice.status),
                created_at=notice.created_at,
                when=notice.delivered_at or notice.sent_at or notice.scheduled_for or notice.created_at,
                scheduled_for=notice.scheduled_for,
                sent_at=notice.sent_at,
                delivered_at=notice.delivered_at,
                # Zalo's error text can quote the recipient: citizens never see it.
                last_error=None if citizen else vocabulary.notice_failure(notice.last_error),
                attempts=notice.attempts,
                handled="" if citizen else vocabulary.notice_handled(notice.handled_by, notice.handled_at),
            )
        )
    return rows
