"""Console pages of the cases settings under ``/cases/settings/`` (permission ``cases.manage_sla``):
an index, and for each section — taxonomy, departments, SLA rules, routing, calendars,
solutions — a list, a create form and an edit form; departments also manage their members.

The views are generic over ``SECTIONS``: each names its form, rows and the service calls. They
read the form, call one service, and re-render with the service's per-field messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from cxloop.cases import config_forms as cf
from cxloop.cases import config_rules as rules
from cxloop.cases import config_services as services
from cxloop.cases.config_services import DELETED, Saved
from cxloop.cases.models import (
    AssignmentRule,
    Case,
    CaseTarget,
    Category,
    Department,
    Membership,
    SlaRule,
    Solution,
)
from cxloop.core.calendars import years_needing_manual_holidays
from cxloop.core.models import BusinessCalendar
from cxloop.core.roles import require

PAGE_SIZE = 50


@dataclass(frozen=True)
class Section:
    slug: str
    title: Any
    singular: Any
    form: type[cf.ConfigForm]
    rows: Callable[[], QuerySet]
    create: Callable[..., Any]  # (actor, fields) → row or Saved
    update: Callable[..., Any]  # (row, actor, fields) → row or Saved
    remove: Callable[..., Any] | None = None  # (row, actor) → "deleted" / "deactivated" / Saved
    deletes: bool = True  # False: "remove" only deactivates (offered while active)
    panels: Callable[[Any], dict] = field(default=lambda obj: {})  # edit-page context
    decorate: Callable[[list], list] = field(default=lambda rows: rows)
    help: Any = ""


# --- per-section rows and extras -------------------------------------------------------------


def _categories() -> QuerySet:
    rows = Category.objects.select_related("parent", "default_department")
    top_code = Coalesce("parent__code", "code")
    return rows.order_by(top_code, F("parent").asc(nulls_first=True), "code")


def _departments() -> QuerySet:
    rows = Department.objects.select_related("head", "calendar")
    return rows.annotate(member_count=Count("members")).order_by("-is_active", "name")


def rule_length(rule: SlaRule) -> str:
    """The length as text: "3 working days", "24 working hours", "30 working minutes"."""
    if rule.working_days:
        days = rule.working_days
        return ngettext("%(n)d working day", "%(n)d working days", days) % {"n": days}
    minutes = rule.minutes or 0
    if minutes and minutes % 60 == 0:
        hours = minutes // 60
        return ngettext("%(n)d working hour", "%(n)d working hours", hours) % {"n": hours}
    return ngettext("%(n)d working minute", "%(n)d working minutes", minutes) % {"n": minutes}


def _open_counts_by_rule(rules_page: list) -> list:
    """Each rule with its length and the number of open cases that have a running clock it
    set (one query)."""
    running = CaseTarget.objects.filter(
        rule__in=rules_page, met_at__isnull=True, case__status__in=Case.OPEN_STATUSES
    )
    counts = dict(running.values_list("rule").annotate(n=Count("case", distinct=True)))
    for rule in rules_page:
        rule.open_cases, rule.length = counts.get(rule.pk, 0), rule_length(rule)
    return rules_page


def _rule_panels(rule: SlaRule) -> dict:
    return {"affected": rules.affected_cases(rules.RULE, rule).count()}


def _department_panels(department: Department, member_form=None) -> dict:
    members = department.members.select_related("user").order_by("-role", "user__username")
    return {
        "members": [(m, cf.MemberUpdateForm.for_object(m, prefix=f"m{m.pk}")) for m in members],
        "member_form": member_form or cf.MemberForm(),
        "affected": rules.affected_cases(rules.DEPARTMENT, department).count(),
    }


def _calendar_panels(calendar: BusinessCalendar) -> dict:
    return {
        "affected": rules.affected_cases(rules.CALENDAR, calendar).count(),
        "missing_years": years_needing_manual_holidays(calendar),
    }


def _calendars_decorated(rows: list) -> list:
    for row in rows:
        weekly = row.weekly_hours or {}
        row.hours = [(WEEKDAYS_ABBR[day], cf.hours_text(weekly.get(str(day)))) for day in range(7)]
    return rows


SECTIONS = {
    section.slug: section
    for section in (
        Section(
            "taxonomy", gettext_lazy("Taxonomy"), gettext_lazy("category"), cf.CategoryForm,
            _categories,
            create=lambda actor, data: services.create_category(actor=actor, **data),
            update=lambda obj, actor, data: services.update_category(category=obj, actor=actor,
                                                                     **data),
            remove=lambda obj, actor: services.remove_category(category=obj, actor=actor),
            help=gettext_lazy("Complaint categories, two levels deep, with the department their "
                              "cases go to when no routing rule matches."),
        ),
        Section(
            "departments", gettext_lazy("Departments"), gettext_lazy("department"),
            cf.DepartmentForm, _departments,
            create=lambda actor, data: services.create_department(actor=actor, **data),
            update=lambda obj, actor, data: services.update_department(department=obj,
                                                                       actor=actor, **data),
            remove=lambda obj, actor: services.update_department(department=obj, actor=actor,
                                                                 is_active=False),
            deletes=False, panels=_department_panels,
            help=gettext_lazy("Where cases are routed: head, supervisors (first escalation), "
                              "members who take cases, and the calendar deadlines count in."),
        ),
        Section(
            "sla", gettext_lazy("SLA rules"), gettext_lazy("SLA rule"), cf.SlaRuleForm,
            lambda: SlaRule.objects.select_related("calendar", "category__parent")
            .order_by("-is_active", "target", "name"),
            create=lambda actor, data: rules.create_sla_rule(actor=actor, **data),
            update=lambda obj, actor, data: rules.update_sla_rule(rule=obj, actor=actor, **data),
            remove=lambda obj, actor: rules.deactivate_sla_rule(rule=obj, actor=actor),
            deletes=False, panels=_rule_panels,
            decorate=_open_counts_by_rule,
            help=gettext_lazy("Deadlines per target; the most specific active rule wins. A "
                              "change recalculates the deadlines of the open cases it affects."),
        ),
        Section(
            "routing", gettext_lazy("Routing"), gettext_lazy("routing rule"), cf.RoutingRuleForm,
            lambda: AssignmentRule.objects.select_related("category", "department", "assignee")
            .order_by("-is_active", "priority", "id"),
            create=lambda actor, data: services.create_routing_rule(actor=actor, **data),
            update=lambda obj, actor, data: services.update_routing_rule(rule=obj, actor=actor,
                                                                         **data),
            remove=lambda obj, actor: services.remove_routing_rule(rule=obj, actor=actor),
            help=gettext_lazy("Which department and person a new case goes to; the first "
                              "matching rule by priority wins."),
        ),
        Section(
            "calendars", gettext_lazy("Calendars"), gettext_lazy("business calendar"),
            cf.CalendarForm, lambda: BusinessCalendar.objects.order_by("-is_default", "name"),
            create=lambda actor, data: rules.save_calendar(actor=actor, **data),
            update=lambda obj, actor, data: rules.save_calendar(calendar=obj, actor=actor, **data),
            panels=_calendar_panels, decorate=_calendars_decorated,
            help=gettext_lazy("Working hours with the lunch break, public holidays and make-up "
                              "days that working-time deadlines are counted in."),
        ),
        Section(
            "solutions", gettext_lazy("Solutions"), gettext_lazy("solution"), cf.SolutionForm,
            lambda: Solution.objects.select_related("category").order_by("-is_active", "-uses",
                                                                         "title"),
            create=lambda actor, data: services.create_solution(actor=actor, **data),
            update=lambda obj, actor, data: services.update_solution(solution=obj, actor=actor,
                                                                     **data),
            remove=lambda obj, actor: services.remove_solution(solution=obj, actor=actor),
            help=gettext_lazy("Standard answers to frequent problems, offered as quick replies."),
        ),
    )
}  # fmt: skip


# --- helpers ---------------------------------------------------------------------------------


def _section(user, slug: str) -> Section:
    require(user, services.PERM)
    if slug not in SECTIONS:
        raise Http404("no such settings section")
    return SECTIONS[slug]


def _object(section: Section, pk: int):
    return get_object_or_404(section.rows(), pk=pk)


def _context(section: Section | None, **values) -> dict:
    return {"sections": SECTIONS.values(), "section": section, "nav_active": "cases_settings",
            **values}  # fmt: skip


def _saved_message(request, result, done: str) -> None:
    """``done`` ("Saved."), and how many open cases' deadlines are being recalculated."""
    count = result.recalculating if isinstance(result, Saved) else 0
    if count:
        more = ngettext(
            "The deadlines of %(count)d open case are being recalculated.",
            "The deadlines of %(count)d open cases are being recalculated.",
            count,
        )
        done = f"{done} {more % {'count': count}}"
    messages.success(request, done)


