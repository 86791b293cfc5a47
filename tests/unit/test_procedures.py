"""The catalogue's rules, pure: what a catalogue file must hold and what a registration is compared with."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from domain import rules
from domain.dossier import DossierState, Procedure, SupplementRule
from domain.limits import SUPPLY_WITHIN_WORKING_DAYS
from domain.procedures import (
    LAW_DEFAULT,
    CatalogueError,
    check_catalogue,
    check_registration,
    entry_from_json,
)
from domain.refusals import Refusal
from domain.status import EventKind

SAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "deploy" / "procedures.sample.json").read_text(encoding="utf-8")
)


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "1.001234",
        "name": "Cấp giấy phép xây dựng",
        "level": "xã",
        "agency_kinds": ["UBND cấp xã"],
        "working_days": 15,
    }
    return base | changes


def test_the_sample_is_a_valid_catalogue_of_at_least_twenty_procedures() -> None:
    entries = check_catalogue(SAMPLE)
    assert len(entries) >= 20
    for e in entries:
        assert e.working_days > 0
        assert sum(step.hours for step in e.steps) <= e.working_days * 8
        assert e.source  # every figure says where it comes from
        # A code is either a national one the notes vouch for, or visibly local: none is made up.
        assert e.code.startswith("local.") or e.code == e.national_code
    assert sum(1 for e in entries if e.national_code) == 2
    assert any("chưa kiểm chứng" in note or "KHÔNG" in note for note in SAMPLE["notes"])


def test_an_entry_round_trips_through_its_stored_form() -> None:
    for e in check_catalogue(SAMPLE):
        assert entry_from_json(e.to_json()) == e


def test_defaults_and_allowed_rules() -> None:
    [plain] = check_catalogue({"procedures": [entry()]})
    assert plain.supplement == LAW_DEFAULT == SupplementRule(1, True)
    [more] = check_catalogue({"procedures": [entry(supplement={"max_requests": 3, "restart_count": True})]})
    assert more.supplement == SupplementRule(3, True)
    assert plain.supplement.supply_within_days == SUPPLY_WITHIN_WORKING_DAYS == 30
    [resume] = check_catalogue(
        {"procedures": [entry(supplement={"restart_count": False, "supply_within_days": 10})]}
    )
    assert resume.supplement == SupplementRule(1, False, 10)
    assert entry_from_json(resume.to_json()) == resume  # kept in the stored catalogue as given


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"working_days": 0}, "working_days must be 1 to 365"),
        ({"working_days": True}, "working_days must be 1 to 365"),
        ({"name": " "}, "name is required"),
        ({"agency_kinds": "UBND"}, "agency_kinds must be a list of non-empty texts"),
        ({"supplement": {"max_requests": 6, "restart_count": True}}, "supplement has max_requests (1 to 5)"),
        (
            {"supplement": {"max_requests": 1, "supply_within_days": 2}},
            "supply_within_days (3 to 365 working days)",
        ),
        (
            {"supplement": {"max_requests": 1, "supply_within_days": True}},
            "supply_within_days (3 to 365 working days)",
        ),
        ({"fees": [{"name": "Lệ phí", "amount_vnd": -1}]}, "each fee has a name and amount_vnd"),
        ({"steps": [{"name": "Thẩm định", "unit": "Phòng", "hours": 121}]}, "the steps' hours (121) exceed"),
        ({"national_code": "1 234"}, "national_code is a code or null"),
        ({"documents": ["Đơn" * 200]}, "each documents item is at most 500 characters"),
    ],
)
def test_a_wrong_entry_is_named_with_its_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(CatalogueError) as refused:
        check_catalogue({"procedures": [entry(**change)]})
    assert len(refused.value.problems_en) == 1
    assert refused.value.problems_en[0].startswith("entry 1")
    assert message in refused.value.problems_en[0]
    assert refused.value.problems[0].startswith("mục 1")


def test_registration_is_flagged_never_refused() -> None:
    [catalogued] = check_catalogue(
        {"procedures": [entry(supplement={"max_requests": 2, "restart_count": True})]}
    )
    sent = Procedure("1.001234", "Cấp giấy phép xây dựng", 15)
    # No catalogue loaded: nothing to compare with, the law's default rule.
    assert check_registration(sent, None, None) == check_registration(sent, catalogued, None)
    assert check_registration(sent, None, None).flag is None
    assert check_registration(sent, None, None).rule == LAW_DEFAULT

    matching = check_registration(sent, catalogued, 4)
    assert (matching.version, matching.flag, matching.rule) == (4, None, SupplementRule(2, True))

    unknown = check_registration(Procedure("9.9", "Khác", 15), None, 4)
    assert (unknown.flag, unknown.rule) == (EventKind.PROCEDURE_UNKNOWN, LAW_DEFAULT)

    differs = check_registration(Procedure("1.001234", "Cấp giấy phép xây dựng", 10), catalogued, 4)
    assert differs.flag is EventKind.WORKING_DAYS_DIFFER
    assert differs.detail == {
        "procedure_code": "1.001234",
        "working_days": 10,
        "catalogue_version": 4,
        "catalogue_working_days": 15,
    }
    assert differs.rule == SupplementRule(2, True)  # the procedure is known: its rule applies


def test_the_supplement_limit_counts_requests_made() -> None:
    s = DossierState(
        "H21.65-261123-0001", "H21.65", "1.001234", "Cấp GPXD", 15, datetime(2026, 11, 23, tzinfo=UTC)
    )
    rules.check_supplement_limit(s, SupplementRule(1, True))  # none asked yet
    s.supplement_count = 1
    rules.check_supplement_limit(s, None)  # registered before the catalogue: no limit
    rules.check_supplement_limit(s, SupplementRule(2, True))
    with pytest.raises(rules.Broken) as broken:
        rules.check_supplement_limit(s, SupplementRule(1, True))
    assert (broken.value.rule, broken.value.refusal) == (rules.Rule.SUPPLEMENT_ONCE, Refusal.SUPPLEMENT_LIMIT)
    assert broken.value.message == (
        "a supplement was already requested for dossier H21.65-261123-0001 (1 request(s)); "
        "procedure 1.001234 allows it once, listing every missing document in one request"
    )
