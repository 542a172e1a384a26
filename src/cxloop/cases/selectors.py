"""Case metrics as SQL aggregates, overall and by department, owner, category, region, channel
or month of creation. Definitions: ``docs/cases.md`` § Metrics.

Every metric is one grouped query (plus one ungrouped for the overall figure) that returns
counts or sums per group; no case row travels to Python. Cases are those created in
[start, end) of the queryset passed in (``metric_scope(user)`` for a console user), merged
duplicates left out: the surviving case carries the complaint.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Case as CaseWhen
from django.db.models import (
    CharField,
    Count,
    DateField,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.db.models.lookups import GreaterThan, IsNull, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases.access import visible_cases
from cxloop.cases.models import Case, CaseEvent, CaseTarget, Channel, SlaRule
from cxloop.customers.models import Order
from cxloop.surveys.selectors import LocalMonth

METRICS = (
    "fcr", "repeat_rate", "complaint_rate", "first_response_time", "resolution_time",
    "sla_compliance", "backlog",
)  # fmt: skip
GROUP_BY = ("department", "owner", "category", "region", "channel", "month")
UNITS = {
    "fcr": "percent", "repeat_rate": "percent", "complaint_rate": "per_1000_orders",
    "first_response_time": "working_seconds", "resolution_time": "working_seconds",
    "sla_compliance": "percent", "backlog": "seconds",
}  # fmt: skip
FCR_REOPEN_DAYS = 7
DAY = 86_400
# Backlog age buckets: (key, from days, to days); "to" None is open-ended.
AGE_BUCKETS = (("lt_1d", 0, 1), ("1_3d", 1, 3), ("3_7d", 3, 7), ("gt_7d", 7, None))
TARGETS = tuple(SlaRule.Target.values)


@dataclass(frozen=True)
class MetricRow:
    """One figure. ``group`` is None for the overall row and "" for "no department/owner/…".

    ``value``: a percentage (fcr, repeat_rate, sla_compliance), cases per 1,000 orders
    (complaint_rate), mean working seconds (first_response_time, resolution_time) or the mean
    age in seconds of the open cases (backlog); None when ``n`` is 0. ``n`` is what the value
    is taken over (resolved cases, cases, orders, measured clocks, decided targets, open cases),
    ``count`` what is counted in it (FCR cases, repeats, cases, measured clocks, targets met on
    time, open cases). ``target`` (sla_compliance): the SLA target kind, None = all targets.
    """

    group: str | None
    label: str
    value: float | None
    n: int
    count: int
    target: str | None = None
    buckets: dict[str, int] | None = None  # backlog: open cases per AGE_BUCKETS key


@dataclass(frozen=True)
class MetricTable:
    metric: str
    unit: str
    group_by: str | None
    overall: list[MetricRow]  # one row; sla_compliance: all targets, then one per target kind
    rows: list[MetricRow]  # by group (sla_compliance: by group and target)


# --- scope and groups ----------------------------------------------------------------------


def metric_scope(user) -> QuerySet[Case]:
    """The cases ``user``'s metrics cover: every case for ``cases.view_all_cases`` and for a
    metrics-only role (no ``cases.view_case``: aggregates only); otherwise the visible cases
    (a department handler: their departments and own cases)."""
    if user.has_perm("cases.view_all_cases") or not user.has_perm("cases.view_case"):
        return Case.objects.all()
    return visible_cases(user)


def _scope(cases: QuerySet | None, start, end) -> QuerySet[Case]:
    qs = (Case.objects.all() if cases is None else cases).exclude(status=Case.Status.MERGED)
    if start is not None:
        qs = qs.filter(created_at__gte=start)
    if end is not None:
        qs = qs.filter(created_at__lt=end)
    return qs.order_by()


def _month(expression: str) -> LocalMonth:
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return LocalMonth(expression, tzinfo=zone, output_field=DateField())


def _group_keys(group_by: str, prefix: str = "") -> dict:
    """``values()`` keys: ``g`` the group, plus what its label is made of."""
    p = prefix
    if group_by in ("department", "category"):
        return {"g": F(f"{p}{group_by}__code"), "g_name": F(f"{p}{group_by}__name")}
    if group_by == "owner":
        return {
            "g": F(f"{p}owner__username"),
            "g_first": F(f"{p}owner__first_name"),
            "g_last": F(f"{p}owner__last_name"),
        }
    if group_by == "month":
        return {"g": _month(f"{p}created_at")}
    return {"g": F(f"{p}{group_by}")}


def _group_of(group_by: str, row: dict) -> tuple[str, str]:
    """(key, label) of a grouped row."""
    value = row["g"]
    if value is None or value == "":
        return "", _("(none)")
    if group_by == "month":
        return value.strftime("%Y-%m"), value.strftime("%Y-%m")
    if group_by == "owner":
        return value, f"{row['g_first']} {row['g_last']}".strip() or value
    if group_by == "channel":
        return value, str(Channel(value).label) if value in Channel.values else value
    return value, row.get("g_name") or value


def _grouped(qs: QuerySet, group_by: str | None, aggregates: dict, prefix: str = "") -> list:
    """[(key, label, sums)] per group in display order; [] without ``group_by``."""
    if group_by is None:
        return []
    rows = qs.order_by().values(**_group_keys(group_by, prefix)).annotate(**aggregates)
    found = [(*_group_of(group_by, row), row) for row in rows]
    return sorted(found, key=lambda item: group_order(group_by, item[0], item[1]))


def group_order(group_by: str, key: str, label: str) -> tuple:
    """Months in time order; other groups by label, "(none)" last."""
    return (key,) if group_by == "month" else (key == "", label, key)


def _check(metric: str, group_by: str | None) -> None:
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if group_by not in (None, *GROUP_BY):
        raise ValueError(f"unknown group_by {group_by!r}")


# --- SQL helpers ---------------------------------------------------------------------------


class Epoch(Func):
    """Seconds since 1970 of a datetime, natively on both databases."""

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL
        sql, params = compiler.compile(self.source_expressions[0])
        return f"CAST(EXTRACT(EPOCH FROM {sql}) AS double precision)", params

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"((julianday({sql}) - 2440587.5) * 86400.0)", params


class Unindexed(Func):
    """A column SQLite's planner must not use an index for (its unary "+"). Without statistics
    it would answer "this case's first event of a kind" by walking the (kind, at) index through
    every case's events instead of the (case, at) index of the one case."""

    def as_sql(self, compiler, connection, **extra):
        return compiler.compile(self.source_expressions[0])

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"+{sql}", params


