"""What the machine-API tests share: keys, request bodies, projected rows (fixtures: conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from db.models import Dossier
from tests.support.builders import Moments, new_code


@dataclass(frozen=True)
class Keys:
    """API keys of three clients: all agencies (an administrator), H21.65 only, H22.01 only."""

    admin: str
    h21: str
    h22: str


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def registration(
    code: str | None = None, received_at: datetime | None = None, **changes: Any
) -> dict[str, Any]:
    """A registration body as the TTHC system sends it."""
    code = code or new_code()
    body: dict[str, Any] = {
        "code": code,
        "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
        "agency_code": code.split("-")[0],
        "applicant": {"name": "Nguyễn Văn A", "phone": "0905 123 456", "zalo_user_id": None},
        "received_at": (received_at or Moments()(0)).isoformat(),
        "channel": "online",
    }
    body.update(changes)
    return body


def dossier_row(
    code: str, *, status: str = "received", due_at: datetime | None = None, **fields: Any
) -> Dossier:
    """A projected dossier as the workflow would have left it (for tests that only read the database)."""
    values: dict[str, Any] = {
        "code": code,
        "agency_code": code.split("-")[0],
        "procedure_code": "1.001234",
        "procedure_name": "Cấp giấy phép xây dựng",
        "working_days": 15,
        "channel": "online",
        "applicant_name": "Nguyễn Văn A",
        "applicant_phone": "84905123456",
        "received_at": datetime(2026, 11, 23, 2, 15, tzinfo=UTC),
        "fingerprint": "0" * 64,
        "status": status,
        "due_at": due_at,
    }
    values.update(fields)
    return Dossier(**values)
