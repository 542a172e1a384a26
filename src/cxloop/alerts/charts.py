"""The evidence chart of an alert: the place's daily series, the expected value with its band
(expected ± limit × the day's SD) and the alert day marked."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from django.utils.translation import gettext as _

from cxloop.console.charts import BLUE, _html, _layout

RED = "#dc2626"
GREY = "#9ca3af"


def series_chart(evidence, *, metric_label: str) -> str:
    days = [d.isoformat() for d in evidence.days]
    figure = go.Figure()
    figure.add_scatter(x=days, y=_list(evidence.upper), mode="lines", line={"width": 0},
                       hoverinfo="skip", showlegend=False)  # fmt: skip
    figure.add_scatter(
        x=days, y=_list(evidence.lower), mode="lines", line={"width": 0}, fill="tonexty",
        fillcolor="rgba(156,163,175,0.25)", name=_("Expected band"), hoverinfo="skip",
    )  # fmt: skip
    figure.add_scatter(x=days, y=_list(evidence.expected), mode="lines", name=_("Expected"),
                       line={"color": GREY, "dash": "dash"})  # fmt: skip
    figure.add_scatter(x=days, y=_list(evidence.values), mode="lines+markers", name=metric_label,
                       line={"color": BLUE, "width": 2}, marker={"size": 4})  # fmt: skip
    alert_day = evidence.alert_day.isoformat()
    figure.add_vline(x=alert_day, line={"color": RED, "dash": "dot"})
    if evidence.alert_value is not None:
        figure.add_scatter(x=[alert_day], y=[evidence.alert_value], mode="markers",
                           name=_("Alert day"), marker={"color": RED, "size": 11})  # fmt: skip
    figure.update_layout(**_layout(
        xaxis={"type": "date", "title": {"text": _("Day")}},
        yaxis={"title": {"text": metric_label}, "gridcolor": "#e5e7eb"},
    ))  # fmt: skip
    return _html(figure, "chart-alert-series")


def _list(values: np.ndarray) -> list:
    return [None if not np.isfinite(v) else float(v) for v in values]
