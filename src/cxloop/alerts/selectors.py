"""Reads for the alert pages: the filtered list and the evidence behind one alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from cxloop.alerts.models import Alert, AlertRule, Dimension, Metric
from cxloop.alerts.series import build_series
from cxloop.alerts.services import run_scan

EVIDENCE_DAYS_BEFORE = 90
EVIDENCE_DAYS_AFTER = 30


def alert_list(*, metric: str = "", status: str = "", place: str = "") -> QuerySet[Alert]:
    """Alerts, open (then acknowledged) first, newest day first."""
    order = Case(
        When(status=Alert.Status.OPEN, then=Value(0)),
        When(status=Alert.Status.ACKNOWLEDGED, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    qs = Alert.objects.select_related("acknowledged_by").annotate(rank=order)
    if metric:
        qs = qs.filter(metric=metric)
    if status:
        qs = qs.filter(status=status)
    if place:
        qs = qs.filter(place__icontains=place)
    return qs.order_by("rank", "-day", "-id")


@dataclass(frozen=True)
class Evidence:
    days: list[dt.date]
    values: np.ndarray
    expected: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    alert_day: dt.date
    alert_value: float | None


def evidence_for(alert: Alert, *, today: dt.date | None = None) -> Evidence | None:
    """Rebuild the place's series around the alert day and rerun the scan on it (same rule
    options as when it opened), in the units shown; None when there is no data any more."""
    today = today or timezone.localdate()
    end = min(alert.day + dt.timedelta(days=EVIDENCE_DAYS_AFTER), today)
    end = max(end, alert.day)
    span = (end - alert.day).days + 1 + EVIDENCE_DAYS_BEFORE
    series = build_series(metric=alert.metric, dimension=alert.dimension, end=end, days=span,
                          place=alert.place)  # fmt: skip
    if not series.places:
        return None
    rule = alert.rule or AlertRule(metric=alert.metric, dimension=alert.dimension)
    for name in ("lam", "limit", "min_sample"):
        key = "min_count" if name == "min_sample" else name
        if key in alert.evidence:
            setattr(rule, name, alert.evidence[key])
    result = run_scan(series, rule)
    f = series.display
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.abs((result.values - result.expected) / result.point_z)[0]
    sd = np.where(np.isfinite(sd), sd, np.nan)
    expected = result.expected[0] * f
    band = rule.limit * sd * f
    index = series.days.index(alert.day)
    value = series.values[0, index]
    return Evidence(series.days, series.values[0] * f, expected, expected - band, expected + band,
                    alert.day, float(value * f) if np.isfinite(value) else None)  # fmt: skip


def evidence_links(alert: Alert) -> list[tuple[str, str]]:
    """(label key, URL) of the pages holding the raw evidence."""
    from django.utils.translation import gettext as _

    links = []
    params = {"q": alert.place}
    if alert.dimension == Dimension.CHANNEL:
        params = {"channel": alert.place}
    if alert.metric in (Metric.COMPLAINT_RATE, Metric.FIRST_RESPONSE):
        links.append((_("Cases"), f"{reverse('cases:queue', args=['all'])}?{urlencode(params)}"))
    else:
        from cxloop.surveys.models import MetricRollup

        surveys = MetricRollup.objects.filter(
            dimension=alert.dimension, value=alert.place, day=alert.day
        ).values_list("survey_id", flat=True)
        query = {"start": alert.day.isoformat(), "end": alert.day.isoformat()}
        if alert.dimension == Dimension.REGION:
            query["region"] = alert.place
        for survey_id in sorted(set(surveys)):
            url = reverse("surveys:results_comments", args=[survey_id])
            links.append((_("Survey comments"), f"{url}?{urlencode(query)}"))
    return links


def evidence_cases(alert: Alert, user, limit: int = 50) -> list:
    """The cases behind a complaint-rate / response-time alert that ``user`` may see."""
    if alert.metric not in (Metric.COMPLAINT_RATE, Metric.FIRST_RESPONSE):
        return []
    if not user.has_perm("cases.view_case"):
        return []
    from cxloop.alerts.series import _case_place, _cases
    from cxloop.cases.access import visible_cases

    ids = _cases(alert.day, alert.day, alert.place).annotate(p=_case_place(alert.dimension))
    ids = ids.filter(p=alert.place).values("pk")
    return list(visible_cases(user).filter(pk__in=ids).order_by("created_at")[:limit])
