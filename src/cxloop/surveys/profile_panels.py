"""The survey answers panel of the customer profile: the customer's submitted responses with
their scores, newest first, paginated, linking to the survey's results (read-only)."""

from __future__ import annotations

from django.core.paginator import Paginator

from cxloop.customers.profile_panels import register_panel
from cxloop.surveys.models import Response

PAGE_SIZE = 10
PAGE_PARAM = "answers_page"


def answers_context(request, customer) -> dict:
    answers = (
        Response.objects.filter(customer=customer, submitted_at__isnull=False)
        .select_related("survey")
        .order_by("-submitted_at", "-id")
    )
    page = Paginator(answers, PAGE_SIZE).get_page(request.GET.get(PAGE_PARAM))
    return {"page": page, "can_see_results": request.user.has_perm("surveys.view_results")}


register_panel(
    "surveys",
    template="surveys/profile/_panel.html",
    context=answers_context,
    order=120,
    permission="surveys.view_response",
)
