"""The agency directory over HTTP: what notices and pages print for an agency code."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from db.agencies import LIMITS


class AgencyIn(BaseModel):
    """An agency as citizens and officers should read it; PUT replaces every field (absent: empty).

    Whitespace is not stripped here, so the lengths are exactly the document's; the directory's own check
    (db/agencies.py) then strips every field and refuses a blank name.
    """

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "UBND huyện Chư Păh",
                    "address": "01 Trần Hưng Đạo, thị trấn Phú Hòa, huyện Chư Păh, tỉnh Gia Lai",
                    "hotline": "0269 3845 123",
                    "opening_hours": "Sáng 7:00–11:30, chiều 13:30–17:00, thứ Hai đến thứ Sáu",
                    "oa_url": "",
                }
            ]
        },
    )

    name: str = Field(min_length=1, max_length=LIMITS["name"], description="e.g. UBND huyện Chư Păh")
    address: str = Field(default="", max_length=LIMITS["address"])
    hotline: str = Field(default="", max_length=LIMITS["hotline"])
    opening_hours: str = Field(default="", max_length=LIMITS["opening_hours"])
    oa_url: str = Field(
        default="",
        max_length=LIMITS["oa_url"],
        pattern=r"^(https://.*)?$",
        description="Where a citizen follows the province's Zalo OA (https), or empty",
    )


class AgencyOut(BaseModel):
    code: str
    name: str
    address: str
    hotline: str
    opening_hours: str
    oa_url: str
    created_at: datetime
    updated_at: datetime


class UnknownAgencyOut(BaseModel):
    """An agency code that dossiers use and the directory lacks (named neutrally until it is added)."""

    code: str
    dossiers: int = Field(description="How many dossiers hold this agency code")
