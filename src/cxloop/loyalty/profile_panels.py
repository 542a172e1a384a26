"""The loyalty panel of the customer profile: points balance, recent ledger entries (paginated),
member level and progress, and referrals made and received (read-only)."""

from __future__ import annotations

from django.core.paginator import Paginator

from cxloop.customers.profile_panels import register_panel
from cxloop.loyalty import levels, selectors
from cxloop.loyalty.referral_models import Referral

PAGE_SIZE = 10
PAGE_PARAM = "points_page"
RECENT_REFERRALS = 5


def _level(customer) -> dict:
    progress = levels.progress_of(customer=customer)
    return {"level": progress.level, "progress": levels.describe_progress(progress)}


def _referrals(customer) -> dict:
    made = Referral.objects.filter(inviter=customer).select_related("invitee")
    return {
        "referrals": list(made.order_by("-accepted_at", "-id")[:RECENT_REFERRALS]),
        "referrals_total": made.count(),
        "qualified_total": made.filter(status=Referral.Status.QUALIFIED).count(),
        "invited_by": Referral.objects.filter(invitee=customer).select_related("inviter").first(),
    }


def loyalty_context(request, customer) -> dict:
    entries = Paginator(selectors.history(customer=customer), PAGE_SIZE)
    return {
        "summary": selectors.points_summary(customer=customer),
        "entries": entries.get_page(request.GET.get(PAGE_PARAM)),
        **_level(customer),
        **_referrals(customer),
    }


register_panel(
    "loyalty",
    template="loyalty/profile/_panel.html",
    context=loyalty_context,
    order=20,
    permission="loyalty.view_points",
)
