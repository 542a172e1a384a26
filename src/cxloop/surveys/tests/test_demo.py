"""Demo surveys: published templates, ~5,000 responses with the promised shape."""

from __future__ import annotations

import datetime as dt

import pytest

from cxloop.customers.demo import DemoSize, load_demo_data
from cxloop.surveys import selectors
from cxloop.surveys.demo import PLAN, load_demo_surveys
from cxloop.surveys.models import Invitation, Response, Survey

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2026, 11, 22)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from cxloop.cases.tests.test_demo import restore, snapshot

    with django_db_blocker.unblock():
        cases_before = snapshot()  # the company's demo loads its cases too
        # The company's demo loads its surveys too; a second call changes nothing.
        message = load_demo_data(
            seed=7, as_of=AS_OF, size=DemoSize(customers=400, orders=3_000), retain=False
        )
        assert load_demo_surveys(seed=7, as_of=AS_OF) == "Demo surveys already loaded."
        yield message
        restore(cases_before)
        _clean_up()


def _clean_up() -> None:
    """The module's data lives outside the tests' transactions: remove it, children first."""
    from cxloop.core.models import AuditLog, Setting
    from cxloop.customers.models import Customer, Order

    for model in (Response, Invitation, Survey, Order, Customer, Setting, AuditLog):
        model.objects.all().delete()


def test_three_published_surveys_with_responses(demo):
    assert "5,000 responses" in demo
    surveys = Survey.objects.filter(status=Survey.Status.ACTIVE)
    assert surveys.count() == 3 and all(s.current_version_id for s in surveys)
    assert Response.objects.filter(submitted_at__isnull=False).count() == sum(PLAN.values())
    rate = selectors.response_figures(survey=surveys.first()).response_rate
    assert 30 < rate < 50


def test_some_are_flagged_and_excluded(demo):
    flagged = Response.objects.filter(excluded=True)
    assert 50 < flagged.count() < 500
    assert all(r.flags for r in flagged[:20])


def test_south_has_worse_logistics(demo):
    survey = Survey.objects.get(key="post-delivery-csat")
    rows = {
        r.group: r
        for r in selectors.metric_table(metric="csat", survey=survey, group_by="region").rows
    }
    assert rows["华南"].value < rows["华东"].value - 15 and rows["华南"].significant


def test_recent_improvement_and_vip_difference(demo):
    survey = Survey.objects.get(key="relationship-nps")
    trend = selectors.metric_table(metric="nps", survey=survey, period="month").rows
    assert len(trend) >= 12
    early = sum(r.value for r in trend[:6]) / 6
    assert trend[-1].value > early + 10
    segments = {
        r.group: r
        for r in selectors.metric_table(metric="nps", survey=survey, group_by="segment").rows
    }
    ages = {
        r.group: r
        for r in selectors.metric_table(metric="nps", survey=survey, group_by="age_band").rows
    }
    assert segments["vip"].value > segments["existing"].value
    assert ages["18-24"].value < ages["25-34"].value


def test_comments_are_chinese_and_second_load_does_nothing(demo):
    survey = Survey.objects.get(key="relationship-nps")
    comment = selectors.comments(survey=survey).first().answers["comment"]
    assert any(
        topic in comment
        for topic in (
            "物流",
            "包装",
            "客服",
            "价格",
            "质量",
            "快递",
            "性价比",
            "做工",
            "优惠",
            "外箱",
            "配送",
            "图片",
        )
    )
    assert load_demo_surveys(seed=7, as_of=AS_OF) == "Demo surveys already loaded."
    assert Survey.objects.count() == 3
