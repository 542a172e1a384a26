"""The "collect stars" game: stars per completed order, answered survey and review, counted by
month; each step of the ladder pays its points once (idempotency key stars:<c>:<month>:<step>)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cxloop.customers.services import upsert_order
from cxloop.loyalty import stars
from cxloop.loyalty.level_models import StarAward, StarsProgram, StarsStepReward
from cxloop.loyalty.models import PointsEntry
from cxloop.loyalty.selectors import balance_of
from cxloop.loyalty.tests import level_helpers as h
from cxloop.loyalty.tests.level_helpers import level_setup  # noqa: F401  (autouse)
from cxloop.surveys.models import Response
from cxloop.surveys.signals import response_submitted

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(dt.datetime(2026, 3, 10, 12, 0))
MARCH = dt.date(2026, 3, 1)


def _award(c, n: int = 1, key: str | None = None, at=NOW, source="manual"):
    return stars.award_stars(
        customer=c, stars=n, source=source, idempotency_key=key or f"k{n}{at}{c.pk}", at=at
    )


def _points_entries(c):
    return PointsEntry.objects.filter(account__customer=c, source="stars").order_by("id")


def test_a_completed_order_earns_the_month_stars_once():
    c = h.customer()
    order = h.complete_order(c, amount_fen=5_000)
    award = StarAward.objects.get(customer=c)
    assert (award.stars, award.source, award.month) == (1, "order", stars.month_of())
    assert award.idempotency_key == f"stars:order:{order.pk}"
    # The same order sent again (unchanged) and a replayed receiver add nothing.
    upsert_order(data={"external_id": order.external_id, "customer_external_id": c.external_id,
                       "amount_fen": 5_000, "status": "completed",
                       "placed_at": order.placed_at.isoformat()}, actor=None)  # fmt: skip
    stars.on_order_completed(order=order)
    assert StarAward.objects.filter(customer=c).count() == 1


def test_an_old_order_completed_by_an_import_earns_no_stars():
    c = h.customer()
    h.complete_order(c, amount_fen=5_000, placed_at=timezone.now() - dt.timedelta(days=90))
    assert not StarAward.objects.exists()


def test_steps_pay_their_points_once_with_the_documented_key():
    c = h.customer()
    for i in range(2):
        _award(c, 1, key=f"a{i}")
    assert not StarsStepReward.objects.exists() and balance_of(customer=c) == 0
    _award(c, 1, key="a2")  # 3 stars: step 1 (50 points)
    entry = _points_entries(c).get()
    assert (entry.points, entry.idempotency_key) == (50, f"stars:{c.pk}:2026-03:1")
    _award(c, 4, key="a3")  # 7 stars: step 2 (150 points)
    assert list(_points_entries(c).values_list("points", flat=True)) == [50, 150]
    assert balance_of(customer=c) == 200
    stars.claim_steps(customer=c, month=MARCH)
    stars.claim_steps(customer=c, month=MARCH)
    assert StarsStepReward.objects.filter(customer=c).count() == 2
    assert _points_entries(c).count() == 2


def test_stars_count_per_month():
    c = h.customer()
    _award(c, 2, key="feb", at=NOW - dt.timedelta(days=20))  # February
    _award(c, 2, key="mar", at=NOW)
    assert stars.stars_in_month(customer=c, month=MARCH) == 2
    assert stars.stars_in_month(customer=c, month=dt.date(2026, 2, 1)) == 2
    assert not StarsStepReward.objects.exists()


def test_month_boundary_is_local_time():
    # 2026-03-31 16:30 UTC is 1 April 00:30 in Shanghai.
    at = dt.datetime(2026, 3, 31, 16, 30, tzinfo=dt.UTC)
    assert stars.month_of(at) == dt.date(2026, 4, 1)


def test_the_same_key_twice_is_one_award():
    c = h.customer()
    first = _award(c, 3, key="same")
    again = _award(c, 3, key="same")
    assert first.pk == again.pk
    assert stars.stars_in_month(customer=c, month=MARCH) == 3
    assert _points_entries(c).count() == 1


def test_an_answered_survey_earns_stars_through_the_signal():
    c = h.customer()
    response = SimpleNamespace(pk=987, customer_id=c.pk, customer=c, submitted_at=NOW)
    response_submitted.send(Response, response=response)
    response_submitted.send(Response, response=response)
    award = StarAward.objects.get(customer=c)
    assert (award.source, award.idempotency_key, award.month) == (
        "survey",
        "stars:response:987",
        MARCH,
    )


def test_an_anonymous_or_partial_response_earns_nothing():
    stars.on_response_submitted(response=SimpleNamespace(pk=1, customer_id=None, submitted_at=NOW))
    c = h.customer()
    partial = SimpleNamespace(pk=2, customer_id=c.pk, customer=c, submitted_at=None)
    stars.on_response_submitted(response=partial)
    assert not StarAward.objects.exists()


def test_reviews_earn_stars_once_per_reference():
    c = h.customer()
    stars.award_review_stars(customer=c, review_ref="R-1", at=NOW)
    stars.award_review_stars(customer=c, review_ref="R-1", at=NOW)
    stars.award_review_stars(customer=c, review_ref="R-2", at=NOW)
    assert stars.stars_in_month(customer=c, month=MARCH) == 2


def test_a_month_of_its_own_overrides_the_default():
    StarsProgram.objects.create(
        month=MARCH, name="三月双倍", thresholds=[{"stars": 2, "points": 500, "reward": ""}],
        stars_per_order=2,
    )  # fmt: skip
    assert stars.stars_for("order", MARCH) == 2
    assert stars.stars_for("order", dt.date(2026, 4, 1)) == 1
    c = h.customer()
    _award(c, 2, key="x")
    assert list(_points_entries(c).values_list("points", flat=True)) == [500]


def test_an_inactive_month_has_no_game():
    StarsProgram.objects.create(month=MARCH, name="off", thresholds=[], is_active=False)
    assert stars.program_for(MARCH) is None
    assert stars.stars_for("order", MARCH) == 0
    assert (
        stars.on_order_completed(order=SimpleNamespace(pk=1, customer=h.customer()), at=NOW) is None
    )


def test_a_claim_whose_points_failed_is_paid_by_the_next_claim():
    c = h.customer()
    StarAward.objects.create(customer=c, month=MARCH, stars=3, source="manual", idempotency_key="z")
    StarsStepReward.objects.create(customer=c, month=MARCH, step=1, stars_required=3, points=50)
    assert balance_of(customer=c) == 0  # claimed, then the process died before the points
    stars.claim_steps(customer=c, month=MARCH)
    assert balance_of(customer=c) == 50


def test_an_edited_ladder_does_not_change_a_claimed_step():
    c = h.customer()
    _award(c, 3, key="first")
    program = StarsProgram.objects.get(is_default=True)
    program.thresholds = [{"stars": 3, "points": 999, "reward": ""}]
    program.save()
    _award(c, 1, key="second")
    assert list(_points_entries(c).values_list("points", flat=True)) == [50]


def test_summary_shows_steps_reached_and_the_next():
    c = h.customer()
    _award(c, 4, key="s")
    summary = stars.stars_summary(customer=c, month=MARCH)
    assert summary.stars == 4
    assert [(s.step.stars, s.reached, s.claimed) for s in summary.steps] == [
        (3, True, True), (6, False, False), (10, False, False),
    ]  # fmt: skip
    assert summary.next_step.stars == 6


@pytest.mark.parametrize(
    "bad",
    [
        [{"stars": 0, "points": 10}],
        [{"stars": 3, "points": -1}],
        [{"stars": 3, "points": 0, "reward": ""}],
        [{"stars": 3, "points": 10}, {"stars": 3, "points": 20}],
        [{"stars": True, "points": 10}],
        "3:50",
        [3],
    ],
)
def test_bad_ladders_are_refused(bad):
    with pytest.raises(ValidationError):
        stars.clean_thresholds(bad)


def test_a_broken_stored_ladder_means_no_steps_not_an_error():
    program = StarsProgram.objects.get(is_default=True)
    program.thresholds = [{"stars": "many"}]
    assert stars.steps_of(program) == []


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        stars.award_stars(customer=h.customer(), stars=-1, source="manual", idempotency_key="n")
    with pytest.raises(ValueError):
        stars.award_stars(customer=h.customer(), stars=1, source="gift", idempotency_key="n")


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(awards=st.lists(st.tuples(st.integers(1, 4), st.integers(0, 5)), min_size=1, max_size=12))
def test_points_paid_equal_the_steps_reached(awards):
    c = h.customer()
    for n, key in awards:  # keys repeat: a replay adds nothing
        _award(c, n, key=f"p{c.pk}-{key}")
    total = sum({key: n for n, key in reversed(awards)}.values())
    steps = stars.steps_of(stars.program_for(MARCH))
    expected = sum(step.points for step in steps if step.stars <= total)
    assert stars.stars_in_month(customer=c, month=MARCH) == total
    assert balance_of(customer=c) == expected
    claimed = StarsStepReward.objects.filter(customer=c).values_list("step", flat=True)
    assert sorted(claimed) == [s.number for s in steps if s.stars <= total]


@pytest.mark.django_db(transaction=True)
def test_concurrent_awards_pay_a_step_once():
    import threading

    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite serialises writers, so there is no race to test")
    c = h.customer()
    barrier = threading.Barrier(6)

    def award(n: int) -> None:
        try:
            barrier.wait()
            _award(c, 2, key=f"race-{n}")
        finally:
            connection.close()

    threads = [threading.Thread(target=award, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stars.stars_in_month(customer=c, month=MARCH) == 12
    assert sorted(StarsStepReward.objects.filter(customer=c).values_list("step", flat=True)) == [
        1, 2, 3,
    ]  # fmt: skip
    assert balance_of(customer=c) == 50 + 150 + 300
