"""Every notice kind renders to good Vietnamese within Zalo's limits, from the context the workflow stores."""

from __future__ import annotations

import unicodedata

import pytest

from activities.notice_text import (
    TEMPLATE_DIR,
    datetime_vn,
    fit_text,
    render_notice,
    vnd,
    zns_template_data,
)
from domain.notices import OFFICER_KINDS, NoticeKind
from tests.support.zalo import CODE, context_for

EXTRAS = {
    "applicant_name": "Nguyễn Văn An",
    "office_name": "Bộ phận Một cửa UBND huyện Chư Păh",
    "lookup_url": f"https://dichvucong.gialai.example/tra-cuu?code={CODE}",
}

# What each kind must say, beyond the code and the procedure (formatted as a citizen reads them).
EXPECTED: dict[NoticeKind, list[str]] = {
    NoticeKind.RECEIVED: ["đã tiếp nhận", "Ngày hẹn trả kết quả: 14/12/2026 16:00", "24/11/2026 09:30"],
    NoticeKind.SUPPLEMENT_REQUIRED: [
        "1. Bản vẽ thiết kế mặt bằng (02 bản)",
        "2. Bản sao Giấy chứng nhận quyền sử dụng đất có chứng thực",
        "Hướng dẫn: Nộp bổ sung trong 10 ngày",
    ],
    NoticeKind.FEE_DUE: [
        "- Lệ phí cấp giấy phép xây dựng: 75.000 đ",
        "- Phí thẩm định hồ sơ: 1.175.000 đ",
        "Tổng số tiền: 1.250.000 đ",
        "Hạn nộp: 30/11/2026 17:00",
        "https://thanhtoan.gialai.example/p/H21.65-261123-0001",
    ],
    NoticeKind.FEE_REMINDER: [
        "(lần 2)",
        "Số tiền: 1.250.000 đ",
        "Hạn nộp: 30/11/2026 17:00",
        "Cổng Dịch vụ công",
    ],
    NoticeKind.PAYMENT_CONFIRMED: [
        "1.250.000 đ",
        "Mã giao dịch: VNPT-20261125-883412",
        "Ngày hẹn trả kết quả: 16/12/2026 16:00",
    ],
    NoticeKind.RESULT_READY: ["đã có kết quả", "Quầy số 3", "Lưu ý: Mang theo căn cước công dân bản gốc."],
    NoticeKind.PICKUP_REMINDER: ["chưa đến nhận", "Nơi nhận: Quầy số 3"],
    NoticeKind.REJECTED: ["không được giải quyết", "Lý do: Thửa đất nằm trong hành lang an toàn giao thông"],
    NoticeKind.APOLOGY: [
        "xin lỗi",
        "Ngày hẹn trả trước đây: 14/12/2026 16:00",
        "Ngày hẹn trả kết quả mới: 21/12/2026 16:00",
        "Lý do: Cần thêm thời gian",
    ],
    NoticeKind.WITHDRAWN: ["đã được rút", "24/11/2026 09:30", "Lý do: Công dân đề nghị rút"],
    NoticeKind.DUE_SOON: ["[SẮP ĐẾN HẠN]", "Hạn trả kết quả: 14/12/2026 16:00", "H21.65"],
    NoticeKind.OVERDUE: ["[QUÁ HẠN]", "14/12/2026 16:00", "mức 1", "lãnh đạo phòng chuyên môn"],
    NoticeKind.ESCALATION: ["MỨC 2", "14/12/2026 16:00", "lãnh đạo cơ quan"],
    NoticeKind.FEE_UNPAID: ["[CHƯA NỘP PHÍ]", "1.250.000 đ", "30/11/2026 17:00"],
    NoticeKind.PAYMENT_MISMATCH: ["Đã nhận 1.000.000 đ", "1.250.000 đ", "VNPT-20261125-883412"],
}


def test_every_kind_has_a_template_and_an_expectation() -> None:
    templates = {
        p.name.removesuffix(".txt.j2") for p in TEMPLATE_DIR.glob("*.txt.j2") if not p.name.startswith("_")
    }
    assert templates == {k.value for k in NoticeKind}
    assert set(EXPECTED) == set(NoticeKind)


