"""The procedure catalogue over HTTP: a catalogue document in, its versions and procedures out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class CatalogueIn(BaseModel):
    """A whole catalogue, as in deploy/procedures.sample.json: every procedure is checked
    (domain/procedures.py) before anything is written; loading it makes a new version, in force at once."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "province": "Gia Lai",
                    "notes": ["Bản mẫu; mã nội bộ «local.…» chưa phải mã quốc gia"],
                    "procedures": [
                        {
                            "code": "2.000908",
                            "national_code": "2.000908",
                            "name": "Cấp bản sao từ sổ gốc",
                            "level": "xã",
                            "agency_kinds": ["UBND cấp xã"],
                            "working_days": 1,
                            "fees": [{"name": "Phí", "amount_vnd": None, "note": "chưa tra được mức thu"}],
                            "documents": ["Giấy tờ tùy thân của người yêu cầu"],
                            "steps": [
                                {"name": "Tiếp nhận, kiểm tra hồ sơ", "unit": "Bộ phận Một cửa", "hours": 1},
                                {"name": "Giải quyết", "unit": "Công chức tư pháp - hộ tịch", "hours": 5},
                                {"name": "Ký, trả kết quả", "unit": "Lãnh đạo; Bộ phận Một cửa", "hours": 2},
                            ],
                            "supplement": {
                                "max_requests": 1,
                                "restart_count": True,
                                "supply_within_days": 30,
                            },
                            "source": "Nguồn thứ cấp; cần xác minh mã trên CSDL quốc gia về TTHC",
                        }
                    ],
                }
            ]
        },
    )

    province: str = Field(default="", max_length=100, examples=["Gia Lai"])
    compiled_at: str = Field(default="", max_length=40)
    notes: list[str] = Field(default_factory=list, max_length=50)
    sources: list[str] = Field(default_factory=list, max_length=100)
    procedures: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=5000,
        description="Each: code, name, level, agency_kinds, working_days, fees, documents, steps "
        "(name, unit, hours), supplement (max_requests, restart_count: true restarts the count, false "
        "resumes it; supply_within_days: the citizen's deadline to supply, in working days), national_code, "
        "source",
    )


class SupplementRuleOut(BaseModel):
    max_requests: int
    restart_count: bool  # true: the count restarts when the supplement arrives; false: it resumes
    supply_within_days: int  # the citizen's deadline to supply, in working days; then the dossier stops


class FeeOut(BaseModel):
    name: str
    amount_vnd: int | None
    note: str


class StepOut(BaseModel):
    name: str
    unit: str
    hours: float


class ProcedureOut(BaseModel):
    code: str
    name: str
    level: str
    agency_kinds: list[str]
    working_days: int
    fees: list[FeeOut]
    documents: list[str]
    steps: list[StepOut]
    supplement: SupplementRuleOut
    national_code: str | None
    source: str


class ProcedureSummary(BaseModel):
    code: str
    name: str
    level: str
    working_days: int
    supplement: SupplementRuleOut


class VersionOut(BaseModel):
    version: int
    loaded_at: datetime
    loaded_by: str
    source: str
    procedures: int
    about: dict[str, Any]


class CatalogueOut(BaseModel):
    """The catalogue in force: its version (null when none was ever loaded) and its procedures."""

    version: int | None
    procedures: list[ProcedureSummary]


class FlaggedOut(BaseModel):
    """A dossier whose procedure did not match the catalogue when it was received (registered as sent)."""

    code: str
    agency_code: str
    procedure_code: str
    procedure_name: str
    kind: str = Field(description="procedure_unknown or working_days_differ")
    working_days: int = Field(description="As sent (the appointment was computed from it)")
    catalogue_working_days: int | None
    catalogue_version: int | None
    received_at: datetime
    status: str
