"""SLA rules naming a case category: matching (a top-level category covers its sub-categories),
ranking against channel / tier / severity, recomputing just the matching open cases, the console
form and list, and the retention plays' own rules (no complaint clocks on a win-back case).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from cxloop.cases import config_rules, config_services, sla, sweep
from cxloop.cases.models import Case, CaseEvent, Category, Channel, Severity, SlaRule, Tier
from cxloop.cases.tests.sla_helpers import at, clock, opened, rule
from cxloop.cases.tests.sla_helpers import make_case as bare_case
from cxloop.core import calendars
from cxloop.core.models import AuditLog

pytestmark = pytest.mark.django_db
T = SlaRule.Target
WEDNESDAY = at("2026-03-11 10:00")


@pytest.fixture
def taxonomy(db) -> dict[str, Category]:
    """A top-level category with two sub-categories, and an unrelated one."""
    top = Category.objects.create(code="keep-test", name="客户保留")
    return {
        "top": top,
        "winback": Category.objects.create(code="keep-winback", name="流失挽回", parent=top),
        "care": Category.objects.create(code="keep-care", name="客户经理关怀", parent=top),
        "other": Category.objects.create(code="other-test", name="别的类别"),
    }


@pytest.fixture
def no_default_rules(db):
    SlaRule.objects.all().delete()  # the defaults from post_migrate would compete


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run what the change queued after its commit (the queue itself is immediate in tests)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def chosen(kind: str = T.FIRST_RESPONSE, **fields) -> SlaRule | None:
    return sla.rule_for(case=bare_case(created_at=WEDNESDAY, **fields), target=kind)


# --- matching and ranking --------------------------------------------------------------------


def test_a_category_rule_beats_channel_tier_and_severity_rules(taxonomy, no_default_rules):
    rule(T.FIRST_RESPONSE, minutes=10)
    phone = rule(T.FIRST_RESPONSE, minutes=15, channel="hotline")
    rule(T.FIRST_RESPONSE, minutes=3, tier="vip", severity="urgent", channel="hotline")
    winback = rule(T.FIRST_RESPONSE, working_days=1, category=taxonomy["winback"])
    assert chosen(channel="hotline") == phone
    assert chosen(channel="hotline", category=taxonomy["winback"]) == winback
    assert chosen(channel="hotline", tier="vip", severity="urgent",
                  category=taxonomy["winback"]) == winback  # fmt: skip


def test_a_parent_category_rule_matches_its_sub_categories(taxonomy, no_default_rules):
    base = rule(T.RESOLUTION, minutes=24 * 60)
    keep = rule(T.RESOLUTION, working_days=5, category=taxonomy["top"])
    assert chosen(T.RESOLUTION, category=taxonomy["top"]) == keep
    assert chosen(T.RESOLUTION, category=taxonomy["winback"]) == keep
    assert chosen(T.RESOLUTION, category=taxonomy["care"]) == keep
    assert chosen(T.RESOLUTION) == base


def test_a_sub_category_rule_beats_its_parents(taxonomy, no_default_rules):
    parent = rule(T.RESOLUTION, working_days=5, category=taxonomy["top"], channel="staff")
    winback = rule(T.RESOLUTION, working_days=2, category=taxonomy["winback"])
    assert chosen(T.RESOLUTION, channel="staff", category=taxonomy["winback"]) == winback
    assert chosen(T.RESOLUTION, channel="staff", category=taxonomy["care"]) == parent


def test_cases_of_another_category_ignore_it(taxonomy, no_default_rules):
    base = rule(T.FIRST_RESPONSE, minutes=10)
    rule(T.FIRST_RESPONSE, working_days=1, category=taxonomy["top"])
    rule(T.FIRST_RESPONSE, working_days=2, category=taxonomy["winback"])
    assert chosen(category=taxonomy["other"]) == base
    assert chosen() == base
    # A sub-category rule does not reach up to its parent's own cases.
    assert chosen(category=taxonomy["top"]).working_days == 1


def test_major_only_still_comes_first(taxonomy, no_default_rules):
    major = rule(T.RESOLUTION, minutes=24 * 60, major_only=True)
    rule(T.RESOLUTION, working_days=2, category=taxonomy["winback"])
    assert chosen(T.RESOLUTION, category=taxonomy["winback"], is_major=True) == major


def test_the_candidates_are_one_query(taxonomy, no_default_rules, django_assert_num_queries):
    rule(T.RESOLUTION, working_days=5, category=taxonomy["top"])
    rule(T.RESOLUTION, working_days=2, category=taxonomy["winback"])
    rule(T.RESOLUTION, working_days=1, category=taxonomy["other"])
    case = Case.objects.get(pk=bare_case(created_at=WEDNESDAY, category=taxonomy["winback"]).pk)
    with django_assert_num_queries(1):
        found = sla._candidates(case, [T.RESOLUTION])
    assert sorted(r.working_days for r in found[T.RESOLUTION]) == [2, 5]


def _unsaved_rule(fields: dict) -> SlaRule:
    return SlaRule(name="r", target=T.RESOLUTION, minutes=60, **fields)


NAMED = st.fixed_dictionaries(
    {}, optional={"channel": st.sampled_from(Channel.values),
                  "tier": st.sampled_from(Tier.values),
                  "severity": st.sampled_from(Severity.values)},
)  # fmt: skip


@given(sub=NAMED, parent=NAMED, plain=NAMED)
def test_rank_orders_sub_category_over_parent_over_none(sub, parent, plain):
    top = Category(pk=1, code="top", name="top")
    case = Case(category=Category(pk=2, code="sub", name="sub", parent=top))
    ranks = [
        sla._rank(_unsaved_rule({**sub, "category_id": 2}), case),
        sla._rank(_unsaved_rule({**parent, "category_id": 1}), case),
        sla._rank(_unsaved_rule(plain), case),
    ]
    assert ranks[0] > ranks[1] > ranks[2]  # whatever channel / tier / severity they name
    assert sla._rank(_unsaved_rule({**plain, "major_only": True}), case) > ranks[0]


# --- recomputing the matching open cases -----------------------------------------------------


def _resolution_due(case: Case) -> dt.datetime:
    return clock(case, T.RESOLUTION).due_at


def _recomputed(case: Case) -> int:
    events = CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.SLA_SET)
    return events.exclude(data__reason="started").count()


def test_changing_a_category_rule_recomputes_only_its_open_cases(
    taxonomy, no_default_rules, owner, on_commit
):
    always = calendars.round_the_clock_calendar()
    rule(T.RESOLUTION, minutes=600, calendar=always)
    keep = rule(T.RESOLUTION, minutes=1200, calendar=always, category=taxonomy["top"])
    kinds = [T.RESOLUTION]
    winback = opened(created_at=WEDNESDAY, category=taxonomy["winback"], kinds=kinds)
    top = opened(created_at=WEDNESDAY, category=taxonomy["top"], kinds=kinds)
    other = opened(created_at=WEDNESDAY, category=taxonomy["other"], kinds=kinds)
    closed = opened(created_at=WEDNESDAY, category=taxonomy["care"], kinds=kinds)
    Case.objects.filter(pk=closed.pk).update(status=Case.Status.CLOSED)
    assert config_rules.affected_cases(config_rules.RULE, keep).count() == 2

    with on_commit():
        saved = config_rules.update_sla_rule(rule=keep, actor=owner, minutes=2400)
    assert saved.recalculating == 2
    assert _resolution_due(winback) == _resolution_due(top) == WEDNESDAY + dt.timedelta(hours=40)
    assert _resolution_due(other) == WEDNESDAY + dt.timedelta(hours=10)
    assert _resolution_due(closed) == WEDNESDAY + dt.timedelta(hours=20)
    assert [_recomputed(c) for c in (winback, top, other, closed)] == [1, 1, 0, 0]

    # Moved to the other category: its former cases fall back, the other case takes it up.
    with on_commit():
        saved = config_rules.update_sla_rule(rule=keep, actor=owner, category=taxonomy["other"])
    assert saved.recalculating == 3
    assert _resolution_due(winback) == WEDNESDAY + dt.timedelta(hours=10)
    assert _resolution_due(other) == WEDNESDAY + dt.timedelta(hours=40)
    changed = AuditLog.objects.filter(action="case.sla_rule.changed").latest("pk")
    assert changed.after == {"category": taxonomy["other"].pk}


def test_a_new_sub_category_rule_counts_only_that_sub_categorys_cases(
    taxonomy, no_default_rules, owner, on_commit
):
    rule(T.RESOLUTION, minutes=600)
    winback = opened(created_at=WEDNESDAY, category=taxonomy["winback"], kinds=[T.RESOLUTION])
    care = opened(created_at=WEDNESDAY, category=taxonomy["care"], kinds=[T.RESOLUTION])
    with on_commit():
        saved = config_rules.create_sla_rule(
            actor=owner, name="挽回", target=T.RESOLUTION, working_days=2,
            category=taxonomy["winback"],
        )  # fmt: skip
    assert saved.recalculating == 1
    assert clock(winback, T.RESOLUTION).rule == saved.obj
    assert clock(care, T.RESOLUTION).rule != saved.obj


# --- the service and the console -------------------------------------------------------------


def test_a_deactivated_category_is_refused_unless_the_rule_already_names_it(taxonomy, owner):
    other = taxonomy["other"]
    other.is_active = False
    other.save()
    with pytest.raises(ValidationError) as refused:
        config_rules.create_sla_rule(actor=owner, name="x", target=T.RESOLUTION, minutes=60,
                                     category=other)  # fmt: skip
    assert refused.value.message_dict == {"category": ["This category is deactivated."]}
    kept = rule(T.RESOLUTION, minutes=60, category=other)
    saved = config_rules.update_sla_rule(rule=kept, actor=owner, minutes=90)
    assert saved.obj.category == other and saved.obj.minutes == 90
    with pytest.raises(ValidationError):
        config_rules.update_sla_rule(rule=rule(T.RESOLUTION, minutes=60), actor=owner,
                                     category=other)  # fmt: skip


def test_the_form_offers_active_categories_and_creates_a_category_rule(owner_client, taxonomy):
    taxonomy["other"].is_active = False
    taxonomy["other"].save()
    page = owner_client.get(reverse("cases_config:new", args=["sla"]))
    options = dict(page.context["form"].fields["category"].choices)
    labels = [str(label) for label in options.values()]
    assert "客户保留 › 流失挽回" in labels and "客户保留" in labels and "别的类别" not in labels
    data = {
        "name": "挽回首响",
        "target": "first_response",
        "working_days": "1",
        "warn_percent": "80",
        "category": taxonomy["winback"].pk,
        "is_active": "on",
    }
    response = owner_client.post(reverse("cases_config:new", args=["sla"]), data)
    assert response.status_code == 302
    made = SlaRule.objects.get(name="挽回首响")
    assert made.category == taxonomy["winback"]
    taxonomy["winback"].is_active = False  # deactivated since: the rule's page still offers it
    taxonomy["winback"].save()
    edit = owner_client.get(reverse("cases_config:edit", args=["sla", made.pk]))
    assert f'<option value="{taxonomy["winback"].pk}" selected>' in edit.content.decode()
    tampered = owner_client.post(
        reverse("cases_config:new", args=["sla"]),
        {**data, "name": "坏", "category": taxonomy["other"].pk},
    )
    assert tampered.status_code == 400 and "category" in tampered.context["form"].errors
    listing = owner_client.get(reverse("cases_config:list", args=["sla"])).content.decode()
    assert "客户保留 › 流失挽回" in listing


def test_outsiders_cannot_create_a_category_rule(outsider_client, teammate_client, taxonomy):
    data = {
        "name": "x",
        "target": "resolution",
        "minutes": "60",
        "warn_percent": "80",
        "category": taxonomy["top"].pk,
    }
    for client in (outsider_client, teammate_client):
        assert client.post(reverse("cases_config:new", args=["sla"]), data).status_code == 403
    assert not SlaRule.objects.filter(name="x").exists()


def test_a_category_named_by_a_rule_is_deactivated_not_deleted(taxonomy, owner):
    rule(T.RESOLUTION, minutes=60, category=taxonomy["other"])
    done = config_services.remove_category(category=taxonomy["other"], actor=owner)
    assert done == config_services.DEACTIVATED
    assert Category.objects.get(pk=taxonomy["other"].pk).is_active is False


# --- retention plays ------------------------------------------------------------------------


@pytest.fixture
def winback_case(teammate):
    from cxloop.retention import plays
    from cxloop.retention.models import CustomerScore
    from cxloop.retention.play_models import PlayAssignment, PlayKind, RetentionPlay
    from cxloop.retention.tests.test_churn_support import NOW, make_customers

    customer = make_customers(1, tier="churn_warning")[0]
    CustomerScore.objects.filter(customer=customer).update(churn_risk=0.9)
    play = RetentionPlay.objects.create(
        name="挽回", kind=PlayKind.WINBACK_TASK, tier="churn_warning", channel="",
        assignee=teammate, task_due_days=3, holdout_percent=0,
    )  # fmt: skip
    assert plays.run_plays(now=NOW, play=play).cases == 1
    return PlayAssignment.objects.get(play=play).case


def test_a_winback_case_gets_working_day_clocks_and_is_not_breached_after_a_day(
    winback_case, make_case
):
    from cxloop.retention.tests.test_churn_support import NOW  # Tuesday 2026-06-30 12:00

    first, resolution = clock(winback_case, T.FIRST_RESPONSE), clock(winback_case, T.RESOLUTION)
    assert first.rule.category.code == resolution.rule.category.code == "retention"
    assert (first.rule.working_days, resolution.rule.working_days) == (1, 5)
    assert first.rule.calendar == calendars.default_calendar()
    assert first.due_at == at("2026-07-01 18:00")  # the end of the next working day
    assert resolution.due_at == at("2026-07-07 18:00")
    complaint = make_case(now=NOW)  # an ordinary phone complaint opened at the same moment

    report = sweep.sweep_due_targets(now=NOW + dt.timedelta(hours=25))
    breached = CaseEvent.objects.filter(kind=CaseEvent.Kind.SLA_BREACHED)
    assert not breached.filter(case=winback_case).exists()
    assert breached.filter(case=complaint).exists() and report.breached >= 1  # the sweep ran
    winback_case.refresh_from_db()
    assert winback_case.escalation_level == 0


def test_the_retention_rules_are_made_once(winback_case, owner):
    from cxloop.retention import plays
    from cxloop.retention.play_models import PlayKind

    rules = SlaRule.objects.filter(category__code="retention").order_by("target")
    assert [r.target for r in rules] == [T.FIRST_RESPONSE, T.RESOLUTION]
    created = AuditLog.objects.filter(action="case.sla_rule.created", actor=None)
    assert created.count() == 2
    config_rules.deactivate_sla_rule(rule=rules[0], actor=owner)
    rules[1].delete()
    plays._category(PlayKind.ACCOUNT_MANAGER)
    plays._category(PlayKind.WINBACK_TASK)
    assert list(SlaRule.objects.filter(category__code="retention")) == [rules[0]]
