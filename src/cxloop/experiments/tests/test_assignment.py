"""Stored, deterministic assignment and the case-created hook."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxloop.cases import services as case_services
from cxloop.customers.models import Customer
from cxloop.experiments import services
from cxloop.experiments.models import Assignment

from .conftest import make_cases, new_experiment, started


def test_split_is_respected_roughly_on_2000_units():
    for split, expected in ((50, 1000), (20, 400), (80, 1600)):
        b = sum(
            services.bucket_variant(experiment_id=7, unit="case", unit_id=i, split_b_percent=split)
            == "B"
            for i in range(1, 2001)
        )
        assert abs(b - expected) < 90, (split, b)  # ~4 SD of a binomial(2000, p)


@given(st.integers(1, 10_000), st.integers(1, 10**9), st.integers(1, 98))
def test_a_unit_in_b_stays_in_b_when_the_share_of_b_grows(experiment_id, unit_id, split):
    at = lambda s: services.bucket_variant(  # noqa: E731
        experiment_id=experiment_id, unit="case", unit_id=unit_id, split_b_percent=s
    )
    assert at(split) == at(split)
    if at(split) == "B":
        assert at(split + 1) == "B"


def test_different_experiments_split_differently():
    one = [services.bucket_variant(experiment_id=1, unit="case", unit_id=i, split_b_percent=50)
           for i in range(200)]  # fmt: skip
    two = [services.bucket_variant(experiment_id=2, unit="case", unit_id=i, split_b_percent=50)
           for i in range(200)]  # fmt: skip
    assert one != two


def test_assign_is_stored_and_idempotent(owner):
    experiment = started(owner)
    cases = make_cases(300)
    first = {c.pk: services.assign(experiment=experiment, case=c) for c in cases}
    assert Assignment.objects.filter(experiment=experiment).count() == 300
    assert 100 < sum(v == "B" for v in first.values()) < 200
    experiment.split_b_percent = 99  # the stored row wins over a new hash
    experiment.save()
    again = {c.pk: services.assign(experiment=experiment, case=c) for c in cases}
    assert again == first
    assert Assignment.objects.filter(experiment=experiment).count() == 300
    stored = dict(Assignment.objects.filter(experiment=experiment).values_list("case", "variant"))
    assert stored == first


def test_assign_needs_the_unit_of_the_experiment(owner):
    experiment = started(owner, unit="customer")
    (case,) = make_cases(1)
    with pytest.raises(services.ExperimentError):
        services.assign(experiment=experiment, case=case)


def test_new_matching_case_of_a_running_experiment_is_assigned(owner, category, other_category):
    running = started(owner, category=category)
    draft = new_experiment(owner, name="Draft", category=category)
    channel_only = started(owner, name="Chat only", channel="chat")
    match = case_services.create_case(
        contact_name="李", channel="hotline", subject="late parcel", category=category
    )
    other = case_services.create_case(
        contact_name="李", channel="hotline", subject="broken", category=other_category
    )
    assert Assignment.objects.filter(experiment=running, case=match).count() == 1
    assert not Assignment.objects.filter(experiment=running, case=other).exists()
    assert not Assignment.objects.filter(experiment=draft).exists()
    assert not Assignment.objects.filter(experiment=channel_only).exists()


def test_stopped_experiment_assigns_no_more(owner, category):
    experiment = started(owner, category=category)
    services.stop_experiment(experiment=experiment, actor=owner)
    case_services.create_case(
        contact_name="李", channel="hotline", subject="late parcel", category=category
    )
    assert not Assignment.objects.filter(experiment=experiment).exists()


def test_customer_experiment_assigns_the_customer_once(owner, category):
    experiment = started(owner, unit="customer", category=category)
    customer = Customer.objects.create(external_id="C-1", name="王")
    for subject in ("one", "two"):
        case_services.create_case(
            channel="hotline", subject=subject, customer=customer, category=category
        )
    case_services.create_case(
        contact_name="李", channel="hotline", subject="anonymous", category=category
    )
    rows = Assignment.objects.filter(experiment=experiment)
    assert list(rows.values_list("customer", flat=True)) == [customer.pk]
