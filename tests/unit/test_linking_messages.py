"""What a citizen's message to the OA asks for, and the tracking ids of the ZNS messages linking sends (their
templates are checked with the others in test_notice_text.py)."""

from __future__ import annotations

import pytest

from api.zalo_linking import tracking_id
from domain.linking import Asks, Message, read_message
from domain.zns_templates import LINK_ALERT, LINK_CODE

CODE = "H21.65-261123-0001"


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("Hủy liên kết", Message(Asks.UNLINK)),
        ("huy lien ket giup toi", Message(Asks.UNLINK)),
        ("123456", Message(Asks.ANSWER, answer="123456")),
        ("mã của tôi là 123 456", Message(Asks.ANSWER, answer="123456")),
        (f"{CODE} 123456", Message(Asks.ANSWER, dossier_code=CODE, answer="123456")),
        (f"hồ sơ {CODE.lower()} của tôi", Message(Asks.DOSSIER, dossier_code=CODE)),
        (f"{CODE} 3456", Message(Asks.DOSSIER, dossier_code=CODE)),
        ("sđt 0905 123 456", Message(Asks.PHONE, phone="84905123456")),
        ("+84905123456", Message(Asks.PHONE, phone="84905123456")),
        # Many digits at once are one wrong answer, never many guesses.
        ("123456 234567 345678", Message(Asks.ANSWER, answer="")),
        (f"{CODE} " + " ".join(f"{n:04d}" for n in range(300)), Message(Asks.DOSSIER, dossier_code=CODE)),
        ("Tôi muốn liên kết", Message(Asks.HOW)),
        ("Xin chào, giờ làm việc?", Message(Asks.NOTHING)),
    ],
)
def test_reading_a_message(text: str, read: Message) -> None:
    assert read_message(text) == read


def test_tracking_ids_fit_zns() -> None:
    assert len(tracking_id(LINK_ALERT, "x" * 500)) <= 48
    assert tracking_id(LINK_CODE, "1") != tracking_id(LINK_CODE, "2")
