"""Calendar overrides over HTTP: a day made a working day (a swapped Saturday) or a day off."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Strict


class CalendarOverrideIn(Strict):
    """Make a day a working day (a Saturday worked in a swap) or a day off."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"is_working_day": True, "reason": "Làm bù cho ngày 2/5 theo Thông báo 6150/TB-LĐTBXH"}
            ]
        }
    )

    is_working_day: bool = Field(strict=True)
    reason: str = Field(min_length=1, max_length=500)


class CalendarOverrideOut(BaseModel):
    day: date
    is_working_day: bool
    reason: str
    created_by: str
    created_at: datetime
