"""Survey results as SQL aggregates: metrics by period and segment, distributions, comments.

Each metric is ONE grouped query over ``Response`` that returns counts per group (NPS: category
counts; CSAT/CES: a histogram over the scale; CSI: n, Σx, Σx²). Those counts go to
``cxloop.insights.counts``, which applies the library's formulas, intervals and group-vs-rest
tests, so no answer row ever travels to Python. By default only submitted, not excluded
responses count.
"""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db.models import Avg, Count, DateField, F, FloatField, Func, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate, TruncMonth, TruncWeek
from django.utils import timezone
from django.utils.translation import get_language

from cxloop.insights import counts
from cxloop.insights.metrics import Crosstab
from cxloop.surveys import rollups
from cxloop.surveys.choice_counts import option_counts, respondent_count
from cxloop.surveys.definition import text_for
from cxloop.surveys.models import (
    ROLLUP_MAX_SCALE,
    Invitation,
    MetricRollup,
    Response,
    RollupDirtyDay,
    Survey,
)

METRICS = ("nps", "csat", "ces", "csi")
GROUP_FIELDS = ("region", "store", "channel", "age_band", "segment")
PERIODS = ("week", "month")
DISTRIBUTION_TYPES = ("single", "rating", "nps", "effort")
DEFAULT_SCALES = {"csat": 5, "ces": 7}
SCORE_BANDS = {
    "detractor": Q(nps__lte=6),
    "passive": Q(nps__gte=7, nps__lte=8),
    "promoter": Q(nps__gte=9),
}
MIN_N = 30  # smallest group (and rest) that a significance mark is shown for


# --- periods in the organisation's time zone ---------------------------------------------------


@cache
def _fixed_utc_offset_hours() -> int | None:
    """The zone's offset in whole hours if it has no daylight saving (Asia/Shanghai: 8)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    year = dt.date.today().year
    offsets = {
        dt.datetime(y, m, 1, tzinfo=zone).utcoffset() for y in (year - 2, year) for m in (1, 7)
    }
    offset = offsets.pop() if len(offsets) == 1 else None
    if offset is None or offset.total_seconds() % 3600:
        return None
    return int(offset.total_seconds() // 3600)


class _NativeOnSqlite:
    """Django truncates datetimes on SQLite with a Python function per row; for a zone without
    daylight saving, SQLite's own date() does the same ten times faster."""

    modifiers = ""

    def as_sqlite(self, compiler, connection, **extra):
        hours = _fixed_utc_offset_hours()
        if hours is None:
            return self.as_sql(compiler, connection, **extra)
        sql, params = compiler.compile(self.lhs)
        modifiers = ", ".join(filter(None, (f"'{hours:+d} hours'", self.modifiers)))
        return f"date({sql}, {modifiers})", params


class LocalDay(_NativeOnSqlite, TruncDate):
    """The submission's calendar day in the organisation's time zone."""

    def __init__(self, expression: str):
        super().__init__(expression, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


class LocalMonth(_NativeOnSqlite, TruncMonth):
    modifiers = "'start of month'"


class LocalWeek(_NativeOnSqlite, TruncWeek):
    modifiers = "'-6 days', 'weekday 1'"  # the Monday on or before the day


def period_start(period: str):
    """Expression: first day (a date) of the submission's week or month, local time."""
    cls = {"week": LocalWeek, "month": LocalMonth}[period]
    return cls(
        "submitted_at", tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE), output_field=DateField()
    )


# --- which responses --------------------------------------------------------------------------


def counted_responses(
    *,
    survey: Survey | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_excluded: bool = False,
) -> QuerySet:
    """Submitted responses (not excluded unless asked) of a survey, submitted in [start, end)."""
    qs = Response.objects.filter(submitted_at__isnull=False)
    if not include_excluded:
        qs = qs.filter(excluded=False)
    if survey is not None:
        qs = qs.filter(survey=survey)
    if start is not None:
        qs = qs.filter(submitted_at__gte=start)
    if end is not None:
        qs = qs.filter(submitted_at__lt=end)
    return qs


