"""The REST API, version 1: ``/api/v1/``, documented at ``/api/v1/docs``."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from ninja import NinjaAPI
from ninja.renderers import JSONRenderer
from ninja.responses import NinjaJSONEncoder

from cxloop.api.auth import API_AUTH
from cxloop.api.errors import JsonParser, install_error_handlers
from cxloop.api.routers import (
    alerts,
    case_clusters,
    case_metrics,
    cases,
    customers,
    events,
    health,
    ideas,
    members,
    metrics,
    orders,
    points,
    referrals,
    segments,
    surveys,
)

DESCRIPTION = """
Push customers, orders and business events into cxloop and read them back; import and export
survey definitions, invite customers to surveys, read responses and NPS/CSAT/CES/CSI metrics by
period and segment.

**Authentication**: `Authorization: Bearer cxl_…` with a token created under
*Administration → API tokens*. A token acts with its user's permissions. Signed-in console
users may also call the read-only (GET) endpoints from this page.

**Amounts** are integer fen (1/100 yuan): ¥128.50 is `12850`. Times without an offset are
Asia/Shanghai.

**Errors** are JSON: `{"detail": "…"}`; invalid input (422) also has
`"errors": {"field.path": ["message", …]}`.
"""


class LocalTimeEncoder(NinjaJSONEncoder):
    """Times go out in the organisation's zone (+08:00), the way people read them."""

    def default(self, o):
        if isinstance(o, dt.datetime) and timezone.is_aware(o):
            return timezone.localtime(o).isoformat()
        return super().default(o)


class Renderer(JSONRenderer):
    encoder_class = LocalTimeEncoder
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    title="cxloop API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api_v1",
    auth=API_AUTH,
    parser=JsonParser(),
    renderer=Renderer(),
    docs_url="/docs",
    openapi_url="/openapi.json",
)
install_error_handlers(api)
api.add_router("/health", health.router)
api.add_router("/customers", customers.router)
api.add_router("/orders", orders.router)
api.add_router("/events", events.router)
api.add_router("/surveys", surveys.router)
api.add_router("/metrics", metrics.router)
# Before the cases router: its /cases/{number} would otherwise take /cases/metrics|clusters.
api.add_router("/cases/metrics", case_metrics.router)
api.add_router("/cases/clusters", case_clusters.router)
api.add_router("/cases", cases.router)
api.add_router("/segments", segments.router)
api.add_router("/referrals", referrals.router)
api.add_router("/members", members.router)
api.add_router("/points", points.router)
api.add_router("/ideas", ideas.router)
api.add_router("/alerts", alerts.router)
