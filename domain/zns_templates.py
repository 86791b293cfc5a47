"""The ZNS templates, as they must be registered with Zalo: title, body with its <parameters>, the kind and
limit of each parameter, and where each value comes from.

A citizen who does not follow the OA gets the ZNS template of the notice's kind, by phone. Zalo approves
a template's text once; the message carries only the parameters, each within its kind's limit (Zalo's
"cài đặt kỹ thuật" of a parameter: a customer name 30 characters, a code 30, a time 20, an amount 20,
contact information 50, free text 200). A body paragraph has at most 400 characters and 10 parameters;
no links and no bare phone numbers in the text (a button takes the citizen to the lookup page). The
operator registers each template below in the ZNS console and sets its id in ZNS_TEMPLATE_IDS (by kind).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.notices import NoticeKind
from domain.vocabulary import vn_datetime, vn_money

Context = Mapping[str, Any]


class ParamKind(StrEnum):
    """Zalo's technical setting of a parameter, named as its console names it."""

    NAME = "Tên khách hàng"
    CODE = "Mã số"
    TIME = "Thời gian"
    AMOUNT = "Số tiền"
    CONTACT = "Thông tin liên hệ"
    TEXT = "Nội dung"


MAX_LENGTH: dict[ParamKind, int] = {
    ParamKind.NAME: 30,
    ParamKind.CODE: 30,
    ParamKind.TIME: 20,
    ParamKind.AMOUNT: 20,
    ParamKind.CONTACT: 50,
    ParamKind.TEXT: 200,
}
TITLE_MAX = 65
BODY_MAX = 400
PARAMS_MAX = 10
PLACEHOLDER = re.compile(r"<([a-z][a-z0-9_]*)>")


@dataclass(frozen=True)
class Param:
    name: str
    kind: ParamKind
    value: Callable[[Context], str]
    meaning: str  # what the operator writes in the console's description of the parameter


@dataclass(frozen=True)
class ZnsTemplate:
    key: str  # its key in ZNS_TEMPLATE_IDS: a notice kind, or link_code / link_alert
    title: str
    body: str
    params: tuple[Param, ...]
    button: str | None = "Tra cứu hồ sơ"  # opens the lookup page (PUBLIC_BASE_URL/tra-cuu)
    category: str = "Giao dịch"  # the console's template type (a one-time code is "Xác thực (OTP)")
    # Where the button leads, after PUBLIC_BASE_URL, when not the lookup page; a <parameter> in it is
    # filled like the body's (Zalo's dynamic button link): the rating invite's one-tap link.
    button_path: str = ""

    def declared(self) -> list[str]:
        return [param.name for param in self.params]


# ---------------------------------------------------------------- where values come from


def _customer(context: Context) -> str:
    return str(context.get("applicant_name") or "Quý ông/bà")


def _agency(context: Context) -> str:
    return str(context["agency"]["name"])


def _contact(context: Context) -> str:
    agency = context["agency"]
    return " – ".join(part for part in (agency["name"], agency["hotline"]) if part)


def _items(context: Context) -> str:
    return "; ".join(str(item) for item in context["items"])


def _place(context: Context) -> str:
    pickup = context.get("pickup")
    if pickup:
        return str(pickup["place"])
    return "Gửi qua dịch vụ bưu chính công ích"


def _reason(context: Context) -> str:
    return str(context.get("reason") or "Không nêu lý do")


