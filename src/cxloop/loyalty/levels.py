"""Member levels: rolling spend, upgrades and downgrades, benefits and long-term rewards.

Rolling spend is the sum of ``amount_fen`` of the customer's *completed* orders placed in the
level's window (12 months by default) up to now. A refunded order has the status ``refunded``,
so it drops out of the sum: that is "completed orders minus refunds". It is always one SQL
aggregate (``SUM(... ) FILTER``-style conditional sums, one per distinct window), never a loop
over orders.

- An upgrade happens at once: when an order completes (``on_order_completed``) or at night.
- A downgrade happens only in the nightly ``evaluate_levels``: the first night the spend is
  below the level the current row gets ``below_since``; once that is ``downgrade_grace_days``
  old the customer moves down to the level the spend still reaches (or none). Spend that
  recovers in the meantime clears the mark.
- Every change closes the current ``CustomerLevel`` row and opens a new one (the history) and
  writes an audit row.
- Long-term reward: ``long_term_years`` (3) unbroken years at any level → lifetime warranty,
  granted once (a unique constraint makes a second grant impossible even if two runs race).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit
from cxloop.core.money import format_fen
from cxloop.customers.models import Customer, Order
from cxloop.loyalty.level_models import CustomerLevel, Level, LongTermReward, ProgramSettings

CHUNK = 5000  # customer ids per nightly batch: two queries each, bounded memory
COMPLETED = Order.Status.COMPLETED


def program_settings() -> ProgramSettings:
    """The one settings row (created with defaults by the post_migrate hook, or here)."""
    row = ProgramSettings.objects.filter(pk=1).first()
    if row is None:
        row, _created = ProgramSettings.objects.get_or_create(pk=1)
    return row


def add_months(moment: dt.datetime, months: int) -> dt.datetime:
    """``moment`` moved by whole calendar months in local time; the 31st becomes the last day
    of a shorter month."""
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    index = local.year * 12 + local.month - 1 + months
    year, month = divmod(index, 12)
    day = min(local.day, calendar.monthrange(year, month + 1)[1])
    moved = local.replace(year=year, month=month + 1, day=day)
    if timezone.is_aware(moment):
        return timezone.make_aware(moved.replace(tzinfo=None))
    return moved


def active_levels() -> list[Level]:
    """Active levels, best first."""
    return list(Level.objects.filter(is_active=True).order_by("-rank"))


# --- rolling spend ----------------------------------------------------------------------------


def _window_sums(windows: Iterable[int], now: dt.datetime) -> dict[str, Sum]:
    return {
        f"w{months}": Sum("amount_fen", filter=Q(placed_at__gte=add_months(now, -months)))
        for months in sorted(set(windows))
    }


def spends_by_customer(
    *, now: dt.datetime, windows: Iterable[int], customer_ids: Q | None = None
) -> dict[int, dict[int, int]]:
    """``{customer id: {window months: spend fen}}`` for customers with completed orders in
    the widest window — one grouped query."""
    windows = sorted(set(windows)) or [12]
    orders = Order.objects.filter(
        status=COMPLETED, placed_at__gte=add_months(now, -max(windows)), placed_at__lte=now
    )
    if customer_ids is not None:
        orders = orders.filter(customer_ids)
    rows = orders.values("customer_id").annotate(**_window_sums(windows, now))
    return {
        row["customer_id"]: {months: row[f"w{months}"] or 0 for months in windows} for row in rows
    }


def rolling_spend(*, customer: Customer, now: dt.datetime | None = None, months: int = 12) -> int:
    """The customer's spend on completed orders over the last ``months`` months, in fen."""
    now = now or timezone.now()
    spends = spends_by_customer(now=now, windows=[months], customer_ids=Q(customer_id=customer.pk))
    return spends.get(customer.pk, {}).get(months, 0)


def target_level(levels: list[Level], spends: dict[int, int]) -> Level | None:
    """The best of ``levels`` (best first) whose threshold the spend reaches."""
    for level in levels:
        if spends.get(level.window_months, 0) >= level.min_spend_fen:
            return level
    return None


def _spend_for(level: Level | None, spends: dict[int, int]) -> int:
    months = level.window_months if level is not None else max(spends, default=12)
    return spends.get(months, 0)


