"""The result of an experiment: per variant n and successes or mean and SD from SQL
aggregates over the assigned units' outcomes, then ``insights.abtest`` and a translated verdict.

Outcomes of a case: CSAT top-2-box of the answer to its first post-resolution survey (the
invitation keyed ``case-survey:<case>:1``, see ``cases/loop.py``), resolved at first contact
(resolved after exactly one agent reply and never reopened), reopened (at least once), CES of
that same answer, handling minutes (resolved_at - created_at). Rates count only cases resolved
at least once. A customer experiment reads the cases of its customers in the population opened
from the moment of the assignment until the stop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db.models import (
    CharField,
    Count,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Concat
from scipy import stats as sps

from cxloop.cases.models import Case
from cxloop.cases.selectors import Epoch
from cxloop.experiments.models import PROPORTION_METRICS, Assignment, Experiment
from cxloop.experiments.verdict import needed_before_data, sentence
from cxloop.insights import abtest

M = Experiment.Metric
LOWER_IS_BETTER = (M.REOPENED, M.HANDLING_MINUTES)
Z95 = float(sps.norm.ppf(0.975))


@dataclass(frozen=True)
class VariantRow:
    variant: str
    name: str
    n: int
    successes: int | None  # proportions
    value: float | None  # rate in %, or the mean
    sd: float | None  # means
    low: float | None  # 95 % interval of the value (Wilson / t)
    high: float | None


@dataclass(frozen=True)
class Result:
    experiment: Experiment
    kind: str  # "proportion" or "mean"
    rows: list[VariantRow]
    test: abtest.ProportionTest | abtest.MeanTest | None  # None until both variants have data
    verdict: str  # an abtest code, or "too_small" before there is data
    sentence: str
    needed_n: int
    scale: float = 1.0  # 100 for rates: the test's numbers times this are display units
    extra: dict = field(default_factory=dict)

    @property
    def difference(self):
        return None if self.test is None else self.test.difference * self.scale

    @property
    def ci(self):
        if self.test is None:
            return None
        return self.test.ci_low * self.scale, self.test.ci_high * self.scale

    @property
    def effect_size(self):
        if self.test is None:
            return None
        if self.kind == "proportion":
            return self.test.cohens_h
        return self.test.hedges_g

    @property
    def effect_label(self) -> str:
        return "Cohen's h" if self.kind == "proportion" else "Hedges' g"


# --- units and outcomes ----------------------------------------------------------------------


def assigned_cases(experiment: Experiment) -> QuerySet[Case]:
    """The cases whose outcomes count, each annotated with its ``variant``."""
    from cxloop.experiments.services import population_filter

    assignments = Assignment.objects.filter(experiment=experiment)
    if experiment.unit == Experiment.Unit.CASE:
        variant = assignments.filter(case_id=OuterRef("pk")).values("variant")[:1]
        qs = Case.objects.filter(pk__in=assignments.values("case_id"))
        return qs.annotate(variant=Subquery(variant)).order_by()
    variant = assignments.filter(
        customer_id=OuterRef("customer_id"), assigned_at__lte=OuterRef("created_at")
    ).values("variant")[:1]
    qs = Case.objects.filter(**population_filter(experiment), customer__isnull=False)
    if experiment.stopped_at:
        qs = qs.filter(created_at__lte=experiment.stopped_at)
    return qs.annotate(variant=Subquery(variant)).filter(variant__isnull=False).order_by()


def _survey_answer(column: str, score: str) -> Subquery:
    """``column`` of the first submitted answer to the case's first post-resolution survey
    that has a ``score``."""
    from cxloop.surveys.models import Response

    key = Concat(Value("case-survey:"), Cast(OuterRef("pk"), CharField()), Value(":1"))
    answers = Response.objects.filter(
        invitation__dedupe_key=key, submitted_at__isnull=False, excluded=False,
        **{f"{score}__isnull": False},
    )  # fmt: skip
    return Subquery(answers.order_by("submitted_at").values(column)[:1])


def _proportion_counts(experiment: Experiment, qs: QuerySet[Case]) -> dict[str, tuple[int, int]]:
    """(successes, n) per variant."""
    if experiment.metric == M.CSAT_TOP2:
        return _top_two_counts(qs)
    qs = qs.filter(Q(resolved_at__isnull=False) | Q(reopen_count__gt=0))
    if experiment.metric == M.REOPENED:
        success = Q(reopen_count__gt=0)
    else:
        success = Q(reopen_count=0, resolved_at__isnull=False, agent_response_count=1)
    rows = qs.values("variant").annotate(n=Count("pk"), x=Count("pk", filter=success))
    return {row["variant"]: (row["x"], row["n"]) for row in rows}


def _top_two_counts(qs: QuerySet[Case]) -> dict[str, tuple[int, int]]:
    """Top-2-box of each survey's own CSAT scale: grouped by survey and score in SQL."""
    from cxloop.surveys.models import Survey
    from cxloop.surveys.selectors import scale_for

    qs = qs.annotate(
        score=_survey_answer("csat", "csat"), survey=_survey_answer("survey_id", "csat")
    )
    rows = list(qs.filter(score__isnull=False).values("variant", "survey", "score")
                .annotate(n=Count("pk")))  # fmt: skip
    scales = {s.pk: scale_for(s, "csat") for s in Survey.objects.filter(
        pk__in={row["survey"] for row in rows})}  # fmt: skip
    counts: dict[str, list[int]] = {}
    for row in rows:
        total = counts.setdefault(row["variant"], [0, 0])
        total[1] += row["n"]
        if row["score"] >= scales.get(row["survey"], 5) - 1:
            total[0] += row["n"]
    return {variant: (x, n) for variant, (x, n) in counts.items()}


