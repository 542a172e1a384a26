"""Case services: create (validation, numbering, major, tier), update, assign, merge, escalate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cxloop.cases import services
from cxloop.cases.models import AssignmentRule, Case, CaseEvent, CaseTarget
from cxloop.cases.services import CaseError
from cxloop.customers.models import Customer, Order

pytestmark = pytest.mark.django_db


def kinds(case) -> list[str]:
    return list(case.events.values_list("kind", flat=True))


def test_create_numbers_the_case_records_the_event_and_starts_clocks(make_case, owner):
    case = make_case(actor=owner)
    assert case.number.startswith("C") and case.number.endswith(f"{case.pk:06d}")
    assert case.status == Case.Status.NEW
    assert kinds(case)[0] == CaseEvent.Kind.CREATED
    assert case.events.get(kind=CaseEvent.Kind.CREATED).actor == owner
    assert CaseTarget.objects.filter(case=case).exists()
    assert case.next_due_at is not None
    assert case.department.code == "cs-test"  # the category's default department


def test_bad_input_names_every_field(categories):
    with pytest.raises(CaseError) as error:
        services.create_case(
            channel="fax", subject="", severity="apocalyptic", amount_fen=-5,
            contact_phone="12345", contact_email="not-an-email",
        )  # fmt: skip
    assert set(error.value.field_errors) == {
        "subject", "channel", "severity", "amount_fen", "contact_phone", "contact_email",
    }  # fmt: skip
    assert not Case.objects.exists()


def test_a_case_needs_someone_to_reach(categories):
    with pytest.raises(CaseError) as error:
        services.create_case(channel="hotline", subject="x")
    assert "contact_phone" in error.value.field_errors


def test_amounts_are_whole_fen_and_capped(categories):
    for amount in (1.5, True, "100", services.MAX_AMOUNT_FEN + 1):
        with pytest.raises(CaseError) as error:
            services.create_case(
                channel="hotline", subject="x", contact_name="李", amount_fen=amount
            )
        assert "amount_fen" in error.value.field_errors


def test_phone_is_normalised(make_case):
    assert make_case(contact_phone="+86 138-0000-1234").contact_phone == "13800001234"


@pytest.mark.parametrize(
    ("amount_fen", "media_risk", "major"),
    [(999_999, False, False), (1_000_000, False, True), (0, True, True)],
)
def test_major_complaint_from_ten_thousand_yuan_or_media_risk(
    make_case, amount_fen, media_risk, major
):
    assert make_case(amount_fen=amount_fen, media_risk=media_risk).is_major is major


def test_vip_customer_gets_the_vip_tier(make_case):
    customer = Customer.objects.create(external_id="V1", name="赵", region="华东")
    Order.objects.create(
        customer=customer, external_id="O1", amount_fen=600_000, status="completed",
        placed_at=timezone.now() - dt.timedelta(days=30),
    )  # fmt: skip
    case = make_case(customer=customer, contact_phone="")
    assert case.tier == "vip" and case.region == "华东"


def test_update_records_before_and_after_and_recomputes_deadlines(make_case, owner):
    case = make_case()
    due_before = dict(case.targets.values_list("kind", "due_at"))
    services.update_case(case=case, actor=owner, severity="urgent")
    event = case.events.get(kind=CaseEvent.Kind.UPDATED)
    assert event.data["before"]["severity"] == "general"
    assert event.data["after"]["severity"] == "urgent"
    due_after = dict(case.targets.values_list("kind", "due_at"))
    assert due_after != due_before


def test_update_without_change_writes_nothing(make_case, owner):
    case = make_case()
    count = case.events.count()
    services.update_case(case=case, actor=owner, subject=case.subject)
    assert case.events.count() == count


def test_update_refuses_unknown_fields_and_outsiders(make_case, owner, outsider):
    case = make_case()
    with pytest.raises(TypeError):
        services.update_case(case=case, actor=owner, status="closed")
    with pytest.raises(PermissionDenied):
        services.update_case(case=case, actor=outsider, subject="x")


def test_assign_moves_new_to_assigned(make_case, owner, teammate):
    case = make_case()
    services.assign_case(case=case, actor=owner, owner=teammate)
    case.refresh_from_db()
    assert case.owner == teammate and case.status == Case.Status.ASSIGNED
    assert case.events.filter(kind=CaseEvent.Kind.ASSIGNED).count() >= 1


def test_a_handler_can_take_a_case_but_not_hand_it_to_others(make_case, handler, teammate):
    case = make_case()
    with pytest.raises(PermissionDenied):
        services.assign_case(case=case, actor=handler, owner=teammate)
    services.assign_case(case=case, actor=handler, owner=handler)
    assert case.owner == handler


def test_routing_rules_round_robin_and_least_loaded(
    make_case, departments, categories, django_user_model
):
    from cxloop.cases.models import Membership

    members = []
    for name in ("a1", "a2"):
        user = django_user_model.objects.create_user(username=name)
        Membership.objects.create(department=departments["logistics"], user=user)
        members.append(user)
    AssignmentRule.objects.create(
        name="logistics", category=categories["logistics"], department=departments["logistics"],
        strategy=AssignmentRule.Strategy.ROUND_ROBIN,
    )  # fmt: skip
    owners = [make_case(category=categories["logistics"]).owner for _ in range(4)]
    assert owners == [members[0], members[1], members[0], members[1]]
    AssignmentRule.objects.update(strategy=AssignmentRule.Strategy.LEAST_LOADED)
    Case.objects.filter(owner=members[0]).update(status=Case.Status.CLOSED)
    assert make_case(category=categories["logistics"]).owner == members[0]


def test_routing_by_region_beats_the_general_rule(make_case, departments, categories):
    AssignmentRule.objects.create(name="all", priority=100, department=departments["service"])
    AssignmentRule.objects.create(
        name="south", priority=10, region="华南", department=departments["logistics"]
    )
    assert make_case(region="华南").department == departments["logistics"]
    assert make_case(region="华北").department == departments["service"]


def test_merge_points_the_duplicate_to_the_survivor(make_case, owner):
    survivor, duplicate = make_case(), make_case()
    services.merge_cases(duplicate=duplicate, survivor=survivor, actor=owner)
    duplicate.refresh_from_db()
    assert duplicate.status == Case.Status.MERGED and duplicate.merged_into == survivor
    assert not duplicate.targets.filter(next_check_at__isnull=False).exists()
    assert survivor.events.filter(kind=CaseEvent.Kind.MERGED).exists()
    with pytest.raises(CaseError):
        services.merge_cases(duplicate=survivor, survivor=survivor, actor=owner)


def test_escalation_needs_a_reason_and_sets_a_two_hour_answer_clock(make_case, owner):
    case = make_case()
    with pytest.raises(CaseError):
        services.escalate_case(case=case, actor=owner, reason="  ")
    now = timezone.now()
    services.escalate_case(case=case, actor=owner, reason="客户情绪激动", now=now)
    assert case.escalation_level == 1
    clock = case.targets.get(kind="escalation_answer")
    assert clock.due_at == now + dt.timedelta(hours=2)
    assert case.events.filter(kind=CaseEvent.Kind.ESCALATED).exists()
