"""SLA rules and business calendars in the console, and the recomputation of the deadlines of
the open cases a change affects.

Writes follow ``config_services`` (keyword-only, ``cases.manage_sla``, one audit row per change,
``ValidationError`` per field). A change that can move deadlines — an SLA rule created, changed
(anything but its name) or deactivated; a calendar's hours, zone, holidays or default flag; a
department's calendar (``config_services.update_department``) — queues the task
``recompute_case_deadlines`` after the commit. Calendars are written by ``core.calendars``;
the ``post_save`` receiver below notices their changes from any path, the Django admin included.

Which cases (``affected_cases``) is one SQL filter over open cases (new, assigned, responded,
waiting), so closed cases and met clocks are never touched:
- a rule: the cases with a running clock set by it, and — while it is active — the cases it
  matches (channel, tier, severity, major; its category or, for a top-level one, a
  sub-category of it) that have a running clock of its kind or lack one it could start;
- a calendar: the cases with a running clock counted in it (the rule's calendar; else 7×24 for
  urgent cases; else the department's; else the default one);
- a department: its non-urgent cases with a running clock whose rule names no calendar.

The task walks them in primary-key batches of 500, each case in its own transaction through
``sla.recompute`` (one SLA_SET event with the deadlines before and after, none when nothing
moved), so it is idempotent: a second run finds nothing to move and writes nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases import sla
from cxloop.cases.config_services import (
    Errors,
    Saved,
    check_actor,
    choice,
    create_row,
    instance,
    number,
    text,
    update_row,
)
from cxloop.cases.models import (
    Case,
    CaseTarget,
    Category,
    Channel,
    Department,
    Severity,
    SlaRule,
    Tier,
)
from cxloop.core import calendars
from cxloop.core.audit import acting_as, current_actor, snapshot
from cxloop.core.models import BusinessCalendar

logger = logging.getLogger(__name__)

RULE, CALENDAR, DEPARTMENT = "sla_rule", "calendar", "department"
BATCH_SIZE = 500
RULE_FIELDS = (
    "name", "target", "channel", "tier", "severity", "major_only", "category", "minutes",
    "working_days", "calendar", "warn_percent", "is_active",
)  # fmt: skip
# What deadlines do not depend on: a change of only these moves nothing.
NAME_ONLY = {"name", "updated_at"}
CALENDAR_DEADLINE_FIELDS = tuple(f for f in calendars.FIELDS if f != "name")
MAX_MINUTES = 366 * 24 * 60
MAX_WORKING_DAYS = 365
ESCALATION = SlaRule.Target.ESCALATION_ANSWER


# --- SLA rules -------------------------------------------------------------------------------


def _clean_rule(values: Mapping[str, Any], row: SlaRule | None) -> dict[str, Any]:
    errors = Errors()
    minutes = number(errors, values, "minutes", low=1, high=MAX_MINUTES)
    days = number(errors, values, "working_days", low=1, high=MAX_WORKING_DAYS)
    given = {"minutes", "working_days"} & {k for k in values if values[k] not in (None, "")}
    if not given:
        errors.add("minutes", _("Enter the working minutes or the working days."))
    elif len(given) == 2:
        errors.add("working_days", _("Enter working minutes or working days, not both."))
    warn = number(errors, values, "warn_percent", low=0, high=100)
    clean = {
        "name": text(errors, values, "name", max_length=100),
        "target": choice(errors, values, "target", SlaRule.Target.choices, blank=False),
        "channel": choice(errors, values, "channel", Channel.choices),
        "tier": choice(errors, values, "tier", Tier.choices),
        "severity": choice(errors, values, "severity", Severity.choices),
        "major_only": bool(values.get("major_only", False)),
        "category": _rule_category(errors, values, row),
        "minutes": minutes,
        "working_days": days,
        "calendar": instance(errors, values, "calendar", BusinessCalendar),
        "warn_percent": 80 if warn is None else warn,
        "is_active": bool(values.get("is_active", True)),
    }
    errors.check()
    return clean


def _rule_category(errors: Errors, values: Mapping[str, Any], row: SlaRule | None):
    """An active category, or the one the rule already names (deactivated since, it may stay)."""
    category = instance(errors, values, "category", Category)
    kept = row is not None and category is not None and category.pk == row.category_id
    if category is not None and not category.is_active and not kept:
        errors.add("category", _("This category is deactivated."))
    return category


def create_sla_rule(
    *, actor, name: str, target: str, minutes: int | None = None,
    working_days: int | None = None, channel: str = "", tier: str = "", severity: str = "",
    major_only: bool = False, category: Category | None = None,
    calendar: BusinessCalendar | None = None, warn_percent: int = 80, is_active: bool = True,
) -> Saved[SlaRule]:  # fmt: skip
    """A new SLA rule; the open cases it now sets a deadline for are recomputed."""
    values = {
        "name": name, "target": target, "minutes": minutes, "working_days": working_days,
        "channel": channel, "tier": tier, "severity": severity, "major_only": major_only,
        "category": category, "calendar": calendar, "warn_percent": warn_percent,
        "is_active": is_active,
    }  # fmt: skip
    with transaction.atomic():
        rule = create_row(SlaRule, actor=actor, action="case.sla_rule", fields=RULE_FIELDS,
                          clean=_clean_rule, values=values)  # fmt: skip
        count = schedule_recompute(scope=RULE, obj=rule, actor=actor) if is_active else 0
    return Saved(rule, count)


def update_sla_rule(*, rule: SlaRule, actor, **changes: Any) -> Saved[SlaRule]:
    """Change a rule; unless only its name changed, its open cases are recomputed (those it
    set before the change and those it matches now)."""
    with transaction.atomic():
        row, new = update_row(rule, actor=actor, action="case.sla_rule", fields=RULE_FIELDS,
                              clean=_clean_rule, changes=changes)  # fmt: skip
        moved = set(new) - NAME_ONLY
        count = schedule_recompute(scope=RULE, obj=row, actor=actor) if moved else 0
    return Saved(row, count)


def deactivate_sla_rule(*, rule: SlaRule, actor) -> Saved[SlaRule]:
    """Stop using a rule: its running clocks move to the next rule that matches (or are
    dropped when none does and they never breached). Rules are kept for the clocks' history."""
    return update_sla_rule(rule=rule, actor=actor, is_active=False)


