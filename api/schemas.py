"""Request and response bodies of the machine API: bad input is a 422 before any handler runs."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PlainValidator,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from domain.codes import AGENCY_CODE_PATTERN, DOSSIER_CODE_PATTERN, is_dossier_code, normalize_phone
from domain.dvcqg import PortalStatus, parse_portal_time

MAX_CLOCK_SKEW = timedelta(minutes=5)


def _real_dossier_code(code: str) -> str:
    if not is_dossier_code(code):
        raise ValueError("the YYMMDD part of the dossier code is not a date")
    return code


# Times outside these bounds are typing errors, and near year 1 or 9999 an offset overflows on conversion.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _plausible(at: datetime) -> datetime:
    try:
        inside = EARLIEST <= at.astimezone(UTC) < LATEST
    except OverflowError:
        inside = False
    if not inside:
        raise ValueError("must lie between the years 2000 and 2099")
    return at


def _not_in_future(at: datetime) -> datetime:
    if at > datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise ValueError("must not be more than 5 minutes in the future")
    return at


DossierCode = Annotated[
    str,
    Field(pattern=DOSSIER_CODE_PATTERN, max_length=40, examples=["H21.65-261123-0001"]),
    AfterValidator(_real_dossier_code),
]
AgencyCode = Annotated[str, Field(pattern=AGENCY_CODE_PATTERN, max_length=40, examples=["H21.65"])]
Phone = Annotated[
    str, Field(min_length=9, max_length=20, examples=["0905123456"]), AfterValidator(normalize_phone)
]
PlausibleTime = Annotated[AwareDatetime, AfterValidator(_plausible)]
EventTime = Annotated[AwareDatetime, AfterValidator(_plausible), AfterValidator(_not_in_future)]
ShortText = Annotated[str, Field(min_length=1, max_length=500)]
Note = Annotated[str, Field(max_length=2000)]
AmountVnd = Annotated[int, Field(gt=0, le=1_000_000_000_000, strict=True, examples=[1_250_000])]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Channel(StrEnum):
    COUNTER = "counter"
    ONLINE = "online"
    POST = "post"


class ProcedureIn(Strict):
    code: str = Field(
        min_length=1, max_length=40, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-_]*$", examples=["1.001234"]
    )
    name: str = Field(min_length=1, max_length=500, examples=["Cấp giấy phép xây dựng"])
    working_days: int = Field(gt=0, le=365, strict=True, examples=[15])


class ApplicantIn(Strict):
    name: str = Field(min_length=1, max_length=200, examples=["Nguyễn Văn A"])
    phone: Phone
    zalo_user_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_\-]+$")


class DossierCreate(Strict):
    """A dossier as the TTHC system received it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "H21.65-261123-0001",
                    "procedure": {"code": "1.001234", "name": "Cấp giấy phép xây dựng", "working_days": 15},
                    "agency_code": "H21.65",
                    "applicant": {"name": "Nguyễn Văn A", "phone": "0905123456", "zalo_user_id": None},
                    "received_at": "2026-11-23T09:15:00+07:00",
                    "channel": "online",
                }
            ]
        }
    )

    code: DossierCode
    procedure: ProcedureIn
    agency_code: AgencyCode
    applicant: ApplicantIn
    received_at: EventTime
    channel: Channel


# --- Transitions ---


class CommandIn(Strict):
    event_id: str = Field(
        min_length=1, max_length=100, pattern=r"^[0-9A-Za-z._:\-]+$", examples=["tthc-evt-000123"]
    )
    at: EventTime = Field(examples=["2026-11-24T10:00:00+07:00"])


class SupplementRequestIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000124",
                    "at": "2026-11-25T10:00:00+07:00",
                    "items": ["Bản vẽ mặt bằng có chữ ký"],
                    "note": "Nộp tại quầy số 3",
                }
            ]
        }
    )
    items: list[ShortText] = Field(min_length=1, max_length=50, examples=[["Bản vẽ mặt bằng có chữ ký"]])
    note: Note = ""


class SupplementIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"event_id": "tthc-evt-000125", "at": "2026-11-27T10:00:00+07:00", "note": "Đã nhận đủ"}
            ]
        }
    )
    note: Note = ""


class FeeItemIn(Strict):
    name: ShortText = Field(examples=["Lệ phí cấp giấy phép xây dựng"])
    amount_vnd: AmountVnd


class FeeIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000126",
                    "at": "2026-11-30T09:00:00+07:00",
                    "items": [{"name": "Lệ phí cấp giấy phép xây dựng", "amount_vnd": 1250000}],
                    "pay_url": "https://dichvucong.gov.vn/thanh-toan/H21",
                    "pay_within_days": 5,
                }
            ]
        }
    )
    items: list[FeeItemIn] = Field(min_length=1, max_length=50)
    pay_url: HttpUrl | None = None
    pay_within_days: int = Field(default=5, gt=0, le=90, strict=True)


class PaymentIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"transaction_id": "VNP-14123456", "amount_vnd": 1250000, "at": "2026-12-01T14:00:00+07:00"}
            ]
        }
    )
    transaction_id: str = Field(min_length=1, max_length=100, pattern=r"^[0-9A-Za-z._:\-]+$")
    amount_vnd: AmountVnd
    at: EventTime
    event_id: str | None = Field(default=None, max_length=100)


class PickupIn(Strict):
    place: ShortText = Field(examples=["Bộ phận Một cửa UBND huyện, quầy số 3"])
    note: Note = ""


class DeliveryIn(Strict):
    address: str = Field(default="", max_length=500)
    note: Note = ""


class ResultIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000127",
                    "at": "2026-12-02T10:00:00+07:00",
                    "pickup": {"place": "Bộ phận Một cửa UBND huyện, quầy số 3", "note": ""},
                }
            ]
        }
    )
    pickup: PickupIn | None = None
    delivery: DeliveryIn | None = None

    @model_validator(mode="after")
    def _one_way_to_hand_over(self) -> ResultIn:
        if (self.pickup is None) == (self.delivery is None):
            raise ValueError("give exactly one of pickup or delivery")
        return self


class ReturnIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000128",
                    "at": "2026-12-03T09:00:00+07:00",
                    "to": "Chủ hồ sơ nhận trực tiếp",
                }
            ]
        }
    )
    to: ShortText = Field(examples=["Chủ hồ sơ nhận trực tiếp"])


class RejectionIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000129",
                    "at": "2026-11-25T10:00:00+07:00",
                    "reason": "Hồ sơ không thuộc thẩm quyền giải quyết của UBND huyện",
                }
            ]
        }
    )
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


class WithdrawalIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000130",
                    "at": "2026-11-25T10:00:00+07:00",
                    "reason": "Công dân xin rút hồ sơ",
                }
            ]
        }
    )
    reason: str | None = Field(default=None, max_length=2000)


class ApologyIn(CommandIn):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000131",
                    "at": "2026-12-10T10:00:00+07:00",
                    "new_due_at": "2026-12-18T17:00:00+07:00",
                    "reason": "Cần xác minh thêm tại thực địa",
                }
            ]
        }
    )
    new_due_at: PlausibleTime
    reason: Annotated[str, Field(min_length=1, max_length=2000)]


# --- The dossier view ---


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
    timeline: list[TimelineItem]
    notices: list[NoticeItem]
    links: Links


# --- The dossier list ---


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


# --- Problem details (RFC 9457), as every error is answered ---


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


# --- The national portal's (DVCQG) dossier sync ---
#
# The portal's payloads write numbers as strings ("TrangThaiHoSo": "2", "Gia": "50000"), absent dates as
# "", and carry many fields we do not use (MaLinhVuc, Email, TaiLieuNop, …): all of that is accepted.


def _portal_time(value: Any) -> Any:
    """A portal time string to an aware datetime ("" is absent); anything else fails validation."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError("a portal time is a string yyyyMMddHHmmss (office time)")
    return _plausible(parse_portal_time(value))


def _not_in_future_or_none(at: datetime | None) -> datetime | None:
    return _not_in_future(at) if at is not None else None


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
    if not 0 < amount <= 1_000_000_000_000:
        raise ValueError("an amount in VND is a positive whole number")
    return amount


PortalAmount = Annotated[
    int,
    PlainValidator(_portal_amount),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 1_000_000_000_000},
                {"type": "string", "pattern": "^[1-9][0-9]{0,12}$"},
            ],
            "description": "VND, a positive whole number (the portal writes it as a string)",
            "examples": ["500000"],
        },
        mode="validation",
    ),
]
PortalText = Annotated[str, Field(max_length=2000)]


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


# --- The payment platform's callback ---


def _amount_text(value: Any) -> str:
    """SoTien as sent (the signature covers its digits), whether a JSON number or a string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError("SoTien is a whole number of VND")
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 15 or int(text) <= 0:
        raise ValueError("SoTien is a positive whole number of VND")
    return text


class PaymentCallback(BaseModel):
    """The payment platform's callback; MaXacThuc signs MaLoi|MaThamChieu|SoTien|MaGiaoDich|secret."""

    model_config = ConfigDict(
        extra="ignore",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "MaLoi": "00",
                    "MaThamChieu": "H21.65-261123-0001",
                    "SoTien": 1250000,
                    "MaGiaoDich": "PAY-20261130-000123",
                    "MaXacThuc": "9f2c5a0d4be1c8e3a7f6d2b1905e4c3a8d7f6e5b4a39281706f5e4d3c2b1a098",
                }
            ]
        },
    )

    MaLoi: str = Field(pattern=r"^[0-9A-Za-z]{1,10}$", description='"00": paid; anything else: failed')
    MaThamChieu: str = Field(
        min_length=1,
        max_length=100,
        pattern=r"^[0-9A-Za-z.\-_/]+$",
        description="The dossier code, optionally followed by '/' or '_' and the platform's own suffix",
    )
    SoTien: Annotated[
        str,
        PlainValidator(_amount_text),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "integer", "minimum": 1, "maximum": 999_999_999_999_999},
                    {"type": "string", "pattern": "^[1-9][0-9]{0,14}$"},
                ],
                "description": "Amount paid in VND",
            },
            mode="validation",
        ),
    ]
    MaGiaoDich: str = Field(min_length=1, max_length=100, pattern=r"^[0-9A-Za-z._:\-]+$")
    MaXacThuc: str | None = Field(
        default=None, max_length=128, description="SHA-256 hex of MaLoi|MaThamChieu|SoTien|MaGiaoDich|secret"
    )

    @property
    def amount_vnd(self) -> int:
        return int(self.SoTien)


class PaymentCallbackAnswer(BaseModel):
    """The answer payment platforms expect: MaLoi "00" tells the platform to stop resending."""

    MaLoi: str = Field(examples=["00"])
    MoTaLoi: str = Field(examples=["Đã ghi nhận thanh toán"])
    MaGiaoDich: str
    KetQua: str = Field(
        description="What happened here: applied, underpaid, not_due, failed or unknown_dossier",
        examples=["applied"],
    )


# --- Calendar overrides ---


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
