"""The rows of a demo case as the services and the sweep write them (``cases.demo`` plans the
life, this module keeps the rows consistent): clocks started by the SLA rule ``sla`` would pick,
in its calendar; the progress clock re-armed on its row at each reply; a wait on the customer
moving every running deadline; the sweep's warning, breach and level-1 escalation with its
dedupe keys; the case's columns and the clocks' next checks as they stand "now".

Rows are written with ``executemany`` (SQLite) or ``COPY`` (PostgreSQL) in database form, like
the import's hot path (``customers.upsert_sql``): the ORM's per-value adaptation would cost more
than the inserts. Clocks get explicit ids so the events can name them; the sequences are moved
past them afterwards.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from django.core.management.color import no_style
from django.db import connection
from django.db.models import JSONField, Max

from cxloop.cases import sla
from cxloop.cases.events import actor_label
from cxloop.cases.models import Case, CaseEvent, CaseTarget, CaseTask, SlaRule
from cxloop.core import business_time
from cxloop.core.audit import to_jsonable
from cxloop.customers.upsert_sql import adapter

K, S, T = CaseEvent.Kind, Case.Status, SlaRule.Target
MINUTE = dt.timedelta(minutes=1)


class Clocks:
    """The SLA rules and calendars ``sla`` would pick, asked once per kind of case."""

    def __init__(self) -> None:
        self._rules: dict[tuple, SlaRule | None] = {}
        self.calendars = sla.Calendars()

    def rule(self, case: Case, kind: str) -> SlaRule | None:
        key = (kind, case.channel, case.tier, case.severity, case.is_major, case.category_id)
        if key not in self._rules:
            self._rules[key] = sla.rule_for(case=case, target=kind)
        return self._rules[key]

    def start(self, story: Story, kind: str, cycle: int, at: dt.datetime) -> CaseTarget | None:
        """A clock as ``sla`` starts it: due by the rule in its calendar, warning at N %."""
        rule = self.rule(story.case, kind)
        if rule is None:
            return None
        target = CaseTarget(case_id=story.case.pk, kind=kind, rule=rule, cycle=cycle)
        self.arm(story, target, at)
        story.targets.append(target)
        return target

    def arm(self, story: Story, target: CaseTarget, at: dt.datetime) -> None:
        rule = target.rule
        cal = self.calendars.get(story.case, rule)
        if rule.working_days is not None:
            due = business_time.add_working_days(cal, at, rule.working_days)
        else:
            due = business_time.add_working_time(cal, at, dt.timedelta(minutes=rule.minutes))
        target.started_at, target.due_at, target.warn_at = at, due, None
        target.warned_at = target.breached_at = target.met_at = None
        if 0 < rule.warn_percent < 100:
            length = business_time.working_time_between(cal, at, due)
            target.warn_at = business_time.add_working_time(
                cal, at, length * rule.warn_percent / 100
            )
        story.calendars[id(target)] = cal


# --- one case's life -------------------------------------------------------------------------


@dataclass
class Story:
    """A case's rows while its life is planned; ``status`` follows the moves in time order."""

    case: Case
    cal: business_time.WorkingCalendar  # the resolution clock's: replies are planned in it
    clocks: Clocks
    events: list[CaseEvent] = field(default_factory=list)
    targets: list[CaseTarget] = field(default_factory=list)
    tasks: list[CaseTask] = field(default_factory=list)
    calendars: dict[int, business_time.WorkingCalendar] = field(default_factory=dict)
    status: str = S.NEW

    def event(self, kind, at, *, actor=None, body="", data=None, public=False, key=None, **moves):
        self.events.append(
            CaseEvent(
                case_id=self.case.pk, kind=kind, at=at, actor=actor, actor_label=actor_label(actor),
                body=body, data=data or {}, public=public, dedupe_key=key, **moves,
            )
        )  # fmt: skip

    def move(self, to_status, at, *, kind=K.STATUS, actor=None, body="", data=None):
        self.event(kind, at, actor=actor, body=body, data=data, public=True,
                   from_status=self.status, to_status=to_status)  # fmt: skip
        self.status = to_status

    def clocks_set(self, at, made: list, reason: str) -> None:
        made = [t for t in made if t is not None]
        if made:
            due = {_key(t): t.due_at for t in made}
            text = "; ".join(f"{sla.label(t.kind)} {sla.local_text(t.due_at)}" for t in made)
            rules = {_key(t): t.rule_id for t in made}
            self.event(
                K.SLA_SET, at, body=text, data={"reason": reason, "due": due, "rules": rules}
            )

    def running(self, kind: str) -> CaseTarget | None:
        found = [t for t in self.targets if t.kind == kind and t.met_at is None]
        return max(found, key=lambda t: t.cycle) if found else None

    def meet(self, kind: str, at, actor, *, rearm: bool = False) -> None:
        """Stop the running clock of ``kind`` (the sweep's warning and breach first, if it ran
        late); the progress clock is re-armed from ``at`` on the same row."""
        target = self.running(kind)
        if target is None:
            return
        self.sweep(target, until=at)
        cal = self.calendars[id(target)]
        worked = business_time.working_time_between(cal, target.started_at, at).total_seconds()
        data = {"kind": kind, "on_time": target.breached_at is None and at <= target.due_at,
                "working_seconds": max(0, int(worked) - target.paused_seconds),
                "cycle": target.cycle, "due_at": target.due_at}  # fmt: skip
        self.event(K.SLA_MET, at, actor=None if rearm else actor, data=data)
        if not rearm:
            target.met_at = at
            return
        started = target.started_at
        self.clocks.arm(self, target, at)
        self.events[-1].data |= {"started_at": started, "next_due_at": target.due_at}

    def sweep(self, target: CaseTarget, until: dt.datetime) -> None:
        """What the sweep writes while a clock runs until ``until``: warning, breach, level 1."""
        run = (
            target,
            int(target.started_at.timestamp()) if target.kind == T.PROGRESS_UPDATE else None,
        )
        if target.warn_at is not None and target.warn_at < min(until, target.due_at):
            target.warned_at = target.warn_at + MINUTE
            self.event(
                K.SLA_WARNING, target.warned_at, data=_sweep_data(target), key=("warn", *run)
            )
        if until > target.due_at:
            target.breached_at = target.due_at + MINUTE
            data = _sweep_data(target)
            self.event(K.SLA_BREACHED, target.breached_at, data=data, key=("breach", *run))
            escalated = {**data, "level": 1, "manual": False}
            self.event(K.ESCALATED, target.breached_at, data=escalated, key=("escalated", *run))

    def pause(self, begin: dt.datetime, end: dt.datetime, actor, reason: str) -> None:
        """Waiting on the customer from ``begin`` to ``end``: running deadlines move on."""
        self.move(S.WAITING, begin, actor=actor, body=reason)
        running = [t for t in self.targets if t.met_at is None]
        before = {_key(t): t.due_at for t in running}
        for target in running:
            cal = self.calendars[id(target)]
            if begin < target.due_at:
                target.due_at = business_time.shift_for_pause(cal, target.due_at, begin, end)
            if target.warn_at is not None and begin < target.warn_at:
                target.warn_at = business_time.shift_for_pause(cal, target.warn_at, begin, end)
            waited = business_time.working_time_between(cal, max(begin, target.started_at), end)
            target.paused_seconds += int(waited.total_seconds())
        self.move(S.RESPONDED, end, body="客户已回复")
        after = {_key(t): t.due_at for t in running}
        self.event(K.SLA_SET, end, data={"reason": sla.RESUMED, "paused_from": begin,
                   "paused_to": end, "before": before, "after": after})  # fmt: skip


