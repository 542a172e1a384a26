"""Stratified sampling: draw customers per group with a quota each, then invite them.

Groups (each customer falls in the first that matches, so the groups never overlap):

- ``vip``: spend in the last 365 days ≥ the VIP setting (``vip_annual_spend_fen``);
- ``lapsed``: was high-value — spend 365–730 days ago ≥ the VIP setting — but no order in
  the last 90 days;
- ``existing``: ordered within the last 180 days;
- ``new``: registered less than 90 days ago and no order yet.

Orders count when they were not cancelled or refunded. The draw is one SQL query per group:
spend and last order are correlated subqueries, and the "random" order is a seeded hash of
the customer id, so the same seed draws the same customers (tests, re-runs).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Mod
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.core.audit import record_audit
from cxloop.customers.models import Customer
from cxloop.customers.selectors import spent_orders, vip_threshold_fen
from cxloop.surveys.invitations import invite
from cxloop.surveys.models import Invitation, Survey

NEW, EXISTING, LAPSED, VIP = "new", "existing", "lapsed", "vip"
GROUP_LABELS = {
    NEW: _("New (registered < 90 days, no order)"),
    EXISTING: _("Existing (ordered within 180 days)"),
    LAPSED: _("Lapsed (was high-value, no order in 90 days)"),
    VIP: _("VIP (12-month spend over the VIP threshold)"),
}
DEFAULT_QUOTAS = {NEW: 300, EXISTING: 300, LAPSED: 300, VIP: 100}
MAX_QUOTA = 100_000

YEAR = dt.timedelta(days=365)
NEW_WITHIN = dt.timedelta(days=90)
ACTIVE_WITHIN = dt.timedelta(days=180)
LAPSED_AFTER = dt.timedelta(days=90)
# Knuth's multiplicative hash modulo a prime below 2^32: a cheap, seedable shuffle in SQL. With
# id mod 2^31 plus a seed below 2^30, the product stays below 2^63 (PostgreSQL's bigint).
HASH_MULTIPLIER = 2654435761
HASH_MODULUS = 4294967291
ID_RANGE = 2**31
SEED_RANGE = 2**30


class SampleError(ValueError):
    """Quotas that cannot be drawn (unknown group, negative or huge numbers)."""


def _spend_between(start: dt.datetime, end: dt.datetime | None = None) -> Subquery:
    orders = spent_orders().filter(customer=OuterRef("pk"), placed_at__gte=start)
    if end is not None:
        orders = orders.filter(placed_at__lt=end)
    orders = orders.order_by().values("customer").annotate(total=Sum("amount_fen")).values("total")
    return Coalesce(Subquery(orders, output_field=BigIntegerField()), Value(0))


def _last_order_at() -> Subquery:
    latest = spent_orders().filter(customer=OuterRef("pk")).order_by("-placed_at")
    return Subquery(latest.values("placed_at")[:1])


def grouped_customers(*, now: dt.datetime | None = None) -> QuerySet[Customer]:
    """Consenting customers annotated with ``sample_group`` ("" when in none of the groups)."""
    now = now or timezone.now()
    threshold = vip_threshold_fen()
    today = timezone.localdate(now)
    customers = Customer.objects.filter(consent_survey=True).annotate(
        spend_12m=_spend_between(now - YEAR),
        spend_prev=_spend_between(now - 2 * YEAR, now - YEAR),
        last_order_at=_last_order_at(),
    )
    group = Case(
        When(spend_12m__gte=threshold, then=Value(VIP)),
        When(
            Q(spend_prev__gte=threshold, last_order_at__lt=now - LAPSED_AFTER),
            then=Value(LAPSED),
        ),
        When(last_order_at__gte=now - ACTIVE_WITHIN, then=Value(EXISTING)),
        When(
            Q(last_order_at__isnull=True, registered_at__gt=today - NEW_WITHIN),
            then=Value(NEW),
        ),
        default=Value(""),
        output_field=CharField(),
    )
    return customers.annotate(sample_group=group)


def clean_quotas(quotas: dict[str, int]) -> dict[str, int]:
    unknown = set(quotas) - set(GROUP_LABELS)
    if unknown:
        raise SampleError(f"Unknown sample group(s): {', '.join(sorted(unknown))}")
    for group, quota in quotas.items():
        if not isinstance(quota, int) or isinstance(quota, bool) or not 0 <= quota <= MAX_QUOTA:
            raise SampleError(f"Quota for {group} must be a whole number 0–{MAX_QUOTA}")
    return {group: quota for group, quota in quotas.items() if quota}


def draw_sample(
    *, quotas: dict[str, int], seed: int | None = None, now: dt.datetime | None = None
) -> dict[str, list[int]]:
    """Up to ``quotas[group]`` customer ids per group, drawn at random (deterministic by seed)."""
    quotas = clean_quotas(quotas)
    seed = secrets.randbelow(SEED_RANGE) if seed is None else seed % SEED_RANGE
    shuffle = ExpressionWrapper(
        Mod((Mod(F("pk"), ID_RANGE) + seed) * HASH_MULTIPLIER, HASH_MODULUS),
        output_field=BigIntegerField(),
    )
    customers = grouped_customers(now=now).annotate(shuffle=shuffle)
    return {
        group: list(
            customers.filter(sample_group=group)
            .order_by("shuffle", "pk")
            .values_list("pk", flat=True)[:quota]
        )
        for group, quota in quotas.items()
    }


@dataclass
class SampleReport:
    """What one sample campaign did, per group."""

    drawn: dict[str, int] = field(default_factory=dict)
    scheduled: dict[str, int] = field(default_factory=dict)
    suppressed: dict[str, int] = field(default_factory=dict)


def invite_sample(
    *,
    survey: Survey,
    quotas: dict[str, int],
    channel: str,
    actor,
    seed: int | None = None,
    expires_in: dt.timedelta | None = None,
) -> SampleReport:
    """Draw a sample and invite everyone in it; suppressions still apply and stay visible."""
    sample = draw_sample(quotas=quotas, seed=seed)
    report = SampleReport()
    extra = {"expires_in": expires_in} if expires_in else {}
    customers = Customer.objects.in_bulk([pk for ids in sample.values() for pk in ids])
    for group, ids in sample.items():
        report.drawn[group] = len(ids)
        statuses = [
            invite(
                survey=survey,
                customer=customers[pk],
                channel=channel,
                actor=actor,
                sample_group=group,
                **extra,
            ).status
            for pk in ids
        ]
        report.suppressed[group] = statuses.count(Invitation.Status.SUPPRESSED)
        report.scheduled[group] = len(ids) - report.suppressed[group]
    record_audit(
        actor=actor,
        action="survey.sample_invited",
        target=survey,
        after={"quotas": quotas, "channel": channel, **report.__dict__},
    )
    return report