def _questions(survey: Survey | None) -> list[dict]:
    """Questions of the survey's current version (or draft), straight from the JSON."""
    if survey is None:
        return []
    definition = survey.current_version.definition if survey.current_version else survey.draft
    pages = definition.get("pages") if isinstance(definition, dict) else None
    return [
        question
        for page in pages or []
        if isinstance(page, dict)
        for question in page.get("questions") or []
        if isinstance(question, dict) and isinstance(question.get("key"), str)
    ]


def label(value) -> str:
    """A question text or label (plain, or translations) in the reader's language."""
    return text_for(value, get_language() or "zh-hans", "zh-hans") if value else ""


def role_question(survey: Survey | None, role: str) -> dict | None:
    return next((q for q in _questions(survey) if q.get("role") == role), None)


def scale_for(survey: Survey | None, metric: str) -> int:
    question = role_question(survey, metric)
    scale = question.get("scale") if question else None
    return scale if isinstance(scale, int) and scale >= 2 else DEFAULT_SCALES[metric]


# --- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MetricRow:
    """One group's metric: value and 95 % interval, and its test against the other groups."""

    period: dt.date | None
    group: str | None
    value: float | None
    n: int
    ci_low: float | None
    ci_high: float | None
    diff: float | None = None
    p_value: float | None = None
    significant: bool = False


@dataclass(frozen=True)
class MetricTable:
    metric: str
    overall: MetricRow
    rows: list[MetricRow]


def _number(value: float | None) -> float | None:
    return None if value is None or math.isnan(value) else round(value, 2)


def _aggregates(metric: str, scale: int) -> dict:
    """The per-group counts one query returns for ``metric``."""
    if metric == "nps":
        return {
            "promoters": Count("id", filter=Q(nps__gte=9)),
            "passives": Count("id", filter=Q(nps__gte=7, nps__lte=8)),
            "detractors": Count("id", filter=Q(nps__lte=6)),
        }
    if metric == "csi":
        return {"n": Count("csi"), "total": Sum("csi"), "squares": Sum(F("csi") * F("csi"))}
    return {f"s{v}": Count("id", filter=Q(**{metric: v})) for v in range(1, scale + 1)}


def _crosstab(metric: str, keys: list, rows: list[dict], scale: int) -> Crosstab:
    """The library's crosstab over the counts of ``rows`` (one dict per group)."""
    if metric == "nps":
        hist = counts.nps_histograms(
            [r["promoters"] for r in rows], [r["passives"] for r in rows],
            [r["detractors"] for r in rows],
        )  # fmt: skip
        return counts.crosstab_from_histograms("nps", keys, hist, min_n=MIN_N)
    if metric == "csi":
        moments = ([r[k] or 0 for r in rows] for k in ("n", "total", "squares"))
        return counts.crosstab_from_moments(keys, *moments, lower=0, upper=100, min_n=MIN_N)
    hist = [[r[f"s{v}"] for v in range(1, scale + 1)] for r in rows]
    return counts.crosstab_from_histograms(metric, keys, hist, scale=scale, min_n=MIN_N)


def _row(period, group, result, row=None) -> MetricRow:
    return MetricRow(
        period=period,
        group=group,
        value=_number(result.value),
        n=int(result.n),
        ci_low=_number(result.ci_low),
        ci_high=_number(result.ci_high),
        diff=_number(row.diff) if row and row.diff is not None else None,
        p_value=row.p_value if row else None,
        significant=bool(row and row.significant),
    )


def metric_table(
    *,
    metric: str,
    survey: Survey | None = None,
    group_by: str | None = None,
    period: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    include_excluded: bool = False,
) -> MetricTable:
    """``metric`` overall and per (period, group); groups are tested against the rest of their
    period (or, without a group, each period against the other periods)."""
    if metric not in METRICS or group_by not in (None, *GROUP_FIELDS) or period not in (
        None, *PERIODS,
    ):  # fmt: skip
        raise ValueError("unknown metric, group_by or period")
    scale = 0 if metric in ("nps", "csi") else scale_for(survey, metric)
    days = None if include_excluded or scale > ROLLUP_MAX_SCALE else _local_days(start, end)
    found = None
    if days is not None:
        found = _rollup_counts(metric, scale, survey, group_by, period, days)
    if found is None:  # a window that cuts days, excluded responses, a dirty backlog
        qs = counted_responses(
            survey=survey, start=start, end=end, include_excluded=include_excluded
        ).filter(**{f"{metric}__isnull": False})
        found = _counts(qs, _response_keys(group_by, period), _aggregates(metric, scale), metric)
    rows, overall_counts = found
    overall = _crosstab(metric, ["all"], [overall_counts], scale).overall
    return MetricTable(metric, _row(None, None, overall), _grouped_rows(metric, rows, scale))


