"""The segment pages: overview with the chart, the tier movement report, the scored customer
list, and the "Recalculate now" button. Thin: check the permission, read, render."""

from __future__ import annotations

import plotly
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxloop.core.pii import can_see_pii, mask_phone
from cxloop.core.roles import require
from cxloop.retention import selectors
from cxloop.retention.charts import tier_chart
from cxloop.retention.forms import MoveFilterForm, ScoredCustomerFilterForm
from cxloop.retention.models import Tier

VIEW = "retention.view_customerscore"
PAGE_SIZE = 50


def _phones(rows, *, user) -> list[tuple]:
    """(row, phone) pairs; the phone is masked for roles without personal data."""
    show = can_see_pii(user)
    return [(row, row.customer.phone if show else mask_phone(row.customer.phone)) for row in rows]


@login_required
def segments(request):
    require(request.user, VIEW)
    run = selectors.latest_done_run()
    rows = selectors.tier_rows(run)
    context = {
        "run": run,
        "running": selectors.running_run(),
        "rows": rows,
        "total": sum(row.customers for row in rows),
        "vip_total": sum(row.vip for row in rows),
        "stages": selectors.stage_rows(run),
        "tier_labels": [label for _value, label in Tier.choices],
        "notes": selectors.run_notes(run),
        "runs": selectors.recent_runs(),
        "chart": tier_chart(rows) if run else "",
        "plotly_version": plotly.__version__,
        "nav_active": "segments",
    }
    return render(request, "retention/segments.html", context)


@login_required
@require_POST
def recalculate(request):
    require(request.user, "retention.run_scoring")
    from cxloop.retention.tasks import score_customers_now

    score_customers_now(request.user.pk)
    messages.success(request, _("Recalculation started; the figures update when it is done."))
    return redirect("retention:segments")


@login_required
def tier_moves(request):
    require(request.user, VIEW)
    form = MoveFilterForm(request.GET or None)
    filters = form.filters()
    start, end = selectors.month_bounds(filters["month"])
    changes = selectors.moves(start, end, direction=filters["direction"], tier=filters["tier"])
    page = Paginator(changes, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "month": filters["month"],
        "report": selectors.move_report(start, end),
        "page": page,
        "rows": _phones(page, user=request.user),
        "nav_active": "segments",
    }
    return render(request, "retention/moves.html", context)


@login_required
def tier_customers(request):
    require(request.user, VIEW)
    form = ScoredCustomerFilterForm(request.GET or None)
    scores = selectors.scored_customers(**form.filters())
    page = Paginator(scores, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": _phones(page, user=request.user),
        "nav_active": "segments",
    }
    return render(request, "retention/customers.html", context)
