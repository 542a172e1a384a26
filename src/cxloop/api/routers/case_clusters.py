"""/api/v1/cases/clusters: what negative, reopened or major cases name more than all cases,
overall and by region, store, channel or customer tier (docs/understand.md § Low-score
clusters). The set is what the token's user may count; examples need ``cases.view_case``."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from cxloop.api.cluster_schemas import ClusterReportOut, report_out
from cxloop.api.routers.case_metrics import ERRORS, _window
from cxloop.cases import clusters
from cxloop.cases.models import Category, Channel
from cxloop.core.roles import require

router = Router(tags=["cases"])


class CaseClusterFilters(Schema):
    by: Literal["region", "store", "channel", "tier"] = "region"
    low: Literal["reopened", "negative", "major"] = Field(
        "reopened",
        description="reopened (not solved the first time), negative description, or major.",
    )
    from_: dt.date | None = Field(None, alias="from", description="First day of creation.")
    to: dt.date | None = Field(None, description="Last day (inclusive), Asia/Shanghai.")
    category: str | None = Field(None, max_length=40, description="Top-level category code.")
    channel: Channel | None = None


@router.get(
    "", response={200: ClusterReportOut, **ERRORS}, summary="Low-score clusters of the cases"
)
def get_case_clusters(request: HttpRequest, filters: Query[CaseClusterFilters]):
    require(request.auth, "cases.view_case_metrics")
    start, end = _window(filters)
    category_id = None
    if filters.category:
        category = Category.objects.filter(code=filters.category, parent__isnull=True).first()
        category_id = category.pk if category else -1  # an unknown code matches nothing
    report = clusters.case_clusters(
        user=request.auth, by=filters.by, low=filters.low, start=start, end=end,
        category_id=category_id, channel=filters.channel or "",
    )  # fmt: skip
    return report_out(report, low=filters.low)