# --- the current level and changes -----------------------------------------------------------


def current_row(customer: Customer | int) -> CustomerLevel | None:
    customer_id = customer if isinstance(customer, int) else customer.pk
    rows = CustomerLevel.objects.select_related("level")
    return rows.filter(customer_id=customer_id, until__isnull=True).first()


def current_level(customer: Customer | int) -> Level | None:
    row = current_row(customer)
    return row.level if row is not None else None


def current_level_code(customer) -> str | None:
    """The customer's current level code (the ledger's earn rules pick by it), or None."""
    customer_id = customer if isinstance(customer, int) else getattr(customer, "pk", None)
    if customer_id is None:
        return None
    codes = CustomerLevel.objects.filter(customer_id=customer_id, until__isnull=True)
    return codes.values_list("level__code", flat=True).first()


def members_by_level() -> dict[int, int]:
    """``{level id: current members}`` — one grouped query."""
    rows = CustomerLevel.objects.filter(until__isnull=True, level__isnull=False)
    return dict(rows.values("level_id").annotate(n=Count("id")).values_list("level_id", "n"))


def _rank(level: Level | None) -> int:
    return level.rank if level is not None else -1


def _change(
    *,
    customer_id: int,
    current: CustomerLevel | None,
    level: Level | None,
    reason: str,
    spend: int,
    now: dt.datetime,
    actor=None,
    note: str = "",
) -> CustomerLevel:
    """Close the current row and open one for ``level``; call inside a transaction."""
    continuing = current is not None and current.level_id is not None and level is not None
    member_since = (current.member_since or current.since) if continuing else now
    if current is not None:
        current.until = now
        current.save(update_fields=["until"])
    row = CustomerLevel.objects.create(
        customer_id=customer_id, level=level, since=now, reason=reason, rolling_spend_fen=spend,
        member_since=member_since if level is not None else None, note=note[:200], actor=actor,
    )  # fmt: skip
    before = {"level": current.level.code if current and current.level else None}
    after = {"level": level.code if level else None, "reason": reason, "rolling_spend_fen": spend}
    record_audit(
        actor=actor, action="loyalty.level_changed", object_type="customers.customer",
        object_id=str(customer_id), before=before, after=after,
    )  # fmt: skip
    return row


@dataclass
class Decision:
    """What one evaluation does: ``kind`` upgrade/downgrade/mark/clear/none."""

    kind: str
    level: Level | None = None
    spend: int = 0


def decide(
    *,
    current: CustomerLevel | None,
    levels: list[Level],
    spends: dict[int, int],
    now: dt.datetime,
    nightly: bool,
    grace_days: int,
) -> Decision:
    """Pure rule: upgrade at once; downgrade at night after the grace; else maybe (un)mark."""
    held = current.level if current is not None else None
    target = target_level(levels, spends)
    spend = _spend_for(target or held, spends)
    if _rank(target) > _rank(held):
        return Decision("upgrade", target, spend)
    if _rank(target) == _rank(held):
        cleared = current is not None and current.below_since is not None
        return Decision("clear" if cleared else "none", held, spend)
    if not nightly:
        return Decision("none", held, spend)
    if current.below_since is None:
        return Decision("mark", held, spend)
    if now - current.below_since >= dt.timedelta(days=grace_days):
        return Decision("downgrade", target, _spend_for(held, spends))
    return Decision("none", held, spend)


def _apply(customer_id: int, current, decision: Decision, now, actor=None) -> bool:
    """Write one decision under a lock of the current row; False when nothing was written
    (nothing to do, or another process changed the level first — the next run sees it)."""
    if decision.kind == "none":
        return False
    with transaction.atomic():
        if current is not None:
            locked = CustomerLevel.objects.select_for_update().filter(
                pk=current.pk, until__isnull=True
            )
            if not locked.exists():
                return False
        if decision.kind in ("mark", "clear"):
            current.below_since = now if decision.kind == "mark" else None
            current.save(update_fields=["below_since"])
            return True
        try:
            with transaction.atomic():
                _change(
                    customer_id=customer_id, current=current, level=decision.level,
                    reason=decision.kind, spend=decision.spend, now=now, actor=actor,
                )  # fmt: skip
        except IntegrityError:  # a concurrent first upgrade of the same customer won
            return False
    return True