def _event_at(kind: str, offset: int = 0, **extra) -> Subquery:
    """When the case's (offset+1)-th event of ``kind`` happened (NULL if it did not)."""
    events = CaseEvent.objects.alias(event_kind=Unindexed("kind", output_field=CharField())).filter(
        case=OuterRef("pk"), event_kind=kind, **extra
    )
    return Subquery(events.order_by("at", "id").values("at")[offset : offset + 1])


def _flag(condition) -> CaseWhen:
    return CaseWhen(When(condition, then=Value(1)), default=Value(0), output_field=IntegerField())


def _ratio(count, n, scale: float, digits: int = 1) -> float | None:
    return round(scale * count / n, digits) if n else None


def _rate_rows(metric, group_by, parts, scale=100.0) -> MetricTable:
    """A table of count/n rates; ``parts`` are (queryset, aggregates named ``count`` and
    ``n``) over disjoint sets of cases, summed per group."""
    overall, groups = [0, 0], {}
    for qs, aggregates in parts:
        found = qs.aggregate(**aggregates)
        overall = [overall[0] + (found["count"] or 0), overall[1] + (found["n"] or 0)]
        for key, label, sums in _grouped(qs, group_by, aggregates):
            tally = groups.setdefault((key, label), [0, 0])
            tally[0] += sums["count"] or 0
            tally[1] += sums["n"] or 0

    def row(key, label, count, n):
        return MetricRow(key, label, _ratio(count, n, scale), n, count)

    ordered = sorted(groups, key=lambda kl: group_order(group_by, *kl))
    rows = [row(key, label, *groups[(key, label)]) for key, label in ordered]
    return MetricTable(metric, UNITS[metric], group_by, [row(None, _("All"), *overall)], rows)