CUSTOMER = Param("customer_name", ParamKind.NAME, _customer, "Họ tên người nộp hồ sơ")
CODE = Param("dossier_code", ParamKind.CODE, lambda c: str(c["code"]), "Mã hồ sơ")
PROCEDURE = Param("procedure_name", ParamKind.TEXT, lambda c: str(c["procedure_name"]), "Tên thủ tục")
AGENCY = Param("agency_name", ParamKind.TEXT, _agency, "Tên cơ quan giải quyết")
CONTACT = Param("agency_contact", ParamKind.CONTACT, _contact, "Tên cơ quan và số điện thoại đường dây nóng")
AT = Param("event_time", ParamKind.TIME, lambda c: vn_datetime(c["at"]), "Thời điểm của sự việc")
DUE = Param(
    "due_date",
    ParamKind.TIME,
    lambda c: vn_datetime(c["due_at"], missing="chưa xác định"),
    "Ngày hẹn trả kết quả",
)
REASON = Param("reason", ParamKind.TEXT, _reason, "Lý do")
ITEMS = Param("supplement_items", ParamKind.TEXT, _items, "Các giấy tờ cần bổ sung")
FEE = Param(
    "fee_amount", ParamKind.AMOUNT, lambda c: vn_money(c["total_vnd"]), "Số tiền phí, lệ phí phải nộp"
)
PAY_BY = Param(
    "pay_by",
    ParamKind.TIME,
    lambda c: vn_datetime(c["pay_by"], missing="chưa xác định"),
    "Hạn nộp phí, lệ phí",
)
PAID = Param("paid_amount", ParamKind.AMOUNT, lambda c: vn_money(c["amount_vnd"]), "Số tiền đã nộp")
PLACE = Param("handover_place", ParamKind.TEXT, _place, "Nơi nhận kết quả, hoặc gửi qua bưu chính")
OLD_DUE = Param(
    "old_due_date",
    ParamKind.TIME,
    lambda c: vn_datetime(c["old_due_at"], missing="chưa xác định"),
    "Ngày hẹn trả kết quả đã hẹn trước",
)
NEW_DUE = Param(
    "new_due_date", ParamKind.TIME, lambda c: vn_datetime(c["new_due_at"]), "Ngày hẹn trả kết quả mới"
)
SUPPLY_BY = Param(
    "supply_by",
    ParamKind.TIME,
    lambda c: vn_datetime(c.get("supply_by"), missing="chưa xác định"),
    "Hạn nộp hồ sơ bổ sung",
)

RATE_BY = Param(
    "rate_by", ParamKind.TIME, lambda c: vn_datetime(c["rate_by"]), "Hạn đánh giá mức độ hài lòng"
)
# Not in the body (no links there): the rating button's address ends with it (`button_path`).
RATING_TOKEN = Param(
    "rating_token",
    ParamKind.TEXT,
    lambda c: str(c["rating_url"]).rsplit("/", 1)[-1],
    "Mã của liên kết đánh giá (phần cuối địa chỉ của nút Đánh giá)",
)


def _template(kind: NoticeKind, title: str, body: str, *params: Param) -> ZnsTemplate:
    return ZnsTemplate(kind.value, title, body, (CUSTOMER, CODE, *params))


# The messages that prove a phone when a citizen links a Zalo account (api/zalo_linking.py): the one-time
# code, and the alert that an account was linked. Their values are given by name.
LINK_CODE = ZnsTemplate(
    "link_code",
    "Mã xác nhận liên kết Zalo",
    "Mã xác nhận liên kết Zalo nhận thông báo hồ sơ của ông/bà là <otp>. Mã có hiệu lực trong <minutes> "
    "phút. Tuyệt đối không cung cấp mã này cho bất kỳ ai, kể cả người xưng là cán bộ.",
    (
        Param("otp", ParamKind.CODE, lambda c: str(c["otp"]), "Mã xác nhận 6 chữ số"),
        Param("minutes", ParamKind.CODE, lambda c: str(c["minutes"]), "Số phút mã còn hiệu lực"),
    ),
    button=None,
    category="Xác thực (OTP)",
)
LINK_ALERT = ZnsTemplate(
    "link_alert",
    "Số điện thoại vừa được liên kết Zalo",
    "Số điện thoại của ông/bà vừa được liên kết với một tài khoản Zalo lúc <linked_at> để nhận thông báo "
    "hồ sơ của <office>. Nếu không phải ông/bà thực hiện, vui lòng liên hệ ngay <office> để hủy liên kết.",
    (
        Param("linked_at", ParamKind.TIME, lambda c: str(c["linked_at"]), "Thời điểm liên kết"),
        Param("office", ParamKind.TEXT, lambda c: str(c["office"]), "Tên cơ quan giải quyết hồ sơ"),
    ),
    button=None,
)

