"""The officer's actions on a dossier: one form per transition of the table, read into the same commands
the API sends, so the workflow's updates and validators decide exactly as they do for the TTHC system.
The table of forms and the reader that turns a filled-in form into its command belong together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from db.models import Dossier
from domain import limits, rules, vocabulary
from domain.dossier import (
    COUNTER_RECEIPT_PREFIX,
    Apology,
    Command,
    Delivery,
    FeeItem,
    FeeRequest,
    Pickup,
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
from domain.timefmt import OFFICE_TZ, to_office
from pages import labels

FieldKind = Literal["text", "textarea", "number", "datetime", "choice"]
STAGE_EXAMINATION = "sau-xem-xet"
STAGE_RECEPTION = "tiep-nhan"
FEE_ROWS = 3
_TRANSACTION = re.compile(r"^[0-9A-Za-z._:\-]{1,80}$")


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    kind: FieldKind = "text"
    required: bool = True
    hint: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int = limits.SHORT_TEXT_MAX


@dataclass(frozen=True)
class ActionSpec:
    transition: Transition
    slug: str  # in the URL: /can-bo/ho-so/{code}/xu-ly/{slug}
    fields: tuple[FormField, ...]
    effect: str  # what happens, shown before and on the confirmation step
    final: bool = False  # ends the dossier: the confirmation says so plainly

    def field(self, name: str) -> FormField:
        return next(f for f in self.fields if f.name == name)

    @property
    def title(self) -> str:
        return vocabulary.TRANSITIONS[self.transition]


AT = FormField(
    "at",
    "Thời điểm thực hiện",
    "datetime",
    hint="Giờ Việt Nam. Mặc định là lúc mở biểu mẫu; sửa nếu việc đã diễn ra trước đó.",
)
NOTE = FormField("note", "Ghi chú", "textarea", required=False, max_length=limits.LONG_TEXT_MAX)

SPECS: dict[Transition, ActionSpec] = {
    spec.transition: spec
    for spec in (
        ActionSpec(
            Transition.REQUEST_SUPPLEMENT,
            "yeu-cau-bo-sung",
            (
                FormField("items", "Giấy tờ cần bổ sung", "textarea", hint="Mỗi dòng một loại giấy tờ."),
                FormField(
                    "note",
                    "Hướng dẫn nộp bổ sung",
                    "textarea",
                    required=False,
                    hint="Ví dụ: nộp tại quầy số 3 hoặc trên Cổng Dịch vụ công.",
                    max_length=limits.LONG_TEXT_MAX,
                ),
                AT,
            ),
            "Thời hạn giải quyết dừng lại; công dân nhận thông báo qua Zalo. Khi nhận đủ hồ sơ bổ sung, "
            "thời hạn được tính lại từ đầu.",
        ),
        ActionSpec(
            Transition.SUPPLEMENT_RECEIVED,
            "nhan-bo-sung",
            (NOTE, AT),
            "Thời hạn giải quyết được tính lại từ đầu kể từ thời điểm nhận; công dân nhận ngày hẹn mới.",
        ),
        ActionSpec(
            Transition.REQUEST_FEE,
            "thong-bao-phi",
            (
                *(
                    field_
                    for n in range(1, FEE_ROWS + 1)
                    for field_ in (
                        FormField(f"fee_name_{n}", f"Khoản {n}: tên khoản phí, lệ phí", required=n == 1),
                        FormField(
                            f"fee_amount_{n}",
                            f"Khoản {n}: số tiền (đồng)",
                            "number",
                            required=n == 1,
                            hint="Ví dụ: 1250000" if n == 1 else "",
                        ),
                    )
                ),
                FormField("pay_within_days", "Hạn nộp (số ngày làm việc)", "number"),
                FormField(
                    "pay_url",
                    "Đường dẫn thanh toán trực tuyến",
                    required=False,
                    hint="Để trống nếu chỉ nộp tại quầy.",
                ),
                AT,
            ),
            "Thời hạn giải quyết tạm dừng cho đến khi công dân nộp đủ; công dân nhận thông báo số tiền "
            "và cách nộp.",
        ),
        ActionSpec(
            Transition.PAYMENT_RECEIVED,
            "xac-nhan-nop-phi",
            (
                FormField("receipt", "Số biên lai", hint="Chữ, số, dấu chấm hoặc gạch ngang."),
                FormField("amount", "Số tiền đã nộp (đồng)", "number"),
                AT,
            ),
            "Khi đã nộp đủ, thời hạn giải quyết tính tiếp và lùi lại đúng bằng thời gian chờ nộp.",
        ),
        ActionSpec(
            Transition.MARK_RESULT_READY,
            "co-ket-qua",
            (
                FormField(
                    "how",
                    "Cách trả kết quả",
                    "choice",
                    choices=(("pickup", "Công dân đến nhận"), ("delivery", "Gửi qua bưu chính")),
                ),
                FormField(
                    "place",
                    "Nơi nhận kết quả",
                    required=False,
                    hint="Bắt buộc khi công dân đến nhận, ví dụ: Bộ phận Một cửa, quầy số 3.",
                ),
                FormField(
                    "address",
                    "Địa chỉ nhận kết quả qua bưu chính",
                    required=False,
                    hint="Khi gửi qua bưu chính: địa chỉ công dân đã đăng ký.",
                ),
                NOTE,
                AT,
            ),
            "Công dân nhận thông báo đến nhận kết quả (hoặc kết quả được gửi đi).",
        ),
        ActionSpec(
            Transition.MARK_RETURNED,
            "tra-ket-qua",
            (FormField("to", "Người nhận kết quả", hint="Ví dụ: chủ hồ sơ nhận trực tiếp."), AT),
            "Hồ sơ kết thúc.",
            final=True,
        ),
        ActionSpec(
            Transition.REJECT,
            "tu-choi",
            (
                FormField(
                    "stage",
                    "Giai đoạn từ chối",
                    "choice",
                    choices=(
                        (STAGE_EXAMINATION, "Sau khi xem xét: hồ sơ không đủ điều kiện giải quyết"),
                        (STAGE_RECEPTION, "Từ chối tiếp nhận hồ sơ (Mẫu số 03)"),
                    ),
                ),
                FormField("reason", "Lý do từ chối", "textarea", max_length=limits.LONG_TEXT_MAX),
                AT,
            ),
            "Hồ sơ kết thúc; công dân nhận thông báo kèm lý do.",
            final=True,
        ),
        ActionSpec(
            Transition.WITHDRAW,
            "rut-ho-so",
            (
                FormField(
                    "reason", "Lý do rút hồ sơ", "textarea", required=False, max_length=limits.LONG_TEXT_MAX
                ),
                AT,
            ),
            "Hồ sơ kết thúc theo đề nghị của công dân.",
            final=True,
        ),
        ActionSpec(
            Transition.RECEIVE,
            "tiep-nhan",
            (NOTE, AT),
            "Hồ sơ nộp trực tuyến được tiếp nhận: thời hạn giải quyết bắt đầu tính từ thời điểm này; công "
            "dân nhận thông báo tiếp nhận và ngày hẹn trả kết quả qua Zalo.",
        ),
        ActionSpec(
            Transition.REFUSE_RECEPTION,
            "tu-choi-tiep-nhan",
            (FormField("reason", "Lý do từ chối tiếp nhận", "textarea", max_length=limits.LONG_TEXT_MAX), AT),
            "Hồ sơ không được tiếp nhận (Mẫu 03) và kết thúc; công dân nhận thông báo nêu rõ lý do qua Zalo.",
            final=True,
        ),
        ActionSpec(
            Transition.APOLOGIZE,
            "xin-loi",
            (
                FormField("new_due_at", "Ngày hẹn trả mới", "datetime", hint="Phải sau hạn hiện tại."),
                FormField("reason", "Lý do chậm trễ", "textarea", max_length=limits.LONG_TEXT_MAX),
                AT,
            ),
            "Công dân nhận thư xin lỗi (Mẫu 04) với ngày hẹn mới. Mỗi hồ sơ chỉ được xin lỗi một lần và "
            "phải trước thời hạn.",
        ),
    )
}
BY_SLUG = {spec.slug: spec for spec in SPECS.values()}


@dataclass
class Payment:
    """A payment recorded at the counter: the `payment_received` signal, as the API sends it."""

    transaction_id: str
    amount_vnd: int
    at: datetime
    by: str


@dataclass
class Prepared:
    """A checked form: what to send, and what the confirmation step shows."""

    spec: ActionSpec
    order: Command | Payment
    summary: list[tuple[str, str]] = field(default_factory=list)


def local_input(at: datetime | None) -> str:
    """A datetime as an `<input type=datetime-local>` value, in office time, to the second."""
    return to_office(at).strftime("%Y-%m-%dT%H:%M:%S") if at else ""


def defaults(spec: ActionSpec, row: Dossier, now: datetime) -> dict[str, str]:
    """What a fresh form starts with."""
    values = {"at": local_input(now)}
    if spec.transition is Transition.REQUEST_FEE:
        values["pay_within_days"] = str(limits.DEFAULT_PAY_WITHIN_DAYS)
    if spec.transition is Transition.MARK_RESULT_READY:
        values["how"] = "pickup"
    if spec.transition is Transition.REJECT:
        values["stage"] = STAGE_EXAMINATION
    if spec.transition is Transition.PAYMENT_RECEIVED:
        fee = (row.detail or {}).get("fee") or {}
        remaining = int(fee.get("total_vnd") or 0) - int(fee.get("paid_vnd") or 0)
        if remaining > 0:
            values["amount"] = str(remaining)
    return values


class _Reader:
    """Reads one form's values, collecting Vietnamese errors by field."""

    def __init__(self, spec: ActionSpec, values: dict[str, str]) -> None:
        self.fields = {f.name: f for f in spec.fields}
        self.values = values
        self.errors: dict[str, str] = {}

    def text(self, name: str, *, required: bool | None = None) -> str:
        spec = self.fields[name]
        value = self.values.get(name, "").strip()
        if not value and (spec.required if required is None else required):
            self.errors[name] = f"Vui lòng nhập {spec.label.lower()}."
        elif len(value) > spec.max_length:
            self.errors[name] = f"Tối đa {spec.max_length} ký tự."
        return value

    def number(self, name: str, low: int, high: int) -> int | None:
        raw = re.sub(r"[\s.,]", "", self.values.get(name, ""))
        if not raw:
            if self.fields[name].required:
                self.errors[name] = f"Vui lòng nhập {self.fields[name].label.lower()}."
            return None
        if not raw.isdigit() or not low <= int(raw) <= high:
            self.errors[name] = f"Nhập một số nguyên từ {low:,} đến {high:,}.".replace(",", ".")
            return None
        return int(raw)

    def moment(self, name: str, now: datetime) -> datetime | None:
        raw = self.values.get(name, "").strip()
        if not raw:
            self.errors[name] = f"Vui lòng nhập {self.fields[name].label.lower()}."
            return None
        try:
            value = datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = "Ngày giờ chưa đúng dạng (ngày/tháng/năm giờ:phút)."
            return None
        return value.replace(tzinfo=OFFICE_TZ) if value.tzinfo is None else value


