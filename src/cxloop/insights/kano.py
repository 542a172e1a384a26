"""KANO classification of paired survey questions, Better/Worse coefficients and priorities.

Each feature is asked twice, with the same five answers (codes 1..5)::

    1 like   2 must-be (I expect it)   3 neutral   4 live with (I can tolerate it)   5 dislike

once *functional* ("how do you feel if the service has X?") and once *dysfunctional* ("... if it
does not have X?"). The pair is looked up in the standard Kano evaluation table (Kano et al.
1984; as printed in Berger et al. 1993, "Kano's methods for understanding customer-defined
quality", Center for Quality Management Journal 2(4), table 2, and Matzler & Hinterhuber 1998,
Technovation 18(1), table 1)::

                         dysfunctional
                      1   2   3   4   5
    functional  1     Q   A   A   A   O
                2     R   I   I   I   M
                3     R   I   I   I   M
                4     R   I   I   I   M
                5     R   R   R   R   Q

A attractive, O one-dimensional, M must-be, I indifferent, R reverse, Q questionable.

``evaluate`` counts the categories over all respondents, names the most frequent one (ties by
Matzler & Hinterhuber's rule M > O > A > I, then R, then Q) and computes Berger et al.'s
customer-satisfaction coefficients ``better = (A+O)/(A+O+M+I)`` and ``worse = -(O+M)/(A+O+M+I)``.
Pure Python, no Django: see docs/understand.md.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ANSWERS",
    "CATEGORIES",
    "PRIORITY_GROUPS",
    "TABLE",
    "KanoResult",
    "classify",
    "evaluate",
    "evaluate_many",
    "priority_order",
]

ANSWERS = {1: "like", 2: "must-be", 3: "neutral", 4: "live with", 5: "dislike"}
CATEGORIES = ("A", "O", "M", "I", "R", "Q")
CATEGORY_NAMES = {
    "A": "attractive",
    "O": "one-dimensional",
    "M": "must-be",
    "I": "indifferent",
    "R": "reverse",
    "Q": "questionable",
}
# Rows: functional answer 1..5; columns: dysfunctional answer 1..5.
TABLE = (
    ("Q", "A", "A", "A", "O"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "I", "I", "I", "M"),
    ("R", "R", "R", "R", "Q"),
)
# Ties: the category with the bigger effect on perceived quality wins (Matzler & Hinterhuber).
TIE_ORDER = ("M", "O", "A", "I", "R", "Q")
# priority_order: must-be gaps hurt most, then one-dimensional, then delighters.
PRIORITY_GROUPS = ("M", "O", "A", "I", "R", "Q")

_CODE = {category: index for index, category in enumerate(CATEGORIES)}
_TABLE_CODES = np.array([[_CODE[c] for c in row] for row in TABLE], dtype=np.intp)


@dataclass(frozen=True)
class KanoResult:
    """The Kano evaluation of one feature.

    ``counts`` has every category ``A, O, M, I, R, Q`` (zeros included); ``n`` is the number of
    valid answer pairs. ``better`` is in 0..1 and ``worse`` in -1..0 (None when no respondent
    is in A, O, M or I). ``total_strength`` is the share of A + O + M among all pairs and
    ``category_strength`` the share of the winning category minus that of the runner-up
    (Berger et al.: below 0.06 the classification is not clear-cut).
    """

    counts: dict[str, int]
    category: str
    n: int
    better: float | None
    worse: float | None
    total_strength: float
    category_strength: float

    @property
    def category_name(self) -> str:
        """The category in words, e.g. "must-be"."""
        return CATEGORY_NAMES[self.category]


def _answer(value: object, which: str) -> int:
    ok = isinstance(value, (int, np.integer, float, np.floating)) and not isinstance(value, bool)
    if not ok or not 1 <= value <= 5 or value != int(value):  # NaN fails the range test
        raise ValueError(
            f"{which} answer must be one of 1 (like), 2 (must-be), 3 (neutral), 4 (live with), "
            f"5 (dislike); got {value!r}"
        )
    return int(value)


def classify(functional: object, dysfunctional: object) -> str:
    """The Kano category (one of ``A O M I R Q``) of one respondent's answer pair."""
    return TABLE[_answer(functional, "functional") - 1][_answer(dysfunctional, "dysfunctional") - 1]


