"""Console pages of the alerts: the list, an alert with its evidence, the rules and the user's
own subscriptions. Thin: read input, check one permission, call a selector or service, render."""

from __future__ import annotations

import plotly
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from cxloop.alerts import charts, selectors, services
from cxloop.alerts.forms import AcknowledgeForm, AlertFilters, RuleForm, SubscriptionForm
from cxloop.alerts.models import Alert, AlertRule, Subscription
from cxloop.core.roles import require

PAGE_SIZE = 50


@login_required
@require_GET
def alert_list(request):
    require(request.user, "alerts.view_alert")
    form = AlertFilters(request.GET or None)
    alerts = selectors.alert_list(**form.filters())
    page = Paginator(alerts, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "nav_active": "alerts"}
    return render(request, "alerts/list.html", context)


@login_required
@require_GET
def alert_detail(request, pk: int):
    require(request.user, "alerts.view_alert")
    alert = get_object_or_404(Alert.objects.select_related("rule", "acknowledged_by"), pk=pk)
    evidence = selectors.evidence_for(alert)
    chart = (
        charts.series_chart(evidence, metric_label=alert.get_metric_display()) if evidence else ""
    )
    context = {
        "alert": alert,
        "chart": chart,
        "links": selectors.evidence_links(alert),
        "cases": selectors.evidence_cases(alert, request.user),
        "ack_form": AcknowledgeForm(),
        "plotly_version": plotly.__version__,
        "nav_active": "alerts",
    }
    return render(request, "alerts/detail.html", context)


@login_required
@require_POST
def acknowledge(request, pk: int):
    require(request.user, "alerts.acknowledge_alert")
    alert = get_object_or_404(Alert, pk=pk)
    form = AcknowledgeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The note is too long."))
        return redirect("alerts:detail", pk=pk)
    try:
        services.acknowledge_alert(alert=alert, actor=request.user, note=form.cleaned_data["note"])
        messages.success(request, _("Alert acknowledged."))
    except services.AlertError:
        messages.error(request, _("Only an open alert can be acknowledged."))
    return redirect("alerts:detail", pk=pk)


@login_required
@require_GET
def rule_list(request):
    require(request.user, "alerts.view_alertrule")
    rules = AlertRule.objects.all()
    return render(request, "alerts/rules.html", {"rules": rules, "nav_active": "alerts_rules"})


@login_required
def rule_edit(request, pk: int):
    require(request.user, "alerts.change_alertrule")
    rule = get_object_or_404(AlertRule, pk=pk)
    form = RuleForm(request.POST or None, instance=AlertRule.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in services.RULE_FIELDS}
        services.update_rule(rule=rule, actor=request.user, changes=changes)
        messages.success(request, _("Rule saved."))
        return redirect("alerts:rules")
    context = {"rule": rule, "form": form, "nav_active": "alerts_rules"}
    return render(request, "alerts/rule_edit.html", context, status=400 if form.errors else 200)


@login_required
def subscriptions(request):
    require(request.user, "alerts.view_alert")
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.subscribe(user=request.user, **form.cleaned_data)
        messages.success(request, _("Subscribed."))
        return redirect("alerts:subscriptions")
    mine = Subscription.objects.filter(user=request.user, active=True)
    context = {"form": form, "subscriptions": mine, "nav_active": "alerts_subscriptions"}
    return render(request, "alerts/subscriptions.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def unsubscribe(request, pk: int):
    require(request.user, "alerts.view_alert")
    subscription = get_object_or_404(Subscription, pk=pk, user=request.user)
    services.unsubscribe(subscription=subscription, actor=request.user)
    messages.success(request, _("Subscription removed."))
    return redirect("alerts:subscriptions")
