"""The cases panel of the customer profile: the customer's cases the user may see
(``access.visible_cases``: a department handler sees only their departments' cases), with
status and next deadline, newest first, paginated."""

from __future__ import annotations

from django.core.paginator import Paginator

from cxloop.cases.access import visible_cases
from cxloop.customers.profile_panels import register_panel

PAGE_SIZE = 10
PAGE_PARAM = "cases_page"


def cases_context(request, customer) -> dict:
    cases = (
        visible_cases(request.user)
        .filter(customer=customer)
        .select_related("category", "department", "owner")
        .order_by("-created_at", "-id")
    )
    return {"page": Paginator(cases, PAGE_SIZE).get_page(request.GET.get(PAGE_PARAM))}


register_panel(
    "cases",
    template="cases/profile/_panel.html",
    context=cases_context,
    order=110,
    permission="cases.view_case",
)
