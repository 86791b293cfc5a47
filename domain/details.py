"""What officers read about a dossier in the Temporal UI (its summary and details, as Markdown), and the
current-state columns of its database row (`projection`).

No personal data here (Temporal stores these unencrypted): codes, procedure, state and dates only.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from domain import vocabulary
from domain.dossier import DossierInput, DossierState
from domain.status import DossierStatus, EventKind, dvcqg_code
from domain.timefmt import iso, vn_datetime

SUMMARY_MAX_BYTES = 200  # Temporal's limit for a static summary


def start_summary(input: DossierInput) -> str:
    """The one line the UI lists a dossier's workflow by."""
    summary = f"{input.code} · {input.procedure.code} {input.procedure.name}"
    return summary.encode()[:SUMMARY_MAX_BYTES].decode(errors="ignore")


def start_details(input: DossierInput) -> str:
    """What the dossier was registered as (fixed for its life)."""
    return (
        f"**Hồ sơ** `{input.code}`\n\n**Thủ tục:** {input.procedure.code} — {input.procedure.name} "
        f"({input.procedure.working_days} ngày làm việc)\n\n**Cơ quan:** {input.agency_code}\n\n"
        f"**Kênh nộp:** {input.channel}"
    )


def current_details(s: DossierState) -> str:
    """Where the dossier stands now: state, due date, what it waits for, what is still to send."""
    waiting = vocabulary.WAITING_FOR[s.status]
    lines = [
        f"**Hồ sơ** `{s.code}` · {s.procedure_code}",
        # The raw value is what the UI's search takes (DossierStatus="fee_due"): shown beside its label.
        f"**Trạng thái:** `{s.status.value}` — {vocabulary.STATUS[s.status]}",
        f"**Hạn trả kết quả:** {vn_datetime(s.due_at) or '— (dừng tính)'}"
        + (" · **QUÁ HẠN**" if s.overdue else "")
        + (" · đã xin lỗi (Mẫu 04)" if s.apologized else ""),
        f"**Đang chờ:** {waiting}",
    ]
    if s.status is DossierStatus.SUBMITTED and s.check_due_at is not None:
        lines.append(
            f"**{vocabulary.CHECK_DUE}:** {vn_datetime(s.check_due_at)}"
            + (f" · **{vocabulary.CHECK_LATE}**" if s.overdue else "")
        )
    if s.fee is not None and s.status is DossierStatus.FEE_DUE:
        lines.append(f"**Phí, lệ phí:** {s.fee.paid_vnd:,}/{s.fee.total_vnd:,} đ".replace(",", "."))
    if s.supplement is not None:
        lines.append(
            "**Cần bổ sung:** "
            + "; ".join(s.supplement.items)
            + (
                f" · **{vocabulary.SUPPLY_BY}:** {vn_datetime(s.supplement.supply_by)}"
                if s.supplement.supply_by is not None
                else ""
            )
        )
    if s.step is not None:  # the officer's user name, never personal data of the citizen
        lines.append(
            f"**Bước {s.step.number}/{len(s.steps)}:** {s.step.name} · **Người giữ hồ sơ:** {s.step.holder}"
            f" · **Hạn của bước:** {vn_datetime(s.step.due_at)}"
            + (" · **QUÁ HẠN**" if s.step.late_notified else "")
        )
    if s.outbox:
        lines.append(f"**Thông báo chờ gửi:** {len(s.outbox)}")
    return "\n\n".join(lines)


def receipt_index(s: DossierState) -> int:
    """Where the receipt is on the timeline: first, unless the dossier was submitted online (then its
    reception by the desk; entries before it are not "being processed")."""
    received = EventKind.RECEIVED.value
    return next((n for n, entry in enumerate(s.timeline) if entry.kind == received), 0)


def projection(s: DossierState) -> dict[str, Any]:
    """The `dossiers` row's current-state columns as the state holds them (the workflow's record after
    every entry, and an imported dossier's row)."""
    detail: dict[str, Any] = {
        "clock_started_at": iso(s.clock_started_at),
        "paused_since": iso(s.paused_since),
        "supplement_count": s.supplement_count,
        "supplement": asdict(s.supplement) if s.supplement else None,
        "fee": asdict(s.fee) if s.fee else None,
        "result": asdict(s.result) if s.result else None,
    }
    if s.rate_by is not None:  # only dossiers that asked for a rating carry it (older ones unchanged)
        detail["rating"] = {"rate_by": iso(s.rate_by), "score": s.rating.score if s.rating else None}
    if s.steps:  # who holds the dossier now, and the step's deadline (the desk's lists and pages)
        detail["step"] = asdict(s.step) if s.step else None
        detail["steps_total"] = len(s.steps)
        detail["late_steps"] = list(s.late_steps)
    if s.check_due_at is not None:  # an online submission waiting for the desk's check
        detail["check_due_at"] = iso(s.check_due_at)
    return {
        "status": s.status.value,
        "dvcqg_status": dvcqg_code(s.status, len(s.timeline) - 1 - receipt_index(s)),
        "due_at": s.due_at,
        "overdue": s.overdue,
        "apologized": s.apologized,
        "escalation_level": s.escalation_level,
        "on_time": s.on_time,
        "finished_at": s.finished_at,
        "detail": json.loads(json.dumps(detail, default=str)),
    }
