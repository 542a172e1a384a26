"""/api/v1/segments: a customer's scores (tier, RFM, VIP, stage, CLV, P(alive), churn risk and
reasons, tier history) and the customers per tier. Definitions: docs/retention.md."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema

from cxloop.api import queries
from cxloop.api.schemas import ErrorOut
from cxloop.core.roles import require
from cxloop.customers.models import Customer
from cxloop.retention import selectors
from cxloop.retention.models import CustomerScore
from cxloop.retention.reasons import render_reasons

router = Router(tags=["segments"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
PERMISSION = "retention.view_customerscore"
HISTORY_MAX = 50
NOT_FOUND = _("No customer with this external id.")
NOT_SCORED = _("This customer has not been scored yet.")


class TierChangeOut(Schema):
    from_tier: str | None = Field(description="Null on the customer's first scoring.")
    to_tier: str
    changed_at: dt.datetime


class ChurnReasonOut(Schema):
    key: str
    params: dict
    text: str = Field(description="The reason in words, in the request's language.")


class CustomerSegmentOut(Schema):
    external_id: str
    tier: str = Field(description="high_value, potential, basic or churn_warning.")
    rfm: str = Field(description="R, F and M scores, e.g. 545 (1 worst … 5 best).")
    r_score: int
    f_score: int
    m_score: int
    is_vip: bool
    stage: str = Field(description="new, never_ordered, active, lapsed or inactive.")
    recency_days: int | None
    frequency: int = Field(description="Counted orders (paid, shipped, delivered, completed).")
    monetary_fen: int
    yearly_spend_fen: int
    clv_fen: int | None = Field(description="Discounted expected spend over the CLV horizon.")
    p_alive: float | None
    expected_purchases_90d: float | None
    churn_risk: float | None
    churn_reasons: list[ChurnReasonOut]
    derived_tags: list[str]
    computed_at: dt.datetime
    tier_history: list[TierChangeOut] = Field(description=f"Newest first, at most {HISTORY_MAX}.")


class TierCountOut(Schema):
    tier: str
    customers: int
    share: float | None
    vip: int
    average_clv_fen: int | None


class SegmentSummaryOut(Schema):
    scored_as_of: dt.datetime | None = Field(description="Null before the first scoring run.")
    customers: int
    tiers: list[TierCountOut]


def _reasons(score: CustomerScore) -> list[dict]:
    stored = [r for r in score.churn_reasons or [] if isinstance(r, dict) and "key" in r]
    told = []
    for reason in stored:
        text = render_reasons([reason])  # [] for a reason this version cannot tell
        told.append({"key": reason["key"], "params": reason.get("params") or {},
                     "text": text[0] if text else ""})  # fmt: skip
    return told


@router.get(
    "/customers/{external_id}",
    response={200: CustomerSegmentOut, **ERRORS},
    summary="Read a customer's segment and scores",
)
def customer_segment(request: HttpRequest, external_id: str):
    require(request.auth, PERMISSION)
    customer = queries.get_or_404(Customer.objects, NOT_FOUND, external_id=external_id)
    score = queries.get_or_404(CustomerScore.objects, NOT_SCORED, customer=customer)
    history = selectors.tier_history(customer)[:HISTORY_MAX]
    fields = {name: getattr(score, name, None) for name in CustomerSegmentOut.model_fields}
    fields |= {
        "external_id": customer.external_id,
        "churn_reasons": _reasons(score),
        "derived_tags": list(score.derived_tags or []),
        "tier_history": [
            {"from_tier": c.from_tier or None, "to_tier": c.to_tier, "changed_at": c.changed_at}
            for c in history
        ],
    }
    return fields


@router.get("/summary", response={200: SegmentSummaryOut, **ERRORS}, summary="Customers per tier")
def segment_summary(request: HttpRequest):
    require(request.auth, PERMISSION)
    run = selectors.latest_done_run()
    rows = selectors.tier_rows(run)
    return {
        "scored_as_of": run.as_of if run else None,
        "customers": sum(row.customers for row in rows),
        "tiers": [
            {
                "tier": row.tier,
                "customers": row.customers,
                "share": row.share,
                "vip": row.vip,
                "average_clv_fen": row.average_clv_fen,
            }
            for row in rows
        ],
    }