def _mean_summaries(experiment: Experiment, qs: QuerySet[Case]) -> dict[str, tuple]:
    """(n, sum, sum of squares) per variant."""
    if experiment.metric == M.CES_MEAN:
        qs = qs.annotate(value=Cast(_survey_answer("ces", "ces"), FloatField()))
        qs = qs.filter(value__isnull=False)
    else:
        minutes = (Epoch(F("resolved_at")) - Epoch(F("created_at"))) / 60.0
        qs = qs.filter(resolved_at__isnull=False)
        qs = qs.annotate(value=ExpressionWrapper(minutes, output_field=FloatField()))
    rows = qs.values("variant").annotate(
        n=Count("pk"), s=Sum("value"),
        ss=Sum(ExpressionWrapper(F("value") * F("value"), output_field=FloatField())),
    )  # fmt: skip
    return {row["variant"]: (row["n"], row["s"] or 0.0, row["ss"] or 0.0) for row in rows}


# --- the result ------------------------------------------------------------------------------


def results(*, experiment: Experiment) -> Result:
    qs = assigned_cases(experiment)
    if experiment.metric in PROPORTION_METRICS:
        return _proportion_result(experiment, _proportion_counts(experiment, qs))
    return _mean_result(experiment, _mean_summaries(experiment, qs))


def _proportion_result(experiment: Experiment, counts) -> Result:
    (xa, na), (xb, nb) = counts.get("A", (0, 0)), counts.get("B", (0, 0))
    rows = [_rate_row(experiment, "A", xa, na), _rate_row(experiment, "B", xb, nb)]
    higher = experiment.metric not in LOWER_IS_BETTER
    min_effect = experiment.min_effect / 100 if experiment.min_effect else None
    test = None
    if na and nb:
        test = abtest.compare_proportions(xa, na, xb, nb, min_effect=min_effect,
                                          higher_is_better=higher)  # fmt: skip
        need = test.needed_n
    else:
        need = needed_before_data(min_effect, baseline=xa / na if na else None)
    return _result(experiment, "proportion", rows, test, need, 100.0)


def _rate_row(experiment, variant: str, x: int, n: int) -> VariantRow:
    low = high = rate = None
    if n:
        rate = 100 * x / n
        p, z2 = x / n, Z95**2
        centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
        low, high = 100 * max(0.0, centre - half), 100 * min(1.0, centre + half)
    return VariantRow(variant, experiment.variant_name(variant), n, x, rate, None, low, high)


def _mean_result(experiment: Experiment, sums) -> Result:
    summaries, rows = {}, []
    for variant in ("A", "B"):
        n, s, ss = sums.get(variant, (0, 0.0, 0.0))
        mean = s / n if n else None
        sd = math.sqrt(max(0.0, (ss - s * s / n) / (n - 1))) if n > 1 else None
        low = high = None
        if sd is not None:
            half = float(sps.t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
            low, high = mean - half, mean + half
            summaries[variant] = abtest.MeanSummary(mean, sd, n)
        rows.append(VariantRow(variant, experiment.variant_name(variant), n, None, mean, sd,
                               low, high))  # fmt: skip
    test = None
    if len(summaries) == 2:
        higher = experiment.metric not in LOWER_IS_BETTER
        test = abtest.compare_means(summaries["A"], summaries["B"], higher_is_better=higher,
                                    min_effect=experiment.min_effect or None)  # fmt: skip
        need = test.needed_n
    else:
        need = needed_before_data(None)
    return _result(experiment, "mean", rows, test, need, 1.0)


def _result(experiment, kind, rows, test, need, scale) -> Result:
    verdict = test.verdict if test is not None else abtest.TOO_SMALL
    text = sentence(experiment, kind, rows, test, need, scale)
    return Result(experiment, kind, rows, test, verdict, text, need, scale)
