"""Daily KPI series per place: SQL aggregates grouped by (place, day) → NumPy arrays.

Definitions (docs/alerts.md):

* complaint rate: cases created that day (merged duplicates left out) over the orders placed that
  day (cancelled left out), both by the case's / order's store or region (falling back to the
  customer's); shown per 1,000 orders; counts = orders. Orders carry no complaint channel, so by
  channel the denominator is all orders of the day.
* CSAT: top-2-box share (the two best points of each survey's scale), from the surveys' daily
  rollup; counts = CSAT answers.
* NPS: promoters % minus detractors %, i.e. the mean of +100 / 0 / −100, from the same rollup;
  counts = NPS answers.
* first-response time: mean wall-clock minutes from creation to first response of the cases
  created that day and already responded to; counts = those cases.

Scan values are proportions for rates (``kind="rate"``); ``Series.display`` turns them into the
unit people read (per 1,000 orders, %).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db.models import Case as CaseWhen
from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf

from cxloop.alerts.models import Dimension, Metric
from cxloop.cases.models import Case
from cxloop.customers.models import Order
from cxloop.surveys import rollups
from cxloop.surveys.models import MetricRollup, Survey
from cxloop.surveys.selectors import LocalDay, scale_for

HISTORY_DAYS = 365
KIND = {
    Metric.COMPLAINT_RATE: "rate",
    Metric.CSAT: "rate",
    Metric.NPS: "mean",
    Metric.FIRST_RESPONSE: "mean",
}
DISPLAY = {Metric.COMPLAINT_RATE: 1000.0, Metric.CSAT: 100.0, Metric.NPS: 1.0}
# The direction that is bad news: what "worse only" scans for (``scan(side=…)``).
WORSE_SIDE = {
    Metric.COMPLAINT_RATE: "up",
    Metric.CSAT: "down",
    Metric.NPS: "down",
    Metric.FIRST_RESPONSE: "up",
}


@dataclass(frozen=True)
class Series:
    metric: str
    dimension: str
    places: list[str]
    days: list[dt.date]
    values: np.ndarray  # (places, days), NaN where there is no value
    counts: np.ndarray  # (places, days), 0 where there is no value

    @property
    def kind(self) -> str:
        return KIND[self.metric]

    @property
    def display(self) -> float:
        """Factor from scan values to the unit shown (per 1,000 orders, %, NPS points, min)."""
        return DISPLAY.get(self.metric, 1.0)

    def row(self, place: str) -> int:
        return self.places.index(place)


def day_range(end: dt.date, days: int = HISTORY_DAYS) -> list[dt.date]:
    return [end - dt.timedelta(days=days - 1 - i) for i in range(days)]


def build_series(
    *, metric: str, dimension: str, end: dt.date, days: int = HISTORY_DAYS, place: str = ""
) -> Series:
    """The metric's daily series for every place of ``dimension`` (or only ``place``),
    over the ``days`` days ending with ``end`` (local days)."""
    if metric not in Metric.values or dimension not in Dimension.values:
        raise ValueError(f"unknown metric/dimension {metric!r}/{dimension!r}")
    labels = day_range(end, days)
    builder = {
        Metric.COMPLAINT_RATE: _complaint_rate,
        Metric.CSAT: _csat,
        Metric.NPS: _nps,
        Metric.FIRST_RESPONSE: _first_response,
    }[metric]
    if metric in (Metric.CSAT, Metric.NPS):
        rollups.refresh_dirty()  # fold changed days in first: the rollup is then exact
    numerators, denominators = builder(dimension, labels[0], end, place)
    return _arrays(metric, dimension, labels, numerators, denominators, place)


def _arrays(metric, dimension, labels, numerators: dict, denominators: dict, only="") -> Series:
    """Fill (place x day) arrays from {(place, day): number} maps; value = num / denominator."""
    places = sorted({p for p, _ in denominators if p and (not only or p == only)})
    index = {p: i for i, p in enumerate(places)}
    column = {d: j for j, d in enumerate(labels)}
    num = np.zeros((len(places), len(labels)))
    counts = np.zeros((len(places), len(labels)))
    for (place, day), n in denominators.items():
        if place in index and day in column:
            counts[index[place], column[day]] = n
    for (place, day), x in numerators.items():
        if place in index and day in column:
            num[index[place], column[day]] = x
    with np.errstate(invalid="ignore", divide="ignore"):
        values = np.where(counts > 0, num / counts, np.nan)
    if KIND[metric] == "rate":  # more cases than orders on a tiny day is still "all of them"
        values = np.clip(values, 0.0, 1.0)
    return Series(metric, dimension, places, labels, values, counts)


def _as_date(value) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _grouped(qs, place_expr, day_expr, **aggregates) -> list[dict]:
    rows = qs.order_by().annotate(place=place_expr, d=day_expr).values("place", "d")
    return list(rows.annotate(**aggregates))


def _local_window(start: dt.date, end: dt.date) -> dict:
    return {"gte": rollups.day_start(start), "lt": rollups.day_start(end + dt.timedelta(days=1))}


def _case_place(dimension: str):
    if dimension == Dimension.CHANNEL:
        return F("channel")
    return Coalesce(NullIf(F(dimension), Value("")), F(f"customer__{dimension}"), Value(""))


def _cases(start, end, place):
    window = _local_window(start, end)
    qs = Case.objects.filter(created_at__gte=window["gte"], created_at__lt=window["lt"])
    return qs.exclude(status=Case.Status.MERGED)


def _complaint_rate(dimension, start, end, place) -> tuple[dict, dict]:
    cases = _cases(start, end, place).annotate(p=_case_place(dimension))
    if place:
        cases = cases.filter(p=place)
    case_rows = _grouped(cases, F("p"), LocalDay("created_at"), n=Count("id"))
    window = _local_window(start, end)
    orders = Order.objects.filter(placed_at__gte=window["gte"], placed_at__lt=window["lt"])
    orders = orders.exclude(status=Order.Status.CANCELLED)
    if dimension == Dimension.CHANNEL:
        totals = orders.order_by().annotate(d=LocalDay("placed_at")).values("d")
        per_day = {_as_date(r["d"]): r["n"] for r in totals.annotate(n=Count("id"))}
        places = {r["place"] for r in case_rows if r["place"]}
        denominators = {(p, d): n for p in places for d, n in per_day.items()}
    else:
        if dimension == Dimension.STORE:
            expr = Coalesce(NullIf(F("store"), Value("")), F("customer__store"), Value(""))
        else:  # orders have no region of their own
            expr = F("customer__region")
        order_rows = _grouped(orders, expr, LocalDay("placed_at"), n=Count("id"))
        denominators = {(r["place"], _as_date(r["d"])): r["n"] for r in order_rows}
    numerators = {(r["place"], _as_date(r["d"])): r["n"] for r in case_rows}
    return numerators, denominators


def _rollup_rows(dimension, start, end, place, **aggregates) -> list[dict]:
    qs = MetricRollup.objects.filter(dimension=dimension, day__gte=start, day__lte=end)
    if place:
        qs = qs.filter(value=place)
    return list(qs.order_by().values("value", "day").annotate(**aggregates))


def _top_two(survey_ids: Iterable[int]):
    """Top-2-box answers of each survey's CSAT scale, as one SQL expression."""
    by_scale: dict[int, list[int]] = {}
    for survey in Survey.objects.filter(pk__in=list(survey_ids)):
        by_scale.setdefault(scale_for(survey, "csat"), []).append(survey.pk)
    whens = [
        When(survey_id__in=ids, then=F(f"csat_{scale}") + F(f"csat_{scale - 1}"))
        for scale, ids in by_scale.items()
        if scale <= 10
    ]
    return CaseWhen(*whens, default=Value(0), output_field=IntegerField())


