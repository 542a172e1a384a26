"""Read side of the agent console: the case queues with their filters, and what the case page
shows beside the case (SLA clocks, the timeline, the customer's profile).

Every queue is a filter on ``access.visible_cases`` (a department handler never sees another
department's case), sorted by the nearest open deadline (``next_due_at``, indexed) with cases
without a deadline last. Phone search never leaks digits to roles that see masked numbers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxloop.cases.access import visible_cases
from cxloop.cases.models import (
    Case,
    CaseEvent,
    CaseTarget,
    Category,
    Channel,
    Department,
    Severity,
)
from cxloop.core.money import format_fen
from cxloop.core.pii import can_see_pii, mask_email, mask_phone
from cxloop.customers.selectors import customer_orders
from cxloop.customers.validation import Invalid, parse_phone
from cxloop.surveys.models import Response
from cxloop.surveys.text import SENTIMENT_BANDS, aspect_labels, band_q

QUEUE_LABELS = {
    "mine": gettext_lazy("My queue"),
    "team": gettext_lazy("Team queue"),
    "unassigned": gettext_lazy("Unassigned"),
    "all": gettext_lazy("All cases"),
}
SLA_LABELS = {"breached": gettext_lazy("Deadline missed"), "at_risk": gettext_lazy("At risk")}
_PHONE_NOISE = re.compile(r"[\s\-()（）.+]")


@dataclass(frozen=True)
class CaseFilters:
    q: str = ""
    status: str = ""
    severity: str = ""
    channel: str = ""
    category: int | None = None
    department: int | None = None
    owner: str = ""  # a user id, or "none"
    major: bool = False
    repeat: bool = False
    sla: str = ""  # "breached" / "at_risk"
    sentiment: str = ""  # "negative" / "neutral" / "positive" (cases/text.py)
    aspect: str = ""  # a key of insights.text.ASPECTS

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)


def _int_or_none(value) -> int | None:
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def filters_from(params) -> CaseFilters:
    """Filters from a query string; values that are not one of the choices are ignored."""
    owner = params.get("owner", "")
    return CaseFilters(
        q=params.get("q", "").strip()[:100],
        status=params.get("status", "") if params.get("status") in Case.Status.values else "",
        severity=params.get("severity", "") if params.get("severity") in Severity.values else "",
        channel=params.get("channel", "") if params.get("channel") in Channel.values else "",
        category=_int_or_none(params.get("category")),
        department=_int_or_none(params.get("department")),
        owner=owner if owner == "none" or _int_or_none(owner) else "",
        major=params.get("major") == "1",
        repeat=params.get("repeat") == "1",
        sla=params.get("sla", "") if params.get("sla") in SLA_LABELS else "",
        sentiment=_choice(params.get("sentiment"), SENTIMENT_BANDS),
        aspect=_choice(params.get("aspect"), aspect_labels()),
    )


def _choice(value, allowed) -> str:
    return value if isinstance(value, str) and value in allowed else ""


def queues_for(user) -> dict[str, str]:
    """The queues ``user`` may open, name → label."""
    names = ["mine", "team", "unassigned"]
    if user.has_perm("cases.view_all_cases"):
        names.append("all")
    return {name: QUEUE_LABELS[name] for name in names}


def queue_cases(*, user, queue: str, filters: CaseFilters, now=None) -> QuerySet[Case]:
    """The cases of one queue, filtered, nearest deadline first."""
    if queue not in QUEUE_LABELS:
        raise Http404("no such queue")
    if queue not in queues_for(user):
        raise PermissionDenied
    cases = visible_cases(user)
    if queue == "mine":
        cases = cases.filter(owner=user)
    elif queue == "team" and not user.has_perm("cases.view_all_cases"):
        cases = cases.filter(department_id__in=user.case_memberships.values("department_id"))
    elif queue == "unassigned":
        cases = cases.filter(owner__isnull=True)
    if filters.status:
        cases = cases.filter(status=filters.status)
    elif queue != "all":
        cases = cases.filter(status__in=Case.OPEN_STATUSES)
    cases = _apply_filters(cases, filters, user=user, now=now or timezone.now())
    return cases.select_related("customer", "category", "department", "owner").order_by(
        F("next_due_at").asc(nulls_last=True), "created_at", "id"
    )


def _apply_filters(cases: QuerySet[Case], filters: CaseFilters, *, user, now) -> QuerySet[Case]:
    exact = {
        "severity": filters.severity,
        "channel": filters.channel,
        "department_id": filters.department,
    }
    cases = cases.filter(**{name: value for name, value in exact.items() if value})
    if filters.category:
        cases = cases.filter(
            Q(category_id=filters.category) | Q(category__parent_id=filters.category)
        )
    if filters.owner == "none":
        cases = cases.filter(owner__isnull=True)
    elif filters.owner:
        cases = cases.filter(owner_id=int(filters.owner))
    if filters.major:
        cases = cases.filter(is_major=True)
    if filters.repeat:
        cases = cases.filter(repeat_of__isnull=False)
    if filters.sla:
        cases = cases.filter(Exists(_clock_query(filters.sla, now)))
    if filters.q:
        cases = cases.filter(_text_query(filters.q, show_pii=can_see_pii(user)))
    return text_filtered(cases, sentiment=filters.sentiment, aspect=filters.aspect)


def text_filtered(cases: QuerySet[Case], *, sentiment: str, aspect: str) -> QuerySet[Case]:
    """By sentiment band and by an aspect the customer's texts name (also the API's)."""
    if sentiment:
        cases = cases.filter(band_q("sentiment", sentiment))
    if aspect:
        # JSON containment is not on SQLite; the key's quoted form is unambiguous in the list.
        cases = cases.filter(aspects__icontains=f'"{aspect}"')
    return cases


def _clock_query(state: str, now: dt.datetime) -> QuerySet[CaseTarget]:
    """Open clocks of the case that are past due (breached) or past the warning (at risk)."""
    clocks = CaseTarget.objects.filter(case_id=OuterRef("pk"), met_at__isnull=True)
    if state == "breached":
        return clocks.filter(Q(breached_at__isnull=False) | Q(due_at__lte=now))
    return clocks.filter(breached_at__isnull=True, due_at__gt=now, warn_at__lte=now)


def _text_query(text: str, *, show_pii: bool) -> Q:
    query = (
        Q(number__iexact=text)
        | Q(number__istartswith=text)
        | Q(subject__icontains=text)
        | Q(contact_name__icontains=text)
        | Q(customer__name__icontains=text)
        | Q(customer__external_id__iexact=text)
    )
    with contextlib.suppress(Invalid):
        phone = parse_phone(text)  # a whole number, in any usual spelling
        query |= Q(contact_phone=phone) | Q(customer__phone=phone)
    digits = _PHONE_NOISE.sub("", text)
    if show_pii and digits.isdigit() and len(digits) >= 4:
        # Part of a number only for those who see numbers: for masked roles a partial match
        # would reveal hidden digits one probe at a time.
        query |= Q(contact_phone__contains=digits) | Q(customer__phone__contains=digits)
    return query


# --- choices --------------------------------------------------------------------------------


def assignable_users():
    """Active staff who can work cases (the owner choices), by name."""
    perm = Permission.objects.filter(content_type__app_label="cases", codename="work_case")
    users = get_user_model().objects.filter(is_active=True)
    users = users.filter(
        Q(is_superuser=True) | Q(groups__permissions__in=perm) | Q(user_permissions__in=perm)
    )
    return users.distinct().order_by("username")


def filter_choices() -> dict:
    return {
        "statuses": Case.Status.choices,
        "severities": Severity.choices,
        "channels": Channel.choices,
        "categories": list(Category.objects.filter(is_active=True).order_by("code")),
        "departments": list(Department.objects.filter(is_active=True).order_by("name")),
        "owners": list(assignable_users()),
        "sla": SLA_LABELS,
        "sentiments": SENTIMENT_BANDS,
        "aspects": aspect_labels(),
    }


# --- rows and clocks ------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """A deadline as the console shows it: due time, overdue or not, the time left in words."""

    due_at: dt.datetime | None
    overdue: bool
    left: str


def clock(due_at: dt.datetime | None, now: dt.datetime) -> Clock:
    if due_at is None:
        return Clock(None, False, "")
    seconds = int((due_at - now).total_seconds())
    return Clock(due_at, seconds < 0, duration_words(seconds))


def countdown_words() -> dict[str, str]:
    """The words of a countdown, shared with the countdown JS (same placeholders)."""
    return {
        "in": _("in %(amount)s"),
        "overdue": _("overdue by %(amount)s"),
        "days": _("%(d)d d %(h)d h"),
        "hours": _("%(h)d h %(m)02d min"),
        "minutes": _("%(m)d min"),
    }


def duration_words(seconds: int) -> str:
    """'in 1 h 05 min' / 'overdue by 2 d 3 h'."""
    words = countdown_words()
    minutes = abs(seconds) // 60
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        amount = words["days"] % {"d": days, "h": hours}
    elif hours:
        amount = words["hours"] % {"h": hours, "m": mins}
    else:
        amount = words["minutes"] % {"m": mins}
    return words["overdue" if seconds < 0 else "in"] % {"amount": amount}


@dataclass(frozen=True)
class QueueRow:
    case: Case
    customer_name: str
    phone: str
    clock: Clock


def queue_rows(cases, *, user, now=None) -> list[QueueRow]:
    now = now or timezone.now()
    show_pii = can_see_pii(user)
    rows = []
    for case in cases:
        phone = case.contact_phone or (case.customer.phone if case.customer else "")
        name = case.contact_name or (case.customer.name if case.customer else "")
        rows.append(
            QueueRow(
                case=case,
                customer_name=name,
                phone=phone if show_pii else mask_phone(phone),
                clock=clock(case.next_due_at if case.is_open else None, now),
            )
        )
    return rows


# --- the case page --------------------------------------------------------------------------


@dataclass(frozen=True)
class TargetRow:
    """One SLA clock on the case page: what, when due, and whether it was met or missed."""

    target: CaseTarget
    label: str
    clock: Clock
    state: str  # met / met_late / breached / paused / running / at_risk / stopped
    state_label: str


_STATE_LABELS = {
    "met": gettext_lazy("Met"),
    "met_late": gettext_lazy("Met late"),
    "breached": gettext_lazy("Missed"),
    "paused": gettext_lazy("Paused"),
    "at_risk": gettext_lazy("At risk"),
    "running": gettext_lazy("Running"),
    "stopped": gettext_lazy("Stopped"),
}
_STOPPED = (Case.Status.CALLBACK_DONE, Case.Status.CLOSED, Case.Status.MERGED)


def target_rows(case: Case, *, now=None) -> list[TargetRow]:
    now = now or timezone.now()
    labels = dict(CaseTarget._meta.get_field("kind").choices)
    rows = []
    for target in case.targets.order_by("-cycle", "due_at", "id"):
        state = _target_state(target, case, now)
        running = state in ("running", "at_risk", "breached", "paused")
        rows.append(
            TargetRow(
                target=target,
                label=str(labels.get(target.kind, target.kind)),
                clock=clock(target.due_at if running else None, now),
                state=state,
                state_label=str(_STATE_LABELS[state]),
            )
        )
    return rows


def _target_state(target: CaseTarget, case: Case, now: dt.datetime) -> str:
    if target.met_at is not None:
        late = target.breached_at is not None or target.met_at > target.due_at
        return "met_late" if late else "met"
    if target.breached_at is not None:
        return "breached"
    if target.cycle < case.resolution_cycle or case.status in _STOPPED:
        return "stopped"
    if target.due_at <= now:
        return "breached"
    if case.status == Case.Status.WAITING:
        return "paused"
    if target.warn_at is not None and target.warn_at <= now:
        return "at_risk"
    return "running"


@dataclass(frozen=True)
class TimelineEntry:
    event: CaseEvent
    label: str
    summary: str


MAX_TIMELINE = 500


def timeline(case: Case, *, user) -> list[TimelineEntry]:
    """The case's latest events, oldest first, each with a one-line summary of its data."""
    newest = case.events.order_by("-at", "-id")[:MAX_TIMELINE]
    events = list(reversed(newest))
    names = _names_in(events)
    show_pii = can_see_pii(user)
    labels = dict(CaseEvent.Kind.choices)
    return [
        TimelineEntry(e, str(labels.get(e.kind, e.kind)), _summary(e, names, show_pii))
        for e in events
    ]


