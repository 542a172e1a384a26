"""The segments chart: customers per tier (bars) and their average lifetime value (line)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cxloop.console.charts import BLUE, GREEN, _html, _layout
from cxloop.retention.selectors import TierRow

GRID = "#e5e7eb"


def tier_chart(rows: list[TierRow]) -> str:
    import plotly.graph_objects as go  # loaded with the page that draws, not at start-up

    labels = [row.label for row in rows]
    customers_label, clv_label = _("Customers"), _("Average lifetime value (¥)")
    figure = go.Figure()
    figure.add_bar(
        x=labels,
        y=[row.customers for row in rows],
        name=customers_label,
        marker_color=BLUE,
        customdata=[round((row.share or 0) * 100, 1) for row in rows],
        hovertemplate=f"%{{x}}<br>{customers_label}: %{{y:,}} (%{{customdata}} %)<extra></extra>",
    )
    figure.add_scatter(
        x=labels,
        y=[None if row.average_clv_fen is None else row.average_clv_fen / 100 for row in rows],
        name=clv_label,
        yaxis="y2",
        mode="lines+markers",
        line={"color": GREEN, "width": 3},
        hovertemplate=f"%{{x}}<br>{clv_label}: ¥%{{y:,.2f}}<extra></extra>",
    )
    figure.update_layout(
        **_layout(
            xaxis={"type": "category", "title": {"text": _("Tier")}},
            yaxis={"title": {"text": customers_label}, "rangemode": "tozero", "gridcolor": GRID},
            yaxis2={
                "title": {"text": clv_label},
                "overlaying": "y",
                "side": "right",
                "rangemode": "tozero",
                "tickprefix": "¥",
                "showgrid": False,
            },
        )
    )
    return _html(figure, "chart-tiers")
