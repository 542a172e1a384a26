"""Mystery-shopper audits: weighted score, weak items → improvement actions once, templates
edited without rewriting history, bad scores refused."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cxloop.core.models import AuditLog
from cxloop.programs import audits
from cxloop.programs.models import AuditItem, ImprovementAction, MysteryAudit
from cxloop.programs.services import ProgramError

VISIT = dt.datetime(2026, 11, 20, 3, tzinfo=dt.UTC)


def scores_for(template, values) -> dict:
    items = list(template.items.filter(is_active=True))
    return {
        item.pk: {"score": v, "comment": f"c{v}"} for item, v in zip(items, values, strict=True)
    }


def record(template, values, actor, **extra):
    return audits.record_audit(
        actor=actor,
        template=template,
        store="上海徐汇店",
        visited_at=VISIT,
        scores=scores_for(template, values),
        **extra,
    )


def test_weighted_percent():
    # 2·5/5 + 1·0/5 + 1·5/10 = 2.5 of weight 4 → 62.5 %
    assert audits.weighted_percent([(5, 5, 2), (0, 5, 1), (5, 10, 1)]) == 62.5
    assert audits.weighted_percent([]) == 0.0


@given(
    st.lists(st.tuples(st.integers(1, 10), st.integers(1, 5)), min_size=1, max_size=8), st.data()
)
def test_weighted_percent_stays_within_0_and_100(specs, data):
    rows = [(data.draw(st.integers(0, m)), m, w) for m, w in specs]
    value = audits.weighted_percent(rows)
    assert 0.0 <= value <= 100.0
    if all(s == m for s, m, _w in rows):
        assert value == 100.0


@pytest.mark.django_db
def test_record_audit_scores_and_low_items_become_actions(template, owner):
    audit = record(template, [5, 2, 8], owner)  # 价签清晰 2/5 = 40 % < 60 %
    assert audit.score_percent == pytest.approx(100 * (2 * 1 + 1 * 0.4 + 1 * 0.8) / 4, abs=0.1)
    actions = ImprovementAction.objects.filter(source_kind="audit_item")
    assert actions.count() == 1
    action = actions.get()
    assert "价签清晰" in action.title and action.store == "上海徐汇店"
    assert action.audit_score.audit_id == audit.pk
    assert AuditLog.objects.filter(action="programs.audit.record", object_id=str(audit.pk)).exists()


@pytest.mark.django_db
def test_exactly_sixty_percent_is_not_weak(template, owner):
    record(template, [3, 3, 6], owner)
    assert not ImprovementAction.objects.exists()


@pytest.mark.django_db
def test_each_weak_item_once_per_audit(template, owner):
    record(template, [0, 0, 0], owner)
    record(template, [0, 5, 10], owner)
    assert ImprovementAction.objects.count() == 3 + 1
    per_score = ImprovementAction.objects.values_list("audit_score_id", flat=True)
    assert len(set(per_score)) == len(per_score)


@pytest.mark.django_db
@pytest.mark.parametrize("values", [[6, 5, 5], [-1, 5, 5], [5, 5, 11]])
def test_out_of_range_scores_refused(template, owner, values):
    with pytest.raises(ProgramError) as raised:
        record(template, values, owner)
    assert raised.value.field_errors
    assert not MysteryAudit.objects.exists()


@pytest.mark.django_db
def test_missing_item_and_future_visit_refused(template, owner):
    items = list(template.items.all())
    with pytest.raises(ProgramError):
        audits.record_audit(
            actor=owner,
            template=template,
            store="s",
            visited_at=VISIT,
            scores={items[0].pk: {"score": 5}},
        )
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    with pytest.raises(ProgramError) as raised:
        audits.record_audit(
            actor=owner,
            template=template,
            store="s",
            visited_at=later,
            scores=scores_for(template, [5, 5, 5]),
        )
    assert "visited_at" in raised.value.field_errors


@pytest.mark.django_db
def test_editing_template_keeps_old_scores(template, owner):
    audit = record(template, [5, 5, 10], owner)
    audits.save_template(
        actor=owner,
        template=template,
        name="门店服务",
        touchpoint="store",
        items=[
            {"text": "进门问候", "weight": 3, "max_score": 5},
            {"text": "离店道别", "weight": 1, "max_score": 5},
        ],
    )
    active = list(template.items.filter(is_active=True).values_list("text", "weight"))
    assert active == [("进门问候", 3), ("离店道别", 1)]
    assert AuditItem.objects.filter(template=template, is_active=False).count() == 2
    kept = audit.scores.get(item__text="进门问候")
    assert kept.weight == 2  # the weight at the time of the audit
    assert audit.scores.count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize(
    "items, touchpoint",
    [
        ([], "store"),
        ([{"text": "a", "weight": 0}], "store"),
        ([{"text": "a"}], "fax"),
        ([{"text": "a"}, {"text": "a"}], "store"),
    ],
)
def test_bad_templates_refused(owner, items, touchpoint):
    with pytest.raises(ProgramError):
        audits.save_template(actor=owner, name="T", touchpoint=touchpoint, items=items)
