"""Routing (三定 定人): which department and which person a case goes to.

Rules are tried by priority; the first whose category / channel / region / store all match
(blank matches anything) picks the department and, inside it, a fixed person, the next member
round-robin, or the member with the fewest open cases. No rule: the category's default
department, unassigned. Only members who take new cases are chosen.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from cxloop.cases.events import record_event
from cxloop.cases.models import AssignmentRule, Case, CaseEvent, Department, Membership


def matching_rule(case: Case) -> AssignmentRule | None:
    rules = AssignmentRule.objects.filter(is_active=True).select_related("department")
    rules = rules.filter(
        Q(category__isnull=True) | Q(category_id=case.category_id),
        Q(channel="") | Q(channel=case.channel),
        Q(region="") | Q(region=case.region),
        Q(store="") | Q(store=case.store),
    )
    return rules.order_by("priority", "id").first()


def route_case(*, case: Case, now: dt.datetime) -> None:
    """Set department and owner from the rules (the case is new, so no clocks to move yet)."""
    rule = matching_rule(case)
    department = rule.department if rule else _category_department(case)
    if department is None:
        return
    owner = _pick_member(rule, department) if rule else None
    reason = f"rule:{rule.pk}" if rule else "category default"
    set_assignment(
        case=case, owner=owner, department=department, actor=None, now=now, reason=reason,
        recompute=False,
    )  # fmt: skip


def _category_department(case: Case) -> Department | None:
    category = case.category
    while category is not None:
        if category.default_department_id:
            return category.default_department
        category = category.parent
    return None


def _candidates(department: Department):
    users = get_user_model().objects.filter(
        is_active=True,
        case_memberships__department=department,
        case_memberships__accepts_cases=True,
    )
    return users.order_by("id")


def _pick_member(rule: AssignmentRule, department: Department):
    if rule.strategy == AssignmentRule.Strategy.FIXED:
        return rule.assignee
    candidates = _candidates(department)
    if rule.strategy == AssignmentRule.Strategy.ROUND_ROBIN:
        return _next_in_turn(rule, list(candidates))
    open_cases = Count("owned_cases", filter=Q(owned_cases__status__in=Case.OPEN_STATUSES))
    return candidates.annotate(load=open_cases).order_by("load", "id").first()


def _next_in_turn(rule: AssignmentRule, members: list):
    if not members:
        return None
    ids = [member.pk for member in members]
    after = ids.index(rule.last_assigned_id) + 1 if rule.last_assigned_id in ids else 0
    chosen = members[after % len(members)]
    # Compare-and-set: two cases routed at once move the turn on once each.
    updated = AssignmentRule.objects.filter(
        pk=rule.pk, last_assigned_id=rule.last_assigned_id
    ).update(last_assigned=chosen)
    if not updated:
        rule.refresh_from_db(fields=["last_assigned"])
        return _next_in_turn(rule, members)
    rule.last_assigned = chosen
    return chosen


def set_assignment(
    *, case: Case, owner, department, actor, now, reason: str = "", recompute: bool = True
) -> None:
    """Write owner/department, the ASSIGNED event, move the clocks, tell the new owner."""
    from cxloop.cases import notify, sla

    before = {"owner": case.owner_id, "department": case.department_id}
    if department is not None:
        case.department = department
    if owner is not None:
        case.owner = owner
    after = {"owner": case.owner_id, "department": case.department_id}
    if after == before:
        return
    previous = case.status
    if case.status == Case.Status.NEW and case.owner_id:
        case.status = Case.Status.ASSIGNED
    case.save(update_fields=["owner", "department", "status", "updated_at"])
    record_event(
        case=case, kind=CaseEvent.Kind.ASSIGNED, actor=actor, at=now, public=True,
        from_status=previous, to_status=case.status,
        data={"before": before, "after": after, "reason": reason},
    )  # fmt: skip
    if recompute and before["department"] != after["department"]:
        sla.recompute(case=case, at=now, reason="department changed", actor=actor)
    if owner is not None and before["owner"] != owner.pk and owner != actor:
        notify.notify(
            users=[owner], case=case, urgent=case.severity == "urgent" or case.is_major,
            subject=f"[cxloop] {case.number} {case.subject}",
            body=f"{case.number}: {case.subject}\n{case.description[:500]}",
            dedupe_key=f"assigned:{case.pk}:{owner.pk}:{now.timestamp():.0f}",
        )  # fmt: skip


def escalation_contacts(case: Case, level: int) -> list:
    """Level 1: the department's supervisors; level 2 and up: its head (else supervisors)."""
    if case.department_id is None:
        return []
    supervisors = [
        m.user
        for m in Membership.objects.filter(
            department_id=case.department_id, role=Membership.Role.SUPERVISOR, user__is_active=True
        ).select_related("user")
    ]
    head = case.department.head
    if level >= 2 and head is not None:
        return [head]
    return supervisors or ([head] if head is not None else [])


def notify_escalation(*, case: Case, reason: str, manual: bool) -> None:
    from cxloop.cases import notify

    users = escalation_contacts(case, case.escalation_level)
    if users:
        notify.notify(
            users=users, case=case, urgent=True,
            subject=f"[cxloop] escalated {case.number} {case.subject}",
            body=f"{case.number} escalated (level {case.escalation_level}): {reason}",
            dedupe_key=f"escalated:{case.pk}:{case.escalation_level}:{int(manual)}",
        )  # fmt: skip