def _response_keys(group_by: str | None, period: str | None) -> dict:
    keys = {"p": period_start(period)} if period else {}
    if group_by:
        keys["g"] = F(group_by)
    return keys


def _grouped(qs: QuerySet, keys: dict, aggregates: dict, present) -> QuerySet:
    """Counts per key; ``present`` (answers of the metric) > 0 keeps groups with answers only."""
    return (
        qs.order_by().values(**keys).annotate(**aggregates, present=present).filter(present__gt=0)
    )


def _counts(qs: QuerySet, keys: dict, aggregates: dict, metric: str) -> tuple[list, dict]:
    """Rows of counts per (period, group) in key order, and the overall counts."""
    if not keys:
        return [], qs.aggregate(**aggregates)
    rows = list(_grouped(qs, keys, aggregates, Count(metric)).order_by(*keys))
    # Counts add up, so the groups give the overall figure without a second scan.
    return rows, _summed(rows, aggregates)


# --- the same counts from the daily rollup ------------------------------------------------------

MAX_LIVE_DAYS = 100  # dirty days a read aggregates from raw rows before it scans raw instead


class DayPeriod(Func):
    """First day (Monday, or the 1st) of the week or month of a date column."""

    output_field = DateField()

    def __init__(self, expression: str, period: str):
        super().__init__(expression)
        self.period = period

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(DATE_TRUNC('{self.period}', {sql}) AS date)", params

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        modifiers = {"week": LocalWeek.modifiers, "month": LocalMonth.modifiers}[self.period]
        return f"date({sql}, {modifiers})", params


class _AsDate(Func):
    """A truncated local timestamp as a date, so it unions with a rollup's date (PostgreSQL)."""

    template = "CAST(%(expressions)s AS date)"
    output_field = DateField()

    def as_sqlite(self, compiler, connection, **extra):
        return compiler.compile(self.source_expressions[0])  # already 'YYYY-MM-DD' text


def _local_days(start, end) -> tuple | None:
    """[first day, stop day) of [start, end) when both are local midnights (None: open)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    days = []
    for moment in (start, end):
        local = None if moment is None or timezone.is_naive(moment) else moment.astimezone(zone)
        if moment is not None and (local is None or local.time() != dt.time.min):
            return None
        days.append(local.date() if local else None)
    return tuple(days)


def _rollup_aggregates(metric: str, scale: int) -> tuple[dict, Sum]:
    """Sums over rollup rows named like ``_aggregates``, and the metric's answer count."""
    if metric == "nps":
        names = {"promoters": "nps_promoters", "passives": "nps_passives"}
        names["detractors"] = "nps_detractors"
    elif metric == "csi":
        names = {"n": "csi_n", "total": "csi_sum", "squares": "csi_sumsq"}
    else:
        names = {f"s{v}": f"{metric}_{v}" for v in range(1, scale + 1)}
    sums = {name: Sum(column, default=0) for name, column in names.items()}
    return sums, Sum(f"{metric}_n", default=0)


