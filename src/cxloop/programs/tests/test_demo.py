"""The programs demo: ideas over 8 weeks with one best per week, 2 adopted, 2 checklists and
~30 audits; loading twice adds nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from cxloop.customers.models import Customer
from cxloop.loyalty.models import PointsEntry
from cxloop.programs.demo import load_programs_demo
from cxloop.programs.models import AuditTemplate, Idea, ImprovementAction, MysteryAudit

NOW = dt.datetime(2026, 12, 2, 2, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_demo_loads_once(owner):
    Customer.objects.bulk_create(
        [Customer(external_id=f"d{n}", name=f"顾客{n}", phone=f"1380013{n:04d}") for n in range(10)]
    )
    summary = load_programs_demo(now=NOW)
    assert "40 ideas" in summary
    assert Idea.objects.count() == 40
    chosen = Idea.objects.exclude(week=None)
    assert chosen.count() == 8 and len(set(chosen.values_list("week", flat=True))) == 8
    assert Idea.objects.filter(status="adopted").count() == 2
    assert ImprovementAction.objects.filter(source_kind="idea").count() == 2
    rewarded = chosen.exclude(customer=None).count()
    assert PointsEntry.objects.filter(idempotency_key__startswith="idea:").count() == rewarded
    assert set(AuditTemplate.objects.values_list("name", flat=True)) == {"门店服务", "电话客服"}
    assert MysteryAudit.objects.count() == 30
    oldest = MysteryAudit.objects.order_by("visited_at").first().visited_at
    assert NOW - oldest <= dt.timedelta(days=91)
    assert ImprovementAction.objects.filter(source_kind="audit_item").exists()
    assert Idea.objects.filter(created_at__gt=NOW).count() == 0
    assert load_programs_demo(now=NOW) == "Programs demo already loaded."
    assert Idea.objects.count() == 40


@pytest.mark.django_db
def test_pages_render_over_the_demo(owner, owner_client):
    Customer.objects.create(external_id="d1", name="顾客", phone="13800130001")
    load_programs_demo(now=NOW)
    rewarded = Idea.objects.exclude(reward_entry=None).first()
    assert rewarded is not None
    detail = owner_client.get(f"/programs/ideas/{rewarded.pk}/")
    assert detail.status_code == 200 and "500 points" in detail.content.decode()
    for url in [
        "/programs/ideas/",
        "/programs/improvements/",
        "/programs/audits/",
        "/programs/audits/scores/",
        "/programs/audits/templates/",
        f"/programs/audits/{MysteryAudit.objects.first().pk}/",
        f"/programs/improvements/{ImprovementAction.objects.first().pk}/",
    ]:
        assert owner_client.get(url).status_code == 200, url