# --- first-contact resolution and repeats --------------------------------------------------


def _reopened_fcr() -> Q:
    """For a reopened case: one agent response before its first resolution, and the first
    reopen more than 7 days after that resolution — read from the timeline (the first
    resolution, the first two responses, the first reopen)."""
    resolved = _event_at(CaseEvent.Kind.STATUS, to_status=Case.Status.RESOLVED)
    second_response = _event_at(CaseEvent.Kind.RESPONSE, offset=1)
    reopened = _event_at(CaseEvent.Kind.REOPENED)
    return (
        Q(first_response_at__isnull=False)
        & Q(LessThanOrEqual(F("first_response_at"), resolved))
        & (Q(IsNull(second_response, True)) | Q(GreaterThan(second_response, resolved)))
        & Q(GreaterThan(Epoch(reopened) - Epoch(resolved), FCR_REOPEN_DAYS * DAY))
    )


def first_contact_resolution(*, group_by=None, start=None, end=None, cases=None) -> MetricTable:
    """FCR % = FCR cases / cases resolved at least once (resolved now, or reopened since).

    Two queries: never-reopened cases from their columns (resolved, one agent response), and
    the reopened ones (few) with the timeline subqueries, so those run only for them."""
    scope = _scope(cases, start, end)
    resolved = Q(resolved_at__isnull=False)
    plain = {
        "count": Count("pk", filter=resolved & Q(agent_response_count=1)),
        "n": Count("pk", filter=resolved),
    }
    reopened = scope.filter(reopen_count__gt=0).annotate(is_fcr=_flag(_reopened_fcr()))
    parts = [
        (scope.filter(reopen_count=0), plain),
        (reopened, {"count": Sum("is_fcr"), "n": Count("pk")}),
    ]
    return _rate_rows("fcr", group_by, parts)


def repeat_rate(*, group_by=None, start=None, end=None, cases=None) -> MetricTable:
    """Repeat % = cases linked to an earlier one (``repeat_of``) / cases."""
    aggregates = {"count": Count("pk", filter=Q(repeat_of__isnull=False)), "n": Count("pk")}
    return _rate_rows("repeat_rate", group_by, [(_scope(cases, start, end), aggregates)])


# --- complaints per 1,000 orders -----------------------------------------------------------


def _orders(start, end) -> QuerySet[Order]:
    qs = Order.objects.order_by()
    if start is not None:
        qs = qs.filter(placed_at__gte=start)
    if end is not None:
        qs = qs.filter(placed_at__lt=end)
    return qs


def _orders_by(group_by: str | None, start, end) -> dict[str, int] | None:
    """Orders per region (the customer's) or per month; None: every group shares the total."""
    if group_by == "region":
        rows = _orders(start, end).values(g=F("customer__region")).annotate(n=Count("pk"))
    elif group_by == "month":
        rows = _orders(start, end).values(g=_month("placed_at")).annotate(n=Count("pk"))
    else:
        return None
    return {_group_of(group_by, row)[0]: row["n"] for row in rows}


def complaint_rate(*, group_by=None, start=None, end=None, cases=None) -> MetricTable:
    """Cases per 1,000 orders placed in the same window; by region the orders of that region's
    customers, by month that month's orders, by any other group all orders of the window."""
    qs = _scope(cases, start, end)
    total_orders = _orders(start, end).count()
    per_group = _orders_by(group_by, start, end)

    def row(key, label, cases_count):
        orders = total_orders if per_group is None or key is None else per_group.get(key, 0)
        return MetricRow(key, label, _ratio(cases_count, orders, 1000.0, 2), orders, cases_count)

    grouped = _grouped(qs, group_by, {"count": Count("pk")})
    counted = {key: (label, sums["count"]) for key, label, sums in grouped}
    for key in per_group or {}:  # a month or region with orders but no case: a rate of 0
        counted.setdefault(key, (_group_of(group_by, {"g": _key_value(group_by, key)})[1], 0))
    rows = [row(key, label, count) for key, (label, count) in counted.items()]
    rows.sort(key=lambda r: group_order(group_by, r.group, r.label))
    overall = row(None, _("All"), qs.count())
    return MetricTable("complaint_rate", UNITS["complaint_rate"], group_by, [overall], rows)


