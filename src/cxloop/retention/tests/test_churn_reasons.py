"""The translatable reason templates say exactly what the insights templates say."""

from __future__ import annotations

import pytest
from django.utils import translation

from cxloop.insights.churn import MODEL_REASONS
from cxloop.insights.churn_features import REASONS
from cxloop.retention.reasons import render_model_message, render_reasons

PARAMS = {
    "window": 90, "two_windows": 180, "orders_previous": 4, "mean_gap_days": 21.5,
    "days_since_last_order": 64, "overdue_ratio": 3.0, "last_gap_days": 40,
    "earlier_gap_days": 12.5, "spend_recent": "¥10.00", "spend_previous": "¥1,200.00",
    "unresolved_complaints": 1, "reopened_complaints": 1, "last_survey_score": 3,
    "p_alive_percent": 12,
}  # fmt: skip
MODEL_PARAMS = {
    "needed_days": 270, "found_days": 30, "horizon_days": 90, "window_days": 90,
    "min_customers": 200, "min_churners": 30, "customers": 12, "churners": 3, "stayed": 9,
    "auc": 0.52, "confidence_percent": 95, "auc_ci_low": 0.45, "auc_ci_high": 0.59, "min_auc": 0.6,
}  # fmt: skip


@pytest.mark.parametrize("key", sorted(REASONS))
@pytest.mark.parametrize("count", [1, 2])
def test_every_reason_reads_as_the_insights_english(key, count):
    counted = {name: count for name in ("orders_recent", "orders_total", "tenure_days",
                                         "complaints_recent")}  # fmt: skip
    params = {**PARAMS, **counted, "days_since_last_order": count}
    with translation.override("en"):
        assert render_reasons([{"key": key, "params": params}]) == [REASONS[key].render(params)]


@pytest.mark.parametrize("code", sorted(MODEL_REASONS))
def test_every_model_message_reads_as_the_insights_english(code):
    with translation.override("en"):
        assert render_model_message(code, MODEL_PARAMS) == MODEL_REASONS[code].format(
            **MODEL_PARAMS
        )


def test_unknown_or_incomplete_reasons_are_left_out():
    reasons = [
        {"key": "from_a_newer_model", "params": {}},
        {"key": "recency", "params": {}},  # its number is missing
        {"key": "survey", "params": {"last_survey_score": float("nan")}},
        {"key": "survey", "params": {"last_survey_score": 2}},
        "not a dict",
    ]
    with translation.override("en"):
        assert render_reasons(reasons) == ["last survey score 2/10"]
    assert render_reasons(None) == []
    assert render_model_message("nope", {}, "fallback") == "fallback"
