"""The idea life cycle: submit with sentiment/aspects, shortlist, the weekly best (one per ISO
week, rewarded once), adopt → improvement action, an audit row per change."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.core.models import AuditLog
from cxloop.core.services import set_setting
from cxloop.loyalty.models import PointsEntry
from cxloop.programs import services
from cxloop.programs.models import Idea, IdeaEvent, ImprovementAction
from cxloop.programs.services import ProgramError

MONDAY = dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC)  # ISO 2026-W49


def submit(**extra) -> Idea:
    fields = {
        "title": "收银台增加自助通道",
        "body": "排队太久了，服务态度也很差，希望改进。",
        "channel": "public",
    } | extra
    return services.submit_idea(**fields)[0]


@pytest.mark.django_db
def test_submit_sets_sentiment_aspects_event_and_audit():
    idea = submit(store="上海徐汇店")
    assert idea.status == "submitted" and idea.channel == "public"
    assert idea.sentiment is not None and idea.sentiment < 0  # "太久" "很差"
    assert "attitude" in idea.aspects
    assert IdeaEvent.objects.filter(idea=idea, to_status="submitted").count() == 1
    assert AuditLog.objects.filter(action="programs.idea.submit", object_id=str(idea.pk)).exists()


@pytest.mark.django_db
def test_positive_idea_scores_positive():
    idea = submit(title="店员很热情", body="非常满意，服务很好，建议表扬这位店员。")
    assert idea.sentiment > 0


@pytest.mark.django_db
def test_external_ref_is_idempotent():
    first, created = services.submit_idea(
        title="想法", body="一个很好的想法内容", channel="api", external_ref="x-1"
    )
    again, created_again = services.submit_idea(
        title="另一个", body="完全不同的内容啊", channel="api", external_ref="x-1"
    )
    assert created and not created_again and again.pk == first.pk
    assert Idea.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields, field",
    [
        ({"title": ""}, "title"),
        ({"body": "短"}, "body"),
        ({"title": "x" * 201}, "title"),
        ({"body": "ok ok ok\x00"}, "body"),
        ({"channel": "fax"}, "channel"),
    ],
)
def test_bad_input_is_refused_per_field(fields, field):
    with pytest.raises(ProgramError) as raised:
        submit(**fields)
    assert field in raised.value.field_errors
    assert not Idea.objects.exists()


@pytest.mark.django_db
def test_moves_follow_the_life_cycle(owner):
    idea = submit()
    services.shortlist_idea(idea=idea, actor=owner, note="不错")
    with pytest.raises(ProgramError):
        services.shortlist_idea(idea=idea, actor=owner)
    services.reject_idea(idea=idea, actor=owner)
    with pytest.raises(ProgramError):
        services.choose_weekly_best(idea=idea, actor=owner, now=MONDAY)
    statuses = list(IdeaEvent.objects.filter(idea=idea).values_list("to_status", flat=True))
    assert statuses == ["submitted", "shortlisted", "rejected"]
    actions = AuditLog.objects.filter(object_id=str(idea.pk), actor=owner)
    assert {a.action for a in actions} == {"programs.idea.shortlisted", "programs.idea.rejected"}


@pytest.mark.django_db
def test_one_best_idea_per_iso_week(owner):
    first, second = submit(), submit(title="第二个想法")
    services.choose_weekly_best(idea=first, actor=owner, now=MONDAY)
    assert Idea.objects.get(pk=first.pk).week == "2026-W49"
    with pytest.raises(ProgramError) as raised:
        services.choose_weekly_best(idea=second, actor=owner, now=MONDAY + dt.timedelta(days=6))
    assert "2026-W49" in raised.value.message
    services.choose_weekly_best(idea=second, actor=owner, now=MONDAY + dt.timedelta(days=7))
    assert Idea.objects.get(pk=second.pk).week == "2026-W50"


@pytest.mark.django_db
def test_week_is_unique_in_the_database():
    from django.db import IntegrityError, transaction

    submit().__class__.objects.update(week="2026-W01")
    other = submit(title="再一个")
    with pytest.raises(IntegrityError), transaction.atomic():
        Idea.objects.filter(pk=other.pk).update(week="2026-W01")


def test_iso_week_uses_shanghai_time():
    # Sunday 2026-12-06 20:00 UTC is Monday 04:00 in Shanghai: the next ISO week.
    assert services.iso_week(dt.datetime(2026, 12, 6, 20, tzinfo=dt.UTC)) == "2026-W50"
    assert services.iso_week(dt.datetime(2026, 12, 6, 10, tzinfo=dt.UTC)) == "2026-W49"


@pytest.mark.django_db
def test_customer_author_rewarded_once(owner, customer):
    idea = submit(customer=customer)
    services.choose_weekly_best(idea=idea, actor=owner, now=MONDAY)
    idea.refresh_from_db()
    entry = PointsEntry.objects.get(account__customer=customer)
    assert entry.points == 500 and idea.reward_entry_id == entry.pk
    assert entry.idempotency_key == f"idea:{idea.pk}:reward"
    # Rewarding again (a retry) does not pay twice.
    services._reward(idea, actor=owner, now=MONDAY)
    assert PointsEntry.objects.filter(account__customer=customer).count() == 1


@pytest.mark.django_db
def test_reward_amount_is_a_setting(owner, customer):
    set_setting(key="idea_reward_points", value=200, actor=owner)
    idea = submit(customer=customer)
    services.choose_weekly_best(idea=idea, actor=owner, now=MONDAY)
    assert PointsEntry.objects.get(account__customer=customer).points == 200


@pytest.mark.django_db
def test_staff_author_gets_an_audit_note_not_points(owner, teammate):
    idea = submit(author_user=teammate, channel="console")
    services.choose_weekly_best(idea=idea, actor=owner, now=MONDAY)
    assert not PointsEntry.objects.exists()
    note = AuditLog.objects.get(action="programs.idea.staff_recognised")
    assert note.after["author"] == "teammate" and note.actor == owner


@pytest.mark.django_db
def test_adopt_creates_one_improvement_action(owner):
    idea = submit(store="北京朝阳店")
    action = services.adopt_idea(
        idea=idea, actor=owner, owner=owner, due_date=dt.date(2026, 12, 31)
    )
    assert action.source_kind == "idea" and action.idea_id == idea.pk
    assert action.store == "北京朝阳店" and action.owner == owner and action.status == "open"
    assert Idea.objects.get(pk=idea.pk).status == "adopted"
    with pytest.raises(ProgramError):
        services.adopt_idea(idea=idea, actor=owner)
    assert ImprovementAction.objects.count() == 1


@pytest.mark.django_db
def test_update_action_audits_the_change(owner):
    action = services.create_action(actor=owner, title="加开收银台")
    services.update_action(action=action, actor=owner, changes={"status": "in_progress"})
    row = AuditLog.objects.get(action="programs.action.update")
    assert row.before == {"status": "open"} or row.before["status"] == "open"
    assert row.after["status"] == "in_progress"
    with pytest.raises(ProgramError):
        services.update_action(action=action, actor=owner, changes={"status": "nope"})
    with pytest.raises(ProgramError):
        services.update_action(action=action, actor=owner, changes={"idea": 1})


@given(st.text(max_size=60))
@settings(max_examples=40, deadline=None)
def test_analyse_is_total_and_bounded(text):
    sentiment, aspects = services.analyse(text, text)
    assert -1.0 <= sentiment <= 1.0
    assert isinstance(aspects, list)
