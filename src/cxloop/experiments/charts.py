"""The result chart: each variant's rate or mean with its 95 % interval as error bars."""

from __future__ import annotations

import plotly.graph_objects as go
from django.utils.translation import gettext as _

from cxloop.console.charts import BLUE, GREEN, _html, _layout


def result_chart(result) -> str:
    rows = [row for row in result.rows if row.value is not None]
    if not rows:
        return ""
    label = result.experiment.get_metric_display()
    figure = go.Figure()
    figure.add_bar(
        x=[f"{row.variant}: {row.name}" for row in rows],
        y=[row.value for row in rows],
        marker_color=[BLUE if row.variant == "A" else GREEN for row in rows],
        error_y={
            "type": "data", "symmetric": False,
            "array": [(row.high - row.value) if row.high is not None else 0 for row in rows],
            "arrayminus": [(row.value - row.low) if row.low is not None else 0 for row in rows],
        },
        hovertemplate=f"%{{x}}<br>{label}: %{{y:.2f}}<extra></extra>",
        name=label,
    )  # fmt: skip
    figure.update_layout(
        **_layout(
            xaxis={"type": "category", "title": {"text": _("Variant")}},
            yaxis={"title": {"text": label}, "rangemode": "tozero", "gridcolor": "#e5e7eb"},
            showlegend=False,
        )
    )
    return _html(figure, "chart-experiment-result")
