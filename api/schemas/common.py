"""Field types every body shares: dossier and agency codes, phones, times, texts and money.

The limits are domain/limits.py's and the codes domain/codes.py's: the officer forms and the workflow
check the same ones.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from domain import limits
from domain.codes import (
    AGENCY_CODE_PATTERN,
    DOSSIER_CODE_MAX_LENGTH,
    DOSSIER_CODE_PATTERN,
    is_dossier_code,
    normalize_phone,
)
from domain.dossier import IntakeChannel


def _real_dossier_code(code: str) -> str:
    if not is_dossier_code(code):
        raise ValueError("the YYMMDD part of the dossier code is not a date")
    return code


def plausible(at: datetime) -> datetime:
    if not limits.is_plausible(at):
        raise ValueError("must lie between the years 2000 and 2099")
    return at


def not_in_future(at: datetime) -> datetime:
    if limits.is_in_future(at, datetime.now(UTC)):
        raise ValueError("must not be more than 5 minutes in the future")
    return at


DossierCode = Annotated[
    str,
    Field(pattern=DOSSIER_CODE_PATTERN, max_length=DOSSIER_CODE_MAX_LENGTH, examples=["H21.65-261123-0001"]),
    AfterValidator(_real_dossier_code),
]
# The same code as a path parameter (/api/v1/dossiers/{code}).
DossierCodePath = Annotated[
    str,
    Path(
        pattern=DOSSIER_CODE_PATTERN,
        max_length=DOSSIER_CODE_MAX_LENGTH,
        description="Dossier code",
        examples=["H21.65-261123-0001"],
    ),
    AfterValidator(_real_dossier_code),
]
AgencyCode = Annotated[str, Field(pattern=AGENCY_CODE_PATTERN, max_length=40, examples=["H21.65"])]
Phone = Annotated[
    str, Field(min_length=9, max_length=20, examples=["0905123456"]), AfterValidator(normalize_phone)
]
PlausibleTime = Annotated[AwareDatetime, AfterValidator(plausible)]
EventTime = Annotated[AwareDatetime, AfterValidator(plausible), AfterValidator(not_in_future)]
ShortText = Annotated[str, Field(min_length=1, max_length=limits.SHORT_TEXT_MAX)]
Note = Annotated[str, Field(max_length=limits.LONG_TEXT_MAX)]
AmountVnd = Annotated[int, Field(gt=0, le=limits.MAX_AMOUNT_VND, strict=True, examples=[1_250_000])]
EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=limits.EVENT_ID_MAX,
        pattern=limits.EVENT_ID_PATTERN,
        examples=["tthc-evt-000123"],
    ),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


Channel = IntakeChannel  # how the dossier was submitted: counter, online or post
