"""Training and scoring the churn model on a database history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from cxloop.core.models import AuditLog
from cxloop.retention import churn, churn_tasks
from cxloop.retention.churn_models import ChurnModelRecord
from cxloop.retention.models import CustomerScore
from cxloop.retention.reasons import render_reasons
from cxloop.retention.tests.test_churn_support import (  # noqa: F401  (fixture)
    NOW,
    make_customers,
    retention_perms,
    signal_history,
)

pytestmark = pytest.mark.django_db


def test_build_history_reads_orders_cases_and_days(db):
    groups = signal_history(n_stay=5, n_churn=5)
    data = churn.build_history(now=NOW)
    history = data.history
    assert history.n_customers == 10
    assert data.today == (dt.date(2026, 6, 30) - dt.date(1970, 1, 1)).days
    assert history.order_day.max() <= data.today
    assert history.complaint_customer.size == 5
    # Complaints belong to the churners, by index into customer_ids.
    gone = {c.pk for c in groups["gone"]}
    assert set(data.customer_ids[history.complaint_customer].tolist()) == gone
    assert not history.complaint_resolved.any()


def test_training_on_a_known_signal_stores_an_active_usable_record(owner):
    signal_history()
    record = churn.train_churn_model(now=NOW, actor=owner)
    assert record.is_active and record.enough_data and record.signal, record.message
    assert record.auc > 0.75
    low, high = record.auc_ci
    assert 0.5 < low < record.auc < high <= 1
    assert 0 < record.brier < record.brier_reference
    assert record.n_train > 200 and record.n_valid > 200
    assert len(record.calibration) == 10
    assert record.valid_cutoff_date == dt.date(2026, 4, 1)
    assert AuditLog.objects.filter(action="retention.churn.train", actor=owner).exists()
    # A second training takes over as the one active model.
    second = churn.train_churn_model(now=NOW)
    assert list(ChurnModelRecord.objects.filter(is_active=True)) == [second]


def test_too_little_history_says_so_and_flags_nobody(db):
    customers = make_customers(12)
    from cxloop.customers.models import Order

    Order.objects.bulk_create(
        Order(external_id=f"few{c.pk}", customer=c, amount_fen=100, status="completed",
              placed_at=NOW - dt.timedelta(days=30))
        for c in customers
    )  # fmt: skip
    record = churn.train_churn_model(now=NOW)
    assert not record.enough_data and not record.signal and record.is_active
    assert record.message_code == "history_too_short"
    assert "needs at least 270 days of order history" in record.message
    CustomerScore.objects.update(churn_risk=0.9)
    assert churn.score_churn(now=NOW) == 0
    assert not CustomerScore.objects.exclude(churn_risk=None).exists()


def test_no_orders_at_all_is_a_refused_record(db):
    make_customers(3)
    record = churn.train_churn_model(now=NOW)
    assert record.message_code == "no_orders" and not record.usable


def test_scoring_fills_risk_and_reasons(db):
    groups = signal_history()
    churn.train_churn_model(now=NOW)
    scored = churn.score_churn(now=NOW)
    assert scored > 300
    risk = dict(CustomerScore.objects.values_list("customer_id", "churn_risk"))
    stay = [risk[c.pk] for c in groups["stay"] if risk[c.pk] is not None]
    gone = [risk[c.pk] for c in groups["gone"] if risk[c.pk] is not None]
    assert np.mean(gone) > np.mean(stay) + 0.2
    flagged = CustomerScore.objects.filter(churn_risk__gte=0.7).exclude(churn_reasons=[]).first()
    assert flagged is not None
    reasons = flagged.churn_reasons
    assert {"key", "params"} <= set(reasons[0]) and len(reasons) <= 3
    texts = render_reasons(reasons)
    assert texts and all(isinstance(t, str) and "{" not in t for t in texts)
    assert ChurnModelRecord.objects.get(is_active=True).scored_customers == scored


def test_no_active_model_with_signal_flags_nobody(db):
    make_customers(5)
    CustomerScore.objects.update(churn_risk=0.8, churn_reasons=[{"key": "recency", "params": {}}])
    assert churn.score_churn(now=NOW) == 0  # no model at all
    assert set(CustomerScore.objects.values_list("churn_risk", flat=True)) == {None}
    assert list(CustomerScore.objects.values_list("churn_reasons", flat=True)) == [[]] * 5
    CustomerScore.objects.update(churn_risk=0.8, churn_reasons=[{"key": "recency", "params": {}}])
    ChurnModelRecord.objects.create(is_active=True, enough_data=True, signal=False,
                                    message_code="no_signal")  # fmt: skip
    assert churn.score_churn(now=NOW) == 0
    assert set(CustomerScore.objects.values_list("churn_risk", flat=True)) == {None}
    assert list(CustomerScore.objects.values_list("churn_reasons", flat=True)) == [[]] * 5


def test_weekly_training_is_idempotent_per_week(db):
    make_customers(2)
    first = churn_tasks.weekly_training(NOW)
    again = churn_tasks.weekly_training(NOW + dt.timedelta(days=2))  # Thursday, same week
    assert again.pk == first.pk
    next_week = churn_tasks.weekly_training(NOW + dt.timedelta(days=7))
    assert next_week.pk != first.pk
    assert ChurnModelRecord.objects.filter(kind="scheduled").count() == 2
