import datetime as dt

import numpy as np
import pytest

from cxloop.alerts.models import Dimension, Metric
from cxloop.alerts.series import build_series
from cxloop.alerts.tests.conftest import at, fill_store
from cxloop.cases.models import Case
from cxloop.customers.models import Customer, Order
from cxloop.surveys.tests.results_helpers import make_response, make_survey

END = dt.date(2025, 3, 31)
pytestmark = pytest.mark.django_db


def test_complaint_rate_per_store_and_day():
    days = [END - dt.timedelta(days=2), END - dt.timedelta(days=1), END]
    fill_store("A店", days, 10, lambda i: i)  # 0, 1, 2 cases on 10 orders
    fill_store("B店", days[1:], 4, lambda i: 1)
    series = build_series(metric=Metric.COMPLAINT_RATE, dimension=Dimension.STORE, end=END, days=5)
    assert series.places == ["A店", "B店"]
    a, b = series.row("A店"), series.row("B店")
    np.testing.assert_allclose(series.values[a, 2:], [0.0, 0.1, 0.2])
    np.testing.assert_array_equal(series.counts[a], [0, 0, 10, 10, 10])
    assert np.isnan(series.values[b, 2]) and series.values[b, 3] == pytest.approx(0.25)
    assert series.display == 1000


def test_complaint_rate_uses_local_days_and_skips_merged_and_cancelled():
    customer = Customer.objects.create(external_id="c1", region="华北", store="C店")
    # 23:30 local on END-1 is 15:30 UTC: it belongs to END-1, not END.
    late = at(END - dt.timedelta(days=1), 23) + dt.timedelta(minutes=30)
    Order.objects.create(external_id="o1", customer=customer, amount_fen=1, placed_at=late)
    Order.objects.create(external_id="o2", customer=customer, amount_fen=1, placed_at=late,
                         status=Order.Status.CANCELLED)  # fmt: skip
    Case.objects.create(number="N1", channel="hotline", subject="s", customer=customer,
                        created_at=late)  # fmt: skip
    Case.objects.create(number="N2", channel="hotline", subject="s", customer=customer,
                        created_at=late, status=Case.Status.MERGED)  # fmt: skip
    series = build_series(metric=Metric.COMPLAINT_RATE, dimension=Dimension.REGION, end=END, days=3)
    assert series.places == ["华北"]  # the customer's region: the case has none of its own
    np.testing.assert_array_equal(series.counts[0], [0, 1, 0])
    assert series.values[0, 1] == 1.0


def test_first_response_minutes_mean_of_responded_cases():
    fill_store("A店", [END], 0, lambda i: 3)  # each answered after 20 minutes
    Case.objects.create(
        number="X", channel="hotline", subject="s", store="A店", created_at=at(END)
    )  # fmt: skip  (not responded: not counted)
    series = build_series(metric=Metric.FIRST_RESPONSE, dimension=Dimension.STORE, end=END, days=2)
    assert series.counts[0].tolist() == [0, 3]
    assert series.values[0, 1] == pytest.approx(20.0)


def test_csat_top_two_box_and_nps_from_the_rollup():
    survey = make_survey()
    for nps, csat in [(10, 5), (9, 4), (7, 3), (0, 1)]:
        make_response(survey, nps=nps, csat=csat, store="A店", submitted_at=at(END))
    csat = build_series(metric=Metric.CSAT, dimension=Dimension.STORE, end=END, days=2)
    nps = build_series(metric=Metric.NPS, dimension=Dimension.STORE, end=END, days=2)
    assert csat.places == ["A店"] and csat.counts[0, 1] == 4
    assert csat.values[0, 1] == pytest.approx(0.5)  # 5 and 4 of a 5-point scale
    assert nps.values[0, 1] == pytest.approx((2 - 1) / 4 * 100)
    assert np.isnan(nps.values[0, 0])
