"""The payment platform's signed callback and the answer it expects, in the platform's field names."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema


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
        description="What happened here: applied, underpaid, not_due, failed, unknown_dossier or conflict",
        examples=["applied"],
    )
