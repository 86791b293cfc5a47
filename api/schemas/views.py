"""What the machine API answers: the dossier view, the list, and problem details (never the applicant)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ProcedureOut(BaseModel):
    code: str
    name: str
    working_days: int


class TimelineItem(BaseModel):
    seq: int
    at: datetime
    kind: str
    by: str
    detail: dict[str, Any]


class NoticeItem(BaseModel):
    kind: str
    audience: str
    channel: str | None
    status: str
    at: datetime
    scheduled_for: datetime | None = None
    sent_at: datetime | None = None


class Links(BaseModel):
    temporal_ui: str
    self: str


class DossierCore(BaseModel):
    """What the view and the list both show of a dossier: its state and clock, never the applicant."""

    code: str
    status: str
    dvcqg_status: int
    agency_code: str
    procedure: ProcedureOut
    channel: str
    received_at: datetime
    due_at: datetime | None
    overdue: bool
    apologized: bool
    on_time: bool | None
    finished_at: datetime | None = None

    @classmethod
    def columns(cls, row: Any) -> dict[str, Any]:
        """These fields, read from a `dossiers` row (or a row of the same columns)."""
        procedure = ProcedureOut(
            code=row.procedure_code, name=row.procedure_name, working_days=row.working_days
        )
        names = set(DossierCore.model_fields) - {"procedure"}
        return {name: getattr(row, name) for name in names} | {"procedure": procedure}


class DossierView(DossierCore):
    """A dossier: its state, legal clock, timeline and notices (never the applicant's name or phone)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "H21.65-261123-0001",
                    "status": "received",
                    "dvcqg_status": 2,
                    "agency_code": "H21.65",
                    "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
                    "channel": "online",
                    "received_at": "2026-11-23T02:15:00Z",
                    "due_at": "2026-12-14T02:15:00Z",
                    "overdue": False,
                    "apologized": False,
                    "on_time": None,
                    "fee": None,
                    "supplement": None,
                    "result": None,
                    "timeline": [
                        {
                            "seq": 1,
                            "at": "2026-11-23T02:15:00Z",
                            "kind": "received",
                            "by": "tthc",
                            "detail": {"due_at": "2026-12-14T09:15:00+07:00", "working_days": 15},
                        }
                    ],
                    "notices": [
                        {
                            "kind": "received",
                            "audience": "citizen",
                            "channel": "zns",
                            "status": "delivered",
                            "at": "2026-11-23T02:15:01Z",
                            "scheduled_for": None,
                            "sent_at": "2026-11-23T02:15:02Z",
                        }
                    ],
                    "links": {
                        "temporal_ui": "http://localhost:8233/namespaces/default/workflows/dossier-H21.65-261123-0001",
                        "self": "/api/v1/dossiers/H21.65-261123-0001",
                    },
                }
            ]
        }
    )

    fee: dict[str, Any] | None
    supplement: dict[str, Any] | None
    result: dict[str, Any] | None
    # An online submission waiting for the desk's check (`submitted`): when the check is due (`overdue`
    # true once it has passed); null otherwise.
    check_due_at: datetime | None = None
    timeline: list[TimelineItem]
    notices: list[NoticeItem]
    links: Links


# ---------------------------------------------------------------- the dossier list


class ListLinks(BaseModel):
    self: str


class DossierSummary(DossierCore):
    """A dossier as the list shows it: its state and clock, never the applicant."""

    links: ListLinks


class DossierPage(BaseModel):
    """One page of the list; pass `next_cursor` as `cursor` for the next one (null: this is the last)."""

    items: list[DossierSummary]
    next_cursor: str | None
    limit: int


# ---------------------------------------------------------------- problem details (RFC 9457)


class ProblemDetail(BaseModel):
    """An error: `type` names it (`urn:dossier-tracker:problem:<slug>`), `detail` says what to do."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:dossier-tracker:problem:illegal-transition",
                    "title": "Transition not allowed in the current state",
                    "status": 409,
                    "detail": "'mark_returned' is not allowed in state 'received' "
                    "(allowed from: result_ready)",
                    "current_status": "received",
                    "allowed": ["request_supplement", "request_fee", "mark_result_ready"],
                }
            ]
        },
    )

    type: str
    title: str
    status: int
    detail: str
