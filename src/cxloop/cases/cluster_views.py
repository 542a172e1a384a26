"""The low-score clusters page of the case set (/cases/clusters/): what negative, reopened or
major cases name more than all cases, overall and by place; each finding can start an
improvement action. Read through ``cases.clusters``; bad filters re-render with messages."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from cxloop.cases import clusters
from cxloop.cases.metrics_views import FIRST_DAY, LAST_DAY, _moment
from cxloop.cases.models import Category, Channel
from cxloop.core.roles import require
from cxloop.surveys.clusters import EXPORT_FORMATS, attach_action_links, export_response

PERMISSION = "cases.view_case_metrics"


class ClusterFilters(forms.Form):
    by = forms.ChoiceField(
        label=_("Break down by"), required=False, choices=list(clusters.CASE_DIMENSIONS.items())
    )
    low = forms.ChoiceField(
        label=_("Low scores are"), required=False, choices=list(clusters.CASE_LOW_RULES.items())
    )
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    category = forms.ModelChoiceField(
        label=_("Category"), required=False, queryset=Category.objects.filter(parent__isnull=True)
    )
    channel = forms.ChoiceField(
        label=_("Channel"), required=False, choices=[("", _("All")), *Channel.choices]
    )

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            if data.get(name) and not FIRST_DAY <= data[name] <= LAST_DAY:
                self.add_error(name, _("Out of range."))
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("Must not be before the start date."))
        return data

    def query(self) -> dict:
        data = self.cleaned_data
        end = data.get("end")
        return {
            "by": data.get("by") or "region",
            "low": data.get("low") or "reopened",
            "start": _moment(data["start"]) if data.get("start") else None,
            "end": _moment(end + dt.timedelta(days=1)) if end else None,  # the To day included
            "category_id": data["category"].pk if data.get("category") else None,
            "channel": data.get("channel") or "",
        }


@login_required
@require_GET
def clusters_page(request):
    require(request.user, PERMISSION)
    form = ClusterFilters(request.GET)
    report, labels = None, {}
    if form.is_valid():
        query = form.query()
        report = clusters.case_clusters(user=request.user, **query)
        labels = {
            "by_label": str(clusters.CASE_DIMENSIONS[query["by"]]),
            "low_label": str(clusters.CASE_LOW_RULES[query["low"]]),
        }
        fmt = request.GET.get("format", "")
        if fmt in EXPORT_FORMATS:
            name = f"case-clusters-{query['by']}.{fmt}"
            return export_response(report, by_label=labels["by_label"], fmt=fmt, file_name=name)
        if request.user.has_perm("programs.add_improvementaction"):
            attach_action_links(report, by_label=labels["by_label"], source=str(_("cases")))
    context = {"form": form, "report": report, "nav_active": "cases_metrics", **labels}
    status = 400 if form.errors else 200
    return render(request, "cases/metrics/clusters.html", context, status=status)
