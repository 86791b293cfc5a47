"""The rating link's token, the rating rules and the satisfaction figures (pure; the real path is in
tests/pages/test_pages_rating.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain import rating_link, rules
from domain.dossier import DossierState, Rating
from domain.refusals import Refusal
from domain.rules import Rule
from domain.satisfaction import summarize
from domain.status import DossierStatus

KEY = b"k" * 32
CODE = "H21.65-261123-0001"
UNTIL = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)


def test_a_token_names_its_dossier_and_expiry_and_only_this_key_made_it() -> None:
    token = rating_link.sign(KEY, CODE, UNTIL)
    assert rating_link.read(KEY, token) == rating_link.RatingLink(CODE, UNTIL)
    assert rating_link.read(b"x" * 32, token) is None
    code, expiry, signature = token.rsplit(".", 2)
    later = rating_link.sign(KEY, CODE, UNTIL + timedelta(days=30)).rsplit(".", 2)[1]
    for forged in (
        f"{code}.{later}.{signature}",  # a later expiry under the old signature
        f"H21.65-261123-0002.{expiry}.{signature}",  # another dossier
        f"{code}.{expiry}.{signature[:-1]}A",
        "",
        "a.b.c",
        token + "x" * 200,
    ):
        assert rating_link.read(KEY, forged) is None, forged


def _returned(**changes: object) -> DossierState:
    s = DossierState(CODE, "H21.65", "1.001234", "Cấp phép", 15, UNTIL - timedelta(days=20))
    fields: dict[str, object] = {"status": DossierStatus.RETURNED, "rate_by": UNTIL} | changes
    return replace(s, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("state", "rating", "now", "rule", "refusal"),
    [
        (_returned(), Rating(0, "", UNTIL), UNTIL, Rule.RATING_SCORE, Refusal.INVALID_COMMAND),
        (_returned(), Rating(6, "", UNTIL), UNTIL, Rule.RATING_SCORE, Refusal.INVALID_COMMAND),
        (_returned(), Rating(3, "x" * 1001, UNTIL), UNTIL, Rule.RATING_COMMENT, Refusal.INVALID_COMMAND),
        (_returned(rate_by=None), Rating(3, "", UNTIL), UNTIL, Rule.RATING_NOT_OPEN, Refusal.RATING_REFUSED),
        (
            _returned(status=DossierStatus.REJECTED),
            Rating(3, "", UNTIL),
            UNTIL,
            Rule.RATING_NOT_OPEN,
            Refusal.RATING_REFUSED,
        ),
        (
            _returned(rating=Rating(5, "", UNTIL)),
            Rating(3, "", UNTIL),
            UNTIL,
            Rule.RATING_ONCE,
            Refusal.RATING_REFUSED,
        ),
        (
            _returned(),
            Rating(3, "", UNTIL),
            UNTIL + timedelta(seconds=1),
            Rule.RATING_CLOSED,
            Refusal.RATING_REFUSED,
        ),
    ],
)
def test_ratings_the_dossier_does_not_take(
    state: DossierState, rating: Rating, now: datetime, rule: Rule, refusal: Refusal
) -> None:
    with pytest.raises(rules.Broken) as broken:
        rules.check_rating(state, rating, now)
    assert (broken.value.rule, broken.value.refusal) == (rule, refusal)


def test_a_rating_in_the_window_is_taken() -> None:
    rules.check_rating(_returned(), Rating(1, "x" * 1000, UNTIL), UNTIL)


def test_satisfaction_counts_4_and_5_as_satisfied_over_the_ratings_given() -> None:
    figures = summarize(
        [("H21.65", "", 5), ("H21.65", "", 4), ("H21.65", "", 2), ("H21.65", "", 1), ("H22.01", "", 3)]
    )
    [h21, h22] = figures
    assert (h21.key, h21.rated, h21.average, h21.satisfied, h21.low) == ("H21.65", 4, 3.0, 2, 2)
    assert h21.satisfied_share == 0.5
    assert (h22.rated, h22.satisfied, h22.satisfied_share, h22.low) == (1, 0, 0.0, 0)
    assert summarize([]) == []