# --- calendars -------------------------------------------------------------------------------


def save_calendar(
    *, actor, calendar: BusinessCalendar | None = None, **fields: Any
) -> Saved[BusinessCalendar]:
    """Create or change a calendar through ``core.calendars`` (validated, audited); the
    receiver below queues the recomputation. Returns how many open cases it affects."""
    check_actor(actor)
    with acting_as(actor):  # the receiver reads the actor from here
        if calendar is None:
            row = calendars.create_calendar(actor=actor, **fields)
            moved = row.is_default
        else:
            before = snapshot(calendar, CALENDAR_DEADLINE_FIELDS)
            row = calendars.update_calendar(calendar=calendar, actor=actor, **fields)
            moved = snapshot(row, CALENDAR_DEADLINE_FIELDS) != before
    return Saved(row, affected_cases(CALENDAR, row).count() if moved else 0)


def _calendar_saved(sender, instance: BusinessCalendar, created: bool, raw=False,
                    update_fields=None, **kwargs) -> None:  # fmt: skip
    """A calendar changed (services or admin): recompute the open cases counted in it."""
    if raw or (created and not instance.is_default):  # a new calendar is nobody's yet
        return
    if update_fields is not None and set(update_fields) <= NAME_ONLY:
        return
    actor = current_actor()
    schedule_recompute(scope=CALENDAR, obj=instance, actor=actor)


post_save.connect(_calendar_saved, sender=BusinessCalendar, dispatch_uid="cases.config.calendar")


# --- which open cases ------------------------------------------------------------------------


def _running(**filters) -> QuerySet[CaseTarget]:
    return CaseTarget.objects.filter(case=OuterRef("pk"), met_at__isnull=True, **filters)


def _open() -> QuerySet[Case]:
    return Case.objects.filter(status__in=Case.OPEN_STATUSES)


def cases_of_rule(rule: SlaRule) -> QuerySet[Case]:
    """Open cases a rule sets a running clock for, or could now (see the module text).

    An unsaved rule gives the cases it would take up once created."""
    uses = Q(Exists(_running(rule=rule))) if rule.pk else Q(pk__in=[])
    if not rule.is_active or (rule.minutes is None and rule.working_days is None):
        return _open().filter(uses)
    matches = Q()
    for field in ("channel", "tier", "severity"):
        if getattr(rule, field):
            matches &= Q(**{field: getattr(rule, field)})
    if rule.major_only:
        matches &= Q(is_major=True)
    if rule.category_id is not None:  # its own cases and, for a top-level one, its children's
        matches &= Q(category_id=rule.category_id) | Q(category__parent_id=rule.category_id)
    could = Q(Exists(_running(kind=rule.target)))
    if rule.target in sla.OPENING_KINDS:
        cycle = OuterRef("resolution_cycle") if rule.target in sla.CYCLE_KINDS else 1
        missing = ~Exists(CaseTarget.objects.filter(case=OuterRef("pk"), kind=rule.target,
                                                    cycle=cycle))  # fmt: skip
        if rule.target == SlaRule.Target.FIRST_RESPONSE:
            missing &= Q(first_response_at__isnull=True)
        could |= Q(missing)
    return _open().filter(uses | (matches & could))


