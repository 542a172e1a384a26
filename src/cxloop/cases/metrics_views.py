"""The case metrics page: KPI cards, one table by the chosen group, month trends of FCR and SLA
compliance, the backlog by age, and the table as CSV/XLSX. Numbers come from
``cases.selectors`` (SQL aggregates) over the cases the user may count
(``selectors.metric_scope``: a department handler sees only their departments)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import plotly
import plotly.graph_objects as go
from django import forms
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from cxloop.cases import selectors
from cxloop.cases.models import SlaRule
from cxloop.cases.selectors import MetricRow, MetricTable
from cxloop.console.charts import BLUE, GREEN, _html, _layout
from cxloop.core.roles import require
from cxloop.customers.exporting import download_response

GROUP_LABELS = {
    "department": gettext_lazy("Department"),
    "owner": gettext_lazy("Agent"),
    "category": gettext_lazy("Category"),
    "region": gettext_lazy("Region"),
    "channel": gettext_lazy("Channel"),
    "month": gettext_lazy("Month"),
}
FCR_GOAL = 85.0  # R5.1: first-contact resolution ≥ 85 %
AMBER = "#d97706"
GREY = "#9ca3af"
EXPORT_FORMATS = ("csv", "xlsx")
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(9999, 12, 30)  # midnights with a UTC instant


class MetricFilters(forms.Form):
    start = forms.DateField(label=gettext_lazy("From"), required=False)
    end = forms.DateField(label=gettext_lazy("To"), required=False)
    by = forms.ChoiceField(
        label=gettext_lazy("Group by"), required=False, choices=list(GROUP_LABELS.items())
    )

    def clean(self):
        data = super().clean()
        for name in ("start", "end"):
            if data.get(name) and not FIRST_DAY <= data[name] <= LAST_DAY:
                self.add_error(name, gettext_lazy("Out of range."))
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            self.add_error("end", gettext_lazy("Must not be before the start date."))
        return data


def default_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """The last twelve months: the first day of the month eleven months back, to today."""
    month = today.month - 11
    year = today.year + (month - 1) // 12
    return dt.date(year, (month - 1) % 12 + 1, 1), today


def _filters(request) -> tuple[MetricFilters, dt.date, dt.date, str]:
    form = MetricFilters(request.GET or None)
    first, last = default_period(timezone.localdate())
    data = form.cleaned_data if form.is_valid() else {}
    start, end = data.get("start") or first, data.get("end") or last
    if start > end:  # only one bound given, on the wrong side of the default
        start, end = end, start
    return form, start, end, data.get("by") or "department"


def _moment(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


# --- the table: one line per group, a column per metric ----------------------------------


@dataclass
class Line:
    key: str | None
    label: str
    cells: dict[str, MetricRow]


def _tables(group_by: str | None, start, end, scope, now) -> dict[str, MetricTable]:
    return {
        metric: selectors.metric_table(
            metric=metric, group_by=group_by, start=start, end=end, cases=scope, now=now
        )
        for metric in selectors.METRICS
    }


def _lines(tables: dict[str, MetricTable]) -> tuple[Line, list[Line]]:
    """The overall line and the group lines (SLA compliance: all targets together)."""
    lines: dict[str | None, Line] = {}
    overall = Line(None, _("All"), {})
    for metric, table in tables.items():
        overall.cells[metric] = table.overall[0]
        for row in table.rows:
            if row.target is None:
                lines.setdefault(row.group, Line(row.group, row.label, {})).cells[metric] = row
    ordered = sorted(lines.values(), key=lambda line: _line_order(tables, line))
    return overall, ordered


def _line_order(tables, line: Line) -> tuple:
    group_by = next(iter(tables.values())).group_by
    return selectors.group_order(group_by, line.key, line.label)


def _hours(row: MetricRow | None) -> float | None:
    return None if row is None or row.value is None else round(row.value / 3600, 1)


def _days(row: MetricRow | None) -> float | None:
    return None if row is None or row.value is None else round(row.value / 86_400, 1)


def _value(row: MetricRow | None):
    return None if row is None else row.value


def _export(group_by: str, lines: list[Line], overall: Line, fmt: str, start, end):
    headers = [
        str(GROUP_LABELS[group_by]), _("Key"), _("Cases"), _("Orders"),
        _("Complaints per 1,000 orders"), _("Resolved"), _("First-contact resolution (%)"),
        _("Repeat complaints"), _("Repeat rate (%)"), _("First response (working hours)"),
        _("Resolution (working hours)"), _("SLA targets decided"), _("SLA compliance (%)"),
        _("Open cases"), _("Open < 1 day"), _("Open 1–3 days"), _("Open 3–7 days"),
        _("Open > 7 days"), _("Mean age of open cases (days)"),
    ]  # fmt: skip
    rows = [_export_row(line) for line in [*lines, overall]]
    name = f"case-metrics-{group_by}-{start:%Y%m%d}-{end:%Y%m%d}.{fmt}"
    return download_response(headers, rows, fmt=fmt, file_name=name)


def _export_row(line: Line) -> list:
    cell = line.cells.get
    rate, fcr, repeats = cell("complaint_rate"), cell("fcr"), cell("repeat_rate")
    sla, backlog = cell("sla_compliance"), cell("backlog")
    buckets = (backlog.buckets if backlog else None) or {}
    return [
        line.label, line.key or "", rate.count if rate else 0, rate.n if rate else 0,
        _value(rate), fcr.n if fcr else 0, _value(fcr), repeats.count if repeats else 0,
        _value(repeats), _hours(cell("first_response_time")), _hours(cell("resolution_time")),
        sla.n if sla else 0, _value(sla), backlog.n if backlog else 0,
        *(buckets.get(key, 0) for key, _low, _high in selectors.AGE_BUCKETS), _days(backlog),
    ]  # fmt: skip


# --- charts --------------------------------------------------------------------------------


def trend_chart(fcr: MetricTable, sla: MetricTable) -> str:
    """FCR and SLA compliance per month (%), with the 85 % FCR goal."""
    figure = go.Figure()
    series = [
        (_("First-contact resolution"), fcr.rows, BLUE, "solid"),
        (_("SLA compliance, all targets"), _target_rows(sla, None), GREEN, "solid"),
        (_("SLA: first response"), _target_rows(sla, "first_response"), AMBER, "dot"),
        (_("SLA: resolution"), _target_rows(sla, "resolution"), GREY, "dot"),
    ]
    for name, rows, colour, dash in series:
        shown = [r for r in rows if r.value is not None]
        figure.add_scatter(
            x=[r.group for r in shown], y=[r.value for r in shown], name=name,
            mode="lines+markers", line={"color": colour, "width": 3, "dash": dash},
            customdata=[[r.count, r.n] for r in shown],
            hovertemplate=f"%{{x}}<br>{name}: %{{y:.1f}}%<br>%{{customdata[0]:,}} / "
            "%{customdata[1]:,}<extra></extra>",
        )  # fmt: skip
    figure.add_hline(
        y=FCR_GOAL, line={"color": BLUE, "dash": "dash", "width": 1},
        annotation_text=_("FCR goal %(goal)s%%") % {"goal": int(FCR_GOAL)},
        annotation_position="bottom left",
    )  # fmt: skip
    layout = _layout(
        xaxis={"type": "category", "title": {"text": _("Month")}},
        yaxis={"range": [0, 101], "title": {"text": "%"}, "gridcolor": "#e5e7eb"},
    )
    figure.update_layout(**layout)
    return _html(figure, "chart-case-trend")


def _target_rows(sla: MetricTable, kind: str | None) -> list[MetricRow]:
    return [r for r in sla.rows if r.target == kind]


def backlog_chart(row: MetricRow) -> str:
    """Open cases by age since they were opened."""
    labels = [_("< 1 day"), _("1–3 days"), _("3–7 days"), _("> 7 days")]
    counts = [(row.buckets or {}).get(key, 0) for key, _low, _high in selectors.AGE_BUCKETS]
    figure = go.Figure()
    figure.add_bar(
        x=labels,
        y=counts,
        marker_color=[GREEN, BLUE, AMBER, "#dc2626"],
        hovertemplate="%{x}: %{y:,}<extra></extra>",
    )
    figure.update_layout(
        **_layout(
            height=280,
            xaxis={"type": "category", "title": {"text": _("Age")}},
            yaxis={"rangemode": "tozero", "title": {"text": _("Open cases")}},
            showlegend=False,
        )
    )
    return _html(figure, "chart-case-backlog")


# --- the page ------------------------------------------------------------------------------


@login_required
@require_GET
def metrics_page(request):
    require(request.user, "cases.view_case_metrics")
    form, first, last, group_by = _filters(request)
    start, end = _moment(first), _moment(last + dt.timedelta(days=1))
    scope, now = selectors.metric_scope(request.user), timezone.now()
    tables = _tables(group_by, start, end, scope, now)
    overall, lines = _lines(tables)
    fmt = request.GET.get("format")
    if fmt in EXPORT_FORMATS:
        return _export(group_by, lines, overall, fmt, first, last)
    fcr, sla = _monthly(tables, group_by, start, end, scope, now)
    backlog = overall.cells["backlog"]
    context = {
        "form": form, "start": first, "end": last, "group_by": group_by,
        "group_labels": GROUP_LABELS, "group_label": GROUP_LABELS[group_by],
        "overall": _display(overall), "lines": [_display(line) for line in lines],
        "sla_targets": _sla_targets(tables["sla_compliance"]),
        "trend_chart": trend_chart(fcr, sla) if fcr.rows or sla.rows else "",
        "backlog_chart": backlog_chart(backlog) if backlog.n else "",
        "fcr_goal": FCR_GOAL, "plotly_version": plotly.__version__,
        "export_query": _export_query(request), "nav_active": "cases_metrics",
    }  # fmt: skip
    return render(request, "cases/metrics/metrics.html", context)


def _monthly(tables, group_by, start, end, scope, now) -> tuple[MetricTable, MetricTable]:
    """FCR and SLA compliance by month (the page's tables when it is grouped by month)."""
    if group_by == "month":
        return tables["fcr"], tables["sla_compliance"]
    window = {"group_by": "month", "start": start, "end": end, "cases": scope, "now": now}
    return (
        selectors.metric_table(metric="fcr", **window),
        selectors.metric_table(metric="sla_compliance", **window),
    )


def _display(line: Line) -> dict:
    """What a template line shows: values rounded for reading (hours, days)."""
    cell = line.cells.get
    return {
        "key": line.key,
        "label": line.label,
        "cells": line.cells,
        "first_response_hours": _hours(cell("first_response_time")),
        "resolution_hours": _hours(cell("resolution_time")),
        "backlog_days": _days(cell("backlog")),
    }


def _sla_targets(table: MetricTable) -> list[tuple[str, MetricRow]]:
    """Overall compliance per target kind, for the card under the KPIs."""
    labels = dict(SlaRule.Target.choices)
    return [(str(labels[r.target]), r) for r in table.overall if r.target is not None]


def _export_query(request) -> str:
    query = request.GET.copy()
    query.pop("format", None)
    return query.urlencode()
