"""Read side of the scores: the segments overview, the tier movement report, the scored
customer list and one customer's score and tier history.

The overview reads the rollup the last scoring run stored (``ScoringRun.parameters
["summary"]``), so it costs one row however many customers there are; the movement report is
one grouped query over the month's ``TierChange`` rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cxloop.customers.models import Customer
from cxloop.retention.models import TIER_RANK, CustomerScore, ScoringRun, Stage, Tier, TierChange

TIERS_BEST_FIRST = [value for value, _label in Tier.choices]
SORTS = {
    "clv": ("-clv_fen", "customer_id"),
    "spend": ("-monetary_fen", "customer_id"),
    "recent": ("recency_days", "customer_id"),
    "churn_risk": ("-churn_risk", "customer_id"),
}


def latest_run() -> ScoringRun | None:
    return ScoringRun.objects.order_by("-started_at", "-id").first()


# A run still "running" after this long died with its worker; the button comes back.
RUN_STALE_AFTER = dt.timedelta(hours=2)


def running_run() -> ScoringRun | None:
    """The run in progress, if one started recently."""
    latest = latest_run()
    if latest is None or latest.status != ScoringRun.Status.RUNNING:
        return None
    return latest if latest.started_at > timezone.now() - RUN_STALE_AFTER else None


def latest_done_run() -> ScoringRun | None:
    done = ScoringRun.objects.filter(status=ScoringRun.Status.DONE)
    return done.order_by("-started_at", "-id").first()


def recent_runs(limit: int = 5) -> list[ScoringRun]:
    return list(ScoringRun.objects.select_related("actor").order_by("-started_at", "-id")[:limit])


# --- overview ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierRow:
    tier: str
    label: str
    customers: int
    share: float | None
    vip: int
    average_spend_fen: int | None
    average_clv_fen: int | None


def tier_rows(run: ScoringRun | None) -> list[TierRow]:
    """One row per tier, best first, from the run's rollup (zeros before the first run)."""
    tiers = ((run.parameters or {}).get("summary") or {}).get("tiers", {}) if run else {}
    total = sum(row.get("customers", 0) for row in tiers.values())
    rows = []
    for value, label in Tier.choices:
        row = tiers.get(value, {})
        count, clv_count = row.get("customers", 0), row.get("clv_customers", 0)
        rows.append(
            TierRow(
                tier=value,
                label=str(label),
                customers=count,
                share=count / total if total else None,
                vip=row.get("vip", 0),
                average_spend_fen=round(row.get("spend_fen", 0) / count) if count else None,
                average_clv_fen=round(row.get("clv_fen", 0) / clv_count) if clv_count else None,
            )
        )
    return rows


def stage_rows(run: ScoringRun | None) -> list[dict]:
    """Customers per life-cycle stage, split by tier (best first)."""
    stages = ((run.parameters or {}).get("summary") or {}).get("stages", {}) if run else {}
    rows = []
    for value, label in Stage.choices:
        by_tier = stages.get(value, {})
        counts = [by_tier.get(tier, 0) for tier in TIERS_BEST_FIRST]
        rows.append({"stage": value, "label": label, "counts": counts, "total": sum(counts)})
    return rows


def run_notes(run: ScoringRun | None) -> list[str]:
    """The run's notes in the reader's language."""
    notes = (run.parameters or {}).get("notes", []) if run else []
    return [note_text(note) for note in notes]


def note_text(note: dict) -> str:
    params = note.get("params", {})
    code = note.get("code", "")
    try:
        if code == "clv_too_few_repeat_buyers":
            return (
                ngettext(
                    "Only %(found)d customer ordered more than once (at least %(needed)d needed): "
                    "no lifetime value this time.",
                    "Only %(found)d customers ordered more than once (at least %(needed)d needed): "
                    "no lifetime value this time.",
                    params["found"],
                )
                % params
            )
        if code == "clv_not_finite":
            return (
                ngettext(
                    "The lifetime value models gave no finite value for %(customers)d customer: "
                    "their lifetime value is left empty.",
                    "The lifetime value models gave no finite value for %(customers)d customers: "
                    "their lifetime value is left empty.",
                    params["customers"],
                )
                % params
            )
        texts = {
            "tier_shares_invalid": _(
                "The tier shares in the settings add up to more than 100 %%; the default shares "
                "were used."
            ),
            "clv_fit_failed": _("The lifetime value models could not be fitted: %(error)s"),
            "clv_spend_unbounded": _(
                "The spend model has no finite mean (q = %(q).3f): no lifetime value this time."
            ),
        }
        return texts[code] % params
    except (KeyError, TypeError, ValueError):
        return code


