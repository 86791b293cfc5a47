"""The national portal's (Cổng DVCQG) dossier sync, in the portal's own field names and formats.

The portal's payloads write numbers as strings ("TrangThaiHoSo": "2", "Gia": "50000"), absent dates as
"", and carry many fields we do not use (MaLinhVuc, Email, TaiLieuNop, …): all of that is accepted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    WithJsonSchema,
    field_validator,
)

from api.schemas.common import DossierCode, not_in_future, plausible
from api.schemas.views import DossierView
from domain import limits
from domain.codes import normalize_phone
from domain.dvcqg import PortalStatus, parse_portal_time


def _portal_time(value: Any) -> Any:
    """A portal time string to an aware datetime ("" is absent); anything else fails validation."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("a portal time is a string yyyyMMddHHmmss (office time)")
    return plausible(parse_portal_time(value))


def _not_in_future_or_none(at: datetime | None) -> datetime | None:
    return not_in_future(at) if at is not None else None


_PORTAL_TIME_SCHEMA = {
    "anyOf": [{"type": "string", "pattern": r"^([0-9]{14})?$"}, {"type": "null"}],
    "description": "yyyyMMddHHmmss in office time (Asia/Ho_Chi_Minh); empty or null when unknown",
    "examples": ["20261123091500"],
}
# A time the portal reports (the appointment may lie ahead).
PortalTime = Annotated[
    datetime | None, BeforeValidator(_portal_time), WithJsonSchema(_PORTAL_TIME_SCHEMA, mode="validation")
]
# A time something happened: not more than 5 minutes in the future.
PortalEventTime = Annotated[
    datetime | None,
    BeforeValidator(_portal_time),
    AfterValidator(_not_in_future_or_none),
    WithJsonSchema(_PORTAL_TIME_SCHEMA, mode="validation"),
]


def _portal_number(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("a number, or a string of digits")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 15:
        return int(value.strip())
    raise ValueError("a number, or a string of digits")


def _portal_status(value: Any) -> int:
    code = _portal_number(value)
    if code not in PortalStatus._value2member_map_:
        raise ValueError(f"TrangThaiHoSo {code} is not a national-portal status code (1–10)")
    return code


PortalStatusCode = Annotated[
    int,
    PlainValidator(_portal_status),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 10},
                {"type": "string", "pattern": "^([1-9]|10)$"},
            ],
            "description": "1 mới đăng ký · 2 được tiếp nhận · 3 không được tiếp nhận · 4 đang xử lý · "
            "5 yêu cầu bổ sung · 6 yêu cầu nghĩa vụ tài chính · 7 rút hồ sơ · 8 dừng xử lý · "
            "9 đã xử lý xong · 10 đã trả kết quả",
            "examples": ["2"],
        },
        mode="validation",
    ),
]


def _portal_amount(value: Any) -> int:
    amount = _portal_number(value)
    if not 0 < amount <= limits.MAX_AMOUNT_VND:
        raise ValueError("an amount in VND is a positive whole number")
    return amount


PortalAmount = Annotated[
    int,
    PlainValidator(_portal_amount),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": limits.MAX_AMOUNT_VND},
                {"type": "string", "pattern": "^[1-9][0-9]{0,12}$"},
            ],
            "description": "VND, a positive whole number (the portal writes it as a string)",
            "examples": ["500000"],
        },
        mode="validation",
    ),
]
PortalText = Annotated[str, Field(max_length=limits.LONG_TEXT_MAX)]


