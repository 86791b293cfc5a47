"""Which OA messages are feedback, what they name, and the limits of a text (domain/feedback.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.calendar import OfficeHours, WorkingCalendar
from domain.feedback import OaFeedback, answer_due, clean, read_oa_feedback, text_problem
from domain.linking import Asks, read_message

CODE = "H21.65-261123-0001"


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (f"PA {CODE} Cán bộ hẹn mãi chưa trả", OaFeedback(CODE, "Cán bộ hẹn mãi chưa trả")),
        (f"pa: {CODE.lower()} chậm quá", OaFeedback(CODE, "chậm quá")),
        ("Phản ánh: thái độ cán bộ chưa tốt", OaFeedback(None, "thái độ cán bộ chưa tốt")),
        ("phan anh thai do can bo", OaFeedback(None, "thai do can bo")),
        (f"KIẾN NGHỊ {CODE} thêm giờ làm việc thứ Bảy", OaFeedback(CODE, "thêm giờ làm việc thứ Bảy")),
        ("Góp ý: thêm ghế chờ", OaFeedback(None, "thêm ghế chờ")),
        (f"PA chậm trả hồ sơ {CODE} quá hạn", OaFeedback(CODE, "chậm trả hồ sơ   quá hạn")),
    ],
)
def test_feedback_messages_name_their_dossier_and_text(message: str, expected: OaFeedback) -> None:
    assert read_oa_feedback(message) == expected


@pytest.mark.parametrize(
    "message",
    [CODE, "123456", "0905123456", "Hủy liên kết", "liên kết", "PAH21.65", "Pha lê", "Cảm ơn", "Xin chào PA"],
)
def test_other_messages_are_left_to_linking_and_the_staff(message: str) -> None:
    assert read_oa_feedback(message) is None


def test_linking_messages_keep_their_meaning() -> None:
    assert read_message(CODE).asks is Asks.DOSSIER
    assert read_message("123456").asks is Asks.ANSWER


def test_texts_are_cleaned_and_bounded() -> None:
    assert clean("  Xin\r\nchào\x00\u200b ") == "Xin\nchào"
    assert text_problem("ngắn") == "Vui lòng viết rõ nội dung (ít nhất 10 ký tự)."
    assert text_problem("x" * 2000) is None
    problem = text_problem("x" * 2001)
    assert problem is not None
    assert "2001 ký tự, tối đa 2000 ký tự" in problem


def test_the_answer_is_due_in_working_days_on_the_office_calendar() -> None:
    calendar = WorkingCalendar(OfficeHours())
    friday_afternoon = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # 16:00 office time, after the cut-off
    due = answer_due(calendar, friday_afternoon, 10)
    assert due == calendar.due_at(friday_afternoon, 10)
    assert due.astimezone(UTC).date().isoformat() == "2026-12-11"
