"""Plotly charts of survey results, as HTML fragments (plotly.js comes from console:plotly_js)."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from cxloop.console.charts import BLUE, GREEN, _html, _layout
from cxloop.surveys.selectors import DimensionScore, Distribution, MetricRow

BAND = "rgba(29, 78, 216, 0.15)"
RED = "#dc2626"
GREY = "#9ca3af"


def trend_chart(rows: list[MetricRow], metric_label: str, period: str) -> str:
    """The metric per week/month with its 95 % interval as a shaded band."""
    points = [r for r in rows if r.value is not None]
    x = [r.period.isoformat() for r in points]
    figure = go.Figure()
    figure.add_scatter(
        x=x + x[::-1],
        y=[r.ci_high for r in points] + [r.ci_low for r in points][::-1],
        fill="toself",
        fillcolor=BAND,
        line={"width": 0},
        hoverinfo="skip",
        name=_("95 percent interval"),
    )
    figure.add_scatter(
        x=x,
        y=[r.value for r in points],
        customdata=[[r.n, r.ci_low, r.ci_high] for r in points],
        mode="lines+markers",
        line={"color": BLUE, "width": 3},
        name=metric_label,
        hovertemplate=(
            f"%{{x}}<br>{metric_label}: %{{y:.1f}}<br>{_('95 percent interval')}: "
            f"%{{customdata[1]:.1f}}–%{{customdata[2]:.1f}}<br>n = %{{customdata[0]:,}}"
            "<extra></extra>"
        ),
    )
    title = _("Week starting") if period == "week" else _("Month")
    figure.update_layout(
        **_layout(
            xaxis={"type": "category", "title": {"text": title}}, yaxis={"gridcolor": "#e5e7eb"}
        )
    )
    return _html(figure, "chart-trend")


def dimension_chart(scores: list[DimensionScore]) -> str:
    """Mean rating (1–5) per service dimension, weakest first."""
    shown = sorted((s for s in scores if s.mean is not None), key=lambda s: s.mean, reverse=True)
    figure = go.Figure()
    figure.add_bar(
        x=[s.mean for s in shown],
        y=[str(s.label) for s in shown],
        orientation="h",
        marker_color=GREEN,
        customdata=[s.n for s in shown],
        hovertemplate="%{y}: %{x:.2f}<br>n = %{customdata:,}<extra></extra>",
    )
    figure.update_layout(
        **_layout(
            height=max(220, 44 * len(shown) + 80),
            xaxis={"range": [1, 5], "title": {"text": _("Mean rating")}, "gridcolor": "#e5e7eb"},
            showlegend=False,
        )
    )
    return _html(figure, "chart-dimensions")


def distribution_chart(distribution: Distribution, index: int) -> str:
    """Answers per value of one question; NPS bars coloured by category."""
    if distribution.type == "multiple":
        return _multiple_choice_chart(distribution, index)
    values = [value for value, _count in distribution.counts]
    colours = BLUE
    if distribution.type == "nps":
        colours = [_nps_colour(v) for v in values]
    figure = go.Figure()
    figure.add_bar(
        x=values,
        y=[count for _value, count in distribution.counts],
        marker_color=colours,
        hovertemplate="%{x}: %{y:,}<extra></extra>",
    )
    figure.update_layout(
        **_layout(
            height=260,
            margin={"l": 48, "r": 16, "t": 16, "b": 40},
            xaxis={"type": "category"},
            yaxis={"rangemode": "tozero", "gridcolor": "#e5e7eb"},
            showlegend=False,
        )
    )
    return _html(figure, f"chart-distribution-{index}")


def _multiple_choice_chart(distribution: Distribution, index: int) -> str:
    """Share of respondents choosing each option, most chosen on top (they add up past 100)."""
    counts = distribution.counts[::-1]  # plotly draws the first bar at the bottom
    names = [distribution.option_labels.get(value, value) for value, _count in counts]
    figure = go.Figure()
    figure.add_bar(
        x=[distribution.share(count) for _value, count in counts],
        y=names,
        orientation="h",
        marker_color=BLUE,
        customdata=[[count, distribution.respondents] for _value, count in counts],
        hovertemplate="%{y}: %{x:.1f}%<br>%{customdata[0]:,} / %{customdata[1]:,}<extra></extra>",
    )
    axis_title = _("Share of respondents (%)")
    figure.update_layout(
        **_layout(
            height=max(220, 36 * len(counts) + 80),
            margin={"l": 16, "r": 16, "t": 16, "b": 48},
            xaxis={"range": [0, 100], "title": {"text": axis_title}, "gridcolor": "#e5e7eb"},
            yaxis={"type": "category", "automargin": True},
            showlegend=False,
        )
    )
    return _html(figure, f"chart-distribution-{index}")


def _nps_colour(value: str) -> str:
    score = int(value) if value.isdigit() else -1
    return GREEN if score >= 9 else GREY if score >= 7 else RED
