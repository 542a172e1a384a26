"""The churn model page and the churn-risk list (with "start win-back" for picked customers)."""

from __future__ import annotations

import plotly
import plotly.graph_objects as go
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cxloop.console.charts import BLUE, GREEN, _html, _layout
from cxloop.core.pii import can_see_pii, mask_phone
from cxloop.core.roles import require
from cxloop.retention import churn, churn_tasks, plays
from cxloop.retention.churn_models import ChurnModelRecord
from cxloop.retention.models import Tier
from cxloop.retention.reasons import render_model_message, render_reasons

VIEW_PERM = "retention.view_churnmodelrecord"
PAGE_SIZE = 50
DEFAULT_THRESHOLD = 0.5


def calibration_chart(record: ChurnModelRecord) -> str:
    """Predicted vs observed churn per decile of predicted risk, with the ideal diagonal."""
    bins = record.calibration or []
    predicted = [b["mean_predicted"] * 100 for b in bins]
    observed = [b["observed_rate"] * 100 for b in bins]
    plus = [(b["observed_high"] - b["observed_rate"]) * 100 for b in bins]
    minus = [(b["observed_rate"] - b["observed_low"]) * 100 for b in bins]
    label_p, label_o = _("Predicted risk (%)"), _("Observed churn (%)")
    figure = go.Figure()
    figure.add_scatter(x=[0, 100], y=[0, 100], mode="lines", name=_("Perfect calibration"),
                       line={"color": "#9ca3af", "dash": "dash"}, hoverinfo="skip")  # fmt: skip
    figure.add_scatter(
        x=predicted, y=observed, mode="markers+lines", name=_("Validation deciles"),
        marker={"color": BLUE, "size": 9}, line={"color": GREEN},
        error_y={"type": "data", "array": plus, "arrayminus": minus, "visible": True},
        hovertemplate=f"{label_p}: %{{x:.1f}}<br>{label_o}: %{{y:.1f}}<extra></extra>",
    )  # fmt: skip
    figure.update_layout(**_layout(
        xaxis={"title": {"text": label_p}, "range": [0, 100]},
        yaxis={"title": {"text": label_o}, "range": [0, 100], "gridcolor": "#e5e7eb"},
    ))  # fmt: skip
    return _html(figure, "chart-churn-calibration")


@login_required
@require_GET
def model_page(request):
    require(request.user, VIEW_PERM)
    record = churn.active_model()
    message = ""
    if record is not None:
        message = render_model_message(record.message_code, record.message_params, record.message)
    return render(request, "retention/churn/model.html", {
        "record": record, "message": message, "nav_active": "churn",
        "chart": calibration_chart(record) if record and record.calibration else "",
        "history": ChurnModelRecord.objects.all()[:10], "plotly_version": plotly.__version__,
    })  # fmt: skip


@login_required
@require_POST
def retrain(request):
    require(request.user, "retention.train_churn_model")
    churn_tasks.retrain_churn_model_now(request.user.pk)
    messages.success(request, _("Retraining started. The page shows the new model when done."))
    return redirect("retention:churn_model")


class RiskFilters(forms.Form):
    threshold = forms.FloatField(
        label=gettext_lazy("Risk at least (0–1)"), required=False, min_value=0, max_value=1
    )
    tier = forms.ChoiceField(
        label=gettext_lazy("Tier"), required=False,
        choices=[("", gettext_lazy("All"))] + list(Tier.choices),
    )  # fmt: skip
    region = forms.CharField(label=gettext_lazy("Region"), required=False, max_length=64)
    store = forms.CharField(label=gettext_lazy("Store"), required=False, max_length=64)


def _rows(page, user) -> list[dict]:
    see_pii = can_see_pii(user)
    return [
        {"score": score, "customer": score.customer, "risk": score.churn_risk * 100,
         "phone": score.customer.phone if see_pii else mask_phone(score.customer.phone),
         "reasons": render_reasons(score.churn_reasons)}
        for score in page
    ]  # fmt: skip


@login_required
@require_GET
def risk_list(request):
    require(request.user, VIEW_PERM, "retention.view_customerscore")
    form = RiskFilters(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    threshold = data.get("threshold")
    threshold = DEFAULT_THRESHOLD if threshold is None else threshold
    scores = churn.at_risk(
        threshold=threshold,
        tier=data.get("tier", ""),
        region=data.get("region", ""),
        store=data.get("store", ""),
    )
    page = Paginator(scores, PAGE_SIZE).get_page(request.GET.get("page"))
    record = churn.active_model()
    return render(request, "retention/churn/risk.html", {
        "form": form, "page": page, "rows": _rows(page, request.user), "threshold": threshold,
        "record": record, "usable": bool(record and record.usable), "nav_active": "churn_risk",
        "winback": plays.winback_play(), "query": _query_without_page(request),
    })  # fmt: skip


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@require_POST
def start_winback(request):
    require(request.user, plays.RUN_PERM)
    play = plays.winback_play()
    ids = [int(v) for v in request.POST.getlist("customer") if v.isdigit()]
    if play is None:
        messages.error(request, _("There is no active win-back play. Create one first."))
    elif not ids:
        messages.error(request, _("Pick at least one customer."))
    else:
        report = plays.run_plays(play=play, actor=request.user, customer_ids=ids)
        messages.success(request, _(
            "Win-back started: %(treated)s customers get a call task, %(holdout)s held out for "
            "measuring, %(skipped)s skipped (reached recently)."
        ) % {"treated": report.treatment, "holdout": report.holdout,
             "skipped": sum(report.skipped.values()) + len(ids) - report.selected})  # fmt: skip
    query = request.POST.get("query", "")
    return redirect(reverse("retention:churn_risk") + (f"?{query}" if query else ""))