# --- movement report --------------------------------------------------------------------------


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of the local calendar month that contains ``month``, as aware times."""
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    return start, dt.datetime.combine(following, dt.time(), tzinfo=zone)


def direction_of(from_tier: str, to_tier: str) -> str:
    if not from_tier:
        return "first"
    up = TIER_RANK[to_tier] - TIER_RANK[from_tier]
    return "up" if up > 0 else "down" if up < 0 else "same"


@dataclass(frozen=True)
class MoveReport:
    up: int
    down: int
    first: int
    # rows[i] = (from tier label, [(to tier, count, direction)…]) best first.
    matrix: list[tuple[str, list[tuple[str, int, str]]]]


def move_report(start: dt.datetime, end: dt.datetime) -> MoveReport:
    """Counts of tier changes in [start, end) per (from, to) pair: one grouped query."""
    pairs = (
        TierChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
        .order_by()
        .values_list("from_tier", "to_tier")
        .annotate(n=Count("id"))
    )
    counts = {(a, b): n for a, b, n in pairs}
    totals = {"up": 0, "down": 0, "first": 0, "same": 0}
    for (a, b), n in counts.items():
        totals[direction_of(a, b)] += n
    labels = dict(Tier.choices)
    matrix = [
        (
            str(labels[a]),
            [(b, counts.get((a, b), 0), direction_of(a, b)) for b in TIERS_BEST_FIRST],
        )
        for a in TIERS_BEST_FIRST
    ]
    return MoveReport(totals["up"], totals["down"], totals["first"], matrix)


def _direction_query(direction: str) -> Q:
    if direction == "first":
        return Q(from_tier="")
    wanted = Q(pk__in=[])
    for a in TIERS_BEST_FIRST:
        for b in TIERS_BEST_FIRST:
            if direction_of(a, b) == direction:
                wanted |= Q(from_tier=a, to_tier=b)
    return wanted


def moves(
    start: dt.datetime, end: dt.datetime, *, direction: str = "", tier: str = ""
) -> QuerySet[TierChange]:
    """The tier changes of the period, newest first; ``direction`` up/down/first narrows."""
    qs = TierChange.objects.filter(changed_at__gte=start, changed_at__lt=end)
    if direction in {"up", "down", "first"}:
        qs = qs.filter(_direction_query(direction))
    else:
        qs = qs.exclude(from_tier="")  # first scorings are not moves
    if tier:
        qs = qs.filter(to_tier=tier)
    return qs.select_related("customer").order_by("-changed_at", "-id")


# --- customers and one customer ---------------------------------------------------------------


def scored_customers(
    *, tier: str = "", stage: str = "", vip: bool = False, sort: str = "clv"
) -> QuerySet[CustomerScore]:
    qs = CustomerScore.objects.select_related("customer")
    if tier:
        qs = qs.filter(tier=tier)
    if stage:
        qs = qs.filter(stage=stage)
    if vip:
        qs = qs.filter(is_vip=True)
    order = SORTS.get(sort, SORTS["clv"])
    field = F(order[0].lstrip("-"))
    # Customers without a value (no CLV, no churn risk yet) go last either way.
    head = field.desc(nulls_last=True) if order[0][0] == "-" else field.asc(nulls_last=True)
    return qs.order_by(head, *order[1:])


def score_of(customer: Customer) -> CustomerScore | None:
    return CustomerScore.objects.filter(customer=customer).first()


def tier_history(customer: Customer) -> QuerySet[TierChange]:
    return TierChange.objects.filter(customer=customer).order_by("-changed_at", "-id")
