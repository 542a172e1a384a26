"""The customer list (search, filters, live search) and the one-page customer profile."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _

from cxloop.core.money import format_fen
from cxloop.core.pii import can_see_pii, mask_email, mask_phone
from cxloop.core.roles import require
from cxloop.customers.models import Customer
from cxloop.customers.profile_forms import CustomerEditForm
from cxloop.customers.profile_panels import TOP_ORDER, render_panels
from cxloop.customers.selectors import (
    CONSENT_LABELS,
    SORT_LABELS,
    CustomerFilters,
    age_band,
    annual_spend_by_customer,
    customer_orders,
    customer_summary,
    filter_choices,
    search_customers,
    vip_threshold_fen,
)
from cxloop.customers.services import update_customer

PAGE_SIZE = 50
ORDERS_PAGE_SIZE = 20
RESULTS_ID = "customer-results"


@dataclass(frozen=True)
class CustomerRow:
    """What one list row shows; phone is already masked for users without PII access."""

    customer: Customer
    phone: str
    annual_spend: str
    is_vip: bool


def _filters_from(params) -> CustomerFilters:
    return CustomerFilters(
        q=params.get("q", "")[:100],
        region=params.get("region", "")[:64],
        store=params.get("store", "")[:64],
        consent=params.get("consent", ""),
        tag=params.get("tag", "")[:50],
        vip=params.get("vip") == "1",
        sort=params.get("sort", "newest"),
    )


def _rows(page: Page, *, show_pii: bool) -> list[CustomerRow]:
    spend = annual_spend_by_customer([customer.pk for customer in page])
    threshold = vip_threshold_fen()
    return [
        CustomerRow(
            customer=customer,
            phone=customer.phone if show_pii else mask_phone(customer.phone),
            annual_spend=format_fen(spend.get(customer.pk, 0)),
            is_vip=spend.get(customer.pk, 0) >= threshold,
        )
        for customer in page
    ]


@login_required
def customer_list(request):
    require(request.user, "customers.view_customer")
    filters = _filters_from(request.GET)
    customers = search_customers(filters=filters, user=request.user)
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": _rows(page, show_pii=can_see_pii(request.user)),
        "filters": filters,
        "results_id": RESULTS_ID,
    }
    if request.htmx and request.htmx.target == RESULTS_ID:
        response = render(request, "customers/_customer_rows.html", context)
    else:
        context |= {
            "choices": filter_choices(),
            "sort_labels": SORT_LABELS,
            "consent_labels": CONSENT_LABELS,
        }
        response = render(request, "customers/customer_list.html", context)
    patch_vary_headers(response, ["HX-Request"])  # the partial and the page share one URL
    return response


@login_required
def customer_detail(request, customer_id: int):
    require(request.user, "customers.view_customer")
    customer = get_object_or_404(Customer, pk=customer_id)
    form = None
    if request.method == "POST":
        require(request.user, "customers.change_customer")
        form = CustomerEditForm.for_customer(customer, request.POST)
        if form.is_valid():
            update_customer(customer=customer, changes=form.changes(), actor=request.user)
            messages.success(request, _("Customer saved."))
            return redirect("customers:detail", customer_id=customer.pk)
    elif request.user.has_perm("customers.change_customer"):
        form = CustomerEditForm.for_customer(customer)
    return render(
        request, "customers/customer_detail.html", _profile_context(request, customer, form)
    )


def _profile_context(request, customer: Customer, form) -> dict:
    show_pii = can_see_pii(request.user)
    orders = Paginator(customer_orders(customer), ORDERS_PAGE_SIZE)
    context = {
        "customer": customer,
        "show_pii": show_pii,
        "phone": customer.phone if show_pii else mask_phone(customer.phone),
        "email": customer.email if show_pii else mask_email(customer.email),
        "age_band": age_band(customer.birthday),
        "summary": customer_summary(customer),
        "vip_threshold": format_fen(vip_threshold_fen()),
        "orders": orders.get_page(request.GET.get("orders_page")),
        "form": form,
    }
    # Tier, points, cases, answers …: each app's own panel (customers/profile_panels.py).
    context["panels"] = render_panels(request, customer, context)
    context["panel_top_order"] = TOP_ORDER
    return context
