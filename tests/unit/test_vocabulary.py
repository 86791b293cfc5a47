"""One vocabulary: every value people read has its Vietnamese label in domain/vocabulary.py.

Every enum the code defines is either labelled there or named below as one nobody reads (with why), so a
new enum, or a new member of a labelled one, fails here until it has its words."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from enum import Enum

import pytest

from domain import vocabulary
from tests.support.text_scan import raw_identifiers

PACKAGES = ("domain", "activities", "workflows", "db", "api", "pages", "web", "admin", "zalo")

# Enums no person reads as such: each is shown through another's label, or never shown.
UNREAD = {
    "domain.dvcqg.SyncStep": "internal steps of a portal sync; people see the transitions they apply",
    "domain.dvcqg.Channel": "the portal's KenhThucHien codes, mapped to IntakeChannel on arrival",
    "domain.zns_templates.ParamKind": "its values are the Vietnamese kinds Zalo's template form lists",
    "db.desk.ListKind": "the desk's list slugs; their titles are pages/labels.LIST_TITLES_VI",
    "zalo.errors.ErrorClass": "how Zalo's codes are retried; people see NoticeFailure",
    "domain.limits.Counted": "what the rate limits count; people see only the wait they are told",
    "domain.linking.Asks": "what a citizen's OA message asks for; the replies are the linking texts",
    "db.imports.Written": "how an import's write went; people read the import's report (IMPORT_REFUSALS)",
}


def all_enums() -> dict[str, type[Enum]]:
    found: dict[str, type[Enum]] = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        names = [package] + [
            f"{package}.{info.name}" for info in pkgutil.walk_packages(module.__path__) if not info.ispkg
        ]
        for name in names:
            if name.endswith("__main__"):
                continue
            for _, value in inspect.getmembers(importlib.import_module(name), inspect.isclass):
                if issubclass(value, Enum) and value.__module__ == name:
                    found[f"{name}.{value.__name__}"] = value
    return found


def test_every_enum_is_labelled_or_named_as_unread() -> None:
    enums = all_enums()
    labelled = {f"{e.__module__}.{e.__name__}" for e in vocabulary.LABELS}
    assert set(enums) - labelled - set(UNREAD) == set()
    assert set(UNREAD) <= set(enums)  # no stale entries
    assert not labelled & set(UNREAD)


@pytest.mark.parametrize("enum", list(vocabulary.LABELS), ids=lambda e: e.__name__)
def test_every_member_has_a_vietnamese_label(enum: type[Enum]) -> None:
    labels = vocabulary.LABELS[enum]
    assert set(labels) == set(enum)
    for member in enum:
        text = labels[member]
        assert text.strip()
        assert text == text.strip()
        assert raw_identifiers(text) == [], (member, text)


def test_raw_values_are_labelled_from_the_vocabulary_and_unknown_ones_neutrally() -> None:
    from domain.status import DossierStatus

    assert vocabulary.label_of(DossierStatus, "fee_due") == vocabulary.STATUS[DossierStatus.FEE_DUE]
    assert vocabulary.label_of(DossierStatus, None) == "—"
    assert raw_identifiers(vocabulary.label_of(DossierStatus, "made_up_status")) == []
