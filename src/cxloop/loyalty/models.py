"""The points ledger: accounts, append-only entries, earned lots and what consumed them, earn
rules, campaigns, the rewards catalogue, redemptions and manual adjustments.

The ledger is ``PointsEntry``: one row per change, never updated or deleted. ``PointsAccount``
caches the balance (and the points still owed after a refund) in the same transaction as each
entry, under a row lock of the account; ``SUM(entry.points)`` is always equal to it. Every
credit opens a ``PointsLot``; every debit consumes lots first-to-expire first (``LotUse``), so
the remaining points of the lots always add up to the balance.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.customers.models import Customer, Order


class AppendOnlyError(RuntimeError):
    """Code tried to change or delete a ledger row."""


class PointsAccount(models.Model):
    """One per customer; ``balance`` and ``points_owed`` change only with a ledger entry."""

    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="points"
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    # Points a refund could not take back because they were already spent; future earnings
    # pay them off first (docs/loyalty.md).
    points_owed = models.BigIntegerField(_("points owed"), default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")
        permissions = [
            ("view_points", "Can see points balances and ledgers"),
            ("change_points", "Can earn, redeem and request adjustments of points"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(balance__gte=0), name="loyalty_balance_gte_0"),
            models.CheckConstraint(condition=Q(points_owed__gte=0), name="loyalty_owed_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.customer} ({self.balance})"


class Campaign(models.Model):
    """Points ×multiplier for orders placed between two moments, optionally in one store or
    product category."""

    name = models.CharField(_("name"), max_length=100)
    multiplier = models.DecimalField(_("multiplier"), max_digits=5, decimal_places=2)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    store = models.CharField(_("store"), max_length=64, blank=True)
    category = models.CharField(_("product category"), max_length=64, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-starts_at", "-id"]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="loyalty_campaign_window")]
        constraints = [
            models.CheckConstraint(
                condition=Q(multiplier__gt=0), name="loyalty_campaign_multiplier_gt_0"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="loyalty_campaign_ends_after"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Reward(models.Model):
    class Kind(models.TextChoices):
        GOODS = "goods", _("Goods")
        SERVICE = "service", _("Service")
        COUPON = "coupon", _("Coupon")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    description = models.TextField(_("description"), blank=True)
    cost_points = models.PositiveIntegerField(_("cost (points)"))
    # None: unlimited. Decremented by a conditional UPDATE, so it never goes below zero.
    stock = models.PositiveIntegerField(_("stock"), null=True, blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["cost_points", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(cost_points__gt=0), name="loyalty_reward_cost_gt_0"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="loyalty_reward_stock_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PointsEntry(models.Model):
    """One change of a balance. Append-only: ``save`` refuses updates, ``delete`` refuses."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        EXPIRE = "expire", _("Expired")
        REVERSE = "reverse", _("Reversed")
        ADJUST = "adjust", _("Adjusted")

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="entries"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    points = models.BigIntegerField(_("points"))  # signed: + credit, − debit
    balance_after = models.BigIntegerField(_("balance after"))
    # Signed change of the account's points owed (+ by a short reversal, − paid off by earning).
    owed_change = models.BigIntegerField(_("change of points owed"), default=0)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    # sha256 of what the operation was, so a key reused for something else is refused.
    fingerprint = models.CharField(max_length=64)
    reason = models.CharField(_("reason"), max_length=300)
    source = models.CharField(_("source"), max_length=50, blank=True)
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="points_entries",
    )  # fmt: skip
    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    reward = models.ForeignKey(
        Reward, verbose_name=_("reward"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    # How the points were computed (rule, multipliers, amount), for the audit trail.
    details = models.JSONField(_("details"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        ordering = ["-id"]
        indexes = [models.Index(fields=["account", "-id"], name="loyalty_entry_account")]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="loyalty_entry_balance_after_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points:+d}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise AppendOnlyError("points entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("points entries are append-only")


class PointsLot(models.Model):
    """Points credited by one entry; debits consume lots by earliest expiry, then id."""

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT, related_name="lots"
    )
    entry = models.OneToOneField(
        PointsEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="lot"
    )
    order = models.ForeignKey(
        Order, verbose_name=_("order"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    points = models.BigIntegerField(_("points"))
    remaining = models.BigIntegerField(_("remaining"))
    earned_at = models.DateTimeField(_("earned at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)  # None: never

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        ordering = [F("expires_at").asc(nulls_last=True), "id"]
        indexes = [
            models.Index(fields=["account", "expires_at", "id"], name="loyalty_lot_fifo"),
            # The expiry job reads only lots that still hold points.
            models.Index(
                fields=["expires_at"], condition=Q(remaining__gt=0), name="loyalty_lot_due"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="loyalty_lot_points_gt_0"),
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("points")),
                name="loyalty_lot_remaining_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points}"


class LotUse(models.Model):
    """How many points of which lot an entry consumed (redeem, expire, reverse, adjust −)."""

    entry = models.ForeignKey(
        PointsEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="lot_uses"
    )
    lot = models.ForeignKey(
        PointsLot, verbose_name=_("lot"), on_delete=models.PROTECT, related_name="uses"
    )
    points = models.BigIntegerField(_("points"))

    class Meta:
        verbose_name = _("lot use")
        verbose_name_plural = _("lot uses")
        constraints = [
            models.CheckConstraint(condition=Q(points__gt=0), name="loyalty_lotuse_points_gt_0"),
        ]

    def __str__(self) -> str:
        return f"{self.points} of lot {self.lot_id}"


class EarnRule(models.Model):
    """Points per ¥ for a member level and product category (empty: any); the matching rule
    of highest priority wins."""

    name = models.CharField(_("name"), max_length=100)
    level_code = models.CharField(_("member level"), max_length=32, null=True, blank=True)
    category = models.CharField(_("product category"), max_length=64, null=True, blank=True)
    points_per_yuan = models.DecimalField(_("points per ¥"), max_digits=8, decimal_places=2)
    priority = models.IntegerField(_("priority"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("earn rule")
        verbose_name_plural = _("earn rules")
        ordering = ["-priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_per_yuan__gte=0), name="loyalty_rule_rate_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    """A reward given for points; ``entry`` is the redeem entry that paid for it."""

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT,
        related_name="redemptions",
    )  # fmt: skip
    reward = models.ForeignKey(
        Reward, verbose_name=_("reward"), on_delete=models.PROTECT, related_name="redemptions"
    )
    entry = models.OneToOneField(
        PointsEntry, verbose_name=_("entry"), on_delete=models.PROTECT, related_name="redemption"
    )
    points = models.BigIntegerField(_("points"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.reward} ({self.points})"


class Adjustment(models.Model):
    """A manual correction: at most the threshold applies at once, more waits for approval."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    account = models.ForeignKey(
        PointsAccount, verbose_name=_("account"), on_delete=models.PROTECT,
        related_name="adjustments",
    )  # fmt: skip
    points = models.BigIntegerField(_("points"))  # signed, never 0
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
        on_delete=models.SET_NULL, related_name="+",
    )  # fmt: skip
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("decision note"), max_length=300, blank=True)
    entry = models.OneToOneField(
        PointsEntry, verbose_name=_("entry"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="adjustment",
    )  # fmt: skip

    class Meta:
        verbose_name = _("adjustment")
        verbose_name_plural = _("adjustments")
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_adjustment", "Can approve points adjustments above the limit")]
        indexes = [models.Index(fields=["status", "requested_at"], name="loyalty_adj_queue")]
        constraints = [
            models.CheckConstraint(condition=~Q(points=0), name="loyalty_adjustment_not_0"),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} ({self.status})"


from cxloop.loyalty import level_models, referral_models  # noqa: E402, F401
