"""Plotly charts for the console, rendered as HTML fragments in the current language.

The fragments do not carry plotly.js; pages load it once from ``console:plotly_js`` (cached),
instead of inlining 4 MB into every page.
"""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from cxloop.console.selectors import MonthPoint, RegionPoint

FONT = '-apple-system, "Segoe UI", "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif'
BLUE = "#1d4ed8"
GREEN = "#059669"
CONFIG = {"displaylogo": False, "responsive": True, "modeBarButtonsToRemove": ["lasso2d"]}


def _layout(**extra) -> dict:
    return {
        "font": {"family": FONT, "size": 13, "color": "#1f2933"},
        "margin": {"l": 56, "r": 56, "t": 40, "b": 48},
        "height": 340,
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "hoverlabel": {"font": {"family": FONT}},
        **extra,
    }


def _html(figure: go.Figure, div_id: str) -> str:
    return figure.to_html(
        full_html=False, include_plotlyjs=False, config=CONFIG, div_id=div_id, default_width="100%"
    )


def monthly_orders_chart(points: list[MonthPoint]) -> str:
    months = [point.month.strftime("%Y-%m") for point in points]
    orders_label, revenue_label = _("Orders"), _("Revenue (¥)")
    figure = go.Figure()
    figure.add_bar(
        x=months,
        y=[point.orders for point in points],
        name=orders_label,
        marker_color=BLUE,
        hovertemplate=f"%{{x}}<br>{orders_label}: %{{y:,}}<extra></extra>",
    )
    figure.add_scatter(
        x=months,
        y=[point.revenue_fen / 100 for point in points],
        name=revenue_label,
        yaxis="y2",
        mode="lines+markers",
        line={"color": GREEN, "width": 3},
        hovertemplate=f"%{{x}}<br>{revenue_label}: ¥%{{y:,.2f}}<extra></extra>",
    )
    figure.update_layout(
        **_layout(
            xaxis={"type": "category", "title": {"text": _("Month")}},
            yaxis={"title": {"text": orders_label}, "rangemode": "tozero", "gridcolor": "#e5e7eb"},
            yaxis2={
                "title": {"text": revenue_label},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "tickprefix": "¥",
                "showgrid": False,
            },
        )
    )
    return _html(figure, "chart-monthly-orders")


def region_chart(points: list[RegionPoint]) -> str:
    regions = [point.region or _("(no region)") for point in points]
    orders_label = _("Orders")
    figure = go.Figure()
    figure.add_bar(
        x=regions,
        y=[point.orders for point in points],
        name=orders_label,
        marker_color=BLUE,
        customdata=[point.revenue_fen / 100 for point in points],
        hovertemplate=(
            f"%{{x}}<br>{orders_label}: %{{y:,}}<br>{_('Revenue (¥)')}: ¥%{{customdata:,.2f}}"
            "<extra></extra>"
        ),
    )
    figure.update_layout(
        **_layout(
            showlegend=False,
            xaxis={"type": "category", "title": {"text": _("Region")}},
            yaxis={"title": {"text": orders_label}, "rangemode": "tozero", "gridcolor": "#e5e7eb"},
        )
    )
    return _html(figure, "chart-orders-by-region")
