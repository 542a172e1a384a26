"""KANO results and key-driver analysis of a survey's cleaned responses (reads only).

Both read the answers JSON of the submitted, not excluded responses with ONE ``values_list``
query per call (one text column per answer part) and hand the value tuples to NumPy and
``cxloop.insights``: ``kano_results`` classifies each KANO pair question, ``driver_analysis``
splits the R² of an overall score (NPS or overall satisfaction) among the service dimensions and
places them in the importance–performance matrix. See docs/understand.md, "KANO and key drivers
in the console".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from django.db.models import QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.insights import drivers, kano
from cxloop.surveys import selectors
from cxloop.surveys.definition import (
    KANO_ANSWERS,
    DefinitionError,
    Question,
    iter_questions,
    parse_definition,
)
from cxloop.surveys.models import Survey

MIN_COMPLETE = 30  # complete answers a driver analysis needs before it is shown
METHODS = ("shapley", "relative_weights")
METHOD_LABELS = {"shapley": _("Shapley regression"), "relative_weights": _("Relative weights")}
KANO_CODES = {answer: code for code, answer in enumerate(KANO_ANSWERS, start=1)}
CATEGORY_LABELS = {
    "A": _("Attractive"),
    "O": _("One-dimensional"),
    "M": _("Must-be"),
    "I": _("Indifferent"),
    "R": _("Reverse"),
    "Q": _("Questionable"),
}
QUADRANT_LABELS = {
    drivers.FIX_FIRST: _("Fix first"),
    drivers.KEEP_UP: _("Keep up"),
    drivers.LOW_PRIORITY: _("Low priority"),
    drivers.POSSIBLE_OVERKILL: _("Possible overkill"),
}
TARGET_TYPES = ("nps", "rating")


class AnalysisInputError(ValueError):
    """A bad choice of target, dimensions or method; ``errors`` maps a field to messages."""

    def __init__(self, errors: Mapping[str, list]):
        self.errors = {name: [str(m) for m in messages] for name, messages in errors.items()}
        super().__init__(self.errors)


@dataclass(frozen=True)
class Filters:
    """Which cleaned responses count: submitted in [start, end), in a region/store/channel."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None
    region: str = ""
    store: str = ""
    channel: str = ""

    @classmethod
    def from_days(cls, *, start: dt.date | None = None, end: dt.date | None = None, **groups):
        """Local calendar days, both included (the forms' From/To)."""

        def midnight(day: dt.date | None, name: str, days: int = 0) -> dt.datetime | None:
            if day is None:
                return None
            try:
                moment = dt.datetime.combine(day + dt.timedelta(days), dt.time.min)
                return timezone.make_aware(moment).astimezone(dt.UTC)  # UTC must exist too
            except (OverflowError, ValueError):
                raise AnalysisInputError({name: [_("Out of range.")]}) from None

        clean = {name: value or "" for name, value in groups.items()}
        return cls(start=midnight(start, "start"), end=midnight(end, "end", 1), **clean)


def responses(*, survey: Survey, filters: Filters | None = None) -> QuerySet:
    """The cleaned (submitted, not excluded) responses the filters keep."""
    filters = filters or Filters()
    qs = selectors.counted_responses(survey=survey, start=filters.start, end=filters.end)
    groups = {name: getattr(filters, name) for name in ("region", "store", "channel")}
    return qs.filter(**{name: value for name, value in groups.items() if value})


def _questions(survey: Survey) -> list[Question]:
    source = survey.current_version.definition if survey.current_version_id else survey.draft
    try:
        return list(iter_questions(parse_definition(source)))
    except DefinitionError:
        return []


def _label(value, fallback: str) -> str:
    return selectors.label(value) or fallback


def _as_codes(rows: list[tuple], width: int, mapping) -> np.ndarray:
    """The value tuples as a (rows, width) float array; ``mapping(text)`` gives a number or NaN.

    Each distinct text is mapped once (a scale has at most 11), so no per-answer Python work.
    """
    if not rows:
        return np.empty((0, width))
    texts = np.array(rows, dtype=object).astype(str)
    distinct, inverse = np.unique(texts, return_inverse=True)
    values = np.array([mapping(text) for text in distinct], dtype=np.float64)
    return values[inverse].reshape(texts.shape)


# --- KANO ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KanoFeature:
    """One KANO question's evaluation; ``category`` is "" while nobody answered both parts."""

    key: str
    feature: str
    n: int
    counts: dict[str, int]
    category: str
    better: float | None
    worse: float | None
    total_strength: float | None
    category_strength: float | None

    @property
    def category_label(self):
        return CATEGORY_LABELS.get(self.category, "")


def kano_questions(survey: Survey) -> list[Question]:
    return [q for q in _questions(survey) if q.type == "kano"]


