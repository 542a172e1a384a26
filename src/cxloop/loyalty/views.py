"""Console pages of the points ledger: the lookup, a customer's points (balance, owed, lots,
history, adjustments, redeeming a reward), the approval queue, the rewards catalogue, the earn
rules and campaigns with their edit forms.

Thin views: one permission check, one service call, render. The services check the
permission again and do the work (``services.py``, ``catalogue.py``).
"""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxloop.core.roles import require
from cxloop.customers.models import Customer
from cxloop.loyalty import catalogue, selectors, services
from cxloop.loyalty.adjusting import APPROVE_PERM, approval_threshold
from cxloop.loyalty.forms import (
    AdjustmentForm,
    CampaignForm,
    DecideForm,
    EarnRuleForm,
    LookupForm,
    RedeemForm,
    RewardForm,
    attach_loyalty_error,
)
from cxloop.loyalty.models import Adjustment, Campaign, EarnRule, Reward

VIEW, CHANGE = "loyalty.view_points", "loyalty.change_points"
PAGE_SIZE = 50


def _error_text(error: services.LoyaltyError) -> str:
    texts = [error.message, *(m for ms in error.errors.values() for m in ms)]
    return " ".join(dict.fromkeys(str(text) for text in texts))


# --- lookup and a customer's points ---------------------------------------------------------


@login_required
def index(request):
    """Find a customer by external id or phone; links to the catalogue, rules and queue."""
    require(request.user, VIEW)
    form = LookupForm(request.GET or None)
    if form.is_valid():
        q = form.cleaned_data["q"].strip()
        found = Customer.objects.filter(Q(external_id=q) | Q(phone=q)).first()
        if found is not None:
            return redirect("loyalty:customer", customer_id=found.pk)
        form.add_error("q", _("No customer with this external id or phone."))
    context = {"form": form, "pending": selectors.pending_adjustments().count(),
               "nav_active": "loyalty"}  # fmt: skip
    return render(request, "loyalty/points/index.html", context)


def _customer_context(request, customer: Customer, **forms) -> dict:
    history = Paginator(selectors.history(customer=customer), PAGE_SIZE)
    key = secrets.token_urlsafe(16)
    return {
        "customer": customer,
        "summary": selectors.points_summary(customer=customer),
        "lots": selectors.open_lots(customer=customer)[:100],
        "page": history.get_page(request.GET.get("page")),
        "adjustments": selectors.adjustments_of(customer=customer)[:20],
        "adjust_form": forms.get("adjust_form") or AdjustmentForm(initial={"key": key}),
        "redeem_form": forms.get("redeem_form") or RedeemForm(initial={"key": key}),
        "threshold": approval_threshold(),
        "can_change": request.user.has_perm(CHANGE),
        "nav_active": "loyalty",
    }


@login_required
def customer_points(request, customer_id: int):
    require(request.user, VIEW)
    customer = get_object_or_404(Customer, pk=customer_id)
    return render(request, "loyalty/points/customer.html", _customer_context(request, customer))


@login_required
@require_POST
def adjust(request, customer_id: int):
    """Request an adjustment: applied at once up to the threshold, else queued."""
    require(request.user, VIEW, CHANGE)
    customer = get_object_or_404(Customer, pk=customer_id)
    form = AdjustmentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            row = services.request_adjustment(
                customer=customer, points=data["points"], reason=data["reason"],
                idempotency_key=data["key"] or secrets.token_urlsafe(16), actor=request.user,
            )  # fmt: skip
        except services.LoyaltyError as error:
            attach_loyalty_error(form, error)
        else:
            _adjusted_message(request, row)
            return redirect("loyalty:customer", customer_id=customer.pk)
    context = _customer_context(request, customer, adjust_form=form)
    return render(request, "loyalty/points/customer.html", context, status=400)