def evaluate_customer(
    *, customer: Customer, now: dt.datetime | None = None, nightly: bool = False, actor=None
) -> Level | None:
    """Re-evaluate one customer; returns the level held afterwards. ``nightly=False`` (an
    order just completed) never downgrades."""
    now = now or timezone.now()
    levels = active_levels()
    windows = {level.window_months for level in levels} or {12}
    spends = spends_by_customer(now=now, windows=windows, customer_ids=Q(customer_id=customer.pk))
    current = current_row(customer)
    decision = decide(
        current=current, levels=levels, spends=spends.get(customer.pk, {}), now=now,
        nightly=nightly, grace_days=program_settings().downgrade_grace_days,
    )  # fmt: skip
    _apply(customer.pk, current, decision, now, actor=actor)
    return current_level(customer)


def set_customer_level(
    *, customer: Customer, level: Level | None, actor, note: str, at: dt.datetime | None = None
) -> CustomerLevel:
    """Staff put a customer on a level by hand (audited); the nightly rules apply afterwards."""
    now = at or timezone.now()
    with transaction.atomic():
        current = (
            CustomerLevel.objects.select_for_update(of=("self",))
            .filter(customer=customer, until__isnull=True)
            .select_related("level")
            .first()
        )
        if current is not None and current.level_id == (level.pk if level else None):
            return current
        spend = rolling_spend(customer=customer, now=now, months=_window(level or current))
        return _change(
            customer_id=customer.pk, current=current, level=level, actor=actor, now=now,
            reason=CustomerLevel.Reason.MANUAL, spend=spend, note=note,
        )  # fmt: skip


def _window(thing) -> int:
    level = thing.level if isinstance(thing, CustomerLevel) else thing
    return level.window_months if level is not None else 12


# --- the nightly run --------------------------------------------------------------------------


@dataclass
class EvaluationReport:
    upgraded: int = 0
    downgraded: int = 0
    marked: int = 0
    cleared: int = 0
    long_term_granted: int = 0
    changed_customers: list[int] = field(default_factory=list)


def evaluate_levels(*, now: dt.datetime | None = None) -> EvaluationReport:
    """Evaluate every customer with spend in the window or a current level, in id ranges of
    ``CHUNK``; idempotent (a second run the same night finds nothing to do)."""
    now = now or timezone.now()
    levels = active_levels()
    windows = {level.window_months for level in levels} or {12}
    grace = program_settings().downgrade_grace_days
    report = EvaluationReport()
    top = Customer.objects.aggregate(top=Max("pk"))["top"] or 0
    for start in range(0, top + 1, CHUNK):
        ids = Q(customer_id__gte=start, customer_id__lt=start + CHUNK)
        spends = spends_by_customer(now=now, windows=windows, customer_ids=ids)
        currents = {
            row.customer_id: row
            for row in CustomerLevel.objects.filter(ids, until__isnull=True).select_related("level")
        }
        for customer_id in sorted(spends.keys() | currents.keys()):
            current = currents.get(customer_id)
            decision = decide(
                current=current, levels=levels, spends=spends.get(customer_id, {}), now=now,
                nightly=True, grace_days=grace,
            )  # fmt: skip
            if _apply(customer_id, current, decision, now):
                _count(report, decision.kind, customer_id)
    report.long_term_granted = grant_long_term_rewards(now=now)
    return report


def _count(report: EvaluationReport, kind: str, customer_id: int) -> None:
    name = {"upgrade": "upgraded", "downgrade": "downgraded", "mark": "marked"}.get(kind, "cleared")
    setattr(report, name, getattr(report, name) + 1)
    if kind in ("upgrade", "downgrade"):
        report.changed_customers.append(customer_id)


def on_order_completed(*, order: Order) -> Level | None:
    """An order completed: upgrade its customer at once if the spend now reaches more."""
    return evaluate_customer(customer=order.customer, now=timezone.now())


# --- long-term rewards ------------------------------------------------------------------------