@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_kind_renders_in_vietnamese_within_the_oa_limit(kind: NoticeKind) -> None:
    text = render_notice(kind, {**context_for(kind), **EXTRAS})

    assert 80 < len(text) <= 2000
    assert text == unicodedata.normalize("NFC", text)
    assert CODE in text
    assert "Cấp giấy phép xây dựng nhà ở riêng lẻ" in text
    for expected in EXPECTED[kind]:
        assert expected in text, f"{kind}: {expected!r} missing from\n{text}"
    assert "None" not in text
    assert "{{" not in text
    assert "{%" not in text
    assert "\n\n\n" not in text
    assert "T16:00" not in text  # no raw ISO datetimes
    if kind in OFFICER_KINDS:
        assert "Đề nghị đồng chí" in text
        assert "Nguyễn Văn An" not in text
    else:
        assert text.startswith("Kính gửi ông/bà Nguyễn Văn An,")
        assert text.endswith("Trân trọng.\nBộ phận Một cửa UBND huyện Chư Păh")
        assert EXTRAS["lookup_url"] in text


def test_without_a_name_the_greeting_stays_polite() -> None:
    text = render_notice(NoticeKind.RECEIVED, context_for(NoticeKind.RECEIVED))
    assert text.startswith("Kính gửi Quý ông/bà,")
    assert "Bộ phận Một cửa" in text


def test_optional_fields_leave_no_gaps() -> None:
    context = {**context_for(NoticeKind.WITHDRAWN), "reason": None}
    text = render_notice(NoticeKind.WITHDRAWN, context)
    assert "Lý do" not in text

    delivery = {
        **context_for(NoticeKind.RESULT_READY),
        "pickup": None,
        "delivery": {"note": "Giao trong 03 ngày."},
    }
    text = render_notice(NoticeKind.RESULT_READY, delivery)
    assert "dịch vụ bưu chính công ích." in text
    assert "Lưu ý: Giao trong 03 ngày." in text
    assert "Quầy" not in text

    fee = {**context_for(NoticeKind.FEE_DUE), "pay_url": None}
    assert "Cổng Dịch vụ công (mã hồ sơ H21.65-261123-0001)" in render_notice(NoticeKind.FEE_DUE, fee)


def test_a_missing_context_key_is_an_error_not_a_blank() -> None:
    context = context_for(NoticeKind.RECEIVED)
    del context["due_at"]
    with pytest.raises(Exception, match="due_at"):
        render_notice(NoticeKind.RECEIVED, context)


def test_formats() -> None:
    assert vnd(1250000) == "1.250.000 đ"
    assert vnd(0) == "0 đ"
    assert vnd(999) == "999 đ"
    assert datetime_vn("2026-12-08T09:00:00+00:00") == "08/12/2026 16:00"  # shown in office time
    assert datetime_vn("2026-12-31T23:30:00+07:00") == "31/12/2026 23:30"
    assert datetime_vn(None) == "(chưa xác định)"
    with pytest.raises(ValueError, match="offset"):
        datetime_vn("2026-12-08T09:00:00")


def test_zns_data_is_flat_strings_from_the_same_context() -> None:
    data = zns_template_data(NoticeKind.FEE_DUE, {**context_for(NoticeKind.FEE_DUE), **EXTRAS})
    assert all(isinstance(v, str) for v in data.values())
    assert data["customer_name"] == "Nguyễn Văn An"
    assert data["code"] == CODE
    assert data["total_vnd"] == "1.250.000 đ"
    assert data["pay_by"] == "30/11/2026 17:00"
    assert data["items"] == "Lệ phí cấp giấy phép xây dựng: 75.000 đ; Phí thẩm định hồ sơ: 1.175.000 đ"
    assert "office_name" not in data

    pickup = zns_template_data(NoticeKind.RESULT_READY, context_for(NoticeKind.RESULT_READY))
    assert pickup["pickup_place"].startswith("Quầy số 3")
    assert pickup["customer_name"] == "Quý ông/bà"
    assert all(len(v) <= 100 for v in pickup.values())


def test_long_texts_are_cut_at_a_word_with_a_pointer() -> None:
    items = [f"Giấy tờ số {i}: bản sao có chứng thực của văn bản liên quan đến thửa đất" for i in range(60)]
    text = render_notice(
        NoticeKind.SUPPLEMENT_REQUIRED, {**context_for(NoticeKind.SUPPLEMENT_REQUIRED), "items": items}
    )
    assert len(text) > 2000
    tail = "\nXem đầy đủ: https://dichvucong.gialai.example/tra-cuu?code=" + CODE
    cut = fit_text(text, 2000, tail=tail)
    assert len(cut) <= 2000
    assert cut.endswith("…" + tail)
    assert cut.startswith("Kính gửi Quý ông/bà,")
    assert fit_text("ngắn", 2000, tail=tail) == "ngắn"
