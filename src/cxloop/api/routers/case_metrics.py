"""/api/v1/cases/metrics: first-contact resolution, repeats, complaint rate, working times,
SLA compliance and backlog, overall and by group. Definitions: docs/cases.md § Metrics."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema

from cxloop.api.errors import InvalidInput
from cxloop.api.schemas import ErrorOut, ValidationErrorOut
from cxloop.cases import selectors
from cxloop.core.roles import require

router = Router(tags=["cases"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}
Metric = Literal[
    "fcr", "repeat_rate", "complaint_rate", "first_response_time", "resolution_time",
    "sla_compliance", "backlog",
]  # fmt: skip
GroupBy = Literal["department", "owner", "category", "region", "channel", "month"]


class CaseMetricFilters(Schema):
    metric: Metric
    group_by: GroupBy | None = Field(
        None, description="owner: the agent's username; month: YYYY-MM of creation."
    )
    from_: dt.date | None = Field(None, alias="from", description="First day of creation.")
    to: dt.date | None = Field(None, description="Last day (inclusive), Asia/Shanghai.")


class CaseMetricRowOut(Schema):
    group: str | None = Field(description='Null on overall rows; "" for none (no department…).')
    label: str
    value: float | None = Field(
        description="Percent (fcr, repeat_rate, sla_compliance), cases per 1,000 orders "
        "(complaint_rate), mean working seconds (first_response_time, resolution_time), mean "
        "age in seconds of the open cases (backlog); null when n is 0."
    )
    n: int = Field(description="What the value is taken over (the denominator).")
    count: int = Field(description="What is counted (the numerator).")
    target: str | None = Field(None, description="sla_compliance: target kind; null = all.")
    buckets: dict[str, int] | None = Field(
        None, description="backlog: open cases aged lt_1d, 1_3d, 3_7d, gt_7d."
    )


class CaseMetricsOut(Schema):
    metric: str
    unit: str = Field(description="percent, per_1000_orders, working_seconds or seconds.")
    group_by: str | None
    overall: list[CaseMetricRowOut] = Field(
        description="One row; sla_compliance: all targets, then one row per target kind."
    )
    rows: list[CaseMetricRowOut]


def _moment(day: dt.date, field: str) -> dt.datetime:
    """Local midnight of ``day``; a day whose midnight has no UTC instant is a field error."""
    try:
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
        moment.astimezone(dt.UTC)  # the database stores UTC: 0001-01-01 +08:00 has none
    except (OverflowError, ValueError):
        raise InvalidInput({field: [_("Out of range.")]}) from None
    return moment


def _window(filters: CaseMetricFilters) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[from 00:00, the day after to 00:00) in the organisation's time zone."""
    if filters.from_ and filters.to and filters.from_ > filters.to:
        raise InvalidInput({"to": [_("Must not be before from.")]})
    start = _moment(filters.from_, "from") if filters.from_ else None
    if filters.to is None:
        return start, None
    if filters.to == dt.date.max:
        raise InvalidInput({"to": [_("Out of range.")]})
    return start, _moment(filters.to + dt.timedelta(days=1), "to")


@router.get("", response={200: CaseMetricsOut, **ERRORS}, summary="A case metric by group")
def get_case_metrics(request: HttpRequest, filters: Query[CaseMetricFilters]):
    """Cases created in the window; a department handler's figures cover their departments."""
    require(request.auth, "cases.view_case_metrics")
    start, end = _window(filters)
    table = selectors.metric_table(
        metric=filters.metric,
        group_by=filters.group_by,
        start=start,
        end=end,
        cases=selectors.metric_scope(request.auth),
    )
    return {
        "metric": table.metric,
        "unit": table.unit,
        "group_by": table.group_by,
        "overall": table.overall,
        "rows": table.rows,
    }
