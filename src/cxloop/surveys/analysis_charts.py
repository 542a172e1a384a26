"""Plotly charts of the KANO and key-driver pages, as HTML fragments (plotly.js is loaded from
console:plotly_js by the page)."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from cxloop.console.charts import BLUE, GREEN, _html, _layout
from cxloop.surveys.analysis import CATEGORY_LABELS, QUADRANT_LABELS, DriverReport, KanoFeature

RED = "#dc2626"
GREY = "#9ca3af"
AMBER = "#d97706"
LINE = {"color": GREY, "width": 1, "dash": "dash"}
CATEGORY_COLOURS = {"M": RED, "O": BLUE, "A": GREEN, "I": GREY, "R": AMBER, "Q": AMBER}
QUADRANT_COLOURS = {"fix_first": RED, "keep_up": GREEN, "low_priority": GREY}
QUADRANT_COLOURS["possible_overkill"] = AMBER


def _corner_labels(figure: go.Figure, corners: list[tuple[float, float, str, str, str]]) -> None:
    """Quadrant names in the corners of the plot area (paper coordinates)."""
    for x, y, text, xanchor, yanchor in corners:
        figure.add_annotation(
            x=x, y=y, xref="paper", yref="paper", text=text, showarrow=False,
            xanchor=xanchor, yanchor=yanchor, font={"color": "#6b7280", "size": 12},
        )  # fmt: skip


def _around(values: list[float], low: float, high: float) -> list[float]:
    """An axis range around the points (they bunch together on 0–100), within [low, high]."""
    pad = max(5.0, (max(values) - min(values)) * 0.25)
    return [max(low, min(values) - pad), min(high, max(values) + pad)]


def kano_scatter(features: list[KanoFeature]) -> str:
    """Better (y) against |Worse| (x) per feature, the cross at 0.5 and the quadrants named."""
    shown = [f for f in features if f.better is not None and f.worse is not None]
    figure = go.Figure()
    figure.add_scatter(
        x=[-f.worse for f in shown],
        y=[f.better for f in shown],
        text=[f.feature for f in shown],
        customdata=[[str(f.category_label), f.n] for f in shown],
        mode="markers+text",
        textposition="top center",
        marker={"size": 14, "color": [CATEGORY_COLOURS.get(f.category, GREY) for f in shown]},
        hovertemplate=(
            f"%{{text}}<br>%{{customdata[0]}}<br>{_('Better')}: %{{y:.2f}}<br>"
            f"|{_('Worse')}|: %{{x:.2f}}<br>n = %{{customdata[1]:,}}<extra></extra>"
        ),
    )
    figure.add_hline(y=0.5, line=LINE)
    figure.add_vline(x=0.5, line=LINE)
    _corner_labels(
        figure,
        [
            (0.01, 0.99, str(CATEGORY_LABELS["A"]), "left", "top"),
            (0.99, 0.99, str(CATEGORY_LABELS["O"]), "right", "top"),
            (0.99, 0.01, str(CATEGORY_LABELS["M"]), "right", "bottom"),
            (0.01, 0.01, str(CATEGORY_LABELS["I"]), "left", "bottom"),
        ],
    )
    figure.update_layout(
        **_layout(
            height=440,
            showlegend=False,
            xaxis={
                "range": [-0.03, 1.03],
                "title": {"text": _("|Worse| (dissatisfaction if missing)")},
            },
            yaxis={
                "range": [-0.03, 1.03],
                "title": {"text": _("Better (satisfaction if present)")},
            },
        )
    )
    return _html(figure, "chart-kano")


def importance_chart(report: DriverReport) -> str:
    """Importance in % of R² per dimension, the most important on top."""
    rows = sorted(report.rows, key=lambda row: row.importance)  # plotly draws bottom up
    figure = go.Figure()
    figure.add_bar(
        x=[row.importance for row in rows],
        y=[row.label for row in rows],
        orientation="h",
        marker_color=[QUADRANT_COLOURS[row.quadrant] for row in rows],
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
    )
    figure.update_layout(
        **_layout(
            height=max(240, 40 * len(rows) + 90),
            showlegend=False,
            xaxis={"title": {"text": _("Importance (% of R²)")}, "gridcolor": "#e5e7eb"},
            yaxis={"type": "category", "automargin": True},
        )
    )
    return _html(figure, "chart-importance")


def ipa_scatter(report: DriverReport) -> str:
    """Performance (x, 0–100) against importance (y), the cross at the means, quadrants named."""
    figure = go.Figure()
    figure.add_scatter(
        x=[row.performance for row in report.rows],
        y=[row.importance for row in report.rows],
        text=[row.label for row in report.rows],
        customdata=[[str(QUADRANT_LABELS[row.quadrant]), row.mean] for row in report.rows],
        mode="markers+text",
        textposition="top center",
        marker={"size": 14, "color": [QUADRANT_COLOURS[row.quadrant] for row in report.rows]},
        hovertemplate=(
            f"%{{text}}<br>%{{customdata[0]}}<br>{_('Importance')}: %{{y:.1f}}%<br>"
            f"{_('Performance')}: %{{x:.0f}} ({_('mean')} %{{customdata[1]:.2f}})<extra></extra>"
        ),
    )
    figure.add_hline(y=report.importance_split, line=LINE)
    figure.add_vline(x=report.performance_split, line=LINE)
    _corner_labels(
        figure,
        [
            (0.01, 0.99, str(QUADRANT_LABELS["fix_first"]), "left", "top"),
            (0.99, 0.99, str(QUADRANT_LABELS["keep_up"]), "right", "top"),
            (0.01, 0.01, str(QUADRANT_LABELS["low_priority"]), "left", "bottom"),
            (0.99, 0.01, str(QUADRANT_LABELS["possible_overkill"]), "right", "bottom"),
        ],
    )
    figure.update_layout(
        **_layout(
            height=440,
            showlegend=False,
            xaxis={
                "range": _around([r.performance for r in report.rows], 0, 100),
                "title": {"text": _("Performance (mean rating, 0–100)")},
            },
            yaxis={"rangemode": "tozero", "title": {"text": _("Importance (% of R²)")}},
        )
    )
    return _html(figure, "chart-ipa")
