"""The scoring run gives frequent buyers finite, correct P(alive), expected orders and CLV.

``insights.clv`` used to lose all precision for customers with some 60-300 repeat purchases
(NaN, or 0 for a longer horizon), and the scoring run recomputed them with another form of
the model; now the one public path must be right for them too. Checked against the slow,
independent reference of ``insights/tests/bgnbd_oracle.py``.
"""

from __future__ import annotations

import numpy as np
import pytest

from cxloop.insights.tests import bgnbd_oracle
from cxloop.retention.models import CustomerScore, ScoringRun
from cxloop.retention.scoring import EXPECTED_DAYS, score_customers
from cxloop.retention.tests.segment_helpers import NOW, build_shop, customer, orders

pytestmark = pytest.mark.django_db

WEEK = 7 * 86_400
# (orders, over the last this many days): a steady buyer, a weekly one, one buying 5 a day
HEAVY = [(80, 700), (200, 500), (300, 60)]


@pytest.fixture
def heavy_buyers():
    shop = build_shop()
    buyers = []
    for count, span in HEAVY:
        buyers.append(who := customer())
        orders(who, days_ago=np.linspace(1, span, count).tolist(), amount_fen=20_000)
    return shop, buyers


def test_heavy_buyers_get_finite_correct_lifetime_values(heavy_buyers):
    shop, buyers = heavy_buyers
    run = score_customers(now=NOW)
    assert run.status == ScoringRun.Status.DONE
    assert "clv_not_finite" not in [note["code"] for note in run.parameters.get("notes", [])]
    fit = tuple(run.parameters["bgnbd"][name] for name in ("r", "alpha", "a", "b"))
    basic = CustomerScore.objects.get(customer=shop["basic"][0])
    for who, (count, _span) in zip(buyers, HEAVY, strict=True):
        score = CustomerScore.objects.get(customer=who)
        assert score.frequency == count
        t_x = (score.last_order_at - score.first_order_at).total_seconds() / WEEK
        age = (NOW - score.first_order_at).total_seconds() / WEEK
        want = bgnbd_oracle.expected_purchases(fit, count - 1, t_x, age, EXPECTED_DAYS / 7)
        assert score.expected_purchases_90d == pytest.approx(want, rel=1e-8)
        assert 0 <= score.p_alive <= 1
        assert score.clv_fen is not None and score.clv_fen > basic.clv_fen > 0


def test_the_buyer_of_five_a_day_is_expected_to_go_on(heavy_buyers):
    _shop, buyers = heavy_buyers
    score_customers(now=NOW)
    busiest = CustomerScore.objects.get(customer=buyers[-1])
    # 300 orders in 60 days, the last yesterday: still active, about 5 a day for 90 days
    assert busiest.p_alive > 0.9
    assert 200 < busiest.expected_purchases_90d < 600
