"""The audited configuration services: taxonomy, departments and members, routing rules,
solutions, SLA rules — audit rows, per-field validation, deactivation instead of deletion,
and the manager permission."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cxloop.cases import config_rules, config_services
from cxloop.cases.config_services import DEACTIVATED, DELETED
from cxloop.cases.models import AssignmentRule, Category, Department, Membership, SlaRule, Solution
from cxloop.cases.tests.sla_helpers import calendar
from cxloop.core.models import AuditLog

pytestmark = pytest.mark.django_db
T = SlaRule.Target


def audits(action: str) -> list[AuditLog]:
    return list(AuditLog.objects.filter(action=action).order_by("pk"))


def errors_of(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        call(**kwargs)
    return caught.value.message_dict


# --- taxonomy --------------------------------------------------------------------------------


def test_creating_and_changing_a_category_is_audited_with_before_and_after(owner, departments):
    parent = config_services.create_category(actor=owner, code="delivery", name="配送")
    child = config_services.create_category(
        actor=owner, code="delivery-late", name="配送延迟", parent=parent,
        default_department=departments["logistics"],
    )  # fmt: skip
    created = audits("case.category.created")
    assert [row.object_id for row in created] == [str(parent.pk), str(child.pk)]
    assert created[1].actor == owner
    assert created[1].after["parent"] == parent.pk
    assert created[1].after["default_department"] == departments["logistics"].pk

    config_services.update_category(category=child, actor=owner, name="送货延迟")
    changed = audits("case.category.changed")
    assert len(changed) == 1
    assert changed[0].before == {"name": "配送延迟"}
    assert changed[0].after == {"name": "送货延迟"}
    assert Category.objects.get(pk=child.pk).name == "送货延迟"


def test_a_save_that_changes_nothing_writes_no_audit_row(owner):
    category = config_services.create_category(actor=owner, code="price-x", name="价格")
    config_services.update_category(category=category, actor=owner, name="  价格 ")
    assert audits("case.category.changed") == []


def test_category_validation_names_each_bad_field(owner):
    config_services.create_category(actor=owner, code="taken", name="已有")
    found = errors_of(config_services.create_category, actor=owner, code="has space", name="")
    assert found["code"] == ["Use only letters, digits, hyphens and underscores."]
    assert found["name"] == ["This field is required."]
    found = errors_of(config_services.create_category, actor=owner, code="taken", name="重复")
    assert found == {"code": ["This code is already taken."]}
    assert Category.objects.filter(code="has space").count() == 0


def test_the_taxonomy_stays_two_levels_deep(owner):
    top = config_services.create_category(actor=owner, code="top", name="顶层")
    child = config_services.create_category(actor=owner, code="child", name="子类", parent=top)
    found = errors_of(
        config_services.create_category, actor=owner, code="grandchild", name="孙类", parent=child
    )
    assert "two levels" in found["parent"][0]
    assert (
        "own parent"
        in errors_of(config_services.update_category, category=top, actor=owner, parent=top)[
            "parent"
        ][0]
    )
    other = config_services.create_category(actor=owner, code="other-top", name="其他")
    assert (
        "sub-categories"
        in errors_of(config_services.update_category, category=top, actor=owner, parent=other)[
            "parent"
        ][0]
    )


def test_an_unused_category_is_deleted_a_used_one_deactivated(owner, make_case, categories):
    spare = config_services.create_category(actor=owner, code="spare", name="备用")
    assert config_services.remove_category(category=spare, actor=owner) == DELETED
    assert not Category.objects.filter(pk=spare.pk).exists()
    deleted = audits("case.category.deleted")
    assert deleted[0].before["code"] == "spare" and deleted[0].object_id == str(spare.pk)

    used = categories["product"]
    make_case(category=used)
    assert config_services.remove_category(category=used, actor=owner) == DEACTIVATED
    used.refresh_from_db()
    assert used.is_active is False
    assert audits("case.category.changed")[-1].after == {"is_active": False}


def test_unknown_fields_are_a_programming_error(owner):
    category = config_services.create_category(actor=owner, code="typo", name="错字")
    with pytest.raises(TypeError):
        config_services.update_category(category=category, actor=owner, nmae="x")


@pytest.mark.parametrize("who", ["teammate", "outsider", "analyst"])
def test_only_a_manager_may_configure(request, who, departments):
    actor = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        config_services.create_category(actor=actor, code="nope", name="不行")
    with pytest.raises(PermissionDenied):
        config_services.update_department(
            department=departments["service"], actor=actor, name="改名"
        )
    with pytest.raises(PermissionDenied):
        config_rules.create_sla_rule(actor=actor, name="x", target=T.RESOLUTION, minutes=5)
    assert not Category.objects.filter(code="nope").exists()
    assert AuditLog.objects.filter(action__startswith="case.").count() == 0


# --- departments and members -----------------------------------------------------------------


def test_department_with_head_and_members(owner, teammate, supervisor):
    department = config_services.create_department(
        actor=owner, code="quality", name="质量部", head=supervisor
    )
    assert audits("case.department.created")[0].after["head"] == supervisor.pk
    member = config_services.add_member(department=department, user=teammate, actor=owner)
    assert member.role == Membership.Role.MEMBER and member.accepts_cases
    found = errors_of(config_services.add_member, department=department, user=teammate,
                      actor=owner)  # fmt: skip
    assert found == {"user": ["teammate is already a member."]}

    config_services.update_member(membership=member, actor=owner, role="supervisor",
                                  accepts_cases=False)  # fmt: skip
    changed = audits("case.membership.changed")[0]
    assert changed.before == {"role": "member", "accepts_cases": True}
    assert changed.after == {"role": "supervisor", "accepts_cases": False}

    config_services.remove_member(membership=member, actor=owner)
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert audits("case.membership.deleted")[0].before["user"] == teammate.pk


def test_a_deactivated_user_cannot_head_or_join(owner, teammate):
    teammate.is_active = False
    teammate.save()
    found = errors_of(config_services.create_department, actor=owner, code="d", name="部门",
                      head=teammate)  # fmt: skip
    assert found == {"head": ["This user is deactivated."]}


def test_departments_are_deactivated_not_deleted(owner, departments):
    department = departments["logistics"]
    config_services.deactivate_department(department=department, actor=owner)
    assert Department.objects.get(pk=department.pk).is_active is False
    assert audits("case.department.changed")[0].after == {"is_active": False}


# --- routing rules and solutions -------------------------------------------------------------


def test_a_fixed_person_rule_needs_a_member_of_its_department(
    owner, departments, handler, supervisor
):
    logistics = departments["logistics"]
    fields = {"actor": owner, "name": "物流固定", "department": logistics, "strategy": "fixed"}
    assert errors_of(config_services.create_routing_rule, **fields) == {
        "assignee": ["Choose the person who gets these cases."]
    }
    assert errors_of(config_services.create_routing_rule, **fields, assignee=supervisor) == {
        "assignee": ["Choose a member of the department."]
    }
    rule = config_services.create_routing_rule(**fields, assignee=handler, priority=5)
    assert rule.assignee == handler and rule.priority == 5
    # Another strategy names nobody: the person is dropped rather than kept unused.
    rule = config_services.update_routing_rule(rule=rule, actor=owner, strategy="round_robin")
    assert rule.assignee is None
    assert audits("case.routing_rule.changed")[0].after == {
        "strategy": "round_robin", "assignee": None,
    }  # fmt: skip
    assert config_services.remove_routing_rule(rule=rule, actor=owner) == DELETED
    assert not AssignmentRule.objects.filter(pk=rule.pk).exists()


def test_routing_rule_validation(owner):
    found = errors_of(config_services.create_routing_rule, actor=owner, name="", department=None,
                      channel="fax", priority=-1)  # fmt: skip
    assert set(found) == {"name", "department", "channel", "priority"}


def test_a_used_solution_is_deactivated_an_unused_one_deleted(owner, categories):
    used = config_services.create_solution(actor=owner, title="退款流程", body="请在订单页…",
                                           category=categories["product"])  # fmt: skip
    unused = config_services.create_solution(actor=owner, title="草稿", body="…")
    Solution.objects.filter(pk=used.pk).update(uses=3)
    assert config_services.remove_solution(solution=used, actor=owner) == DEACTIVATED
    assert config_services.remove_solution(solution=unused, actor=owner) == DELETED
    assert Solution.objects.get(pk=used.pk).is_active is False
    assert not Solution.objects.filter(pk=unused.pk).exists()
    assert len(audits("case.solution.created")) == 2
    found = errors_of(config_services.create_solution, actor=owner, title="x" * 201, body=" ")
    assert found == {"title": ["Use at most 200 characters."], "body": ["This field is required."]}


# --- SLA rules -------------------------------------------------------------------------------


def test_an_sla_rule_gives_minutes_or_working_days(owner):
    base = {"actor": owner, "name": "解决", "target": T.RESOLUTION}
    assert errors_of(config_rules.create_sla_rule, **base) == {
        "minutes": ["Enter the working minutes or the working days."]
    }
    assert errors_of(config_rules.create_sla_rule, **base, minutes=60, working_days=2) == {
        "working_days": ["Enter working minutes or working days, not both."]
    }
    found = errors_of(config_rules.create_sla_rule, **{**base, "target": "lunch"}, minutes=0,
                      warn_percent=120, severity="extreme")  # fmt: skip
    assert set(found) == {"target", "minutes", "warn_percent", "severity"}


def test_sla_rule_writes_are_audited(owner):
    hours = calendar("Rule calendar")
    saved = config_rules.create_sla_rule(
        actor=owner, name="邮件 3 个工作日", target=T.RESOLUTION, working_days=3,
        channel="email", calendar=hours,
    )  # fmt: skip
    rule = saved.obj
    assert audits("case.sla_rule.created")[0].after["calendar"] == hours.pk
    config_rules.update_sla_rule(rule=rule, actor=owner, working_days=None, minutes=24 * 60)
    changed = audits("case.sla_rule.changed")[0]
    assert changed.before == {"minutes": None, "working_days": 3}
    assert changed.after == {"minutes": 1440, "working_days": None}
    config_rules.deactivate_sla_rule(rule=rule, actor=owner)
    assert audits("case.sla_rule.changed")[-1].after == {"is_active": False}
    assert SlaRule.objects.filter(pk=rule.pk, is_active=False).exists()  # kept for the history


def test_calendar_writes_go_through_the_core_service(owner):
    saved = config_rules.save_calendar(actor=owner, name="门店时间", use_chinese_holidays=False)
    assert AuditLog.objects.filter(action="calendar.created", object_id=str(saved.obj.pk)).exists()
    with pytest.raises(ValidationError) as caught:
        config_rules.save_calendar(calendar=saved.obj, actor=owner, time_zone="Mars/Olympus")
    assert "time_zone" in caught.value.message_dict
