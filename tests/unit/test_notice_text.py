"""The pieces notices are made of: formats, cutting, payment references, and the ZNS templates as they are
registered with Zalo. Every notice kind is rendered from the contexts the real workflow produces in
tests/workflow/test_notice_paths.py; nothing here builds a notice's context by hand.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.notice_text import TEMPLATE_DIR, datetime_vn, fit_text, payment_reference, tidy, vnd
from domain import zns_templates
from domain.notices import Audience, NoticeKind
from domain.zns_templates import (
    BODY_MAX,
    LINK_ALERT,
    LINK_CODE,
    MAX_LENGTH,
    PARAMS_MAX,
    PLACEHOLDER,
    TEMPLATES,
    TITLE_MAX,
)


def test_every_kind_has_a_template_and_every_citizen_kind_a_zns_template() -> None:
    templates = {
        p.name.removesuffix(".txt.j2") for p in TEMPLATE_DIR.glob("*.txt.j2") if not p.name.startswith("_")
    }
    assert templates == {k.value for k in NoticeKind}
    citizen_kinds = {k.value for k in NoticeKind if k.audience is Audience.CITIZEN}
    assert set(TEMPLATES) == citizen_kinds | {LINK_CODE.key, LINK_ALERT.key}


@pytest.mark.parametrize("key", list(TEMPLATES))
def test_a_zns_template_declares_exactly_the_parameters_its_text_uses(key: str) -> None:
    template = TEMPLATES[key]
    used = [PLACEHOLDER.findall(text) for text in (template.title, template.body, template.button_path)]
    used = [name for names in used for name in names]
    assert set(used) == set(template.declared()), key
    assert len(template.declared()) == len(set(template.declared())) <= PARAMS_MAX
    assert len(template.title) <= TITLE_MAX
    assert len(template.body) <= BODY_MAX
    # Zalo approves no links, no bare phone numbers and no "anh/chị" in a template's own text.
    assert "http" not in template.body
    assert "anh/chị" not in template.body.lower()
    for param in template.params:
        assert param.name == param.name.lower()
        assert " " not in param.name


def test_parameter_values_are_cut_to_their_kinds_limit_at_a_word() -> None:
    reason = "Thửa đất nằm trong hành lang an toàn giao thông đường bộ " * 10
    cut = zns_templates.fit(reason, MAX_LENGTH[zns_templates.ParamKind.TEXT])
    assert len(cut) <= 200
    assert cut.endswith("…")
    assert not cut.endswith(" …")
    assert zns_templates.fit("  Nguyễn   Văn An ", 30) == "Nguyễn Văn An"


def test_formats() -> None:
    assert vnd(1250000) == "1.250.000 đ"
    assert vnd(0) == "0 đ"
    assert vnd(999) == "999 đ"
    assert datetime_vn("2026-12-08T09:00:00+00:00") == "08/12/2026 16:00"  # shown in office time
    assert datetime_vn("2026-12-31T23:30:00+07:00") == "31/12/2026 23:30"
    assert datetime_vn(None) == "(chưa xác định)"
    with pytest.raises(ValueError, match="offset"):
        datetime_vn("2026-12-08T09:00:00")


def test_payment_references_name_what_the_citizen_holds() -> None:
    assert payment_reference("quay:BL-0042") == "Số biên lai: BL-0042"
    assert payment_reference("VNPT-20261125-883412") == "Mã giao dịch: VNPT-20261125-883412"
    assert payment_reference("dvcqg-3f2a9c0d11b45e6f7a8b-confirm_payment") == ""  # our own id
    assert payment_reference(None) == ""


def test_long_texts_are_cut_at_a_word_with_a_pointer() -> None:
    text = tidy(
        "Kính gửi Quý ông/bà,\n\n" + "Giấy tờ có chứng thực của văn bản liên quan đến thửa đất. " * 60
    )
    assert len(text) > 2000
    tail = "\nXem đầy đủ: https://dichvucong.gialai.example/tra-cuu?code=H21.65-261123-0001"
    cut = fit_text(text, 2000, tail=tail)
    assert len(cut) <= 2000
    assert cut.endswith("…" + tail)
    assert cut.startswith("Kính gửi Quý ông/bà,")
    assert fit_text("ngắn", 2000, tail=tail) == "ngắn"


def test_the_registration_sheet_in_docs_is_the_registry() -> None:
    """docs/zns-templates.md is what operators register with Zalo: regenerated whenever a template changes."""
    sheet = (Path(__file__).resolve().parents[2] / "docs" / "zns-templates.md").read_text(encoding="utf-8")
    assert sheet == zns_templates.registration_sheet(), (
        "run: python -m domain.zns_templates > docs/zns-templates.md"
    )