def _csat(dimension, start, end, place) -> tuple[dict, dict]:
    survey_ids = MetricRollup.objects.filter(day__gte=start, day__lte=end, csat_n__gt=0)
    survey_ids = survey_ids.values_list("survey_id", flat=True).distinct()
    rows = _rollup_rows(
        dimension, start, end, place,
        top=Sum(_top_two(set(survey_ids)), default=0), n=Sum("csat_n", default=0),
    )  # fmt: skip
    return _split(rows, "top", "n")


def _nps(dimension, start, end, place) -> tuple[dict, dict]:
    rows = _rollup_rows(
        dimension, start, end, place,
        net=Sum(F("nps_promoters") - F("nps_detractors"), default=0) * 100,
        n=Sum("nps_n", default=0),
    )  # fmt: skip
    return _split(rows, "net", "n")


def _split(rows: list[dict], numerator: str, denominator: str) -> tuple[dict, dict]:
    nums = {(r["value"], _as_date(r["day"])): r[numerator] for r in rows}
    dens = {(r["value"], _as_date(r["day"])): r[denominator] for r in rows}
    return nums, dens


def _first_response(dimension, start, end, place) -> tuple[dict, dict]:
    cases = _cases(start, end, place).filter(first_response_at__isnull=False)
    cases = cases.annotate(p=_case_place(dimension))
    if place:
        cases = cases.filter(p=place)
    waited = ExpressionWrapper(F("first_response_at") - F("created_at"), DurationField())
    rows = _grouped(cases, F("p"), LocalDay("created_at"), n=Count("id"), total=Sum(waited))
    nums = {(r["place"], _as_date(r["d"])): _minutes(r["total"]) for r in rows}
    dens = {(r["place"], _as_date(r["d"])): r["n"] for r in rows}
    return nums, dens


def _minutes(total) -> float:
    if total is None:
        return 0.0
    if isinstance(total, dt.timedelta):
        return total.total_seconds() / 60
    return float(total) / 60e6  # microseconds, where a backend returns the raw number


__all__ = ["Series", "WORSE_SIDE", "build_series", "day_range"]