def _rollup_counts(metric, scale, survey, group_by, period, days) -> tuple[list, dict] | None:
    """``_counts`` from the rollup for clean days, plus raw responses of dirty days (so figures
    are exact while the periodic refresh catches up); None when too many days are dirty."""
    rollup = MetricRollup.objects.filter(dimension=group_by or "all")
    dirty = RollupDirtyDay.objects.all()
    if survey is not None:
        rollup, dirty = rollup.filter(survey=survey), dirty.filter(survey=survey)
    if days[0]:
        rollup, dirty = rollup.filter(day__gte=days[0]), dirty.filter(day__gte=days[0])
    if days[1]:
        rollup, dirty = rollup.filter(day__lt=days[1]), dirty.filter(day__lt=days[1])
    stale = list(dirty.values_list("survey_id", "day")[: MAX_LIVE_DAYS + 1])
    if len(stale) > MAX_LIVE_DAYS:
        return None
    sums, present = _rollup_aggregates(metric, scale)
    keys = {"p": DayPeriod("day", period)} if period else {}
    if group_by:
        keys["g"] = F("value")
    if not stale and not keys:
        return [], rollup.aggregate(**sums)
    if not stale:
        return _counts_from(_grouped(rollup, keys, sums, present), keys, sums)
    rollup = rollup.exclude(_any_of(Q(survey_id=s, day=d) for s, d in stale))
    live = counted_responses(survey=survey).filter(
        _any_of(Q(survey_id=s) & rollups.submitted_on([d]) for s, d in stale),
        **{f"{metric}__isnull": False},
    )
    aggregates = _aggregates(metric, scale)
    if not keys:
        both = rollup.aggregate(**sums), live.aggregate(**aggregates)
        return [], {name: sum(part[name] or 0 for part in both) for name in aggregates}
    live_keys = _response_keys(group_by, period)
    if period:  # a date on both sides of the union
        live_keys["p"] = _AsDate(live_keys["p"])
    union = _grouped(rollup, keys, sums, present).union(
        _grouped(live, live_keys, aggregates, Count(metric)), all=True
    )
    return _counts_from(union, keys, sums)


def _any_of(conditions) -> Q:
    found = Q(pk__in=[])
    for condition in conditions:
        found |= condition
    return found


def _counts_from(qs: QuerySet, keys: dict, aggregates: dict) -> tuple[list, dict]:
    """Rows in key order; a key in both parts of a union (adjacent once sorted) is summed."""
    rows: list[dict] = []
    for row in qs.order_by(*keys):
        if rows and all(rows[-1][k] == row[k] for k in keys):
            rows[-1].update({name: (rows[-1][name] or 0) + (row[name] or 0) for name in aggregates})
        else:
            rows.append(row)
    return rows, _summed(rows, aggregates)


def _summed(rows: list[dict], aggregates: dict) -> dict:
    return {name: sum(row[name] or 0 for row in rows) for name in aggregates}


def _grouped_rows(metric: str, rows: list[dict], scale: int) -> list[MetricRow]:
    if not rows:
        return []
    if "g" not in rows[0]:  # trend only: each period against the others
        table = _crosstab(metric, [r["p"] for r in rows], rows, scale)
        return [_row(r.key[0], None, r.result, r) for r in table.rows if r.result]
    by_period: dict = defaultdict(list)
    for row in rows:
        by_period[row.get("p")].append(row)
    result = []
    for period, members in by_period.items():
        table = _crosstab(metric, [r["g"] for r in members], members, scale)
        # No result: the group's answers all lie outside the current scale (it was changed).
        result += [_row(period, r.key[0], r.result, r) for r in table.rows if r.result]
    return result


# --- other figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResponseFigures:
    submitted: int
    excluded: int
    invitations_sent: int
    invitations_answered: int

    @property
    def response_rate(self) -> float | None:
        if not self.invitations_sent:
            return None
        return round(100 * self.invitations_answered / self.invitations_sent, 1)


def response_figures(*, survey: Survey) -> ResponseFigures:
    """Submitted and excluded responses; response rate = answered / sent invitations."""
    responses = counted_responses(survey=survey, include_excluded=True).aggregate(
        submitted=Count("id", filter=Q(excluded=False)),
        excluded=Count("id", filter=Q(excluded=True)),
    )
    invitations = Invitation.objects.filter(survey=survey, sent_at__isnull=False).aggregate(
        sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False))
    )
    return ResponseFigures(
        responses["submitted"], responses["excluded"], invitations["sent"], invitations["answered"]
    )


@dataclass(frozen=True)
class DimensionScore:
    key: str
    label: object
    n: int
    mean: float | None