TEMPLATES: dict[str, ZnsTemplate] = {
    t.key: t
    for t in (
        _template(
            NoticeKind.RECEIVED,
            "Tiếp nhận hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, <agency_name> đã tiếp nhận hồ sơ <dossier_code> "
            "(<procedure_name>) lúc <event_time>. Ngày hẹn trả kết quả: <due_date>. "
            "Liên hệ: <agency_contact>.",
            AGENCY,
            PROCEDURE,
            AT,
            DUE,
            CONTACT,
        ),
        _template(
            NoticeKind.SUPPLEMENT_REQUIRED,
            "Yêu cầu bổ sung hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> (<procedure_name>) cần bổ sung: "
            "<supplement_items>. Hạn nộp bổ sung: <supply_by>; quá hạn mà không bổ sung, hồ sơ bị dừng "
            "xử lý. Thời hạn giải quyết tạm dừng đến khi nhận đủ hồ sơ bổ sung. Liên hệ: <agency_contact>.",
            PROCEDURE,
            ITEMS,
            SUPPLY_BY,
            CONTACT,
        ),
        _template(
            NoticeKind.SUPPLEMENT_RECEIVED,
            "Đã nhận đủ hồ sơ bổ sung <dossier_code>",
            "Kính gửi <customer_name>, <agency_name> đã nhận đủ hồ sơ bổ sung của hồ sơ <dossier_code> "
            "lúc <event_time>. Thời hạn giải quyết được tính lại; ngày hẹn trả kết quả mới: <due_date>.",
            AGENCY,
            AT,
            DUE,
        ),
        _template(
            NoticeKind.SUPPLEMENT_RESUMED,
            "Đã nhận đủ hồ sơ bổ sung <dossier_code>",
            "Kính gửi <customer_name>, <agency_name> đã nhận đủ hồ sơ bổ sung của hồ sơ <dossier_code> "
            "lúc <event_time>. Thời hạn giải quyết được tính tiếp, lùi thêm bằng thời gian chờ bổ sung; "
            "ngày hẹn trả kết quả mới: <due_date>.",
            AGENCY,
            AT,
            DUE,
        ),
        _template(
            NoticeKind.SUPPLEMENT_REMINDER,
            "Nhắc nộp hồ sơ bổ sung <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> còn chờ bổ sung: <supplement_items>. Hạn nộp "
            "bổ sung: <supply_by>; quá hạn mà không bổ sung, hồ sơ bị dừng xử lý. Nếu đã nộp, xin bỏ qua "
            "thông báo này. Liên hệ: <agency_contact>.",
            ITEMS,
            SUPPLY_BY,
            CONTACT,
        ),
        _template(
            NoticeKind.STOPPED,
            "Dừng xử lý hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> (<procedure_name>) đã dừng xử lý vì không được "
            "bổ sung trong thời hạn (hạn nộp bổ sung: <supply_by>). Khi có nhu cầu, ông/bà có thể nộp hồ sơ "
            "mới. Liên hệ: <agency_contact>.",
            PROCEDURE,
            SUPPLY_BY,
            CONTACT,
        ),
        _template(
            NoticeKind.FEE_DUE,
            "Nộp phí, lệ phí hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> (<procedure_name>) có phí, lệ phí phải nộp: "
            "<fee_amount>, hạn nộp <pay_by>. Thời hạn giải quyết tạm dừng đến khi nộp đủ. "
            "Liên hệ: <agency_contact>.",
            PROCEDURE,
            FEE,
            PAY_BY,
            CONTACT,
        ),
        _template(
            NoticeKind.FEE_REMINDER,
            "Nhắc nộp phí, lệ phí hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> còn phí, lệ phí chưa nộp: <fee_amount>, hạn nộp "
            "<pay_by>. Nếu đã nộp, xin bỏ qua thông báo này. Liên hệ: <agency_contact>.",
            FEE,
            PAY_BY,
            CONTACT,
        ),
        _template(
            NoticeKind.PAYMENT_CONFIRMED,
            "Xác nhận nộp phí hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, <agency_name> đã nhận khoản nộp <paid_amount> cho hồ sơ "
            "<dossier_code> lúc <event_time>. Hồ sơ tiếp tục được giải quyết; "
            "ngày hẹn trả kết quả: <due_date>.",
            AGENCY,
            PAID,
            AT,
            DUE,
        ),
        _template(
            NoticeKind.RESULT_READY,
            "Đã có kết quả hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> (<procedure_name>) đã có kết quả giải quyết. "
            "Nhận kết quả: <handover_place>. Liên hệ: <agency_contact>.",
            PROCEDURE,
            PLACE,
            CONTACT,
        ),
        _template(
            NoticeKind.PICKUP_REMINDER,
            "Nhắc nhận kết quả hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, kết quả hồ sơ <dossier_code> đã sẵn sàng nhưng chưa được nhận. "
            "Nơi nhận: <handover_place>. Liên hệ: <agency_contact>.",
            PLACE,
            CONTACT,
        ),
        _template(
            NoticeKind.REJECTED,
            "Hồ sơ <dossier_code> không được giải quyết",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> (<procedure_name>) không đủ điều kiện "
            "giải quyết. Lý do: <reason>. Liên hệ: <agency_contact>.",
            PROCEDURE,
            REASON,
            CONTACT,
        ),
        _template(
            NoticeKind.RECEPTION_REFUSED,
            "Từ chối tiếp nhận hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, <agency_name> từ chối tiếp nhận hồ sơ <dossier_code> "
            "(<procedure_name>). Lý do: <reason>. Liên hệ: <agency_contact>.",
            AGENCY,
            PROCEDURE,
            REASON,
            CONTACT,
        ),
        _template(
            NoticeKind.APOLOGY,
            "Xin lỗi và hẹn lại ngày trả hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, <agency_name> xin lỗi vì hồ sơ <dossier_code> không thể trả kết quả "
            "đúng hẹn ngày <old_due_date>. Lý do: <reason>. Ngày hẹn trả kết quả mới: <new_due_date>.",
            AGENCY,
            OLD_DUE,
            REASON,
            NEW_DUE,
        ),
        _template(
            NoticeKind.WITHDRAWN,
            "Xác nhận rút hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> (<procedure_name>) đã được rút theo đề nghị lúc "
            "<event_time>. Việc giải quyết hồ sơ đã dừng. Liên hệ: <agency_contact>.",
            PROCEDURE,
            AT,
            CONTACT,
        ),
        ZnsTemplate(
            NoticeKind.RATING_INVITE.value,
            "Mời đánh giá hồ sơ <dossier_code>",
            "Kính gửi <customer_name>, hồ sơ <dossier_code> (<procedure_name>) đã được trả kết quả. "
            "Mời ông/bà đánh giá mức độ hài lòng đến <rate_by>: bấm nút Đánh giá bên dưới. "
            "Liên hệ: <agency_contact>.",
            (CUSTOMER, CODE, PROCEDURE, RATE_BY, CONTACT, RATING_TOKEN),
            button="Đánh giá",
            button_path="/danh-gia/<rating_token>",
        ),
        LINK_CODE,
        LINK_ALERT,
    )
}