def _names_in(events: list[CaseEvent]) -> dict:
    """Names of the owners, departments and categories the events refer to by id."""
    ids = {"owner": set(), "department": set(), "category": set()}
    for event in events:
        data = event.data or {}
        for side in ("before", "after"):
            values = data.get(side) if isinstance(data.get(side), dict) else {}
            for name, found in ids.items():
                value = values.get(name)
                if isinstance(value, int):
                    found.add(value)
    users = get_user_model().objects.filter(pk__in=ids["owner"])
    return {
        "owner": {u.pk: u.get_full_name() or u.get_username() for u in users},
        "department": dict(
            Department.objects.filter(pk__in=ids["department"]).values_list("pk", "name")
        ),
        "category": dict(Category.objects.filter(pk__in=ids["category"]).values_list("pk", "name")),
    }


def _summary(event: CaseEvent, names: dict, show_pii: bool) -> str:
    data = event.data or {}
    statuses = dict(Case.Status.choices)
    if event.kind == CaseEvent.Kind.ASSIGNED:
        after = data.get("after") or {}
        owner = names["owner"].get(after.get("owner")) or _("nobody")
        department = names["department"].get(after.get("department")) or "—"
        return _("Owner: %(owner)s · department: %(department)s") % {
            "owner": owner,
            "department": department,
        }
    if event.kind == CaseEvent.Kind.UPDATED:
        return _changes(data, names, show_pii)
    if event.kind == CaseEvent.Kind.MERGED and data.get("number"):
        return _("Case %(number)s") % {"number": data["number"]}
    if event.kind == CaseEvent.Kind.CALLBACK:
        return _("Customer satisfied") if data.get("satisfied") else _("Not solved")
    if event.kind == CaseEvent.Kind.ESCALATED and data.get("level"):
        return _("Level %(level)s") % {"level": data["level"]}
    if event.from_status and event.to_status and event.from_status != event.to_status:
        return f"{statuses.get(event.from_status, event.from_status)} → " + str(
            statuses.get(event.to_status, event.to_status)
        )
    target = data.get("target") or data.get("kind")
    return str(dict(CaseTarget._meta.get_field("kind").choices).get(target, ""))


