"""Satisfaction figures from citizens' ratings (1–5), per agency or procedure, as the statistics page shows.

Pure. What is counted (docs/citizen-services.md): every rating given (one per dossier), its average, and
the share satisfied, a rating of SATISFIED_MIN or more ("hài lòng" and "rất hài lòng"), which is how the
satisfaction component of the service-quality index of Decision 766/QĐ-TTg counts it: satisfied ratings
over ratings given. Dossiers without a rating are not counted either way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from domain.limits import LOW_RATING_MAX, SATISFIED_MIN


@dataclass(frozen=True)
class Satisfaction:
    key: str  # an agency code, or a procedure code
    name: str  # the procedure's name (an agency's is the directory's, shown by the page)
    rated: int
    average: float
    satisfied: int
    low: int  # at or below LOW_RATING_MAX: each notified the agency head

    @property
    def satisfied_share(self) -> float:
        return self.satisfied / self.rated if self.rated else 0.0


def summarize(ratings: Iterable[tuple[str, str, int]]) -> list[Satisfaction]:
    """(key, name, score) rows → one figure per key, most ratings first (then by key)."""
    scores: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for key, name, score in ratings:
        scores.setdefault(key, []).append(score)
        names.setdefault(key, name)
    figures = [
        Satisfaction(
            key,
            names[key],
            len(given),
            sum(given) / len(given),
            sum(1 for s in given if s >= SATISFIED_MIN),
            sum(1 for s in given if s <= LOW_RATING_MAX),
        )
        for key, given in scores.items()
    ]
    return sorted(figures, key=lambda f: (-f.rated, f.key))