def _codes(pairs: Iterable) -> np.ndarray:
    """Category codes (indexes into CATEGORIES) of the answer pairs, validated."""
    if isinstance(pairs, (str, bytes, Mapping)):
        raise ValueError("pairs must be a sequence of (functional, dysfunctional) answers")
    arr = np.asarray(pairs if hasattr(pairs, "__array__") else list(pairs), dtype=object)
    if arr.size == 0:
        raise ValueError("no answer pairs given: at least one is required")
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(
            "pairs must be (functional, dysfunctional) pairs, e.g. [(1, 5), (2, 5)]; "
            f"got shape {arr.shape}"
        )
    try:
        numbers = arr.astype(np.float64)
    except (TypeError, ValueError):
        numbers = None
    refused = (bool, np.bool_, str, bytes)  # numpy would turn True into 1.0 and "3" into 3.0
    valid = numbers is not None and not any(isinstance(v, refused) for v in arr.flat)
    if valid:
        valid = bool(np.all((numbers >= 1) & (numbers <= 5) & (numbers == np.floor(numbers))))
    if not valid:  # slow path only to name the offending value
        for functional, dysfunctional in arr:
            classify(functional, dysfunctional)
    answers = numbers.astype(np.intp) - 1
    return _TABLE_CODES[answers[:, 0], answers[:, 1]]


def _from_counts(counts: np.ndarray) -> KanoResult:
    a, o, m, i = (int(counts[_CODE[c]]) for c in "AOMI")
    n = int(counts.sum())
    by_category = {c: int(counts[_CODE[c]]) for c in CATEGORIES}
    category = max(TIE_ORDER, key=lambda c: (by_category[c], -TIE_ORDER.index(c)))
    shares = sorted(counts / n, reverse=True)
    base = a + o + m + i
    return KanoResult(
        counts=by_category,
        category=category,
        n=n,
        better=(a + o) / base if base else None,
        worse=-(o + m) / base if base else None,
        total_strength=(a + o + m) / n,
        category_strength=float(shares[0] - shares[1]),
    )


def evaluate(pairs: Iterable) -> KanoResult:
    """Evaluate one feature from its (functional, dysfunctional) answer pairs."""
    codes = _codes(pairs)
    return _from_counts(np.bincount(codes, minlength=len(CATEGORIES)))


def evaluate_many(features: Mapping[Hashable, Iterable]) -> dict[Hashable, KanoResult]:
    """``evaluate`` for each feature of a mapping ``{feature: pairs}``, in the same order."""
    if not isinstance(features, Mapping):
        raise TypeError("features must be a mapping of feature -> answer pairs")
    results = {}
    for feature, pairs in features.items():
        try:
            results[feature] = evaluate(pairs)
        except ValueError as error:
            raise ValueError(f"feature {feature!r}: {error}") from None
    return results


def _strength(result: KanoResult) -> float:
    """Sort key inside a priority group: how much the feature moves satisfaction."""
    better = result.better or 0.0
    worse = -(result.worse or 0.0)
    if result.category == "M":
        return worse  # the dissatisfaction avoided by fixing it
    if result.category == "O":
        return better + worse  # it moves satisfaction both ways
    return better  # A, I (and R, Q): the delight it may add


def priority_order(results: Mapping[Hashable, KanoResult]) -> list[Hashable]:
    """Features in the order to work on them.

    Must-be first (largest ``|worse|`` first), then one-dimensional (largest ``better + |worse|``),
    then attractive (largest ``better``), then indifferent, reverse and questionable. Equal keys
    keep the input order.
    """
    if not isinstance(results, Mapping):
        raise TypeError("results must be a mapping of feature -> KanoResult")
    items = list(results.items())
    ranked = sorted(
        range(len(items)),
        key=lambda k: (PRIORITY_GROUPS.index(items[k][1].category), -_strength(items[k][1]), k),
    )
    return [items[k][0] for k in ranked]
