"""Console pages for a survey's results: figures and charts, comments, flagged responses,
and the responses download. Everything is read through ``selectors`` (SQL aggregates)."""

from __future__ import annotations

import datetime as dt

import plotly
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.roles import require
from cxloop.surveys import exporting, responses, results_charts, selectors
from cxloop.surveys import text as comment_text
from cxloop.surveys.cleaning import describe_flag
from cxloop.surveys.definition import DefinitionError, parse_definition, question_for_role
from cxloop.surveys.models import Response, Survey

PAGE_SIZE = 25
METRIC_LABELS = {"nps": _("NPS"), "csat": _("CSAT"), "ces": _("CES"), "csi": _("CSI")}
GROUP_LABELS = {
    "region": _("Region"),
    "store": _("Store"),
    "channel": _("Channel"),
    "age_band": _("Age band"),
    "segment": _("Segment"),
}
PERIOD_LABELS = {"month": _("By month"), "week": _("By week")}


def _survey_for(request, survey_id: int, *perms: str) -> Survey:
    require(request.user, *perms)
    return get_object_or_404(Survey.objects.select_related("current_version"), pk=survey_id)


def _choice(request, name: str, choices, default: str) -> str:
    value = request.GET.get(name, default)
    return value if value in choices else default


@login_required
@require_GET
def survey_results(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.view_results")
    labels = _metric_labels(survey)
    metric = _choice(request, "metric", labels, next(iter(labels)))
    period = _choice(request, "period", PERIOD_LABELS, "month")
    group_by = _choice(request, "by", GROUP_LABELS, "region")
    context = {
        "survey": survey,
        **_figures(survey, labels),
        **_crosstab(survey, group_by, labels),
        **_charts(survey, metric, period),
        "metric": metric,
        "period": period,
        "group_by": group_by,
        "metric_labels": labels,
        "period_labels": PERIOD_LABELS,
        "group_labels": GROUP_LABELS,
        "plotly_version": plotly.__version__,
        "nav_active": "surveys",
    }
    return render(request, "surveys/results/results.html", context)


def _metric_labels(survey: Survey) -> dict:
    """The headline metrics this survey measures (a question has the role), else all of them."""
    source = survey.current_version.definition if survey.current_version else survey.draft
    try:
        definition = parse_definition(source)
    except DefinitionError:
        return METRIC_LABELS
    measured = {m: label for m, label in METRIC_LABELS.items() if question_for_role(definition, m)}
    return measured or METRIC_LABELS


def _figures(survey: Survey, labels: dict) -> dict:
    headline = {m: selectors.metric_table(metric=m, survey=survey).overall for m in labels}
    cards = [(labels[m], m, row) for m, row in headline.items()]
    return {"cards": cards, "counts": selectors.response_figures(survey=survey)}


def _crosstab(survey: Survey, group_by: str, labels: dict) -> dict:
    """One table: a row per group, a column per metric, with the group-vs-rest marks."""
    tables = {m: selectors.metric_table(metric=m, survey=survey, group_by=group_by) for m in labels}
    groups = sorted({row.group for table in tables.values() for row in table.rows})
    cells = {(m, row.group): row for m, table in tables.items() for row in table.rows}
    rows = [(group, [cells.get((m, group)) for m in labels]) for group in groups]
    return {"crosstab_rows": rows, "group_label": GROUP_LABELS[group_by], "min_n": selectors.MIN_N}


def _charts(survey: Survey, metric: str, period: str) -> dict:
    trend = selectors.metric_table(metric=metric, survey=survey, period=period)
    dims = selectors.dimension_scores(survey=survey)
    distributions = selectors.distributions(survey=survey)
    return {
        "trend_chart": results_charts.trend_chart(trend.rows, str(METRIC_LABELS[metric]), period)
        if trend.rows
        else "",
        "dimension_chart": results_charts.dimension_chart(dims) if any(d.n for d in dims) else "",
        "distributions": [
            (d, results_charts.distribution_chart(d, i)) for i, d in enumerate(distributions)
        ],
    }


class CommentFilters(forms.Form):
    band = forms.ChoiceField(
        label=_("Score band"),
        required=False,
        choices=[
            ("", _("All")),
            ("promoter", _("Promoters (9–10)")),
            ("passive", _("Passives (7–8)")),
            ("detractor", _("Detractors (0–6)")),
        ],
    )
    region = forms.CharField(label=_("Region"), required=False, max_length=64)
    sentiment = forms.ChoiceField(
        label=_("Sentiment"),
        required=False,
        choices=lambda: [("", _("All")), *comment_text.SENTIMENT_BANDS.items()],
    )
    aspect = forms.ChoiceField(
        label=_("Aspect"),
        required=False,
        choices=lambda: [("", _("All")), *comment_text.aspect_labels().items()],
    )
    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", _("Must not be before the start date."))
        return data


def _day(day: dt.date | None, *, after: bool = False) -> dt.datetime | None:
    if day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min)) + dt.timedelta(days=after)


@login_required
@require_GET
def survey_comments(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.view_results", "surveys.view_response")
    form = CommentFilters(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.comments(
        survey=survey,
        band=filters.get("band") or None,
        region=filters.get("region") or None,
        start=_day(filters.get("start")),
        end=_day(filters.get("end"), after=True),
    )
    qs = comment_text.filtered(
        qs, sentiment=filters.get("sentiment") or "", aspect=filters.get("aspect") or ""
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    keys = selectors.text_question_keys(survey)
    labels = comment_text.aspect_labels()
    for response in page:
        response.texts = [(k, response.answers[k]) for k in keys if response.answers.get(k)]
        response.band = comment_text.band_of(response.comment_sentiment)
        response.aspect_names = [labels.get(k, k) for k in response.comment_aspects or []]
    context = {
        "survey": survey,
        "form": form,
        "page": page,
        "text_keys": keys,
        "regions": selectors.regions(survey=survey),
        "nav_active": "surveys",
    }
    return render(request, "surveys/results/comments.html", context)


@login_required
@require_GET
def survey_flagged(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.view_results", "surveys.view_response")
    page = Paginator(selectors.flagged_responses(survey=survey), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    for response in page:
        response.reasons = [describe_flag(f) for f in response.flags if isinstance(f, dict)]
    context = {"survey": survey, "page": page, "nav_active": "surveys"}
    return render(request, "surveys/results/flagged.html", context)


@login_required
@require_POST
def restore_response(request, survey_id: int, response_id: int):
    survey = _survey_for(request, survey_id, "surveys.clean_responses")
    response = get_object_or_404(Response, pk=response_id, survey=survey)
    if response.excluded:
        responses.restore_response(response=response, actor=request.user)
        messages.success(request, _("The response counts again in the results."))
    return redirect("surveys:results_flagged", survey_id=survey.pk)


@login_required
@require_GET
def export_responses(request, survey_id: int):
    survey = _survey_for(request, survey_id, "surveys.view_results", "surveys.view_response")
    fmt = request.GET.get("format", "csv")
    if fmt not in exporting.FORMATS:
        raise Http404
    return exporting.export_response(survey=survey, fmt=fmt, user=request.user)
