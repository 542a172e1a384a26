"""Churn reasons and model messages in the reader's language.

The churn model stores reasons as ``{"key": ..., "params": {...}}`` (``CustomerScore.
churn_reasons``); these templates are the English msgids of ``cxloop.insights.churn_features.
REASONS`` and ``cxloop.insights.churn.MODEL_REASONS`` written out, so makemessages finds them and
zh-Hans can translate them (a test checks they say exactly what the insights templates say).
``render_reasons`` is what the model page, the risk list and the customer profile call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

Template = Callable[[dict], str]

_REASONS: dict[str, Template] = {
    "order_frequency": lambda p: ngettext(
        "ordered {orders_recent} time in the last {window} days, against {orders_previous} in "
        "the {window} days before",
        "ordered {orders_recent} times in the last {window} days, against {orders_previous} in "
        "the {window} days before",
        p["orders_recent"],
    ),
    "no_recent_orders": lambda p: _("no order in the last {two_windows} days"),
    "rare_orders": lambda p: _("usually orders only every {mean_gap_days} days"),
    "few_orders": lambda p: ngettext(
        "only {orders_total} order so far", "only {orders_total} orders so far", p["orders_total"]
    ),
    "recency": lambda p: ngettext(
        "no order for {days_since_last_order} day",
        "no order for {days_since_last_order} days",
        p["days_since_last_order"],
    ),
    "overdue": lambda p: ngettext(
        "no order for {days_since_last_order} day, {overdue_ratio} times the usual gap of "
        "{mean_gap_days} days",
        "no order for {days_since_last_order} days, {overdue_ratio} times the usual gap of "
        "{mean_gap_days} days",
        p["days_since_last_order"],
    ),
    "last_gap": lambda p: _(
        "the last gap between orders was {last_gap_days} days, against {earlier_gap_days} days "
        "on average before"
    ),
    "spend": lambda p: _(
        "spent {spend_recent} in the last {window} days, against {spend_previous} in the "
        "{window} days before"
    ),
    "complaints": lambda p: ngettext(
        "{complaints_recent} complaint in the last {window} days, {unresolved_complaints} "
        "unresolved",
        "{complaints_recent} complaints in the last {window} days, {unresolved_complaints} "
        "unresolved",
        p["complaints_recent"],
    ),
    "complaints_reopened": lambda p: ngettext(
        "{complaints_recent} complaint in the last {window} days, {unresolved_complaints} "
        "unresolved, {reopened_complaints} reopened",
        "{complaints_recent} complaints in the last {window} days, {unresolved_complaints} "
        "unresolved, {reopened_complaints} reopened",
        p["complaints_recent"],
    ),
    "survey": lambda p: _("last survey score {last_survey_score}/10"),
    "tenure": lambda p: ngettext(
        "a customer for only {tenure_days} day",
        "a customer for only {tenure_days} days",
        p["tenure_days"],
    ),
    "p_alive": lambda p: _("estimated chance of still being active {p_alive_percent} %"),
}

_MODEL_MESSAGES: dict[str, Template] = {
    "history_too_short": lambda p: _(
        "needs at least {needed_days} days of order history before the cutoff (two horizons of "
        "{horizon_days} days and a {window_days}-day window); found {found_days}"
    ),
    "too_little_data_training": lambda p: _(
        "needs at least {min_customers} customers with 2+ orders, {min_churners} churners and "
        "{min_churners} who stayed in both periods; the training period has {customers} "
        "customers with 2+ orders, {churners} churners and {stayed} who stayed"
    ),
    "too_little_data_validation": lambda p: _(
        "needs at least {min_customers} customers with 2+ orders, {min_churners} churners and "
        "{min_churners} who stayed in both periods; the validation period has {customers} "
        "customers with 2+ orders, {churners} churners and {stayed} who stayed"
    ),
    "no_signal": lambda p: _(
        "no reliable signal: the validation AUC of {auc} ({confidence_percent} % interval "
        "{auc_ci_low} to {auc_ci_high}) is not clearly above 0.5, the level of guessing"
    ),
    "weak_signal": lambda p: _(
        "signal too weak to flag customers: the validation AUC of {auc} is below {min_auc}"
    ),
    # Not from the model: no customer with orders at all.
    "no_orders": lambda p: _("there are no orders yet"),
}


def _render(templates: dict[str, Template], key: str, params: dict) -> str | None:
    template = templates.get(key)
    if template is None:
        return None
    try:
        return template(params).format(**params)
    except (KeyError, IndexError, TypeError, ValueError):
        return None  # a reason stored by another version of the model: better unsaid


def _known(params: dict) -> bool:
    return not any(isinstance(v, float) and math.isnan(v) for v in params.values())


def render_reasons(reasons: Iterable[dict] | None) -> list[str]:
    """The stored ``churn_reasons`` (list of ``{"key", "params"}``) as sentences, best first;
    reasons this version cannot tell are left out."""
    texts = []
    for reason in reasons or ():
        if not isinstance(reason, dict):
            continue
        params = dict(reason.get("params") or {})
        if not _known(params):
            continue
        text = _render(_REASONS, str(reason.get("key", "")), params)
        if text:
            texts.append(text)
    return texts


def render_model_message(code: str, params: dict | None, fallback: str = "") -> str:
    """Why a churn model must not be used, translated; ``fallback`` (English) if unknown."""
    if not code:
        return fallback
    return _render(_MODEL_MESSAGES, code, dict(params or {})) or fallback
