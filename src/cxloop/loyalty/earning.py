"""Points for orders: earned when an order is completed, taken back when it is refunded.

Points = floor(amount in ¥ × the matching rule's points per ¥ × every running campaign's
multiplier). The matching rule is the active ``EarnRule`` for the customer's member level and
the product category (a rule without level or category matches any), highest priority first,
then the more specific one, then the older one. Campaigns count if the order was placed while
they ran, in their store and category (if they name one).

A refund reverses exactly what the order earned, from the order's own lot first, then first
to expire first. Points already spent cannot be taken from the balance (it never goes
negative): they become ``points_owed`` on the account, which later credits pay off first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from django.db.models import Q

from cxloop.customers.models import Order
from cxloop.loyalty.ledger import Operation, post
from cxloop.loyalty.models import EarnRule, PointsEntry, PointsLot
from cxloop.loyalty.selectors import active_campaigns

logger = logging.getLogger(__name__)
K = PointsEntry.Kind


def current_level_code(customer) -> str | None:
    """The customer's member level code, from the levels module when it is there."""
    try:
        from cxloop.loyalty.levels import current_level_code as level_hook
    except ImportError:  # levels not installed yet: every customer is "any level"
        return None
    return level_hook(customer)


def earn_key(order: Order) -> str:
    return f"order:{order.pk}:earn"


def reverse_key(order: Order) -> str:
    return f"order:{order.pk}:reverse"


@dataclass(frozen=True)
class EarnQuote:
    points: int
    rule: EarnRule | None
    multiplier: Decimal
    campaigns: tuple
    level_code: str | None


def matching_rule(*, level_code: str | None, category: str | None) -> EarnRule | None:
    rules = EarnRule.objects.filter(active=True)
    rules = rules.filter(Q(level_code__isnull=True) | Q(level_code="") | Q(level_code=level_code))
    rules = rules.filter(Q(category__isnull=True) | Q(category="") | Q(category=category))

    def rank(rule: EarnRule):
        specific = bool(rule.level_code) + bool(rule.category)
        return (-rule.priority, -specific, rule.pk)

    found = sorted(rules, key=rank)  # a handful of rules: sorting here is clearer than SQL
    return found[0] if found else None


def quote_order(*, order: Order, category: str | None = None) -> EarnQuote:
    """What ``order`` earns, without writing anything."""
    level = current_level_code(order.customer)
    rule = matching_rule(level_code=level, category=category)
    running = list(active_campaigns(at=order.placed_at, store=order.store, category=category))
    multiplier = Decimal(1)
    for campaign in running:
        multiplier *= campaign.multiplier
    points = 0
    if rule is not None and order.amount_fen > 0:
        exact = Decimal(order.amount_fen) * rule.points_per_yuan * multiplier / 100
        points = int(exact.to_integral_value(rounding=ROUND_FLOOR))
    return EarnQuote(points, rule, multiplier, tuple(running), level)


def earn_for_order(*, order: Order, category: str | None = None, actor=None, now=None):
    """Credit what a completed order earns, once (key ``order:<id>:earn``).

    Returns the entry, or None when the order earns nothing (no rule, ¥0) or is not
    completed."""
    existing = PointsEntry.objects.filter(idempotency_key=earn_key(order)).first()
    if existing is not None:
        existing.replayed = True
        return existing  # rules may have changed since: the first computation stands
    if order.status != Order.Status.COMPLETED:
        return None
    quote = quote_order(order=order, category=category)
    if quote.points <= 0:
        return None
    from cxloop.loyalty.services import default_expiry

    details = {
        "amount_fen": order.amount_fen, "rule": quote.rule.pk, "level": quote.level_code,
        "points_per_yuan": str(quote.rule.points_per_yuan), "multiplier": str(quote.multiplier),
        "campaigns": [c.pk for c in quote.campaigns], "category": category,
    }  # fmt: skip
    op = Operation(
        kind=K.EARN, customer=order.customer, points=quote.points, key=earn_key(order),
        reason=f"order {order.external_id}", source="order", actor=actor, order=order,
        campaign=quote.campaigns[0] if quote.campaigns else None, details=details,
        mode="credit", now=now,
    )  # fmt: skip
    op.expires_at, op.expiry_in_key = default_expiry(now), False
    return post(op)


def reverse_for_order(*, order: Order, actor=None, now=None):
    """Take back what ``order`` earned, once (key ``order:<id>:reverse``); what was spent
    already becomes points owed. None when the order earned nothing."""
    earned = PointsEntry.objects.filter(idempotency_key=earn_key(order)).first()
    if earned is None:
        return None
    gross = earned.points - earned.owed_change  # the whole credit, incl. any debt it paid
    op = Operation(
        kind=K.REVERSE, customer=order.customer, points=gross, key=reverse_key(order),
        reason=f"refund of order {order.external_id}", source="refund", actor=actor,
        order=order, first_lot=PointsLot.objects.filter(entry=earned).first(), mode="owe",
        details={"earn_entry": earned.pk}, now=now,
    )  # fmt: skip
    return post(op)


def on_order_status(*, orders, actor=None) -> None:
    """Earn for the completed, reverse for the refunded (each alone: one failure is logged,
    the others go on). Orders are taken by customer so account locks come in one order."""
    from cxloop.loyalty.ledger import LoyaltyError

    for order in sorted(orders, key=lambda o: (o.customer_id, o.pk)):
        try:
            if order.status == Order.Status.COMPLETED:
                earn_for_order(order=order, actor=actor)
            elif order.status == Order.Status.REFUNDED:
                reverse_for_order(order=order, actor=actor)
        except LoyaltyError:
            logger.exception("points for order %s failed", order.pk)
