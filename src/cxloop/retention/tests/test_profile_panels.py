"""The one-page customer profile: the panel registry and every app's panel on the page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client, RequestFactory
from django.urls import reverse

from cxloop.cases.models import Department, Membership
from cxloop.core import roles
from cxloop.customers import profile_panels
from cxloop.retention.models import CustomerScore
from cxloop.retention.scoring import score_customers
from cxloop.retention.tests.segment_helpers import NOW, build_shop, orders

pytestmark = pytest.mark.django_db


def _url(customer) -> str:
    return reverse("customers:detail", kwargs={"customer_id": customer.pk})


@pytest.fixture
def shop():
    shop = build_shop()
    big = shop["high"][0]
    big.tags = ["数码爱好者"]
    big.save()
    score_customers(now=NOW)
    return shop


# --- the registry -----------------------------------------------------------------------------


@pytest.fixture
def scratch_panels():
    saved = dict(profile_panels._PANELS)
    yield
    profile_panels._PANELS.clear()
    profile_panels._PANELS.update(saved)


def test_every_app_registers_its_panel():
    keys = [panel.key for panel in profile_panels.registered_panels()]
    assert keys[:2] == ["retention", "loyalty"]
    assert {"cases", "surveys"} <= set(keys)


def test_panels_are_ordered_filtered_by_permission_and_may_hide(scratch_panels, owner, outsider):
    profile_panels._PANELS.clear()
    template = "console/_pagination.html"
    profile_panels.register_panel("b", template=template, context=lambda r, c: {}, order=2)
    profile_panels.register_panel("a", template=template, context=lambda r, c: {}, order=1,
                                  permission="retention.view_customerscore")  # fmt: skip
    profile_panels.register_panel("hidden", template=template, context=lambda r, c: None, order=0)
    profile_panels.register_panel("b", template=template, context=lambda r, c: {}, order=3)
    request = RequestFactory().get("/")
    request.user = owner
    assert [p.key for p in profile_panels.panels_for(request, None)] == ["hidden", "a", "b"]
    assert [r.key for r in profile_panels.render_panels(request, None, {})] == ["a", "b"]
    request.user = outsider
    assert [p.key for p in profile_panels.panels_for(request, None)] == ["hidden", "b"]
    profile_panels.unregister_panel("b")
    assert [p.key for p in profile_panels.registered_panels()] == ["hidden", "a"]


# --- the retention panel ----------------------------------------------------------------------


def test_profile_shows_tier_rfm_clv_tags_and_history(shop, owner_client):
    big = shop["high"][0]
    reasons = [{"key": "recency", "params": {"days_since_last_order": 40}}]
    CustomerScore.objects.filter(customer=big).update(churn_risk=0.42, churn_reasons=reasons)
    response = owner_client.get(_url(big))
    html = response.content.decode()
    assert 'id="retention-panel"' in html and "High value" in html and ">555<" in html
    score = CustomerScore.objects.get(customer=big)
    assert f"¥{score.clv_fen // 100:,}." in html
    assert "42 %" in html and "no order for 40 days" in html
    panel = html[html.index('id="retention-panel"') :]
    derived = panel[panel.index('data-tags="derived"') : panel.index('data-tags="manual"')]
    manual = panel[panel.index('data-tags="manual"') : panel.index("</dl>")]
    assert "关注高端款" in derived and "门店常客" in derived and "数码爱好者" not in derived
    assert "数码爱好者" in manual and "关注高端款" not in manual
    assert "first scored: High value" in html


def test_tier_history_is_paginated(shop, owner_client):
    who = shop["basic"][0]
    for step in range(12):  # big orders move the customer up, no orders later move it down
        if step % 2 == 0:
            orders(who, days_ago=[0.1 * step] * 8, amount_fen=500_000)
        else:
            who.orders.all().filter(amount_fen=500_000).delete()
        score_customers(now=NOW)
    total = who.tier_changes.count()
    assert total > 10
    first = owner_client.get(_url(who)).content.decode()
    assert first.count("<li>2026-06-03") == 10 and "tier_history_page=2" in first
    second = owner_client.get(_url(who), {"tier_history_page": 2}).content.decode()
    assert second.count("<li>2026-06-03") == total - 10


def test_unscored_customer_says_so(db, owner_client):
    from cxloop.retention.tests.segment_helpers import customer

    html = owner_client.get(_url(customer())).content.decode()
    assert "Not scored yet" in html


def test_roles_without_the_score_permission_see_no_retention_panel(shop, django_user_model):
    handler = django_user_model.objects.create_user(username="h", password="pw")
    handler.groups.add(Group.objects.get(name=roles.DEPARTMENT_HANDLER))
    client = Client()
    client.force_login(handler)
    response = client.get(_url(shop["high"][0]))
    assert response.status_code == 200
    assert b'id="retention-panel"' not in response.content
    assert b'id="loyalty-panel"' not in response.content
    assert b'id="answers-panel"' not in response.content


# --- the cases panel --------------------------------------------------------------------------


@pytest.fixture
def two_department_cases(shop):
    from cxloop.cases import services

    who = shop["high"][0]
    service = Department.objects.create(code="cs-p", name="客服中心")
    logistics = Department.objects.create(code="log-p", name="物流部")
    made = {}
    for key, department in (("service", service), ("logistics", logistics)):
        case = services.create_case(channel="hotline", subject=f"{key} 问题", customer=who,
                                    description="…", contact_name="王女士")  # fmt: skip
        case.department = department
        case.save(update_fields=["department"])
        made[key] = case
    return who, logistics, made


def test_a_department_handler_sees_only_their_cases_in_the_panel(
    two_department_cases, django_user_model, owner_client
):
    who, logistics, made = two_department_cases
    handler = django_user_model.objects.create_user(username="handler", password="pw")
    handler.groups.add(Group.objects.get(name=roles.DEPARTMENT_HANDLER))
    Membership.objects.create(department=logistics, user=handler)
    client = Client()
    client.force_login(handler)
    html = client.get(_url(who)).content.decode()
    assert made["logistics"].number in html and made["service"].number not in html
    everything = owner_client.get(_url(who)).content.decode()
    assert made["logistics"].number in everything and made["service"].number in everything


# --- answers and loyalty ----------------------------------------------------------------------


def test_answers_panel_lists_scores_with_a_link(shop, owner_client, analyst_client):
    from cxloop.surveys.tests.results_helpers import make_response, make_survey

    who = shop["high"][0]
    survey = make_survey()
    make_response(survey, nps=9, csat=4, customer=who, submitted_at=NOW)
    make_response(survey, nps=2, customer=shop["basic"][0], submitted_at=NOW)
    html = owner_client.get(_url(who)).content.decode()
    panel = html[html.index('id="answers-panel"') :]
    assert "配送满意度调查" in panel and ">9<" in panel and ">2<" not in panel
    assert reverse("surveys:view_results", args=[survey.pk]) in panel


def test_loyalty_panel_shows_balance_and_ledger(shop, owner_client):
    from cxloop.loyalty.services import earn_points

    who = shop["high"][0]
    earn_points(customer=who, points=1234, idempotency_key="t-1", reason="开业礼", source="test")
    html = owner_client.get(_url(who)).content.decode()
    panel = html[html.index('id="loyalty-panel"') :]
    assert "1,234" in panel and "开业礼" in panel


def test_analyst_sees_masked_phone_on_the_profile(shop, analyst_client):
    who = shop["high"][0]
    html = analyst_client.get(_url(who)).content.decode()
    assert who.phone not in html and 'id="retention-panel"' in html