def params_for(key: str, context: Context) -> dict[str, str]:
    """The declared parameters of the template `key` (a notice kind, link_code, link_alert), each cut to
    its kind's limit."""
    template = TEMPLATES[key]
    return {param.name: fit(param.value(context), MAX_LENGTH[param.kind]) for param in template.params}


def fit(value: str, limit: int) -> str:
    """A value within Zalo's limit: whole when it fits, else cut at a word with "…"."""
    value = " ".join(value.split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    boundary = cut.rfind(" ")
    if boundary > limit // 2:
        cut = cut[:boundary]
    return cut.rstrip(" ,;") + "…"


def fake_template_id(key: str) -> str:
    """The id the fake Zalo registers a template under (ZALO_MODE=fake without ZNS_TEMPLATE_IDS)."""
    return f"fake-{key}"


def fake_template_ids() -> dict[str, str]:
    return {key: fake_template_id(key) for key in TEMPLATES}


def as_registered(template_ids: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """What Zalo holds once the templates are approved under `template_ids` (key -> id): each id's
    parameters with their limits, title and body. The fake Zalo checks messages against it, as Zalo does,
    and its journal shows the message as the phone does."""
    return {
        template_ids[key]: {
            "params": {param.name: MAX_LENGTH[param.kind] for param in template.params},
            "title": template.title,
            "body": template.body,
        }
        for key, template in TEMPLATES.items()
        if key in template_ids
    }


def registration_sheet() -> str:
    """docs/zns-templates.md: every template as the operator registers it in the ZNS console."""
    lines = [
        "# ZNS templates to register with Zalo",
        "",
        "Generated by `python -m domain.zns_templates > docs/zns-templates.md` from",
        "`domain/zns_templates.py`; a test fails when the two differ. Register each template in the",
        "ZNS console (type: giao dịch / transaction), then set its id in `ZNS_TEMPLATE_IDS`",
        '(`{"received": "…", …, "link_code": "…", "link_alert": "…"}`). A button, where a template has one,',
        "opens `PUBLIC_BASE_URL/tra-cuu`.",
        "",
        f"Limits: title {TITLE_MAX} characters, body {BODY_MAX}, at most {PARAMS_MAX} parameters; a value"
        ' longer than its kind\'s limit is cut at a word with "…".',
        "",
    ]
    for template in TEMPLATES.values():
        lines += [f"## `{template.key}`", "", f"Loại mẫu: {template.category}", ""]
        lines += [f"Tiêu đề: `{template.title}`", "", "Nội dung:", ""]
        lines += ["```text", template.body, "```", ""]
        if template.button:
            where = f" → `PUBLIC_BASE_URL{template.button_path}`" if template.button_path else ""
            lines += [f"Nút: {template.button}{where}", ""]
        lines += ["| tham số | loại (cài đặt kỹ thuật) | tối đa | ý nghĩa |", "|---|---|---|---|"]
        lines += [
            f"| `{p.name}` | {p.kind.value} | {MAX_LENGTH[p.kind]} | {p.meaning} |" for p in template.params
        ]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(registration_sheet(), end="")