def grant_long_term_rewards(*, now: dt.datetime | None = None) -> int:
    """Grant the lifetime warranty to every current member without a break for
    ``long_term_years`` years who does not have it yet; returns how many were granted."""
    now = now or timezone.now()
    years = program_settings().long_term_years
    cutoff = add_months(now, -12 * years)
    kind = LongTermReward.Kind.LIFETIME_WARRANTY
    due = (
        CustomerLevel.objects.filter(
            until__isnull=True, level__isnull=False, member_since__lte=cutoff
        )
        .exclude(customer__long_term_rewards__kind=kind)
        .values_list("customer_id", "member_since")
    )
    granted = 0
    for customer_id, member_since in due.iterator(chunk_size=CHUNK):
        granted += _grant(customer_id, kind, member_since, years, now)
    return granted


def _grant(customer_id: int, kind: str, member_since, years: int, now) -> int:
    try:
        with transaction.atomic():
            reward = LongTermReward.objects.create(
                customer_id=customer_id, kind=kind, member_since=member_since, years=years,
                granted_at=now,
            )  # fmt: skip
            record_audit(
                actor=None, action="loyalty.long_term_reward_granted", target=reward,
                after={"customer": customer_id, "kind": kind, "years": years},
            )  # fmt: skip
    except IntegrityError:  # granted by a concurrent run: once is the rule
        return 0
    return 1


# --- benefits and prices ----------------------------------------------------------------------


@dataclass(frozen=True)
class Benefits:
    level: Level | None
    price_percent: int
    free_after_sales: bool
    benefits: list[str]
    long_term: list[str]


def benefits_of(customer: Customer) -> Benefits:
    """What the customer's level and long-term rewards give them now."""
    level = current_level(customer)
    kinds = customer.long_term_rewards.values_list("kind", flat=True)
    long_term = [str(LongTermReward.Kind(kind).label) for kind in kinds]
    return Benefits(
        level=level,
        price_percent=level.price_percent if level else 100,
        free_after_sales=bool(level and level.free_after_sales),
        benefits=[*(level.benefits if level else []), *long_term],
        long_term=long_term,
    )


def price_after_discount(level: Level | None, amount_fen: int) -> int:
    """The member price of ``amount_fen``: ``price_percent`` % of it, rounded DOWN to whole fen.

    Integer arithmetic (no float error) and rounding in the customer's favour, so a member
    never pays more than the advertised percentage: 95 % of ¥0.99 is 94.05 fen → 94 fen.
    """
    if amount_fen < 0:
        raise ValueError("amount_fen must not be negative")
    if level is None:
        return amount_fen
    return amount_fen * level.price_percent // 100


# --- progress to the next level ---------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    level: Level | None
    next_level: Level | None
    spend_fen: int
    needed_fen: int
    by: dt.date | None  # the oldest counted order leaves the window after this day


def progress_of(*, customer: Customer, now: dt.datetime | None = None) -> Progress:
    """How much more the customer must spend, and by when, to reach the next level."""
    now = now or timezone.now()
    level = current_level(customer)
    better = [lv for lv in active_levels() if lv.rank > _rank(level)]
    next_level = better[-1] if better else None  # the lowest of the better ones
    if next_level is None:
        months = _window(level)
        return Progress(
            level, None, rolling_spend(customer=customer, now=now, months=months), 0, None
        )
    cutoff = add_months(now, -next_level.window_months)
    orders = Order.objects.filter(
        customer=customer, status=COMPLETED, placed_at__gte=cutoff, placed_at__lte=now
    ).aggregate(spend=Sum("amount_fen"), oldest=Min("placed_at"))
    spend = orders["spend"] or 0
    oldest = orders["oldest"]
    by = add_months(oldest, next_level.window_months).date() if oldest else None
    needed = max(0, next_level.min_spend_fen - spend)
    return Progress(level, next_level, spend, needed, by)


def describe_progress(progress: Progress) -> str:
    """E.g. "¥1,240.00 more by 2027-03-01 for Gold" (no date when nothing counts yet)."""
    if progress.next_level is None:
        return _("Top level reached.")
    values = {"amount": format_fen(progress.needed_fen), "level": progress.next_level.name}
    if progress.by is None:
        return _("%(amount)s more for %(level)s") % values
    return _("%(amount)s more by %(date)s for %(level)s") % {
        **values,
        "date": progress.by.isoformat(),
    }