def dimension_scores(*, survey: Survey) -> list[DimensionScore]:
    """Mean rating per row of the survey's CSI matrix, from ``Response.dimension_scores``."""
    question = role_question(survey, "csi")
    rows = [r for r in (question or {}).get("rows") or [] if isinstance(r, dict) and r.get("key")]
    if not rows:
        return []
    aggregates = {}
    for index, row in enumerate(rows):
        rating = Cast(KeyTextTransform(row["key"], "dimension_scores"), FloatField())
        aggregates[f"m{index}"], aggregates[f"n{index}"] = Avg(rating), Count(rating)
    found = counted_responses(survey=survey).aggregate(**aggregates)
    return [
        DimensionScore(
            row["key"],
            label(row.get("label")) or row["key"],
            found[f"n{i}"],
            _number(found[f"m{i}"]),
        )
        for i, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class Distribution:
    key: str
    text: object
    type: str
    counts: list[tuple[str, int]]  # (answer value, responses), in scale/option order
    # Multiple choice only: responses that answered the question, and each option's label.
    respondents: int | None = None
    option_labels: dict[str, str] = field(default_factory=dict)

    def share(self, count: int) -> float:
        """Percent of respondents (multiple choice: the shares add up to more than 100)."""
        return round(100 * count / self.respondents, 1) if self.respondents else 0.0


def distributions(*, survey: Survey) -> list[Distribution]:
    """Counts per answer value of each single/rating/NPS/effort/multiple question."""
    found = []
    base = counted_responses(survey=survey)
    for question in _questions(survey):
        if question.get("type") == "multiple":
            found.append(_multiple_distribution(base, question))
            continue
        if question.get("type") not in DISTRIBUTION_TYPES:
            continue
        rows = (
            base.annotate(answer=KeyTextTransform(question["key"], "answers"))
            .filter(answer__isnull=False)
            .values("answer")
            .annotate(n=Count("id"))
        )
        tally = {str(r["answer"]): r["n"] for r in rows}
        order = [str(v) for v in _answer_values(question)]
        ordered = [(v, tally.pop(v, 0)) for v in order] + sorted(tally.items())
        found.append(
            Distribution(question["key"], label(question.get("text")), question["type"], ordered)
        )
    return found


def _multiple_distribution(base: QuerySet, question: dict) -> Distribution:
    """Respondents per option of a multiple-choice question, most chosen first."""
    key = question["key"]
    tally = dict(option_counts(responses=base, key=key))
    respondents = respondent_count(responses=base, key=key)
    options = [str(v) for v in _answer_values(question)]
    counts = [(v, tally.pop(v, 0)) for v in options] + list(tally.items())
    counts.sort(key=lambda pair: -pair[1])  # stable: ties keep the option order
    labels = {
        str(o["value"]): label(o.get("label")) or str(o["value"])
        for o in question.get("options") or []
        if isinstance(o, dict) and "value" in o
    }
    text = label(question.get("text"))
    return Distribution(key, text, "multiple", counts, respondents, labels)


def _answer_values(question: dict) -> list:
    kind = question.get("type")
    if kind == "nps":
        return list(range(11))
    if kind in ("rating", "effort"):
        scale = question.get("scale") or (5 if kind == "rating" else 7)
        return list(range(1, scale + 1)) if isinstance(scale, int) else []
    options = question.get("options") or []
    return [o.get("value") for o in options if isinstance(o, dict) and "value" in o]


def text_question_keys(survey: Survey) -> list[str]:
    return [q["key"] for q in _questions(survey) if q.get("type") == "text"]


def comments(
    *,
    survey: Survey,
    band: str | None = None,
    region: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> QuerySet:
    """Responses with a non-empty open-text answer, newest first (paginate the result)."""
    keys = text_question_keys(survey)
    if not keys:
        return Response.objects.none()
    has_text = Q()
    for key in keys:
        has_text |= Q(**{f"answers__{key}__isnull": False}) & ~Q(**{f"answers__{key}": ""})
    qs = counted_responses(survey=survey, start=start, end=end).filter(has_text)
    if band in SCORE_BANDS:
        qs = qs.filter(SCORE_BANDS[band])
    if region:
        qs = qs.filter(region=region)
    return qs.order_by("-submitted_at", "-id")


def flagged_responses(*, survey: Survey) -> QuerySet:
    """Responses the cleaning rules flagged: excluded ones, and restored ones for the record."""
    return (
        counted_responses(survey=survey, include_excluded=True)
        .filter(Q(excluded=True) | Q(restored_at__isnull=False))
        .select_related("restored_by")
        .order_by("-submitted_at", "-id")
    )


def regions(*, survey: Survey) -> list[str]:
    found = counted_responses(survey=survey).exclude(region="").values_list("region", flat=True)
    return sorted(set(found.distinct()))