def _key_value(group_by: str, key: str):
    """A group key back to what ``_group_of`` reads (a month key is "YYYY-MM")."""
    if group_by == "month" and key:
        return dt.date.fromisoformat(f"{key}-01")
    return key


# --- working time to first response and to resolution --------------------------------------


def _clock_times(metric: str, kind: str, group_by, start, end, cases) -> MetricTable:
    """Mean ``working_seconds`` of the SLA_MET events of ``kind`` (one per clock that stopped:
    pauses waiting on the customer left out), late ones included."""
    events = CaseEvent.objects.filter(
        case__in=_scope(cases, start, end).values("pk"),
        kind=CaseEvent.Kind.SLA_MET,
        data__kind=kind,
    )
    seconds = Cast(KeyTextTransform("working_seconds", "data"), FloatField())
    aggregates = {"n": Count(seconds), "total": Sum(seconds)}

    def row(key, label, sums):
        n = sums["n"] or 0
        return MetricRow(key, label, _ratio(sums["total"] or 0, n, 1.0, 0), n, n)

    overall = row(None, _("All"), events.order_by().aggregate(**aggregates))
    grouped = _grouped(events, group_by, aggregates, prefix="case__")
    return MetricTable(metric, UNITS[metric], group_by, [overall], [row(*g) for g in grouped])


def first_response_time(*, group_by=None, start=None, end=None, cases=None) -> MetricTable:
    target = SlaRule.Target.FIRST_RESPONSE
    return _clock_times("first_response_time", target, group_by, start, end, cases)


def resolution_time(*, group_by=None, start=None, end=None, cases=None) -> MetricTable:
    """Per resolution cycle: a reopened case counts each of its resolutions."""
    target = SlaRule.Target.RESOLUTION
    return _clock_times("resolution_time", target, group_by, start, end, cases)


# --- SLA compliance ------------------------------------------------------------------------


def _sla_sources(scope: QuerySet, now: dt.datetime) -> list[tuple[QuerySet, dict, dict]]:
    """(rows, target kind key, aggregates) of the two parts: every SLA_MET event (one per
    stopped clock; a progress clock stops at each update) with its ``on_time``, and the clocks
    still running that are already late (breached, or past due before the sweep got there)."""
    met = CaseEvent.objects.filter(case__in=scope.values("pk"), kind=CaseEvent.Kind.SLA_MET)
    late = Q(breached_at__isnull=False) | Q(next_check_at__isnull=False, due_at__lt=now)
    running = CaseTarget.objects.filter(late, case__in=scope.values("pk"), met_at__isnull=True)
    return [
        (
            met,
            {"t": KeyTextTransform("kind", "data")},
            {
                "on_time": Count("pk", filter=Q(data__on_time=True)),
                "late": Count("pk", filter=Q(data__on_time=False)),
            },
        ),
        (running, {"t": F("kind")}, {"late": Count("pk")}),
    ]