class Portal(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class PortalFee(Portal):
    """One item of DanhSachLePhi."""

    TenPhiLePhi: str = Field(min_length=1, max_length=500, examples=["Lệ phí cấp giấy phép xây dựng"])
    MaPhiLePhi: str | None = Field(default=None, max_length=100)
    Gia: PortalAmount


class PortalDocument(Portal):
    """A document named in a supplement request."""

    TenGiayTo: str | None = Field(default=None, max_length=500)
    TenTepDinhKem: str | None = Field(default=None, max_length=500)


class PortalSupplement(Portal):
    """One round of DanhSachHoSoBoSung: what was asked (NgayBoSung) and when it came (NgayTiepNhanBoSung)."""

    HoSoBoSungId: int | str | None = None
    NoiDungBoSung: str = Field(min_length=1, max_length=2000, examples=["Bổ sung bản vẽ mặt bằng"])
    NgayBoSung: PortalEventTime = None
    NgayTiepNhanBoSung: PortalEventTime = None
    DanhSachGiayToBoSung: list[PortalDocument] | None = Field(default=None, max_length=50)

    def items(self) -> list[str]:
        """The documents asked for, or the request's text when it lists none."""
        names = [
            (document.TenGiayTo or document.TenTepDinhKem or "").strip()
            for document in self.DanhSachGiayToBoSung or []
        ]
        return [name[:500] for name in names if name] or [self.NoiDungBoSung[:500]]


class DvcqgSync(Portal):
    """A dossier as the TTHC system syncs it to the national portal (Cổng DVCQG)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "MaHoSo": "H21.65-261123-0001",
                    "MaTTHC": "1.001234",
                    "TenTTHC": "Cấp giấy phép xây dựng",
                    "KenhThucHien": "2",
                    "ChuHoSo": "Nguyễn Văn A",
                    "SoDienThoai": "0905123456",
                    "NgayTiepNhan": "20261123091500",
                    "NgayHenTra": "20261214091500",
                    "TrangThaiHoSo": "2",
                    "DanhSachLePhi": [],
                    "DanhSachHoSoBoSung": [],
                },
                {
                    "MaHoSo": "H21.65-261123-0001",
                    "TrangThaiHoSo": "5",
                    "DanhSachHoSoBoSung": [
                        {
                            "HoSoBoSungId": 1,
                            "NoiDungBoSung": "Bổ sung bản vẽ mặt bằng có chữ ký",
                            "NgayBoSung": "20261125100000",
                        }
                    ],
                },
            ]
        }
    )

    MaHoSo: DossierCode
    TrangThaiHoSo: PortalStatusCode
    MaTTHC: str | None = Field(
        default=None, max_length=40, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-_]*$", examples=["1.001234"]
    )
    TenTTHC: str | None = Field(default=None, max_length=500)
    KenhThucHien: Literal["1", "2", "3", 1, 2, 3, ""] | None = Field(
        default=None, description="1 trực tiếp · 2 trực tuyến · 3 bưu chính công ích"
    )
    ChuHoSo: str | None = Field(default=None, max_length=200)
    SoDienThoai: str | None = Field(default=None, max_length=20)
    NgayTiepNhan: PortalEventTime = None
    NgayHenTra: PortalTime = None
    NgayTra: PortalEventTime = None
    NgayKetThucXuLy: PortalEventTime = None
    NgayTuChoi: PortalEventTime = None
    ThoiDiemXuLy: PortalEventTime = Field(
        default=None, description="When this status was reached (the portal's processing-step time)"
    )
    ThongTinTra: str | None = Field(default=None, max_length=500)
    HinhThuc: Literal["0", "1", 0, 1, ""] | None = Field(
        default=None, description="How the result is handed over: 0 at the office, 1 by post"
    )
    DonViXuLy: str | None = Field(default=None, max_length=500)
    GhiChu: PortalText | None = None
    DanhSachLePhi: list[PortalFee] | None = Field(default=None, max_length=50)
    DanhSachHoSoBoSung: list[PortalSupplement] | None = Field(default=None, max_length=50)

    @field_validator("SoDienThoai")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_phone(value) if value else None


class DvcqgSyncResult(BaseModel):
    """What a sync did: the steps applied here (none for a repeated one) and the dossier now."""

    MaHoSo: str
    TrangThaiHoSo: int
    applied: list[str] = Field(examples=[["request_supplement"]])
    replayed: bool = Field(description="True when this very sync was applied before and changed nothing now")
    dossier: DossierView
