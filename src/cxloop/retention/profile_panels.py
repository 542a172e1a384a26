"""The retention panel of the customer profile: tier and its history, RFM, VIP, stage, CLV,
P(alive), churn risk with its reasons, and the demand tags (derived and typed by hand)."""

from __future__ import annotations

from django.core.paginator import Paginator

from cxloop.customers.profile_panels import register_panel
from cxloop.retention import selectors
from cxloop.retention.reasons import render_reasons

HISTORY_PAGE_SIZE = 10
HISTORY_PAGE = "tier_history_page"


def retention_context(request, customer) -> dict:
    score = selectors.score_of(customer)
    history = Paginator(selectors.tier_history(customer), HISTORY_PAGE_SIZE)
    derived = list(score.derived_tags) if score else []
    return {
        "score": score,
        "history": history.get_page(request.GET.get(HISTORY_PAGE)),
        "history_param": HISTORY_PAGE,
        "reasons": render_reasons(score.churn_reasons) if score else [],
        "derived_tags": derived,
        "manual_tags": [tag for tag in customer.tags or [] if tag not in derived],
    }


register_panel(
    "retention",
    template="retention/profile/_panel.html",
    context=retention_context,
    order=10,
    permission="retention.view_customerscore",
)