def prepare(
    spec: ActionSpec, values: dict[str, str], row: Dossier, by: str, now: datetime
) -> Prepared | dict[str, str]:
    """The command for a filled-in form, or the errors by field."""
    read = _Reader(spec, values)
    at = read.moment("at", now)
    if at is not None:
        if limits.is_in_future(at, now):
            read.errors["at"] = "Thời điểm thực hiện không được ở tương lai."
        elif at < row.received_at:
            read.errors["at"] = (
                f"Thời điểm thực hiện phải sau lúc tiếp nhận ({labels.vn_dt(row.received_at)})."
            )
    event_id = values.get("event_id", "")
    if not re.match(r"^canbo-[0-9a-f]{32}$", event_id):
        read.errors["event_id"] = "Biểu mẫu không hợp lệ; vui lòng mở lại."
    base: dict[str, Any] = {"event_id": event_id, "at": at or now, "by": by}
    summary: list[tuple[str, str]] = []
    order: Command | Payment | None = None
    t = spec.transition
    if t is Transition.REQUEST_SUPPLEMENT:
        items = [line.strip() for line in read.text("items").splitlines() if line.strip()]
        if len(items) > limits.MAX_ITEMS or any(len(i) > limits.SHORT_TEXT_MAX for i in items):
            read.errors["items"] = (
                f"Tối đa {limits.MAX_ITEMS} dòng, mỗi dòng tối đa {limits.SHORT_TEXT_MAX} ký tự."
            )
        note = read.text("note")
        order = SupplementRequest(**base, items=items, note=note)
        summary = [("Giấy tờ cần bổ sung", "; ".join(items)), ("Hướng dẫn", note or "—")]
    elif t is Transition.SUPPLEMENT_RECEIVED:
        note = read.text("note")
        order = SupplementReceived(**base, note=note)
        summary = [("Ghi chú", note or "—")]
    elif t is Transition.REQUEST_FEE:
        fee_items: list[FeeItem] = []
        for n in range(1, FEE_ROWS + 1):
            name = read.text(
                f"fee_name_{n}", required=n == 1 or bool(values.get(f"fee_amount_{n}", "").strip())
            )
            amount = read.number(f"fee_amount_{n}", 1, limits.MAX_AMOUNT_VND)
            if name and amount is None and f"fee_amount_{n}" not in read.errors:
                read.errors[f"fee_amount_{n}"] = "Vui lòng nhập số tiền của khoản này."
            if name and amount is not None:
                fee_items.append(FeeItem(name, amount))
        days = read.number("pay_within_days", 1, limits.MAX_PAY_WITHIN_DAYS)
        pay_url = read.text("pay_url")
        if pay_url and not pay_url.startswith(("https://", "http://")):
            read.errors["pay_url"] = "Đường dẫn phải bắt đầu bằng https://"
        order = FeeRequest(
            **base,
            items=fee_items,
            pay_within_days=days or limits.DEFAULT_PAY_WITHIN_DAYS,
            pay_url=pay_url or None,
        )
        summary = [(i.name, labels.money(i.amount_vnd)) for i in fee_items]
        summary += [
            ("Tổng cộng", labels.money(sum(i.amount_vnd for i in fee_items))),
            ("Hạn nộp", f"{days or limits.DEFAULT_PAY_WITHIN_DAYS} ngày làm việc"),
            ("Thanh toán trực tuyến", pay_url or "Không (nộp tại quầy)"),
        ]
    elif t is Transition.PAYMENT_RECEIVED:
        receipt = read.text("receipt")
        if receipt and not _TRANSACTION.match(receipt):
            read.errors["receipt"] = "Số biên lai chỉ gồm chữ không dấu, số, dấu chấm, gạch ngang."
        amount = read.number("amount", 1, limits.MAX_AMOUNT_VND)
        # Receipts from the counter get their own namespace, apart from the platform's transaction ids.
        order = Payment(f"{COUNTER_RECEIPT_PREFIX}{receipt}", amount or 0, at or now, by)
        summary = [("Số biên lai", receipt), ("Số tiền", labels.money(amount))]
    elif t is Transition.MARK_RESULT_READY:
        how = values.get("how", "")
        if how not in ("pickup", "delivery"):
            read.errors["how"] = "Vui lòng chọn cách trả kết quả."
        place = read.text("place", required=how == "pickup")
        address = read.text("address") if how == "delivery" else ""
        note = read.text("note")
        pickup = Pickup(place, note) if how == "pickup" else None
        delivery = Delivery(address, note) if how == "delivery" else None
        order = ResultReady(**base, pickup=pickup, delivery=delivery)
        summary = [
            ("Cách trả", dict(SPECS[t].field("how").choices).get(how, "—")),
            ("Nơi nhận", place or address or "—"),
            ("Ghi chú", note or "—"),
        ]
    elif t is Transition.MARK_RETURNED:
        to = read.text("to")
        order = Returned(**base, to=to)
        summary = [("Người nhận", to)]
    elif t is Transition.REJECT:
        stage = values.get("stage", "")
        if stage not in (STAGE_EXAMINATION, STAGE_RECEPTION):
            read.errors["stage"] = "Vui lòng chọn giai đoạn từ chối."
        reason = read.text("reason")
        order = Rejection(**base, reason=reason, at_reception=stage == STAGE_RECEPTION)
        summary = [
            ("Giai đoạn", dict(SPECS[t].field("stage").choices).get(stage, "—")),
            ("Lý do", reason),
        ]
    elif t is Transition.RECEIVE:
        note = read.text("note")
        order = Reception(**base, note=note)
        summary = [("Ghi chú", note or "—")]
    elif t is Transition.REFUSE_RECEPTION:
        reason = read.text("reason")
        order = ReceptionRefusal(**base, reason=reason)
        summary = [("Lý do", reason)]
    elif t is Transition.WITHDRAW:
        reason = read.text("reason")
        order = Withdrawal(**base, reason=reason or None)
        summary = [("Lý do", reason or "—")]
    elif t is Transition.APOLOGIZE:
        new_due = read.moment("new_due_at", now)
        reason = read.text("reason")
        order = Apology(**base, new_due_at=new_due or now, reason=reason)
        summary = [
            ("Hạn hiện tại", labels.vn_day_dt(row.due_at)),
            ("Ngày hẹn mới", labels.vn_day_dt(new_due)),
            ("Lý do", reason),
        ]
    if order is not None and not isinstance(order, Payment) and not read.errors:
        _check_rules(order, row, read.errors)
    if read.errors or order is None:
        return read.errors or {"event_id": "Biểu mẫu không hợp lệ."}
    summary.append(("Thời điểm thực hiện", labels.vn_day_dt(at)))
    return Prepared(spec, order, summary)


