"""Configuring the cases app: taxonomy, departments and their members, routing rules and the
solution library. SLA rules, business calendars and the recomputation of open cases' deadlines
are in ``config_rules`` (which builds on the helpers here).

Every function takes keyword-only arguments, checks ``cases.manage_sla`` when an actor is given,
writes one audit row per change (values before and after; nothing changed, nothing written) and
raises ``ValidationError`` with a message per field (``exc.message_dict``) for bad input.
``update_*`` take the fields to change as keywords (an unknown one is a TypeError).

What is referenced is never deleted: a category with cases, sub-categories, routing or SLA
rules or solutions is deactivated instead (``remove_category`` says which it did), the same for
a solution that was used; departments are only deactivated. Routing rules are deleted (nothing
points at them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from cxloop.cases.models import (
    AssignmentRule,
    Case,
    Category,
    Channel,
    Department,
    Membership,
    SlaRule,
    Solution,
)
from cxloop.core.audit import changed_only, record_audit, snapshot
from cxloop.core.models import BusinessCalendar
from cxloop.core.roles import require

PERM = "cases.manage_sla"
M = TypeVar("M", bound=models.Model)
Cleaner = Callable[[Mapping[str, Any], Any], dict[str, Any]]
DELETED, DEACTIVATED = "deleted", "deactivated"
_CODE = re.compile(r"^[-a-zA-Z0-9_]+$")

CATEGORY_FIELDS = ("code", "name", "parent", "default_department", "is_active")
DEPARTMENT_FIELDS = ("code", "name", "head", "calendar", "is_active")
MEMBERSHIP_FIELDS = ("department", "user", "role", "accepts_cases")
SOLUTION_FIELDS = ("title", "category", "body", "is_active")
ROUTING_FIELDS = (
    "name", "priority", "category", "channel", "region", "store", "department", "strategy",
    "assignee", "is_active",
)  # fmt: skip


@dataclass(frozen=True)
class Saved(Generic[M]):
    """A write that can move deadlines: the row and how many open cases are being recomputed."""

    obj: M
    recalculating: int = 0


# --- validation helpers ----------------------------------------------------------------------


class Errors:
    """Collects messages per field; ``check()`` raises them as one ValidationError."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, []).append(str(message))

    def check(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def text(errors: Errors, values: Mapping, name: str, *, max_length: int, required=True) -> str:
    value = values.get(name)
    result = value.strip() if isinstance(value, str) else ""
    if required and not result:
        errors.add(name, _("This field is required."))
    elif len(result) > max_length:
        errors.add(name, _("Use at most %(count)d characters.") % {"count": max_length})
    return result


def choice(errors: Errors, values: Mapping, name: str, choices, *, blank=True) -> str:
    value = values.get(name) or ""
    if value == "" and blank:
        return ""
    if value not in {key for key, _label in choices}:
        errors.add(name, _("Choose one of the offered values."))
    return value


def number(errors: Errors, values: Mapping, name: str, *, low: int, high: int) -> int | None:
    """An optional whole number in [low, high]; None when blank."""
    value = values.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors.add(name, _("Enter a whole number."))
        return None
    if not low <= value <= high:
        errors.add(name, _("Enter a number from %(low)d to %(high)d.") % {"low": low, "high": high})
    return value


def instance(errors: Errors, values: Mapping, name: str, model, *, required=False):
    """A saved row of ``model`` (or None when allowed)."""
    value = values.get(name)
    if value is None or value == "":
        if required:
            errors.add(name, _("This field is required."))
        return None
    if not isinstance(value, model) or value.pk is None:
        errors.add(name, _("Choose one of the offered values."))
        return None
    return value


def active_user(errors: Errors, values: Mapping, name: str, *, required=False):
    user = instance(errors, values, name, get_user_model(), required=required)
    if user is not None and not user.is_active:
        errors.add(name, _("This user is deactivated."))
    return user


def code(errors: Errors, values: Mapping, model, row) -> str:
    result = text(errors, values, "code", max_length=40)
    if result and not _CODE.match(result):
        errors.add("code", _("Use only letters, digits, hyphens and underscores."))
    elif result and model.objects.filter(code=result).exclude(pk=getattr(row, "pk", None)).exists():
        errors.add("code", _("This code is already taken."))
    return result


def check_actor(actor) -> None:
    if actor is not None:
        require(actor, PERM)


def known(fields: Iterable[str], changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(fields))
    if unknown:
        raise TypeError(f"unknown field(s): {', '.join(unknown)}")
    return dict(changes)


# --- audited create / update / remove --------------------------------------------------------


def create_row(model: type[M], *, actor, action: str, fields, clean: Cleaner, values) -> M:
    """Validate, create and audit (``<action>.created``) one row."""
    check_actor(actor)
    with transaction.atomic():
        cleaned = clean(values, None)
        try:
            with transaction.atomic():
                row = model.objects.create(**cleaned)
        except IntegrityError:  # a second manager took the same code a moment ago
            raise ValidationError({"code": [_("This code is already taken.")]}) from None
        record_audit(actor=actor, action=f"{action}.created", target=row,
                     after=snapshot(row, fields))  # fmt: skip
    return row


def update_row(row: M, *, actor, action: str, fields, clean: Cleaner, changes) -> tuple[M, dict]:
    """Validate and store changes under a row lock; returns the row and what changed (after).

    One ``<action>.changed`` audit row with only the changed fields; none when nothing changed.
    """
    check_actor(actor)
    changes = known(fields, changes)
    with transaction.atomic():
        locked = type(row).objects.select_for_update().get(pk=row.pk)
        before = snapshot(locked, fields)
        cleaned = clean({**{name: getattr(locked, name) for name in fields}, **changes}, locked)
        for name, value in cleaned.items():
            setattr(locked, name, value)
        old, new = changed_only(before, snapshot(locked, fields))
        if new:
            try:
                with transaction.atomic():
                    locked.save(update_fields=list(new))
            except IntegrityError:
                raise ValidationError({"code": [_("This code is already taken.")]}) from None
            record_audit(actor=actor, action=f"{action}.changed", target=locked,
                         before=old, after=new)  # fmt: skip
    return locked, new or {}


def remove_row(row: models.Model, *, actor, action: str, fields, in_use: bool) -> str:
    """Delete ``row`` (audited with its last values), or deactivate it when ``in_use``."""
    check_actor(actor)
    with transaction.atomic():
        locked = type(row).objects.select_for_update().get(pk=row.pk)
        if in_use:
            if locked.is_active:
                locked.is_active = False
                locked.save(update_fields=["is_active"])
                record_audit(actor=actor, action=f"{action}.changed", target=locked,
                             before={"is_active": True}, after={"is_active": False})  # fmt: skip
            return DEACTIVATED
        record_audit(actor=actor, action=f"{action}.deleted", target=locked,
                     before=snapshot(locked, fields))  # fmt: skip
        locked.delete()
    return DELETED


# --- taxonomy --------------------------------------------------------------------------------


def _clean_category(values: Mapping[str, Any], row: Category | None) -> dict[str, Any]:
    errors = Errors()
    parent = instance(errors, values, "parent", Category)
    if parent is not None and row is not None and parent.pk == row.pk:
        errors.add("parent", _("A category cannot be its own parent."))
    elif parent is not None and parent.parent_id is not None:
        errors.add("parent", _("Choose a top-level category: the taxonomy is two levels deep."))
    elif parent is not None and row is not None and row.children.exists():
        errors.add("parent", _("This category has sub-categories, so it stays at the top level."))
    clean = {
        "code": code(errors, values, Category, row),
        "name": text(errors, values, "name", max_length=100),
        "parent": parent,
        "default_department": instance(errors, values, "default_department", Department),
        "is_active": bool(values.get("is_active", True)),
    }
    errors.check()
    return clean


def create_category(
    *, actor, code: str, name: str, parent: Category | None = None,
    default_department: Department | None = None, is_active: bool = True,
) -> Category:  # fmt: skip
    """A complaint category, top-level or under a top-level one."""
    values = {"code": code, "name": name, "parent": parent,
              "default_department": default_department, "is_active": is_active}  # fmt: skip
    return create_row(Category, actor=actor, action="case.category", fields=CATEGORY_FIELDS,
                      clean=_clean_category, values=values)  # fmt: skip


def update_category(*, category: Category, actor, **changes: Any) -> Category:
    row, _new = update_row(category, actor=actor, action="case.category", fields=CATEGORY_FIELDS,
                           clean=_clean_category, changes=changes)  # fmt: skip
    return row


def remove_category(*, category: Category, actor) -> str:
    """Delete an unused category; one with cases, sub-categories, routing or SLA rules or
    solutions is deactivated instead (new cases cannot pick it, old ones keep it). Returns
    which."""
    in_use = (
        Case.objects.filter(category=category).exists()
        or Category.objects.filter(parent=category).exists()
        or AssignmentRule.objects.filter(category=category).exists()
        or SlaRule.objects.filter(category=category).exists()  # PROTECT: it could not go
        or Solution.objects.filter(category=category).exists()
    )
    return remove_row(category, actor=actor, action="case.category", fields=CATEGORY_FIELDS,
                      in_use=in_use)  # fmt: skip


# --- departments and members -----------------------------------------------------------------


def _clean_department(values: Mapping[str, Any], row: Department | None) -> dict[str, Any]:
    errors = Errors()
    clean = {
        "code": code(errors, values, Department, row),
        "name": text(errors, values, "name", max_length=100),
        "head": active_user(errors, values, "head"),
        "calendar": instance(errors, values, "calendar", BusinessCalendar),
        "is_active": bool(values.get("is_active", True)),
    }
    errors.check()
    return clean


def create_department(
    *, actor, code: str, name: str, head=None, calendar: BusinessCalendar | None = None,
    is_active: bool = True,
) -> Department:  # fmt: skip
    """A department cases are routed to; ``head`` gets the second escalation."""
    values = {"code": code, "name": name, "head": head, "calendar": calendar,
              "is_active": is_active}  # fmt: skip
    return create_row(Department, actor=actor, action="case.department",
                      fields=DEPARTMENT_FIELDS, clean=_clean_department, values=values)  # fmt: skip


def update_department(*, department: Department, actor, **changes: Any) -> Saved[Department]:
    """Change a department; a new calendar recomputes the deadlines of its open cases."""
    from cxloop.cases import config_rules  # it builds on this module

    with transaction.atomic():
        row, new = update_row(department, actor=actor, action="case.department",
                              fields=DEPARTMENT_FIELDS, clean=_clean_department,
                              changes=changes)  # fmt: skip
        count = 0
        if "calendar" in new:
            count = config_rules.schedule_recompute(scope=config_rules.DEPARTMENT, obj=row,
                                                    actor=actor)  # fmt: skip
    return Saved(row, count)


def deactivate_department(*, department: Department, actor) -> Department:
    """No new routing to it; its cases and members stay (departments are never deleted)."""
    return update_department(department=department, actor=actor, is_active=False).obj


def _clean_membership(values: Mapping[str, Any], row: Membership | None) -> dict[str, Any]:
    errors = Errors()
    department = instance(errors, values, "department", Department, required=True)
    user = active_user(errors, values, "user", required=True)
    taken = Membership.objects.filter(department=department, user=user).exclude(
        pk=getattr(row, "pk", None)
    )
    if department is not None and user is not None and taken.exists():
        errors.add("user", _("%(user)s is already a member.") % {"user": user.get_username()})
    clean = {
        "department": department,
        "user": user,
        "role": choice(errors, values, "role", Membership.Role.choices, blank=False),
        "accepts_cases": bool(values.get("accepts_cases", True)),
    }
    errors.check()
    return clean


def add_member(
    *, department: Department, user, actor, role: str = Membership.Role.MEMBER,
    accepts_cases: bool = True,
) -> Membership:  # fmt: skip
    """Put ``user`` in the department (supervisors get the first escalation)."""
    values = {"department": department, "user": user, "role": role,
              "accepts_cases": accepts_cases}  # fmt: skip
    return create_row(Membership, actor=actor, action="case.membership",
                      fields=MEMBERSHIP_FIELDS, clean=_clean_membership, values=values)  # fmt: skip


def update_member(*, membership: Membership, actor, **changes: Any) -> Membership:
    """Change the role or whether the member takes new cases."""
    known(("role", "accepts_cases"), changes)
    row, _new = update_row(membership, actor=actor, action="case.membership",
                           fields=MEMBERSHIP_FIELDS, clean=_clean_membership,
                           changes=changes)  # fmt: skip
    return row


def remove_member(*, membership: Membership, actor) -> None:
    """Take the user out of the department; the cases they own stay theirs."""
    remove_row(membership, actor=actor, action="case.membership", fields=MEMBERSHIP_FIELDS,
               in_use=False)  # fmt: skip


# --- routing rules ---------------------------------------------------------------------------


def _clean_routing(values: Mapping[str, Any], row: AssignmentRule | None) -> dict[str, Any]:
    errors = Errors()
    department = instance(errors, values, "department", Department, required=True)
    strategy = choice(errors, values, "strategy", AssignmentRule.Strategy.choices, blank=False)
    assignee = active_user(errors, values, "assignee")
    if strategy == AssignmentRule.Strategy.FIXED:
        members = Membership.objects.filter(department=department, user=assignee)
        if assignee is None:
            errors.add("assignee", _("Choose the person who gets these cases."))
        elif department is not None and not members.exists():
            errors.add("assignee", _("Choose a member of the department."))
    else:
        assignee = None  # only a fixed-person rule names one
    priority = number(errors, values, "priority", low=0, high=32767)
    if priority is None and "priority" not in errors.by_field:
        errors.add("priority", _("This field is required."))
    clean = {
        "name": text(errors, values, "name", max_length=100),
        "priority": priority,
        "category": instance(errors, values, "category", Category),
        "channel": choice(errors, values, "channel", Channel.choices),
        "region": text(errors, values, "region", max_length=64, required=False),
        "store": text(errors, values, "store", max_length=64, required=False),
        "department": department,
        "strategy": strategy,
        "assignee": assignee,
        "is_active": bool(values.get("is_active", True)),
    }
    errors.check()
    return clean


def create_routing_rule(
    *, actor, name: str, department: Department, priority: int = 100,
    category: Category | None = None, channel: str = "", region: str = "", store: str = "",
    strategy: str = AssignmentRule.Strategy.LEAST_LOADED, assignee=None, is_active: bool = True,
) -> AssignmentRule:  # fmt: skip
    """A routing rule; the lowest priority number that matches a new case wins."""
    values = {
        "name": name, "priority": priority, "category": category, "channel": channel,
        "region": region, "store": store, "department": department, "strategy": strategy,
        "assignee": assignee, "is_active": is_active,
    }  # fmt: skip
    return create_row(AssignmentRule, actor=actor, action="case.routing_rule",
                      fields=ROUTING_FIELDS, clean=_clean_routing, values=values)  # fmt: skip


def update_routing_rule(*, rule: AssignmentRule, actor, **changes: Any) -> AssignmentRule:
    """Change a routing rule; it applies to cases created from now on."""
    row, _new = update_row(rule, actor=actor, action="case.routing_rule", fields=ROUTING_FIELDS,
                           clean=_clean_routing, changes=changes)  # fmt: skip
    return row


def remove_routing_rule(*, rule: AssignmentRule, actor) -> str:
    """Delete a routing rule (cases already routed keep their department and owner)."""
    return remove_row(rule, actor=actor, action="case.routing_rule", fields=ROUTING_FIELDS,
                      in_use=False)  # fmt: skip


# --- solution library ------------------------------------------------------------------------


def _clean_solution(values: Mapping[str, Any], row: Solution | None) -> dict[str, Any]:
    errors = Errors()
    clean = {
        "title": text(errors, values, "title", max_length=200),
        "category": instance(errors, values, "category", Category),
        "body": text(errors, values, "body", max_length=10_000),
        "is_active": bool(values.get("is_active", True)),
    }
    errors.check()
    return clean


def create_solution(
    *, actor, title: str, body: str, category: Category | None = None, is_active: bool = True
) -> Solution:
    """A standard answer agents insert as a quick reply."""
    values = {"title": title, "body": body, "category": category, "is_active": is_active}
    return create_row(Solution, actor=actor, action="case.solution", fields=SOLUTION_FIELDS,
                      clean=_clean_solution, values=values)  # fmt: skip


def update_solution(*, solution: Solution, actor, **changes: Any) -> Solution:
    row, _new = update_row(solution, actor=actor, action="case.solution", fields=SOLUTION_FIELDS,
                           clean=_clean_solution, changes=changes)  # fmt: skip
    return row


def remove_solution(*, solution: Solution, actor) -> str:
    """Delete a solution never used; a used one is deactivated (its use count is history)."""
    in_use = Solution.objects.filter(pk=solution.pk, uses__gt=0).exists()
    return remove_row(solution, actor=actor, action="case.solution", fields=SOLUTION_FIELDS,
                      in_use=in_use)  # fmt: skip