def round_the_clock_id() -> int | None:
    """The calendar ``core.calendars.round_the_clock_calendar`` returns (without creating it)."""
    rows = BusinessCalendar.objects.filter(always_open=True).order_by("pk")
    return rows.values_list("pk", flat=True).first()


def _inherits() -> Q:
    """Clocks whose rule names no calendar (the built-in escalation answer is 7×24)."""
    builtin = Q(rule__isnull=True, kind=ESCALATION)
    return Q(rule__calendar__isnull=True) & ~builtin


def cases_on_calendar(calendar: BusinessCalendar) -> QuerySet[Case]:
    """Open cases with a running clock counted in ``calendar`` (``sla.calendar_for``).

    Driven from the open cases (status index) with EXISTS on their clocks, so the cost follows
    the open cases, not every clock ever started."""
    urgent = Q(severity=Severity.URGENT)
    inherits = Q(Exists(_running().filter(_inherits())))
    cases = Q(Exists(_running(rule__calendar=calendar)))
    if calendar.pk == round_the_clock_id():
        cases |= Q(Exists(_running(rule__isnull=True, kind=ESCALATION))) | (urgent & inherits)
    on_department = Q(department__calendar=calendar)
    if calendar.is_default:
        on_department |= Q(department__calendar__isnull=True)
    cases |= ~urgent & inherits & on_department
    return _open().filter(cases)


def cases_of_department(department: Department) -> QuerySet[Case]:
    """Its open non-urgent cases with a running clock that follows the department's calendar."""
    rows = _open().filter(department=department).exclude(severity=Severity.URGENT)
    return rows.filter(Exists(_running().filter(_inherits())))


def affected_cases(scope: str, obj) -> QuerySet[Case]:
    """The open cases whose deadlines a change of ``obj`` (rule, calendar, department) moves."""
    selectors = {RULE: cases_of_rule, CALENDAR: cases_on_calendar, DEPARTMENT: cases_of_department}
    return selectors[scope](obj)


# --- queueing and running the recomputation --------------------------------------------------


def _reason(scope: str, pk: int) -> str:
    return {
        RULE: f"SLA rule {pk} changed",
        CALENDAR: f"calendar {pk} changed",
        DEPARTMENT: f"department {pk} calendar changed",
    }[scope]


def schedule_recompute(*, scope: str, obj, actor=None) -> int:
    """Queue the recomputation after the commit; returns how many open cases it covers now."""
    count = affected_cases(scope, obj).count()
    if count:
        actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
        pk = obj.pk
        transaction.on_commit(lambda: _enqueue(scope, pk, actor_id))
    return count


def _enqueue(scope: str, pk: int, actor_id: int | None) -> None:
    from cxloop.cases.tasks import recompute_case_deadlines  # the tasks import this module

    try:
        recompute_case_deadlines(scope, pk, actor_id)
    except Exception:  # the change is committed; a queue outage must not turn it into a 500
        logger.exception("could not queue the recomputation of %s %s", scope, pk)


def _load(scope: str, pk: int):
    model = {RULE: SlaRule, CALENDAR: BusinessCalendar, DEPARTMENT: Department}[scope]
    return model.objects.filter(pk=pk).first()


def recompute_open_cases(
    *, scope: str, pk: int, actor_id: int | None = None, batch_size: int = BATCH_SIZE,
    now: dt.datetime | None = None,
) -> int:  # fmt: skip
    """Recompute the deadlines of the open cases a change of ``scope`` ``pk`` affects, in
    batches; returns how many cases were recomputed (the task ``recompute_case_deadlines``)."""
    obj = _load(scope, pk)
    if obj is None:  # deleted since: its clocks were moved or dropped with it
        return 0
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    reason, done, last = _reason(scope, pk), 0, 0
    while True:
        batch = affected_cases(scope, obj).filter(pk__gt=last).order_by("pk")
        ids = list(batch.values_list("pk", flat=True)[:batch_size])
        for case_id in ids:
            done += _recompute_one(case_id, reason=reason, actor=actor, now=now)
        if len(ids) < batch_size:
            return done
        last = ids[-1]


def _recompute_one(case_id: int, *, reason: str, actor, now: dt.datetime | None) -> int:
    try:
        with transaction.atomic():  # one case at a time: a failure costs only that case
            rows = Case.objects.select_related("department__calendar")
            rows = rows.select_for_update(of=("self",))  # against a reply or sweep meanwhile
            case = rows.filter(pk=case_id, status__in=Case.OPEN_STATUSES).first()
            if case is None:  # closed in the meantime
                return 0
            sla.recompute(case=case, at=now or timezone.now(), reason=reason, actor=actor)
    except Exception:
        logger.exception("recomputing the deadlines of case %s failed", case_id)
        return 0
    return 1