def sla_compliance(*, group_by=None, start=None, end=None, cases=None, now=None) -> MetricTable:
    """Compliance % per target kind = on time / (on time + late), and all targets together."""
    overall: dict[str, list[int]] = {}
    groups: dict[tuple, dict[str, list[int]]] = {}
    for rows, kind_key, aggregates in _sla_sources(
        _scope(cases, start, end), now or timezone.now()
    ):
        for found in rows.order_by().values(**kind_key).annotate(**aggregates):
            _add(overall, found)
        if group_by is None:
            continue
        keys = {**_group_keys(group_by, "case__"), **kind_key}
        for found in rows.order_by().values(**keys).annotate(**aggregates):
            _add(groups.setdefault(_group_of(group_by, found), {}), found)
    rows_out: list[MetricRow] = []
    for key, label in sorted(groups, key=lambda kl: group_order(group_by, *kl)):
        rows_out += _per_target(key, label, groups[(key, label)])
    table_overall = _per_target(None, _("All"), overall)
    return MetricTable("sla_compliance", UNITS["sla_compliance"], group_by, table_overall, rows_out)


def _add(tally: dict[str, list[int]], found: dict) -> None:
    counts = tally.setdefault(found["t"], [0, 0])
    counts[0] += found.get("on_time", 0)
    counts[1] += found.get("on_time", 0) + found["late"]


def _per_target(key, label, by_kind: dict[str, list[int]]) -> list[MetricRow]:
    """All targets together, then each target kind in the order SlaRule.Target lists them."""
    total = [sum(pair[i] for pair in by_kind.values()) for i in (0, 1)]
    rows = [MetricRow(key, label, _ratio(total[0], total[1], 100.0), total[1], total[0])]
    for kind in TARGETS:
        if kind in by_kind:
            count, n = by_kind[kind]
            rows.append(MetricRow(key, label, _ratio(count, n, 100.0), n, count, target=kind))
    return rows


# --- backlog -------------------------------------------------------------------------------


def backlog(*, group_by=None, start=None, end=None, cases=None, now=None) -> MetricTable:
    """Open cases (new, assigned, responded, waiting) by age since creation in calendar time:
    < 1 day, 1–3, 3–7, > 7 days, and their mean age in seconds."""
    now = now or timezone.now()
    qs = _scope(cases, start, end).filter(status__in=Case.OPEN_STATUSES, created_at__lte=now)
    aggregates = {"n": Count("pk"), "epochs": Sum(Epoch("created_at"))}
    for key, low, high in AGE_BUCKETS:
        age = Q(created_at__lte=now - dt.timedelta(days=low)) if low else Q()
        if high is not None:
            age &= Q(created_at__gt=now - dt.timedelta(days=high))
        aggregates[key] = Count("pk", filter=age)
    moment = now.timestamp()

    def row(key, label, sums):
        n = sums["n"] or 0
        mean_age = round(moment - sums["epochs"] / n) if n else None
        buckets = {bucket: sums[bucket] or 0 for bucket, _low, _high in AGE_BUCKETS}
        return MetricRow(key, label, mean_age, n, n, buckets=buckets)

    overall = row(None, _("All"), qs.aggregate(**aggregates))
    rows = [row(*g) for g in _grouped(qs, group_by, aggregates)]
    return MetricTable("backlog", UNITS["backlog"], group_by, [overall], rows)


# --- one entry point -----------------------------------------------------------------------

_FUNCTIONS = {
    "fcr": first_contact_resolution,
    "repeat_rate": repeat_rate,
    "complaint_rate": complaint_rate,
    "first_response_time": first_response_time,
    "resolution_time": resolution_time,
    "sla_compliance": sla_compliance,
    "backlog": backlog,
}
_NEED_NOW = ("sla_compliance", "backlog")


def metric_table(
    *,
    metric: str,
    group_by: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    cases: QuerySet[Case] | None = None,
    now: dt.datetime | None = None,
) -> MetricTable:
    """``metric`` overall and by ``group_by`` over cases created in [start, end)."""
    _check(metric, group_by)
    extra = {"now": now} if metric in _NEED_NOW else {}
    return _FUNCTIONS[metric](group_by=group_by, start=start, end=end, cases=cases, **extra)


def headline(*, start=None, end=None, cases=None, now=None) -> dict[str, MetricRow]:
    """The overall figure of every metric (SLA compliance: all targets together)."""
    return {
        metric: metric_table(metric=metric, start=start, end=end, cases=cases, now=now).overall[0]
        for metric in METRICS
    }