def kano_results(*, survey: Survey, filters: Filters | None = None) -> list[KanoFeature]:
    """Each KANO question of the survey, in priority order (must-be gaps first, then
    one-dimensional, then attractive, …); unanswered features last."""
    questions = kano_questions(survey)
    if not questions:
        return []
    columns = {}
    for i, question in enumerate(questions):
        for part in ("functional", "dysfunctional"):
            columns[f"kano_{i}_{part}"] = KeyTextTransform(
                part, KeyTransform(question.key, "answers")
            )
    qs = responses(survey=survey, filters=filters).order_by().annotate(**columns)
    rows = list(qs.values_list(*columns))
    codes = _as_codes(rows, len(columns), lambda text: KANO_CODES.get(text, np.nan))
    evaluated, empty = {}, []
    for i, question in enumerate(questions):
        pairs = codes[:, 2 * i : 2 * i + 2]
        pairs = pairs[np.isfinite(pairs).all(axis=1)].astype(np.intp)
        if len(pairs):
            evaluated[question.key] = kano.evaluate(pairs)
        else:
            empty.append(question)
    by_key = {q.key: q for q in questions}
    features = [_kano_feature(by_key[k], evaluated[k]) for k in kano.priority_order(evaluated)]
    return features + [_kano_feature(q, None) for q in empty]


def _kano_feature(question: Question, result: kano.KanoResult | None) -> KanoFeature:
    name = _label(question.feature, question.key)
    if result is None:
        counts = dict.fromkeys(kano.CATEGORIES, 0)
        return KanoFeature(question.key, name, 0, counts, "", None, None, None, None)
    return KanoFeature(
        key=question.key,
        feature=name,
        n=result.n,
        counts=result.counts,
        category=result.category,
        better=result.better,
        worse=result.worse,
        total_strength=result.total_strength,
        category_strength=result.category_strength,
    )


# --- key drivers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleItem:
    """A numeric answer: an NPS/rating/effort question, or one row of a matrix (``dims.speed``)."""

    key: str
    label: str
    type: str
    role: str | None
    low: int
    high: int
    question_key: str
    row_key: str | None = None

    def column(self):
        answer = KeyTransform(self.question_key, "answers")
        if self.row_key is None:
            return KeyTextTransform(self.question_key, "answers")
        return KeyTextTransform(self.row_key, answer)

    def rescale(self, mean: float) -> float:
        """A mean on this item's scale as 0–100, so dimensions on other scales compare."""
        return (mean - self.low) / (self.high - self.low) * 100


def scale_items(survey: Survey) -> list[ScaleItem]:
    items = []
    for q in _questions(survey):
        text = _label(q.text, q.key)
        points = q.points
        if q.type in ("nps", "rating", "effort") and len(points) > 1:
            items.append(ScaleItem(q.key, text, q.type, q.role, points[0], points[-1], q.key))
        elif q.type == "matrix" and len(points) > 1:
            for row in q.rows or []:
                label = _label(row.label, row.key)
                items.append(
                    ScaleItem(
                        f"{q.key}.{row.key}", label, "matrix", q.role, 1, points[-1], q.key, row.key
                    )
                )
    return items


def target_items(items: list[ScaleItem]) -> list[ScaleItem]:
    """What an overall score can be: an NPS or rating question."""
    return [item for item in items if item.type in TARGET_TYPES]


def default_target(items: list[ScaleItem]) -> ScaleItem | None:
    """The NPS question, else the overall-satisfaction (csat) one, else the first NPS/rating."""
    targets = target_items(items)
    for role in ("nps", "csat"):
        found = next((item for item in targets if item.role == role), None)
        if found:
            return found
    return targets[0] if targets else None


def default_dimensions(items: list[ScaleItem], target: ScaleItem) -> list[ScaleItem]:
    """Matrix rows and rating questions without a headline role (those are outcomes too);
    failing that, every other numeric answer."""
    others = [item for item in items if item.key != target.key]
    plain = [item for item in others if item.type == "matrix" or item.role is None]
    return plain or others


@dataclass(frozen=True)
class DriverRow:
    key: str
    label: str
    importance: float  # % of R², the rows add up to 100
    share: float  # of R² itself, the rows add up to r_squared
    mean: float  # on the item's own scale
    performance: float  # the mean rescaled to 0–100
    quadrant: str
    beta: float
    correlation: float

    @property
    def quadrant_label(self):
        return QUADRANT_LABELS[self.quadrant]


@dataclass(frozen=True)
class DriverReport:
    """``rows`` sorted fix-first first (then keep up, low priority, possible overkill; by
    importance inside); empty with ``message`` set when the analysis cannot run."""

    method: str
    target: ScaleItem | None
    dimensions: list[ScaleItem]
    rows: list[DriverRow]
    n: int
    n_dropped: int
    r_squared: float | None
    importance_split: float | None
    performance_split: float | None
    message: str = ""
    min_n: int = MIN_COMPLETE