def _key(target: CaseTarget) -> str:
    return target.kind if target.cycle == 1 else f"{target.kind}:{target.cycle}"


def _sweep_data(target: CaseTarget) -> dict:
    return {"kind": target.kind, "target": target, "cycle": target.cycle, "due_at": target.due_at}


def after(cal, start: dt.datetime, seconds: float) -> dt.datetime:
    return business_time.add_working_time(cal, start, dt.timedelta(seconds=max(0, seconds)))


# --- as things stand "now" -------------------------------------------------------------------


def cut(story: Story, now: dt.datetime) -> None:
    """Forget what lies after ``now``: later events, clocks not started, met/breached later."""
    story.events = sorted((e for e in story.events if e.at <= now), key=lambda e: e.at)
    story.targets = [t for t in story.targets if t.started_at <= now]
    for target in story.targets:
        for name in ("met_at", "warned_at", "breached_at"):
            if getattr(target, name) is not None and getattr(target, name) > now:
                setattr(target, name, None)
    story.tasks = [task for task in story.tasks if task.created_at <= now]
    for task in story.tasks:
        task.done_at = task.done_at if task.done_at and task.done_at <= now else None


def settle(story: Story) -> None:
    """The case's columns and the clocks' next checks from what happened (as the services do)."""
    case, events = story.case, story.events
    moves = [e for e in events if e.to_status]
    case.status = moves[-1].to_status
    last = {e.to_status: e for e in moves}  # the latest move to each status
    responses = [e.at for e in events if e.kind == K.RESPONSE]
    case.first_response_at = responses[0] if responses else None
    case.agent_response_count = len(responses)
    case.reopen_count = sum(e.kind == K.REOPENED for e in events)
    case.resolution_cycle = 1 + case.reopen_count
    settled = case.status in (S.RESOLVED, S.CALLBACK_DONE, S.CLOSED)
    case.resolved_at = last[S.RESOLVED].at if settled else None
    case.resolution = last[S.RESOLVED].body if settled else ""
    called = case.status in (S.CALLBACK_DONE, S.CLOSED)
    case.callback_at = last[S.CALLBACK_DONE].at if called else None
    case.closed_at = last[S.CLOSED].at if case.status == S.CLOSED else None
    case.paused_at = last[S.WAITING].at if case.status == S.WAITING else None
    case.escalation_level = int(any(e.kind == K.ESCALATED for e in events))
    for target in story.targets:
        _arm_check(story, target)
    unmet = [t.due_at for t in story.targets if t.met_at is None and t.next_check_at]
    case.next_due_at = min(unmet, default=None)


