"""Stratified sampling: group definitions, exact quotas, deterministic draws, invitations."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.core.models import AuditLog
from cxloop.customers.models import Customer, Order
from cxloop.surveys import sampling
from cxloop.surveys.invitations import invite
from cxloop.surveys.models import Invitation
from cxloop.surveys.tests.invitation_helpers import make_customer, make_order, make_survey

pytestmark = pytest.mark.django_db
BIG = 600_000  # above the default VIP threshold of ¥5,000
SMALL = 10_000


def _group_of(customer) -> str:
    return sampling.grouped_customers().get(pk=customer.pk).sample_group


def test_group_definitions():
    vip = make_customer()
    make_order(vip, days_ago=100, amount_fen=BIG)
    lapsed = make_customer()
    make_order(lapsed, days_ago=400, amount_fen=BIG)
    make_order(lapsed, days_ago=120, amount_fen=SMALL)
    back_again = make_customer()  # was high-value, ordered recently: existing, not lapsed
    make_order(back_again, days_ago=400, amount_fen=BIG)
    make_order(back_again, days_ago=30, amount_fen=SMALL)
    existing = make_customer()
    make_order(existing, days_ago=179, amount_fen=SMALL)
    new = make_customer(registered_days_ago=10)
    new_with_cancelled = make_customer(registered_days_ago=10)
    make_order(new_with_cancelled, days_ago=5, amount_fen=BIG, status=Order.Status.CANCELLED)
    old_no_order = make_customer(registered_days_ago=200)
    quiet = make_customer()
    make_order(quiet, days_ago=200, amount_fen=SMALL)
    expected = {
        vip: "vip",
        lapsed: "lapsed",
        back_again: "existing",
        existing: "existing",
        new: "new",
        new_with_cancelled: "new",
        old_no_order: "",
        quiet: "",
    }
    assert {customer: _group_of(customer) for customer in expected} == expected


def test_no_consent_is_never_drawn():
    refuser = make_customer(consent=False, registered_days_ago=5)
    assert not sampling.grouped_customers().filter(pk=refuser.pk).exists()
    assert sampling.draw_sample(quotas={"new": 10}) == {"new": []}


def test_quotas_give_exact_counts_per_group():
    for _ in range(6):
        make_order(make_customer(), days_ago=10)
    for _ in range(3):
        make_customer(registered_days_ago=5)
    vip = make_customer()
    make_order(vip, days_ago=3, amount_fen=BIG)
    sample = sampling.draw_sample(quotas={"existing": 4, "new": 5, "vip": 1, "lapsed": 2}, seed=7)
    assert {group: len(ids) for group, ids in sample.items()} == {
        "existing": 4,
        "new": 3,  # all there are
        "vip": 1,
        "lapsed": 0,
    }
    assert sample["vip"] == [vip.pk]
    drawn = [pk for ids in sample.values() for pk in ids]
    assert len(drawn) == len(set(drawn))


def test_draw_is_deterministic_by_seed():
    for _ in range(20):
        make_customer(registered_days_ago=5)
    first = sampling.draw_sample(quotas={"new": 5}, seed=42)
    assert sampling.draw_sample(quotas={"new": 5}, seed=42) == first
    assert sampling.draw_sample(quotas={"new": 5}, seed=43) != first


def test_huge_ids_and_seeds_stay_in_range():
    customer = make_customer(registered_days_ago=5)
    Customer.objects.filter(pk=customer.pk).update(id=2**40 + 7)
    assert sampling.draw_sample(quotas={"new": 1}, seed=2**62) == {"new": [2**40 + 7]}


@pytest.mark.parametrize("quotas", [{"gold": 1}, {"new": -1}, {"new": "3"}, {"vip": 10**9}])
def test_bad_quotas_are_refused(quotas):
    with pytest.raises(sampling.SampleError):
        sampling.draw_sample(quotas=quotas)


def test_invite_sample_invites_and_keeps_suppressions_visible(owner):
    survey = make_survey()
    customers = [make_customer(registered_days_ago=5) for _ in range(3)]
    invite(survey=make_survey(), customer=customers[0], channel="sms")  # invited recently
    report = sampling.invite_sample(survey=survey, quotas={"new": 3}, channel="sms", actor=owner)
    assert report.drawn == {"new": 3}
    assert report.suppressed == {"new": 1} and report.scheduled == {"new": 2}
    rows = Invitation.objects.filter(survey=survey)
    assert set(rows.values_list("sample_group", flat=True)) == {"new"}
    suppressed = rows.get(customer=customers[0])
    assert (suppressed.status, suppressed.suppressed_reason) == ("suppressed", "frequency_cap")
    audit = AuditLog.objects.get(action="survey.sample_invited")
    assert audit.actor == owner and audit.after["drawn"] == {"new": 3}


def test_group_boundaries_move_with_now():
    customer = make_customer()
    make_order(customer, days_ago=170)
    assert _group_of(customer) == "existing"
    later = timezone.now() + dt.timedelta(days=20)
    assert sampling.grouped_customers(now=later).get(pk=customer.pk).sample_group == ""
