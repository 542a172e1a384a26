"""Reads of the points ledger: balances, history, lots, the catalogue, rules and queues."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum
from django.utils import timezone

from cxloop.loyalty.models import (
    Adjustment,
    Campaign,
    EarnRule,
    PointsAccount,
    PointsEntry,
    PointsLot,
    Reward,
)


def balance_of(*, customer) -> int:
    """The customer's points balance (0 without an account). Always equal to the ledger sum:
    the cached column changes only with an entry, in the same transaction."""
    value = PointsAccount.objects.filter(customer=customer).values_list("balance", flat=True)
    return int(next(iter(value), 0))


def ledger_sum(*, customer) -> int:
    """SUM(points) of the customer's entries, for audits and tests of the cache."""
    total = PointsEntry.objects.filter(account__customer=customer).aggregate(s=Sum("points"))["s"]
    return int(total or 0)


def account_of(*, customer) -> PointsAccount | None:
    return PointsAccount.objects.filter(customer=customer).first()


@dataclass(frozen=True)
class PointsSummary:
    balance: int
    owed: int
    expiring_soon: int  # points of lots expiring within ``soon_days``
    next_expiry: object  # datetime of the first lot to expire, or None


def points_summary(*, customer, soon_days: int = 30, now=None) -> PointsSummary:
    account = account_of(customer=customer)
    if account is None:
        return PointsSummary(0, 0, 0, None)
    now = now or timezone.now()
    live = PointsLot.objects.filter(account=account, remaining__gt=0, expires_at__isnull=False)
    soon = live.filter(expires_at__lte=now + timezone.timedelta(days=soon_days))
    first = live.order_by("expires_at").values_list("expires_at", flat=True).first()
    expiring = soon.aggregate(s=Sum("remaining"))["s"] or 0
    return PointsSummary(account.balance, account.points_owed, int(expiring), first)


def history(*, customer) -> QuerySet[PointsEntry]:
    """The customer's entries, newest first (paginate it)."""
    return (
        PointsEntry.objects.filter(account__customer=customer)
        .select_related("order", "reward", "campaign", "actor")
        .order_by("-id")
    )


def open_lots(*, customer) -> QuerySet[PointsLot]:
    """Lots that still hold points, in the order they are consumed (first to expire first)."""
    return (
        PointsLot.objects.filter(account__customer=customer, remaining__gt=0)
        .select_related("order")
        .order_by("expires_at", "id")
    )


def rewards(*, include_inactive: bool = False) -> QuerySet[Reward]:
    rows = Reward.objects.all()
    return rows if include_inactive else rows.filter(active=True)


def earn_rules() -> QuerySet[EarnRule]:
    return EarnRule.objects.order_by("-active", "-priority", "id")


def campaigns() -> QuerySet[Campaign]:
    return Campaign.objects.order_by("-starts_at", "-id")


def pending_adjustments() -> QuerySet[Adjustment]:
    """The approval queue, oldest first."""
    return (
        Adjustment.objects.filter(status=Adjustment.Status.PENDING)
        .select_related("account__customer", "requested_by")
        .order_by("requested_at", "id")
    )


def adjustments_of(*, customer) -> QuerySet[Adjustment]:
    return Adjustment.objects.filter(account__customer=customer).select_related(
        "requested_by", "decided_by"
    )


def active_campaigns(*, at, store: str = "", category: str | None = None) -> QuerySet[Campaign]:
    """Campaigns running at ``at`` that apply to ``store`` and ``category``."""
    rows = Campaign.objects.filter(active=True, starts_at__lte=at, ends_at__gt=at)
    rows = rows.filter(Q(store="") | Q(store=store or ""))
    return rows.filter(Q(category="") | Q(category=category or "")).order_by("id")