def _changes(data: dict, names: dict, show_pii: bool) -> str:
    before, after = data.get("before") or {}, data.get("after") or {}
    parts = []
    for name, value in after.items():
        try:
            field = Case._meta.get_field(name)
        except FieldDoesNotExist:  # a field renamed since the event was written
            label, choices = name, {}
        else:
            label, choices = capfirst(str(field.verbose_name)), dict(field.choices or ())
        old, new = (_shown(name, v, names, choices, show_pii) for v in (before.get(name), value))
        parts.append(f"{label}: {old} → {new}")
    return "; ".join(parts)


def _shown(name: str, value, names: dict, choices: dict, show_pii: bool) -> str:
    if value in (None, ""):
        return "—"
    if name in names:
        return str(names[name].get(value, value))
    if isinstance(value, str) and value in choices:
        return str(choices[value])
    if name == "amount_fen" and isinstance(value, int):
        return format_fen(value)
    if name == "contact_phone" and not show_pii:
        return mask_phone(str(value))
    if name == "contact_email" and not show_pii:
        return mask_email(str(value))
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    return str(value)


# --- the customer beside the case -----------------------------------------------------------

RECENT = 5


def customer_panel(case: Case, *, user) -> dict:
    """The customer's profile beside the case: contact (masked unless the role sees personal
    data), tier, recent orders and survey answers, and their other cases the user may see."""
    show_pii = can_see_pii(user)
    customer = case.customer
    phone = case.contact_phone or (customer.phone if customer else "")
    email = case.contact_email or (customer.email if customer else "")
    panel = {
        "customer": customer,
        "name": case.contact_name or (customer.name if customer else ""),
        "phone": phone if show_pii else mask_phone(phone),
        "email": email if show_pii else mask_email(email),
        "show_pii": show_pii,
        "tier": case.get_tier_display(),
        "orders": [],
        "answers": [],
        "other_cases": [],
    }
    if customer is None:
        return panel
    if user.has_perm("customers.view_order"):
        panel["orders"] = list(customer_orders(customer)[:RECENT])
    if user.has_perm("surveys.view_response"):
        panel["answers"] = list(
            Response.objects.filter(customer=customer, submitted_at__isnull=False)
            .select_related("survey")
            .order_by("-submitted_at", "-id")[:RECENT]
        )
    panel["other_cases"] = list(
        visible_cases(user)
        .filter(customer=customer)
        .exclude(pk=case.pk)
        .select_related("category")
        .order_by("-created_at", "-id")[:RECENT]
    )
    return panel