def _save(request, section: Section, obj):
    """GET: the form; POST: validate, call the service, flash and go back to the list."""
    form = section.form.for_object(obj, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if obj is None:
                result = section.create(request.user, form.service_fields())
            else:
                result = section.update(obj, request.user, form.service_fields())
        except ValidationError as error:
            form.attach(error)
        else:
            _saved_message(request, result, _("Created.") if obj is None else _("Saved."))
            return redirect("cases_config:list", section.slug)
    removable = obj is not None and section.remove is not None
    context = _context(section, form=form, obj=obj, **(section.panels(obj) if obj else {}),
                       can_remove=removable and (section.deletes or obj.is_active))  # fmt: skip
    status = 400 if request.method == "POST" else 200
    return render(request, "cases/config/edit.html", context, status=status)


# --- views -----------------------------------------------------------------------------------


@login_required
def index(request):
    require(request.user, services.PERM)
    counts = [
        (s, s.rows().count(), s.rows().filter(_active_q(s)).count()) for s in SECTIONS.values()
    ]
    return render(request, "cases/config/index.html", _context(None, counts=counts))


def _active_q(section: Section) -> Q:
    return Q() if section.slug == "calendars" else Q(is_active=True)


@login_required
def section_list(request, section: str):
    current = _section(request.user, section)
    page = Paginator(current.rows(), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = current.decorate(list(page.object_list))
    context = _context(current, page=page, rows=rows,
                       rows_template=f"cases/config/_rows_{current.slug}.html")  # fmt: skip
    return render(request, "cases/config/list.html", context)


@login_required
def section_new(request, section: str):
    return _save(request, _section(request.user, section), None)


@login_required
def section_edit(request, section: str, pk: int):
    current = _section(request.user, section)
    return _save(request, current, _object(current, pk))


@login_required
@require_POST
def section_remove(request, section: str, pk: int):
    current = _section(request.user, section)
    if current.remove is None:
        raise Http404("this kind is not removed")
    result = current.remove(_object(current, pk), request.user)
    if isinstance(result, Saved):
        _saved_message(request, result, _("Deactivated."))
    elif result == DELETED:
        messages.success(request, _("Deleted."))
    else:
        messages.info(request, _("It is in use, so it was deactivated instead of deleted."))
    return redirect("cases_config:list", current.slug)


# --- department members ----------------------------------------------------------------------


def _department(request, pk: int) -> Department:
    require(request.user, services.PERM)
    return get_object_or_404(Department, pk=pk)


def _back_to(department: Department):
    return redirect("cases_config:edit", "departments", department.pk)


@login_required
@require_POST
def member_add(request, pk: int):
    """Add a member; bad input re-renders the department page with the messages."""
    department = _department(request, pk)
    form = cf.MemberForm(request.POST)
    if form.is_valid():
        try:
            services.add_member(department=department, actor=request.user,
                                **form.service_fields())  # fmt: skip
        except ValidationError as error:
            form.attach(error)
        else:
            messages.success(request, _("Member added."))
            return _back_to(department)
    section = SECTIONS["departments"]
    context = _context(section, form=section.form.for_object(department), obj=department,
                       **_department_panels(department, member_form=form))  # fmt: skip
    return render(request, "cases/config/edit.html", context, status=400)


@login_required
@require_POST
def member_update(request, pk: int, member: int):
    department = _department(request, pk)
    membership = get_object_or_404(Membership, pk=member, department=department)
    form = cf.MemberUpdateForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        services.update_member(membership=membership, actor=request.user, **form.service_fields())
        messages.success(request, _("Member changed."))
    else:  # only a tampered form gets here: the choices are fixed
        messages.error(request, _("Choose a role from the list."))
    return _back_to(department)


@login_required
@require_POST
def member_remove(request, pk: int, member: int):
    department = _department(request, pk)
    membership = get_object_or_404(Membership, pk=member, department=department)
    services.remove_member(membership=membership, actor=request.user)
    messages.success(request, _("Member removed."))
    return _back_to(department)