def _pick(survey, target_key, dimension_keys, method) -> tuple[ScaleItem, list[ScaleItem]]:
    """The target and dimensions asked for (or the defaults); AnalysisInputError per field."""
    errors: dict[str, list] = {}
    items = scale_items(survey)
    by_key = {item.key: item for item in items}
    if method not in METHODS:
        errors["method"] = [_("Choose shapley or relative_weights.")]
    if target_key:
        target = by_key.get(target_key)
        if target is None or target.type not in TARGET_TYPES:
            errors["target"] = [_("Not an NPS or rating question of this survey.")]
    else:
        target = default_target(items)
        if target is None:
            errors["target"] = [_("This survey has no NPS or rating question to explain.")]
    dimensions = []
    if dimension_keys:
        unknown = [key for key in dimension_keys if key not in by_key]
        if unknown:
            message = _("Not a rating question or matrix row of this survey: %(keys)s.")
            errors["dimensions"] = [message % {"keys": ", ".join(unknown)}]
        dimensions = [by_key[key] for key in dict.fromkeys(dimension_keys) if key in by_key]
    elif target is not None:
        dimensions = default_dimensions(items, target)
    if target is not None:
        dimensions = [item for item in dimensions if item.key != target.key]
        if not dimensions and "dimensions" not in errors:
            errors["dimensions"] = [_("Choose at least one dimension other than the target.")]
    if method == "shapley" and len(dimensions) > drivers.MAX_SHAPLEY_PREDICTORS:
        limit = drivers.MAX_SHAPLEY_PREDICTORS
        errors["method"] = [
            _("Shapley regression takes at most %(max)d dimensions; use relative weights.")
            % {"max": limit}
        ]
    if errors:
        raise AnalysisInputError(errors)
    return target, dimensions


def _ratings(survey, filters, target, dimensions) -> np.ndarray:
    """(responses, 1 + dimensions) ratings, NaN where missing or off the item's scale."""
    items = [target, *dimensions]
    columns = {f"rating_{i}": item.column() for i, item in enumerate(items)}
    qs = responses(survey=survey, filters=filters).order_by().annotate(**columns)
    rows = list(qs.values_list(*columns))
    low, high = min(item.low for item in items), max(item.high for item in items)
    allowed = {str(point): float(point) for point in range(low, high + 1)}
    data = _as_codes(rows, len(items), lambda text: allowed.get(text, np.nan))
    lows = np.array([item.low for item in items])
    highs = np.array([item.high for item in items])
    data[(data < lows) | (data > highs)] = np.nan
    return data


def driver_analysis(
    *,
    survey: Survey,
    target_key: str | None = None,
    dimension_keys: list[str] | None = None,
    filters: Filters | None = None,
    method: str = "shapley",
) -> DriverReport:
    """Importance (% of R²) and performance (mean, 0–100) of each dimension for the target,
    with its importance–performance quadrant. Listwise deletion of incomplete responses."""
    target, dimensions = _pick(survey, target_key, dimension_keys, method)
    data = _ratings(survey, filters, target, dimensions)
    complete = np.isfinite(data).all(axis=1)
    n, dropped = int(complete.sum()), int((~complete).sum())
    report = {"method": method, "target": target, "dimensions": dimensions}
    empty = {"rows": [], "n": n, "n_dropped": dropped, "r_squared": None}
    empty |= {"importance_split": None, "performance_split": None}
    if n < MIN_COMPLETE:
        message = _("Key-driver analysis needs at least %(min)d complete answers; %(n)d so far.")
        return DriverReport(**report, **empty, message=message % {"min": MIN_COMPLETE, "n": n})
    rows = data[complete]
    flat = [
        item.label
        for item, spread in zip([target, *dimensions], rows.std(axis=0), strict=True)
        if not spread
    ]
    if flat:
        message = _("Every answer to %(names)s is the same, so it cannot explain anything.")
        return DriverReport(**report, **empty, message=message % {"names": ", ".join(flat)})
    run = drivers.shapley if method == "shapley" else drivers.relative_weights
    try:
        result = run(rows[:, 1:], rows[:, 0], names=[item.key for item in dimensions])
    except ValueError:  # perfectly collinear dimensions: the only failure left after the checks
        message = _("Some dimensions move in lockstep (one is a combination of others); drop one.")
        return DriverReport(**report, **empty, message=str(message))
    return _report(report, dimensions, rows, result, dropped)


def _report(report: dict, dimensions, rows: np.ndarray, result, dropped: int) -> DriverReport:
    means = rows[:, 1:].mean(axis=0)
    performance = {item.key: item.rescale(m) for item, m in zip(dimensions, means, strict=True)}
    ipa = drivers.importance_performance(result.rescaled, performance)
    found = [
        DriverRow(
            key=item.key,
            label=item.label,
            importance=result.rescaled[item.key],
            share=result.raw[item.key],
            mean=float(mean),
            performance=performance[item.key],
            quadrant=ipa.quadrants[item.key],
            beta=result.beta[item.key],
            correlation=result.correlation[item.key],
        )
        for item, mean in zip(dimensions, means, strict=True)
    ]
    found.sort(key=lambda row: (drivers.QUADRANTS.index(row.quadrant), -row.importance))
    return DriverReport(
        **report,
        rows=found,
        n=result.n,
        n_dropped=dropped,
        r_squared=result.r_squared,
        importance_split=ipa.importance_split,
        performance_split=ipa.performance_split,
    )
