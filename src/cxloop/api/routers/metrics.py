"""/api/v1/metrics: NPS, CSAT, CES or CSI with 95 % intervals, by period and segment."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from cxloop.api.errors import InvalidInput
from cxloop.api.schemas import ErrorOut, ValidationErrorOut
from cxloop.core.roles import require
from cxloop.surveys import selectors
from cxloop.surveys.models import Survey

router = Router(tags=["metrics"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}


class MetricFilters(Schema):
    metric: Literal["nps", "csat", "ces", "csi"]
    survey: str | None = Field(None, description="Survey key; all surveys when omitted.")
    group_by: Literal["region", "store", "channel", "age_band", "segment"] | None = None
    period: Literal["week", "month"] | None = Field(None, description="Weeks start on Monday.")
    from_: dt.date | None = Field(None, alias="from", description="First day, Asia/Shanghai.")
    to: dt.date | None = Field(None, description="Last day (inclusive).")
    include_excluded: bool = Field(False, description="Count responses flagged by cleaning.")


class MetricRowOut(Schema):
    period: dt.date | None = Field(description="First day of the week or month.")
    group: str | None
    value: float | None = Field(description="Null without answers.")
    n: int
    ci_low: float | None
    ci_high: float | None
    diff: float | None = Field(description="Value minus the value of the whole period.")
    p_value: float | None = Field(description="Two-sided z-test against the other groups.")
    significant: bool = Field(description="p < 0.05 with at least 30 answers on both sides.")


class MetricsOut(Schema):
    metric: str
    survey: str | None
    group_by: str | None
    period: str | None
    overall: MetricRowOut
    rows: list[MetricRowOut]


def _day_start(day: dt.date | None, field: str) -> dt.datetime | None:
    if day is None:
        return None
    try:
        return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    except (OverflowError, ValueError):
        raise InvalidInput({field: [_("Out of range.")]}) from None


def _window(filters: MetricFilters) -> tuple[dt.datetime | None, dt.datetime | None]:
    if filters.from_ and filters.to and filters.from_ > filters.to:
        raise InvalidInput({"to": [_("Must not be before from.")]})
    if filters.to == dt.date.max:
        raise InvalidInput({"to": [_("Out of range.")]})
    end = filters.to + dt.timedelta(days=1) if filters.to else None
    return _day_start(filters.from_, "from"), _day_start(end, "to")


def _survey(key: str | None) -> Survey | None:
    if key is None:
        return None
    survey = Survey.objects.filter(key=key).first() if "\x00" not in key else None
    if survey is None:
        raise InvalidInput({"survey": [_("No survey with this key.")]})
    return survey


@router.get("", response={200: MetricsOut, **ERRORS}, summary="A metric by period and group")
def get_metrics(request: HttpRequest, filters: Query[MetricFilters]):
    require(request.auth, "surveys.view_results")
    start, end = _window(filters)
    table = selectors.metric_table(
        metric=filters.metric,
        survey=_survey(filters.survey),
        group_by=filters.group_by,
        period=filters.period,
        start=start,
        end=end,
        include_excluded=filters.include_excluded,
    )
    return {
        "metric": filters.metric,
        "survey": filters.survey,
        "group_by": filters.group_by,
        "period": filters.period,
        "overall": table.overall,
        "rows": table.rows,
    }
