"""Rewards for points: goods, services and coupons from the catalogue.

One redemption, one transaction: the customer's account is locked first (as every ledger
write does), then one unit of stock is taken with a conditional UPDATE (``stock > 0``; an
unlimited reward's NULL stays NULL), then the points are debited. Too few points or no stock
left roll everything back, so a unit is never lost and never sold twice.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit
from cxloop.core.roles import require
from cxloop.loyalty.ledger import LoyaltyError, account_for, clean_key
from cxloop.loyalty.models import PointsAccount, PointsEntry, Redemption, Reward


def redeem_reward(
    *, customer, reward: Reward, idempotency_key: str, actor=None, now=None
) -> Redemption:
    """Give ``reward`` for its cost in points, once per key (a replay returns the first)."""
    from cxloop.loyalty.services import CHANGE_PERM, redeem_points

    if actor is not None:
        require(actor, CHANGE_PERM)
    key = clean_key(idempotency_key)
    if (existing := _by_key(key, customer)) is not None:
        return existing
    if not reward.active:
        raise LoyaltyError(_("This reward is no longer offered."), {"reward": [_("Not offered.")]})
    now = now or timezone.now()
    account = account_for(customer)
    with transaction.atomic():
        PointsAccount.objects.select_for_update().filter(pk=account.pk).first()
        if (existing := _by_key(key, customer)) is not None:
            return existing  # a twin committed while we waited for the lock
        _take_stock(reward)
        entry = redeem_points(
            customer=customer, points=reward.cost_points, idempotency_key=key,
            reason=f"reward: {reward.name}"[:300], actor=actor, reward=reward,
            source="reward", now=now,
        )  # fmt: skip
        redemption = Redemption.objects.create(
            account=account, reward=reward, entry=entry, points=reward.cost_points,
            actor=entry.actor, created_at=now,
        )  # fmt: skip
        record_audit(
            actor=actor, action="loyalty.reward.redeem", target=redemption,
            after={"reward": reward.pk, "points": reward.cost_points, "entry": entry.pk},
        )  # fmt: skip
    redemption.replayed = False
    return redemption


def _take_stock(reward: Reward) -> None:
    taken = (
        Reward.objects.filter(pk=reward.pk, active=True)
        .filter(Q(stock__isnull=True) | Q(stock__gt=0))
        .update(stock=F("stock") - 1)
    )
    if not taken:
        message = _("This reward is out of stock.")
        raise LoyaltyError(message, {"reward": [message]})


def _by_key(key: str, customer) -> Redemption | None:
    entry = PointsEntry.objects.filter(idempotency_key=key).select_related("account").first()
    if entry is None:
        return None
    redemption = Redemption.objects.filter(entry=entry).first()
    if redemption is None or entry.account.customer_id != customer.pk:
        message = _("This idempotency key was already used for a different operation.")
        raise LoyaltyError(message, {"idempotency_key": [message]})
    redemption.replayed = True
    return redemption