def _adjusted_message(request, row: Adjustment) -> None:
    values = {"points": f"{row.points:+d}"}
    if row.status == Adjustment.Status.APPROVED:
        messages.success(request, _("Adjustment of %(points)s points applied.") % values)
    else:
        messages.info(request, _("Adjustment of %(points)s points sent for approval.") % values)


@login_required
@require_POST
def redeem(request, customer_id: int):
    require(request.user, VIEW, CHANGE)
    customer = get_object_or_404(Customer, pk=customer_id)
    form = RedeemForm(request.POST)
    if form.is_valid():
        reward = form.cleaned_data["reward"]
        try:
            services.redeem_reward(
                customer=customer, reward=reward, actor=request.user,
                idempotency_key=form.cleaned_data["key"] or secrets.token_urlsafe(16),
            )  # fmt: skip
        except services.LoyaltyError as error:
            attach_loyalty_error(form, error)
        else:
            messages.success(request, _("%(reward)s redeemed.") % {"reward": reward.name})
            return redirect("loyalty:customer", customer_id=customer.pk)
    context = _customer_context(request, customer, redeem_form=form)
    return render(request, "loyalty/points/customer.html", context, status=400)


# --- the approval queue ---------------------------------------------------------------------


@login_required
def approvals(request):
    require(request.user, VIEW, APPROVE_PERM)
    page = Paginator(selectors.pending_adjustments(), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "threshold": approval_threshold(), "nav_active": "loyalty"}
    return render(request, "loyalty/points/approvals.html", context)


@login_required
@require_POST
def decide(request, pk: int):
    require(request.user, VIEW, APPROVE_PERM)
    row = get_object_or_404(Adjustment.objects.select_related("account__customer"), pk=pk)
    form = DecideForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    approve = request.POST.get("decision") == "approve"
    try:
        services.decide_adjustment(adjustment=row, actor=request.user, approve=approve, note=note)
    except services.LoyaltyError as error:
        messages.error(request, f"{row.account.customer}: {_error_text(error)}")
    else:
        text = _("Approved") if approve else _("Rejected")
        messages.success(request, f"{row.account.customer}: {text} {row.points:+d}")
    return redirect("loyalty:approvals")


# --- rewards, earn rules, campaigns -----------------------------------------------------------


@login_required
def rewards(request):
    require(request.user, VIEW)
    context = {
        "rewards": selectors.rewards(include_inactive=True),
        "can_edit": catalogue.may_edit(request.user, Reward),
        "nav_active": "loyalty",
    }
    return render(request, "loyalty/points/rewards.html", context)


@login_required
def rules(request):
    require(request.user, VIEW)
    context = {
        "rules": selectors.earn_rules(),
        "campaigns": selectors.campaigns()[:200],
        "can_edit_rules": catalogue.may_edit(request.user, EarnRule),
        "can_edit_campaigns": catalogue.may_edit(request.user, Campaign),
        "nav_active": "loyalty",
    }
    return render(request, "loyalty/points/rules.html", context)


EDITORS = {
    "rule": (EarnRule, EarnRuleForm, "loyalty:rules"),
    "campaign": (Campaign, CampaignForm, "loyalty:rules"),
    "reward": (Reward, RewardForm, "loyalty:rewards"),
}


@login_required
def edit(request, kind: str, pk: int | None = None):
    """Create (no ``pk``) or change an earn rule, campaign or reward."""
    model, form_class, back = EDITORS[kind]
    require(request.user, *catalogue.PERMS[model])
    instance = get_object_or_404(model, pk=pk) if pk else model()
    form = form_class(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        catalogue.save_config(instance=instance, values=form.cleaned_data, actor=request.user)
        messages.success(request, _("Saved."))
        return redirect(back)
    context = {"form": form, "instance": instance, "kind": kind, "back": reverse(back),
               "model_name": model._meta.verbose_name, "nav_active": "loyalty"}  # fmt: skip
    status = 400 if request.method == "POST" else 200
    return render(request, "loyalty/points/edit.html", context, status=status)
