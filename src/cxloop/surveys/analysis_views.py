"""Console pages: KANO results, key drivers (importance–performance) and low-score clusters of
a survey.

Both read through ``surveys.analysis``; a bad filter or choice re-renders the page with the
message next to its field (status 400), never a server error.
"""

from __future__ import annotations

import plotly
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from cxloop.core.pii import can_see_pii
from cxloop.core.roles import require
from cxloop.surveys import analysis, analysis_charts, clusters
from cxloop.surveys.models import Survey

PERMISSION = "surveys.view_results"
GROUP_FIELDS = {"region": _("Region"), "store": _("Store"), "channel": _("Channel")}


class AnalysisFilters(forms.Form):
    """Period and group filters; the group choices are the values the survey's answers have."""

    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)

    def __init__(self, data, *, survey: Survey):
        super().__init__(data)
        base = analysis.responses(survey=survey)
        for name, label in GROUP_FIELDS.items():
            values = base.exclude(**{name: ""}).order_by(name).values_list(name, flat=True)
            choices = [("", _("All")), *((v, v) for v in values.distinct())]
            self.fields[name] = forms.ChoiceField(label=label, required=False, choices=choices)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("Must not be before the start date."))
        return data

    def filters(self) -> analysis.Filters:
        data = self.cleaned_data
        groups = {name: data.get(name, "") for name in GROUP_FIELDS}
        return analysis.Filters.from_days(start=data.get("start"), end=data.get("end"), **groups)


class DriverChoices(AnalysisFilters):
    method = forms.ChoiceField(
        label=_("Method"), required=False, choices=list(analysis.METHOD_LABELS.items())
    )

    def __init__(self, data, *, survey: Survey):
        super().__init__(data, survey=survey)
        items = analysis.scale_items(survey)
        self.fields["target"] = forms.ChoiceField(
            label=_("Overall score to explain"),
            required=False,
            choices=[("", _("Default")), *((i.key, i.label) for i in analysis.target_items(items))],
        )
        self.fields["dimensions"] = forms.MultipleChoiceField(
            label=_("Dimensions"),
            required=False,
            choices=[(item.key, item.label) for item in items],
            widget=forms.CheckboxSelectMultiple,
        )


class ClusterChoices(AnalysisFilters):
    by = forms.ChoiceField(
        label=_("Break down by"), required=False, choices=list(clusters.SURVEY_DIMENSIONS.items())
    )
    low = forms.ChoiceField(
        label=_("Low scores are"), required=False, choices=list(clusters.SURVEY_LOW_RULES.items())
    )


def _survey_for(request, survey_id: int) -> Survey:
    require(request.user, PERMISSION)
    return get_object_or_404(Survey.objects.select_related("current_version"), pk=survey_id)


def _page(request, template: str, context: dict, *, valid: bool):
    context = {**context, "plotly_version": plotly.__version__, "nav_active": "surveys"}
    return render(request, template, context, status=200 if valid else 400)


@login_required
@require_GET
def kano_page(request, survey_id: int):
    survey = _survey_for(request, survey_id)
    form = AnalysisFilters(request.GET, survey=survey)  # always bound: every field is optional
    features, valid = [], form.is_valid()
    try:
        features = analysis.kano_results(survey=survey, filters=form.filters()) if valid else []
    except analysis.AnalysisInputError as error:
        valid = _add_errors(form, error.errors)
    context = {
        "survey": survey,
        "form": form,
        "features": features,
        "has_questions": bool(analysis.kano_questions(survey)),
        "chart": analysis_charts.kano_scatter(features) if any(f.n for f in features) else "",
    }
    return _page(request, "surveys/analysis/kano.html", context, valid=valid)


@login_required
@require_GET
def drivers_page(request, survey_id: int):
    survey = _survey_for(request, survey_id)
    form = DriverChoices(request.GET, survey=survey)
    valid = form.is_valid()
    report = None
    if valid:
        data = form.cleaned_data
        try:
            report = analysis.driver_analysis(
                survey=survey,
                target_key=data.get("target") or None,
                dimension_keys=data.get("dimensions") or None,
                filters=form.filters(),
                method=data.get("method") or "shapley",
            )
        except analysis.AnalysisInputError as error:
            valid = _add_errors(form, error.errors)
    charts = {}
    if report and report.rows:
        charts = {
            "importance_chart": analysis_charts.importance_chart(report),
            "ipa_chart": analysis_charts.ipa_scatter(report),
        }
    context = {"survey": survey, "form": form, "report": report, **charts}
    return _page(request, "surveys/analysis/drivers.html", context, valid=valid)


def _add_errors(form: forms.Form, errors: dict) -> bool:
    for name, messages in errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
    return False


@login_required
@require_GET
def clusters_page(request, survey_id: int):
    """Which aspects and words detractors name more than everyone, overall and by place."""
    survey = _survey_for(request, survey_id)
    form = ClusterChoices(request.GET, survey=survey)
    valid, report = form.is_valid(), None
    if valid:
        data = form.cleaned_data
        low = data.get("low") or clusters.default_low_rule(survey)
        try:
            report = clusters.survey_clusters(
                survey=survey, filters=form.filters(), by=data.get("by") or "region", low=low,
                show_pii=can_see_pii(request.user),
                show_text=request.user.has_perm("surveys.view_response"),
            )  # fmt: skip
        except analysis.AnalysisInputError as error:
            valid = _add_errors(form, error.errors)
        form.data = form.data.copy()
        form.data["low"] = low
    context = {"survey": survey, "form": form, "report": report, **_cluster_labels(form, report)}
    fmt = request.GET.get("format", "")
    if report and fmt in clusters.EXPORT_FORMATS:
        name = f"clusters-{survey.key}-{report.by}.{fmt}"
        return clusters.export_response(
            report, by_label=context["by_label"], fmt=fmt, file_name=name
        )
    if report and request.user.has_perm("programs.add_improvementaction"):
        clusters.attach_action_links(report, by_label=context["by_label"], source=survey.title)
    return _page(request, "surveys/analysis/clusters.html", context, valid=valid)


def _cluster_labels(form: ClusterChoices, report) -> dict:
    if report is None:
        return {}
    low = form.data.get("low", "")
    return {
        "by_label": str(clusters.SURVEY_DIMENSIONS[report.by]),
        "low_label": str(clusters.SURVEY_LOW_RULES.get(low, low)),
    }
