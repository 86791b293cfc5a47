"""What the TTHC system sends: a registration and one body per transition, each building its domain command.

Routes stay translation only: `body.command(by)` (or `registration()`, `payment(by)`) is what the gateway
applies; what a body must hold beyond its fields' types, the workflow's rules decide (domain/rules.py).
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field, HttpUrl, model_validator

from api.schemas.common import (
    AgencyCode,
    AmountVnd,
    Channel,
    DossierCode,
    EventId,
    EventTime,
    Note,
    Phone,
    PlausibleTime,
    ShortText,
    Strict,
)
from domain import limits
from domain.codes import agency_of, belongs_to
from domain.digest import digest
from domain.dossier import (
    Apology,
    Applicant,
    Command,
    Delivery,
    DossierInput,
    FeeItem,
    FeeRequest,
    Handover,
    IntakeChannel,
    PaymentReceived,
    Pickup,
    Procedure,
    Reception,
    ReceptionRefusal,
    Rejection,
    ResultReady,
    Returned,
    SupplementReceived,
    SupplementRequest,
    Withdrawal,
)
from domain.status import Transition


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
    received_at: EventTime = Field(
        description="When the dossier was received; for a submission (`submitted`), when it was submitted"
    )
    channel: Channel
    submitted: bool = Field(
        default=False,
        strict=True,
        description="true: submitted online and not yet received (DVCQG status 1). The dossier waits in "
        "`submitted` for the desk's check, with no legal clock and no due date, until `reception` (the "
        "count starts then), `supplement-request` or `reception-refusal`. Only with channel `online`.",
    )

    @model_validator(mode="after")
    def _code_names_the_agency(self) -> DossierCreate:
        if not belongs_to(self.code, self.agency_code):
            raise ValueError(
                f"the dossier code's agency part {agency_of(self.code)} is not agency_code {self.agency_code}"
            )
        if self.submitted and self.channel is not IntakeChannel.ONLINE:
            raise ValueError("only an online dossier can be submitted before reception (channel online)")
        return self

    def registration(self) -> DossierInput:
        """The dossier as received; its fingerprint is the digest of this body in normal form, so the
        same dossier sent twice registers once and another body under its code is refused."""
        return DossierInput(
            code=self.code,
            procedure=Procedure(self.procedure.code, self.procedure.name, self.procedure.working_days),
            agency_code=self.agency_code,
            applicant=Applicant(self.applicant.name, self.applicant.phone, self.applicant.zalo_user_id),
            received_at=self.received_at,
            channel=self.channel.value,
            fingerprint=digest(self._normal_form()),
            submitted=self.submitted,
        )

    def _normal_form(self) -> dict[str, object]:
        """The body as digested: `submitted` only when true, so the bodies of registrations from before
        the flag existed keep their fingerprints (a resend of one is the same body)."""
        body = self.model_dump(mode="json")
        if not self.submitted:
            del body["submitted"]
        return body


# ---------------------------------------------------------------- transitions


class CommandIn(Strict):
    """A transition's body: `command(by)` is the domain command the gateway applies."""

    transition: ClassVar[Transition]

    event_id: EventId
    at: EventTime = Field(examples=["2026-11-24T10:00:00+07:00"])

    def command(self, by: str) -> Command:
        raise NotImplementedError


class SupplementRequestIn(CommandIn):
    transition = Transition.REQUEST_SUPPLEMENT

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
    items: list[ShortText] = Field(
        min_length=1, max_length=limits.MAX_ITEMS, examples=[["Bản vẽ mặt bằng có chữ ký"]]
    )
    note: Note = ""

    def command(self, by: str) -> SupplementRequest:
        return SupplementRequest(event_id=self.event_id, at=self.at, by=by, items=self.items, note=self.note)


class SupplementIn(CommandIn):
    transition = Transition.SUPPLEMENT_RECEIVED

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"event_id": "tthc-evt-000125", "at": "2026-11-27T10:00:00+07:00", "note": "Đã nhận đủ"}
            ]
        }
    )
    note: Note = ""

    def command(self, by: str) -> SupplementReceived:
        return SupplementReceived(event_id=self.event_id, at=self.at, by=by, note=self.note)


class FeeItemIn(Strict):
    name: ShortText = Field(examples=["Lệ phí cấp giấy phép xây dựng"])
    amount_vnd: AmountVnd


class FeeIn(CommandIn):
    transition = Transition.REQUEST_FEE

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
    items: list[FeeItemIn] = Field(min_length=1, max_length=limits.MAX_ITEMS)
    pay_url: HttpUrl | None = None
    pay_within_days: int = Field(
        default=limits.DEFAULT_PAY_WITHIN_DAYS, gt=0, le=limits.MAX_PAY_WITHIN_DAYS, strict=True
    )

    def command(self, by: str) -> FeeRequest:
        return FeeRequest(
            event_id=self.event_id,
            at=self.at,
            by=by,
            items=[FeeItem(item.name, item.amount_vnd) for item in self.items],
            pay_within_days=self.pay_within_days,
            pay_url=str(self.pay_url) if self.pay_url else None,
        )