def _arm_check(story: Story, target: CaseTarget) -> None:
    """``next_check_at`` as ``sla.next_check`` sets it; a waiting case's pause is still open,
    so it has not moved the deadlines yet (``pause`` moved them when it ended)."""
    case = story.case
    running = case.status in Case.OPEN_STATUSES or (
        target.kind == T.CALLBACK and case.status == S.RESOLVED
    )
    if target.met_at is not None or not running or case.paused_at is not None:
        target.next_check_at = None
    elif target.breached_at is None:
        early = target.warn_at is not None and target.warned_at is None
        target.next_check_at = target.warn_at if early else target.due_at
    else:  # to the department head after overdue as long again as the target allowed
        cal = story.calendars[id(target)]
        allowed = business_time.working_time_between(cal, target.started_at, target.due_at)
        allowed -= dt.timedelta(seconds=target.paused_seconds)
        target.next_check_at = business_time.add_working_time(cal, target.due_at, allowed)


def insert(stories: list[Story]) -> None:
    """Cases (ORM: few, with their auto fields), then clocks with ids, events and tasks raw."""
    Case.objects.bulk_create([s.case for s in stories], batch_size=500)
    targets = [t for s in stories for t in s.targets]
    first = (CaseTarget.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    for number, target in enumerate(targets, start=first):
        target.id = target.pk = number
    _write(CaseTarget, targets, with_id=True)
    with connection.cursor() as cursor:  # explicit ids: move PostgreSQL's sequences past them
        for sql in connection.ops.sequence_reset_sql(no_style(), [Case, CaseTarget]):
            cursor.execute(sql)
    events = [e for s in stories for e in s.events]
    for event in events:  # now the clocks have ids: the sweep's keys and links
        if event.dedupe_key is not None:
            stage, target, started = event.dedupe_key
            run = f"{target.pk}:{target.cycle}" + (f":{started}" if started is not None else "")
            event.dedupe_key = f"{stage}:{run}"
        event.data = to_jsonable(event.data)
    _write(CaseEvent, events)
    _write(CaseTask, [t for s in stories for t in s.tasks])


def _write(model, objects: list, *, with_id: bool = False) -> None:
    fields = [f for f in model._meta.concrete_fields if with_id or not f.primary_key]
    convert = [_adapter(f) for f in fields]
    rows = [
        tuple(
            None if value is None else (c(value) if c else value)
            for value, c in zip((getattr(o, f.attname) for f in fields), convert, strict=True)
        )
        for o in objects
    ]
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(fields))
        cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)  # noqa: S608


def _adapter(model_field):
    if isinstance(model_field, JSONField):
        return lambda value: json.dumps(value, ensure_ascii=False)
    return adapter(model_field)
