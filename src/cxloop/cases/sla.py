"""SLA clocks of a case: which rule sets each target, when it is due, how pauses and changes
move it. Every function runs inside the caller's transaction and writes its ``CaseEvent``.

Which rule (``rule_for``). Among the active rules of the target kind whose channel, tier,
severity and category match the case (blank matches anything; a rule naming a top-level
category also matches its sub-categories), in this order (``_rank``): a ``major_only`` rule
wins for a major complaint (the others never see it); then the rule naming the case's own
category, then the one naming its parent category, then the rules naming none; then the rule
naming more of channel, tier and severity; on a tie the rule naming the customer tier, then the
one naming the severity, the channel counting least; then the earlier deadline for this case;
then the older rule. With the default rules (``defaults.py``): VIP 3 min on every channel,
urgent 2 h round the clock, else phone 15 min / online 30 min, else 10 min. A rule naming two
fields beats all of these ("urgent phone calls: 15 min"), and a category rule beats them all
(the retention cases' 1 working day to answer, ``retention.plays``).

Which calendar (``calendar_for``): the rule's own, else 7×24 for urgent cases, else the
department's, else the default one. A "24 h" target of a non-urgent case is therefore 24
working hours; "3 working days" ends with the third working day's business.

Deadlines are computed from ``started_at``: the rule's working time (or working days), then
moved on by the working time of every pause (waiting on the customer) that began before the
moment in question; the warning sits at ``warn_percent`` of the working time and moves the same
way. A pause that begins after a deadline does not move it: a missed deadline stays missed.
``resume`` records each pause in an SLA_SET event (reason "resumed"); ``recompute`` reads them
back, so after a change of calendar the pauses count in the new calendar, not the old one.

``next_check_at`` is when the sweep must look next: the warning until warned, the deadline until
breached, then the moment the department head is told — overdue for as long again as the target
allowed, in working time — until that is done; NULL when met, when nothing is left, and while
the case waits on the customer (``resume`` re-arms it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from django.db import IntegrityError, connection, transaction
from django.db.models import Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent, CaseTarget, Category, Severity, SlaRule
from cxloop.core import calendars
from cxloop.core.business_time import (
    WorkingCalendar,
    add_working_days,
    add_working_time,
    shift_for_pause,
    working_time_between,
)

Target = SlaRule.Target
Pause = tuple[dt.datetime, dt.datetime]
ZERO = dt.timedelta(0)
# The clocks a new case gets; management_notice only matches major complaints (major_only).
OPENING_KINDS = (
    Target.FIRST_RESPONSE, Target.RESOLUTION, Target.PROGRESS_UPDATE, Target.MANAGEMENT_NOTICE,
)  # fmt: skip
CYCLE_KINDS = (Target.RESOLUTION, Target.PROGRESS_UPDATE, Target.CALLBACK)  # per resolution cycle
# An escalation is answered within 2 hours round the clock even when no rule says so (R3.3).
ESCALATION_ANSWER_MINUTES = 120
RESUMED = "resumed"  # data["reason"] of the SLA_SET event that records one pause
TARGET_FIELDS = [
    "rule", "started_at", "due_at", "warn_at", "met_at", "warned_at", "breached_at",
    "escalated_to_head_at", "paused_seconds", "next_check_at",
]  # fmt: skip


# --- rules and calendars -------------------------------------------------------------------


def rule_for(*, case: Case, target: str, at: dt.datetime | None = None) -> SlaRule | None:
    """The rule that sets ``target`` for ``case`` (see the module text); None when none matches.

    ``at`` is the start the tie-break compares deadlines from (default: the case's creation).
    """
    return _choose(case, _candidates(case, [target]).get(target, []), at, Calendars())


def _candidates(case: Case, kinds: Iterable[str]) -> dict[str, list[SlaRule]]:
    """All active rules of ``kinds`` matching the case, in one query, by kind."""
    rules = SlaRule.objects.filter(
        Q(minutes__isnull=False) | Q(working_days__isnull=False),
        _category_match(case),
        is_active=True,
        target__in=list(kinds),
        channel__in=("", case.channel),
        tier__in=("", case.tier),
        severity__in=("", case.severity),
    )
    if not case.is_major:
        rules = rules.filter(major_only=False)
    found: dict[str, list[SlaRule]] = {}
    for rule in rules.select_related("calendar").order_by("pk"):
        found.setdefault(rule.target, []).append(rule)
    return found


def _category_match(case: Case) -> Q:
    """No category, the case's own, or its parent's: the parent is read by a subquery, so the
    rules stay one query (and a category changed on the case counts, not a cached one)."""
    if case.category_id is None:
        return Q(category__isnull=True)
    parent = Category.objects.filter(pk=case.category_id).values("parent_id")
    return Q(category__isnull=True) | Q(category_id=case.category_id) | Q(category_id__in=parent)


def _rank(rule: SlaRule, case: Case) -> tuple:
    """Bigger is more specific (see the module text). Among the candidates a named category is
    the case's own (2) or else its parent (1)."""
    category = 2 if rule.category_id == case.category_id else 1
    if rule.category_id is None:
        category = 0
    named = (bool(rule.tier), bool(rule.severity), bool(rule.channel))
    return (rule.major_only, category, sum(named), *named)


def _choose(case, rules: Sequence[SlaRule], at, cals: Calendars) -> SlaRule | None:
    if not rules:
        return None
    ranked = [(_rank(rule, case), rule) for rule in rules]
    best = max(rank for rank, _rule in ranked)
    tied = [rule for rank, rule in ranked if rank == best]
    if len(tied) == 1:
        return tied[0]
    start = at or case.created_at or timezone.now()
    return min(tied, key=lambda rule: (_base_due(rule, cals.get(case, rule), start), rule.pk))


def _builtin(kind: str) -> SlaRule | None:
    """The fallback for kinds that must always have a clock (never saved, ``rule`` stays NULL)."""
    if kind != Target.ESCALATION_ANSWER:
        return None
    return SlaRule(
        name="escalation answer", target=kind, minutes=ESCALATION_ANSWER_MINUTES,
        warn_percent=80, calendar=calendars.round_the_clock_calendar(),
    )  # fmt: skip


def _rule_of(target: CaseTarget) -> SlaRule | None:
    return target.rule if target.rule_id else _builtin(target.kind)


class Calendars:
    """``calendar_for`` with a memo: a sweep or a recomputation asks for the same few calendars
    many times, and each lookup of the default or 7×24 calendar is a query."""

    def __init__(self) -> None:
        self._memo: dict[tuple, WorkingCalendar] = {}

    def get(self, case: Case, rule: SlaRule | None) -> WorkingCalendar:
        key, load = _calendar_source(case, rule)
        if key not in self._memo:
            self._memo[key] = calendars.to_working_calendar(load())
        return self._memo[key]


def _calendar_source(case: Case, rule: SlaRule | None) -> tuple[tuple, Callable]:
    if rule is not None and rule.calendar_id:
        return ("rule", rule.calendar_id), lambda: rule.calendar
    if case.severity == Severity.URGENT:
        return ("7x24",), calendars.round_the_clock_calendar
    department = case.department if case.department_id else None
    if department is not None and department.calendar_id:
        return ("department", department.calendar_id), lambda: department.calendar
    return ("default",), calendars.default_calendar


def calendar_for(*, case: Case, rule: SlaRule | None) -> WorkingCalendar:
    """The rule's calendar, else 7×24 for urgent cases, else the department's, else the default."""
    return Calendars().get(case, rule)


# --- deadline arithmetic -------------------------------------------------------------------


def _base_due(rule: SlaRule, cal: WorkingCalendar, start: dt.datetime) -> dt.datetime:
    if rule.working_days is not None:
        return add_working_days(cal, start, rule.working_days)
    return add_working_time(cal, start, dt.timedelta(minutes=rule.minutes or 0))


def _apply_pauses(cal, moment: dt.datetime, started: dt.datetime, pauses: Iterable[Pause]):
    """``moment`` moved on by each pause (in order) that began before it and after ``started``."""
    for begin, end in pauses:
        begin = max(begin, started)
        if begin < end and begin < moment:
            moment = shift_for_pause(cal, moment, begin, end)
    return moment


def _paused_time(cal, started: dt.datetime, pauses: Iterable[Pause]) -> dt.timedelta:
    return sum((working_time_between(cal, max(b, started), e) for b, e in pauses), ZERO)


def _rule_length(rule: SlaRule, cal: WorkingCalendar, start: dt.datetime) -> dt.timedelta:
    return working_time_between(cal, start, _base_due(rule, cal, start))


def _schedule(target: CaseTarget, rule: SlaRule, cal, pauses: Sequence[Pause]) -> None:
    """Set due_at, warn_at and paused_seconds of ``target`` from its start, rule and pauses."""
    start = target.started_at
    base_due = _base_due(rule, cal, start)
    target.due_at = _apply_pauses(cal, base_due, start, pauses)
    target.warn_at = None
    if 0 < rule.warn_percent < 100:
        length = working_time_between(cal, start, base_due)
        warn = add_working_time(cal, start, length * rule.warn_percent / 100)
        target.warn_at = _apply_pauses(cal, warn, start, pauses)
    target.paused_seconds = int(_paused_time(cal, start, pauses).total_seconds())


def _pauses(case: Case) -> list[Pause]:
    """The case's finished pauses, oldest first, from the events ``resume`` wrote."""
    rows = CaseEvent.objects.filter(
        case=case, kind=CaseEvent.Kind.SLA_SET, data__reason=RESUMED
    ).order_by("at", "pk")
    found = [
        (dt.datetime.fromisoformat(d["paused_from"]), dt.datetime.fromisoformat(d["paused_to"]))
        for d in rows.values_list("data", flat=True)
    ]
    return sorted(found)


def head_moment(*, case: Case, target: CaseTarget, cals: Calendars | None = None) -> dt.datetime:
    """When a missed target goes to the department head: after it has been overdue for as long
    again as the target allowed, in working time, pauses after the deadline not counted."""
    rule = _rule_of(target)
    cal = (cals or Calendars()).get(case, rule)
    if rule is not None:
        length = _rule_length(rule, cal, target.started_at)
    else:  # the rule was deleted: what the clock ran is the best measure left
        ran = working_time_between(cal, target.started_at, target.due_at)
        length = max(ran - dt.timedelta(seconds=target.paused_seconds), ZERO)
    moment = add_working_time(cal, target.due_at, length)
    if not target.paused_seconds:  # never waited since it started: no pause can move it
        return moment
    return _apply_pauses(cal, moment, target.due_at, _pauses(case))


def next_check(*, case: Case, target: CaseTarget, cals: Calendars | None = None):
    """The ``next_check_at`` the target should have now (see the module text)."""
    if target.met_at is not None or case.paused_at is not None:
        return None
    if target.breached_at is None:
        warn = target.warn_at
        if warn is not None and target.warned_at is None and warn < target.due_at:
            return warn
        return target.due_at
    if target.escalated_to_head_at is None:
        return head_moment(case=case, target=target, cals=cals)
    return None


def working_seconds_to(*, case: Case, target: CaseTarget, at: dt.datetime) -> int:
    """Working seconds the clock ran from its start to its end (``met_at``, else ``at``),
    time waiting on the customer left out."""
    end = target.met_at or at
    cal = calendar_for(case=case, rule=_rule_of(target))
    paused = dt.timedelta(seconds=target.paused_seconds)
    if case.paused_at is not None and target.met_at is None:
        paused += working_time_between(cal, max(case.paused_at, target.started_at), end)
    ran = working_time_between(cal, target.started_at, end) - paused
    return max(0, int(ran.total_seconds()))


# --- starting clocks -----------------------------------------------------------------------


def _cycle_of(case: Case, kind: str) -> int:
    if kind in CYCLE_KINDS:
        return case.resolution_cycle
    if kind == Target.ESCALATION_ANSWER:
        return max(case.escalation_level, 1)  # each escalation its own clock
    return 1


def _applies(case: Case, kind: str) -> bool:
    if kind == Target.FIRST_RESPONSE:
        return case.first_response_at is None and case.is_open
    if kind in (Target.RESOLUTION, Target.PROGRESS_UPDATE, Target.MANAGEMENT_NOTICE):
        return case.is_open
    return True  # callback, escalation answer: the caller knows when they start


def _create(case, kind, rule, at, cals) -> CaseTarget | None:
    target = CaseTarget(case=case, kind=kind, rule=rule if rule.pk else None, started_at=at,
                        cycle=_cycle_of(case, kind))  # fmt: skip
    _schedule(target, rule, cals.get(case, rule), ())
    target.next_check_at = next_check(case=case, target=target, cals=cals)
    try:
        with transaction.atomic():  # savepoint: another process started this clock first
            target.save()
    except IntegrityError:
        return None
    return target


def _start_targets(case, kinds, at, *, found=None, cals=None) -> list[CaseTarget]:
    """Create the clocks of ``kinds`` that apply and have a rule, without an event."""
    cals = cals or Calendars()
    found = found if found is not None else _candidates(case, kinds)
    existing = set(CaseTarget.objects.filter(case=case).values_list("kind", "cycle"))
    made = []
    for kind in kinds:
        if (kind, _cycle_of(case, kind)) in existing or not _applies(case, kind):
            continue
        rule = _choose(case, found.get(kind, []), at, cals) or _builtin(kind)
        target = _create(case, kind, rule, at, cals) if rule is not None else None
        if target is not None:
            made.append(target)
    return made


def _start(case, kinds, at, *, reason, actor=None) -> list[CaseTarget]:
    made = _start_targets(case, kinds, at)
    if made:
        record_event(
            case=case, kind=CaseEvent.Kind.SLA_SET, actor=actor, at=at, body=_summary(made),
            data={"reason": reason, "due": {_key(t): t.due_at for t in made},
                  "rules": {_key(t): t.rule_id for t in made}},
        )  # fmt: skip
        _refresh_next_due(case)
    return made


def start_clocks(*, case: Case, now: dt.datetime, kinds=None) -> list[CaseTarget]:
    """Start the clocks that have a rule (default: first response, resolution, progress update,
    management notice for a major complaint); ones already running are left alone."""
    return _start(case, list(kinds or OPENING_KINDS), now, reason="started")


def start_cycle(*, case: Case, at: dt.datetime) -> list[CaseTarget]:
    """After a reopen (``resolution_cycle`` already incremented): fresh resolution and progress
    clocks for the new cycle, counted from ``at``."""
    kinds = [Target.RESOLUTION, Target.PROGRESS_UPDATE]
    return _start(case, kinds, at, reason="reopened")


def start_escalation_answer(*, case: Case, at: dt.datetime, actor=None) -> CaseTarget | None:
    """A manual escalation (``escalation_level`` already raised) must be answered in 2 hours."""
    made = _start(case, [Target.ESCALATION_ANSWER], at, reason="escalated", actor=actor)
    return made[0] if made else None


# --- stopping and moving clocks ------------------------------------------------------------


def _locked(queryset):
    """Lock the rows against a sweep working on them, where the database can (PostgreSQL)."""
    if connection.in_atomic_block:
        return queryset.select_for_update(of=("self",))
    return queryset


def meet(*, case: Case, kind: str, at: dt.datetime, actor=None) -> CaseTarget | None:
    """Stop the running clock of ``kind`` (the latest cycle's); None when none is running."""
    running = CaseTarget.objects.filter(case=case, kind=kind, met_at__isnull=True)
    target = _locked(running.select_related("rule__calendar")).order_by("-cycle").first()
    if target is None:
        return None
    seconds = working_seconds_to(case=case, target=target, at=at)
    if case.paused_at is not None:  # met while waiting: the pause so far is spent, not worked
        cal = calendar_for(case=case, rule=_rule_of(target))
        waited = working_time_between(cal, max(case.paused_at, target.started_at), at)
        target.paused_seconds += int(waited.total_seconds())
    target.met_at, target.next_check_at = at, None
    target.save(update_fields=["met_at", "next_check_at", "paused_seconds"])
    on_time = target.breached_at is None and at <= target.due_at
    record_event(
        case=case, kind=CaseEvent.Kind.SLA_MET, actor=actor, at=at,
        body=_met_text(kind, target.due_at, on_time),
        data={"kind": kind, "on_time": on_time, "working_seconds": seconds,
              "cycle": target.cycle, "due_at": target.due_at},
    )  # fmt: skip
    _refresh_next_due(case)
    return target


def touch_progress(*, case: Case, at: dt.datetime) -> CaseTarget | None:
    """A progress update reached the customer: the progress clock starts again from ``at``.

    The running clock is met and re-armed on the same row (one row per kind and cycle); the
    SLA_MET event records the run that ended.
    """
    if not case.is_open:
        return None
    rows = CaseTarget.objects.filter(case=case, kind=Target.PROGRESS_UPDATE)
    target = _locked(rows.filter(cycle=case.resolution_cycle)).first()
    if target is None:
        made = _start(case, [Target.PROGRESS_UPDATE], at, reason="progress")
        return made[0] if made else None
    rule = rule_for(case=case, target=Target.PROGRESS_UPDATE, at=at)
    if rule is None:
        return meet(case=case, kind=Target.PROGRESS_UPDATE, at=at)
    ended = _ended_run(case, target, at)
    target.rule, target.started_at, target.met_at = rule, at, None
    target.warned_at = target.breached_at = target.escalated_to_head_at = None
    cals = Calendars()
    _schedule(target, rule, cals.get(case, rule), ())
    target.next_check_at = next_check(case=case, target=target, cals=cals)
    target.save(update_fields=TARGET_FIELDS)
    if ended is not None:
        record_event(
            case=case,
            kind=CaseEvent.Kind.SLA_MET,
            at=at,
            data={**ended, "next_due_at": target.due_at},
            body=_met_text(target.kind, ended["due_at"], ended["on_time"]),
        )
    _refresh_next_due(case)
    return target


def _ended_run(case: Case, target: CaseTarget, at: dt.datetime) -> dict | None:
    if target.met_at is not None:
        return None
    return {
        "kind": target.kind, "cycle": target.cycle, "started_at": target.started_at,
        "due_at": target.due_at, "on_time": target.breached_at is None and at <= target.due_at,
        "working_seconds": working_seconds_to(case=case, target=target, at=at),
    }  # fmt: skip


def pause(*, case: Case, at: dt.datetime) -> None:
    """Waiting on the customer: every clock stops; the sweep leaves the case alone."""
    if case.paused_at is not None:
        return
    case.paused_at = at
    case.save(update_fields=["paused_at"])
    CaseTarget.objects.filter(case=case, met_at__isnull=True).update(next_check_at=None)


def resume(*, case: Case, at: dt.datetime) -> None:
    """The clocks run again; each unmet deadline and warning moves on by the working time the
    pause took (in the clock's calendar), and the pause is recorded for later recomputation."""
    began = case.paused_at
    if began is None:
        return
    case.paused_at = None
    cals = Calendars()
    targets = list(_locked(_unmet(case)))
    before = {_key(t): t.due_at for t in targets}
    for target in targets:
        cal = cals.get(case, _rule_of(target))
        target.due_at = _apply_pauses(cal, target.due_at, target.started_at, [(began, at)])
        if target.warn_at is not None:
            target.warn_at = _apply_pauses(cal, target.warn_at, target.started_at, [(began, at)])
        waited = working_time_between(cal, max(began, target.started_at), at)
        target.paused_seconds += int(waited.total_seconds())
    case.save(update_fields=["paused_at"])
    record_event(
        case=case, kind=CaseEvent.Kind.SLA_SET, at=at, body=_summary(targets),
        data={"reason": RESUMED, "paused_from": began, "paused_to": at, "before": before,
              "after": {_key(t): t.due_at for t in targets}},
    )  # fmt: skip
    for target in targets:  # after the event: head moments read the pause just recorded
        target.next_check_at = next_check(case=case, target=target, cals=cals)
    CaseTarget.objects.bulk_update(targets, TARGET_FIELDS)
    _refresh_next_due(case)


def _unmet(case: Case):
    rows = CaseTarget.objects.filter(case=case, met_at__isnull=True)
    return rows.select_related("rule__calendar").order_by("kind", "cycle")


def recompute(*, case: Case, at: dt.datetime, reason: str, actor=None) -> None:
    """After a change of severity, tier, channel, category, department, calendar or rules:
    every running clock is recomputed from its start (pauses kept), clocks that now apply are
    started from ``at``, running never-breached clocks no rule covers any more are dropped.
    One SLA_SET event with the deadlines before and after (none when nothing moved)."""
    cals, pauses = Calendars(), _pauses(case)
    targets = list(_locked(_unmet(case)))
    found = _candidates(case, {*OPENING_KINDS, *(t.kind for t in targets)})
    before = {_key(t): t.due_at for t in targets}
    kept, dropped = [], []
    for target in targets:
        rule = _choose(case, found.get(target.kind, []), target.started_at, cals)
        rule = rule or _builtin(target.kind)
        if rule is None:
            (kept if target.breached_at else dropped).append(target)  # a breach stays on record
            continue
        _reschedule(case, target, rule, cals, pauses, at)
        kept.append(target)
    CaseTarget.objects.filter(pk__in=[t.pk for t in dropped]).delete()
    CaseTarget.objects.bulk_update(kept, TARGET_FIELDS)
    added = _start_targets(case, OPENING_KINDS, at, found=found, cals=cals)
    after = {_key(t): t.due_at for t in (*kept, *added)}
    if after != before or dropped:
        record_event(
            case=case, kind=CaseEvent.Kind.SLA_SET, actor=actor, at=at,
            body=_summary([*kept, *added]),
            data={"reason": reason, "before": before, "after": after,
                  "added": [_key(t) for t in added], "dropped": [_key(t) for t in dropped]},
        )  # fmt: skip
    _refresh_next_due(case)


def _reschedule(case, target, rule, cals, pauses, at) -> None:
    target.rule = rule if rule.pk else None
    _schedule(target, rule, cals.get(case, rule), pauses)
    if target.warned_at is not None and target.warn_at is not None and target.warn_at > at:
        target.warned_at = None  # the warning moment moved into the future: warn again then
    target.next_check_at = next_check(case=case, target=target, cals=cals)


def _refresh_next_due(case: Case) -> None:
    """``case.next_due_at``: the earliest deadline of a running clock (the queues sort by it)."""
    rows = CaseTarget.objects.filter(case=case, met_at__isnull=True)
    due = rows.aggregate(due=Min("due_at"))["due"]
    if due != case.next_due_at:
        case.next_due_at = due
        case.save(update_fields=["next_due_at"])


# --- texts ---------------------------------------------------------------------------------


def _key(target: CaseTarget) -> str:
    return target.kind if target.cycle == 1 else f"{target.kind}:{target.cycle}"


def label(kind: str) -> str:
    return str(Target(kind).label) if kind in Target.values else kind


def local_text(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _summary(targets: Sequence[CaseTarget]) -> str:
    lines = [
        _("%(target)s due %(due)s") % {"target": label(t.kind), "due": local_text(t.due_at)}
        for t in targets
    ]
    return "; ".join(lines)


def _met_text(kind: str, due: dt.datetime, on_time: bool) -> str:
    values = {"target": label(kind), "due": local_text(due)}
    if on_time:
        return _("%(target)s met (due %(due)s)") % values
    return _("%(target)s met late (due %(due)s)") % values
