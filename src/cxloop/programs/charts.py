"""The store audit trend: one line per store, monthly average audit score (%)."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from cxloop.console.charts import _html, _layout


def trend_chart(trend: dict[str, list[tuple[str, float]]]) -> str:
    figure = go.Figure()
    label = _("Audit score (%)")
    for store, points in trend.items():
        figure.add_scatter(
            x=[month for month, _v in points],
            y=[round(v, 1) for _m, v in points],
            mode="lines+markers",
            name=store,
            hovertemplate=f"{store}<br>%{{x}}: %{{y:.1f}} %<extra></extra>",
        )
    figure.update_layout(
        **_layout(
            xaxis={"type": "category", "title": {"text": _("Month")}},
            yaxis={"title": {"text": label}, "range": [0, 100], "gridcolor": "#e5e7eb"},
        )
    )
    return _html(figure, "chart-audit-trend")