class PaymentIn(Strict):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"transaction_id": "VNP-14123456", "amount_vnd": 1250000, "at": "2026-12-01T14:00:00+07:00"}
            ]
        }
    )
    transaction_id: str = Field(min_length=1, max_length=limits.EVENT_ID_MAX, pattern=limits.EVENT_ID_PATTERN)
    amount_vnd: AmountVnd
    at: EventTime
    event_id: str | None = Field(default=None, max_length=limits.EVENT_ID_MAX)

    def payment(self, by: str) -> PaymentReceived:
        """A payment the TTHC system reports: refused (409) unless a fee is due."""
        return PaymentReceived(self.transaction_id, self.amount_vnd, self.at, source=by, require_fee_due=True)


class PickupIn(Strict):
    place: ShortText = Field(examples=["Bộ phận Một cửa UBND huyện, quầy số 3"])
    note: Note = ""


class DeliveryIn(Strict):
    address: str = Field(default="", max_length=limits.SHORT_TEXT_MAX)
    note: Note = ""


class ResultIn(CommandIn):
    transition = Transition.MARK_RESULT_READY

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

    def command(self, by: str) -> ResultReady:
        return ResultReady(
            event_id=self.event_id,
            at=self.at,
            by=by,
            pickup=Pickup(self.pickup.place, self.pickup.note) if self.pickup else None,
            delivery=Delivery(self.delivery.address, self.delivery.note) if self.delivery else None,
        )


class ReturnIn(CommandIn):
    transition = Transition.MARK_RETURNED

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

    def command(self, by: str) -> Returned:
        return Returned(event_id=self.event_id, at=self.at, by=by, to=self.to)


class RejectionIn(CommandIn):
    transition = Transition.REJECT

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
    reason: Annotated[str, Field(min_length=1, max_length=limits.LONG_TEXT_MAX)]
    at_reception: bool = Field(
        default=False,
        strict=True,
        description="true: refused at reception (Mẫu 03, the citizen's notice says so); "
        "false: not granted after examination",
    )

    def command(self, by: str) -> Rejection:
        return Rejection(
            event_id=self.event_id, at=self.at, by=by, reason=self.reason, at_reception=self.at_reception
        )


class ReceptionIn(CommandIn):
    transition = Transition.RECEIVE

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"event_id": "tthc-evt-000140", "at": "2026-11-23T14:00:00+07:00"}]}
    )
    note: str = Field(default="", max_length=limits.LONG_TEXT_MAX)

    def command(self, by: str) -> Reception:
        return Reception(event_id=self.event_id, at=self.at, by=by, note=self.note)


class ReceptionRefusalIn(CommandIn):
    transition = Transition.REFUSE_RECEPTION

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000141",
                    "at": "2026-11-23T14:00:00+07:00",
                    "reason": "Thủ tục không thuộc thẩm quyền tiếp nhận của UBND huyện",
                }
            ]
        }
    )
    reason: Annotated[str, Field(min_length=1, max_length=limits.LONG_TEXT_MAX)]

    def command(self, by: str) -> ReceptionRefusal:
        return ReceptionRefusal(event_id=self.event_id, at=self.at, by=by, reason=self.reason)


class WithdrawalIn(CommandIn):
    transition = Transition.WITHDRAW

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
    reason: str | None = Field(default=None, max_length=limits.LONG_TEXT_MAX)

    def command(self, by: str) -> Withdrawal:
        return Withdrawal(event_id=self.event_id, at=self.at, by=by, reason=self.reason)


class ApologyIn(CommandIn):
    transition = Transition.APOLOGIZE

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
    reason: Annotated[str, Field(min_length=1, max_length=limits.LONG_TEXT_MAX)]

    def command(self, by: str) -> Apology:
        return Apology(
            event_id=self.event_id, at=self.at, by=by, new_due_at=self.new_due_at, reason=self.reason
        )


class HandoverIn(CommandIn):
    """The dossier passes to an officer for the next internal step of its procedure."""

    transition = Transition.HANDOVER

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "event_id": "tthc-evt-000140",
                    "at": "2026-11-24T08:30:00+07:00",
                    "step": 2,
                    "officer": "lan.nt",
                }
            ]
        }
    )
    step: int = Field(
        ge=1,
        le=limits.MAX_STEPS,
        strict=True,
        description="The number of the step that begins (1 = the procedure's first internal step); "
        "the next one after the step the dossier is in",
    )
    officer: str = Field(
        min_length=3,
        max_length=20,
        pattern=r"^[a-z0-9][a-z0-9._-]{2,19}$",
        description="The user name of the officer who holds the dossier for this step (an officer of the "
        "dossier's agency)",
    )

    def command(self, by: str) -> Handover:
        return Handover(event_id=self.event_id, at=self.at, by=by, step=self.step, officer=self.officer)