def _check_rules(order: Command, row: Dossier, errors: dict[str, str]) -> None:
    """The workflow's own rules for the command's body (domain/rules.py), as field errors. Rules that
    depend on the moment (an apology after the due time) are the workflow's to refuse on confirmation."""
    try:
        rules.check_body(order, due_at=row.due_at, apologized=row.apologized)
    except rules.Broken as broken:
        field = _RULE_FIELDS.get(broken.rule)
        if field is None:
            return
        errors[field] = vocabulary.RULES[broken.rule]
        if broken.rule is rules.Rule.APOLOGY_NEW_DUE_LATER:
            errors[field] = f"Ngày hẹn mới phải sau hạn hiện tại ({labels.vn_dt(row.due_at)})."


# The form field where each rule of the body is shown; the words are the vocabulary's.
_RULE_FIELDS: dict[rules.Rule, str] = {
    rules.Rule.SUPPLEMENT_ITEMS: "items",
    rules.Rule.FEE_ITEMS: "fee_amount_1",
    rules.Rule.PAY_WITHIN_DAYS: "pay_within_days",
    rules.Rule.HANDOVER: "how",
    rules.Rule.REJECTION_REASON: "reason",
    rules.Rule.APOLOGY_NEW_DUE_LATER: "new_due_at",
    rules.Rule.APOLOGY_REASON: "reason",
}
