"""The segment pages: permissions, the overview figures, the movement report, the list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from cxloop.retention.models import ScoringRun, TierChange
from cxloop.retention.scoring import score_customers
from cxloop.retention.tests.segment_helpers import NOW, build_shop, orders

pytestmark = pytest.mark.django_db
PAGES = ["retention:segments", "retention:moves", "retention:customers"]
JUNE = {"month": "2026-06"}


@pytest.fixture
def scored():
    shop = build_shop()
    score_customers(now=NOW - dt.timedelta(days=20))  # 14 May: the first scoring
    # A churn-warning customer comes back with big orders: the one high-value customer now;
    # the three former ones (tied just behind) move down to potential, one potential to
    # basic, and 20 days on a basic customer's last order is old enough for churn warning.
    orders(shop["churn"][2], days_ago=[1, 2, 3, 4, 5, 6, 7], amount_fen=400_000)
    score_customers(now=NOW)  # 3 June
    return shop


@pytest.mark.parametrize("name", PAGES)
def test_pages_need_the_score_permission(name, scored, owner_client, teammate_client,
                                         analyst_client, outsider_client, client):  # fmt: skip
    url = reverse(name)
    for allowed in (owner_client, teammate_client, analyst_client):
        assert allowed.get(url).status_code == 200
    assert outsider_client.get(url).status_code == 403
    assert client.get(url).status_code == 302  # to the sign-in page


def test_overview_shows_tier_sizes_vip_and_the_chart(scored, owner_client):
    response = owner_client.get(reverse("retention:segments"))
    rows = {row.tier: row for row in response.context["rows"]}
    assert (rows["high_value"].customers, rows["potential"].customers) == (1, 11)
    assert sum(r.customers for r in rows.values()) == 32
    assert response.context["vip_total"] == sum(r.vip for r in rows.values()) == 4
    assert rows["high_value"].average_clv_fen > rows["basic"].average_clv_fen
    html = response.content.decode()
    assert 'id="chart-tiers"' in html and "Recalculate now" in html
    assert {stage["stage"] for stage in response.context["stages"]} >= {"new", "active"}


def test_overview_before_any_run_says_so(db, owner_client):
    response = owner_client.get(reverse("retention:segments"))
    assert b"No customer has been scored yet" in response.content
    assert response.context["chart"] == ""


def test_only_managers_may_recalculate(scored, owner, owner_client, teammate_client,
                                       analyst_client, outsider_client):  # fmt: skip
    url = reverse("retention:recalculate")
    for refused in (teammate_client, analyst_client, outsider_client):
        assert refused.post(url).status_code == 403
    assert ScoringRun.objects.count() == 2
    assert b"Recalculate now" not in teammate_client.get(reverse("retention:segments")).content
    response = owner_client.post(url)
    assert response.status_code == 302 and response.url == reverse("retention:segments")
    run = ScoringRun.objects.order_by("-id").first()
    assert (run.kind, run.actor, run.status) == ("manual", owner, "done")
    assert owner_client.get(url).status_code == 405


def test_movement_report_counts_the_month_and_lists_who_moved(scored, owner_client):
    response = owner_client.get(reverse("retention:moves"), JUNE)
    report = response.context["report"]
    june = TierChange.objects.filter(changed_at__gte=dt.datetime(2026, 5, 31, 16, tzinfo=dt.UTC))
    moved = june.exclude(from_tier="")
    assert (report.up, report.down, report.first) == (1, 5, 0) and moved.count() == 6
    cells = {(row[0], tier): count for row in report.matrix for tier, count, _d in row[1]}
    assert cells[("Churn warning", "high_value")] == 1
    assert cells[("High value", "potential")] == 3
    assert cells[("Potential", "basic")] == cells[("Basic", "churn_warning")] == 1
    assert sum(cells.values()) == 6
    listed = {change.customer_id for change, _phone in response.context["rows"]}
    assert {c.pk for c in [scored["churn"][2], *scored["high"]]} < listed
    assert len(listed) == 6
    may = owner_client.get(reverse("retention:moves"), {"month": "2026-05"}).context["report"]
    assert (may.up, may.down, may.first) == (0, 0, 32)


def test_movement_directions_filter_the_list(scored, owner_client):
    url = reverse("retention:moves")
    ups = owner_client.get(url, {**JUNE, "direction": "up"}).context["rows"]
    downs = owner_client.get(url, {**JUNE, "direction": "down"}).context["rows"]
    assert all(c.from_tier != "" for c, _p in ups + downs)
    assert [c.customer_id for c, _p in ups] == [scored["churn"][2].pk]
    assert {c.pk for c in scored["high"]} < {c.customer_id for c, _p in downs}
    assert len(downs) == 5
    first = owner_client.get(url, {"month": "2026-05", "direction": "first"}).context["page"]
    assert first.paginator.count == 32


def test_bad_month_is_a_message_not_an_error(scored, owner_client):
    response = owner_client.get(reverse("retention:moves"), {"month": "June", "direction": "x"})
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"month", "direction"}
    assert b"Enter a month as YYYY-MM" in response.content


def test_phones_are_masked_for_roles_without_personal_data(scored, owner_client, analyst_client):
    phone = scored["churn"][2].phone
    pages = (("retention:moves", JUNE), ("retention:customers", {"tier": "high_value"}))
    for name, params in pages:
        assert phone in owner_client.get(reverse(name), params).content.decode()
        html = analyst_client.get(reverse(name), params).content.decode()
        assert phone not in html and phone[:3] + "****" + phone[-4:] in html


def test_customer_list_filters_by_tier_stage_and_vip(scored, owner_client):
    url = reverse("retention:customers")
    high = owner_client.get(url, {"tier": "high_value"}).context["rows"]
    assert [score.customer_id for score, _p in high] == [scored["churn"][2].pk]
    potential = owner_client.get(url, {"tier": "potential"}).context["rows"]
    assert {score.tier for score, _p in potential} == {"potential"} and len(potential) == 11
    clvs = [score.clv_fen for score, _p in potential]
    assert clvs == sorted(clvs, reverse=True)  # by lifetime value, highest first
    new = owner_client.get(url, {"stage": "new"}).context["rows"]
    assert [score.customer_id for score, _p in new] == [scored["new"][0].pk]
    vip = owner_client.get(url, {"vip": "on"}).context["rows"]
    assert all(score.is_vip for score, _p in vip) and len(vip) == 4
    bad = owner_client.get(url, {"tier": "gold", "sort": "name"})
    assert bad.status_code == 200 and set(bad.context["form"].errors) == {"tier", "sort"}


def test_nav_link_for_score_readers_only(scored, teammate_client, django_user_model, client):
    assert reverse("retention:segments").encode() in teammate_client.get("/").content
    from django.contrib.auth.models import Group

    viewer = django_user_model.objects.create_user(username="viewer", password="pw")
    viewer.groups.add(Group.objects.get(name="viewer"))
    client.force_login(viewer)
    assert reverse("retention:segments").encode() not in client.get("/").content


def test_the_notes_of_the_last_run_are_shown(db, owner_client):
    from cxloop.core.services import set_setting
    from cxloop.retention.tests.segment_helpers import customer

    orders(customer(), days_ago=[3, 40], amount_fen=10_000)
    set_setting(key="tier_high_value_percent", value=80, actor=None)
    set_setting(key="tier_potential_percent", value=80, actor=None)
    score_customers(now=NOW)
    html = owner_client.get(reverse("retention:segments")).content.decode()
    assert "add up to more than 100 %; the default shares were used" in html
    assert "Only 1 customer ordered more than once (at least 20 needed)" in html


def test_a_running_run_disables_the_button_until_it_is_stale(scored, owner_client):
    from django.utils import timezone

    run = ScoringRun.objects.create(kind="manual", as_of=NOW)
    html = owner_client.get(reverse("retention:segments")).content.decode()
    assert "Recalculating…" in html and "Recalculate now" not in html
    run.started_at = timezone.now() - dt.timedelta(hours=3)
    run.save()
    assert b"Recalculate now" in owner_client.get(reverse("retention:segments")).content
