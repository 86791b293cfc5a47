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
from domain.status import DossierStatus, dvcqg_code
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
    if s.fee is not None and s.status is DossierStatus.FEE_DUE:
        lines.append(f"**Phí, lệ phí:** {s.fee.paid_vnd:,}/{s.fee.total_vnd:,} đ".replace(",", "."))
    if s.supplement is not None:
        lines.append("**Cần bổ sung:** " + "; ".join(s.supplement.items))
    if s.outbox:
        lines.append(f"**Thông báo chờ gửi:** {len(s.outbox)}")
    return "\n\n".join(lines)


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
    return {
        "status": s.status.value,
        "dvcqg_status": dvcqg_code(s.status, len(s.timeline) - 1),
        "due_at": s.due_at,
        "overdue": s.overdue,
        "apologized": s.apologized,
        "escalation_level": s.escalation_level,
        "on_time": s.on_time,
        "finished_at": s.finished_at,
        "detail": json.loads(json.dumps(detail, default=str)),
    }
