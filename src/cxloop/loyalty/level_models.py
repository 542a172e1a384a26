"""Member levels and what comes with them: levels and their benefits, each customer's level
history, long-term rewards, the programme settings and the monthly "collect stars" game.

A customer's level is the one ``CustomerLevel`` row without ``until`` (a partial unique index
keeps it to one); every change closes that row and opens a new one, so the table is also the
history. A row with no level means "no longer a member of any level" after a downgrade.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Level(models.Model):
    """A member level (silver, gold, diamond …): reached by rolling spend, kept by it."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=50)
    rank = models.PositiveSmallIntegerField(
        _("rank"), unique=True, help_text=_("Higher is better; levels are tried from the top.")
    )
    min_spend_fen = models.BigIntegerField(_("minimum rolling spend (fen)"))
    window_months = models.PositiveSmallIntegerField(
        _("rolling window (months)"),
        default=12,
        help_text=_("Spend on completed orders over this many months counts."),
    )
    price_percent = models.PositiveSmallIntegerField(
        _("price (% of list)"), default=100, help_text=_("95 means the member pays 95 %.")
    )
    free_after_sales = models.BooleanField(_("free after-sales service"), default=False)
    benefits = models.JSONField(_("benefits"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("member level")
        verbose_name_plural = _("member levels")
        ordering = ["rank"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_spend_fen__gte=0), name="loyalty_level_min_spend_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(price_percent__gte=1, price_percent__lte=100),
                name="loyalty_level_price_percent_1_100",
            ),
            models.CheckConstraint(
                condition=Q(window_months__gte=1, window_months__lte=60),
                name="loyalty_level_window_1_60",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerLevel(models.Model):
    """One period of a customer at one level (or at none); the open row is the current one."""

    class Reason(models.TextChoices):
        UPGRADE = "upgrade", _("Upgrade")
        DOWNGRADE = "downgrade", _("Downgrade")
        MANUAL = "manual", _("Set by staff")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="level_history",
    )
    level = models.ForeignKey(
        Level, verbose_name=_("level"), null=True, blank=True, on_delete=models.PROTECT
    )
    since = models.DateTimeField(_("since"))
    until = models.DateTimeField(_("until"), null=True, blank=True)
    # Start of the unbroken run of levelled rows this one belongs to (long-term rewards).
    member_since = models.DateTimeField(_("member without a break since"), null=True, blank=True)
    # Set the first night the rolling spend is below the level; a downgrade waits for the grace.
    below_since = models.DateTimeField(_("below the level since"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    rolling_spend_fen = models.BigIntegerField(_("rolling spend at the change (fen)"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("customer level")
        verbose_name_plural = _("customer levels")
        ordering = ["-since", "-id"]
        indexes = [models.Index(fields=["customer", "since"], name="loyalty_custlevel_since")]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(until__isnull=True),
                name="loyalty_one_current_level",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.level or '-'}"


class LongTermReward(models.Model):
    """A reward for loyalty over years (e.g. lifetime warranty), granted once per kind."""

    class Kind(models.TextChoices):
        LIFETIME_WARRANTY = "lifetime_warranty", _("Lifetime warranty")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="long_term_rewards",
    )
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    member_since = models.DateTimeField(_("member without a break since"))
    years = models.PositiveSmallIntegerField(_("member years"))

    class Meta:
        verbose_name = _("long-term reward")
        verbose_name_plural = _("long-term rewards")
        ordering = ["-granted_at"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind"], name="loyalty_longterm_once")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.kind}"


class ProgramSettings(models.Model):
    """The editable rules of levels, long-term rewards and referrals (one row, pk 1)."""

    downgrade_grace_days = models.PositiveSmallIntegerField(
        _("downgrade grace (days)"),
        default=30,
        help_text=_("A member below the level's spend keeps it this long before a downgrade."),
    )
    long_term_years = models.PositiveSmallIntegerField(
        _("years for the lifetime warranty"), default=3
    )
    referral_inviter_points = models.PositiveIntegerField(_("points for the inviter"), default=500)
    referral_invitee_points = models.PositiveIntegerField(_("points for the invitee"), default=300)
    referral_monthly_limit = models.PositiveSmallIntegerField(
        _("referrals per inviter per month"), default=10
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("loyalty programme settings")
        verbose_name_plural = _("loyalty programme settings")

    def __str__(self) -> str:
        return str(self._meta.verbose_name)


class StarsProgram(models.Model):
    """The stars game of one month (``month`` = its first day), or the default for any month
    without its own row. ``thresholds``: ``[{"stars": 3, "points": 100, "reward": ""}, …]``."""

    month = models.DateField(_("month"), null=True, blank=True, unique=True)
    is_default = models.BooleanField(_("default for every month"), default=False)
    name = models.CharField(_("name"), max_length=100)
    thresholds = models.JSONField(_("steps"), default=list)
    stars_per_order = models.PositiveSmallIntegerField(_("stars per completed order"), default=1)
    stars_per_survey = models.PositiveSmallIntegerField(_("stars per answered survey"), default=1)
    stars_per_review = models.PositiveSmallIntegerField(_("stars per review"), default=1)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("stars programme")
        verbose_name_plural = _("stars programmes")
        ordering = [models.F("month").desc(nulls_last=True)]
        constraints = [
            # One default programme: the row without a month.
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="loyalty_one_default_stars_program",
            ),
            models.CheckConstraint(
                condition=Q(is_default=True, month__isnull=True)
                | Q(is_default=False, month__isnull=False),
                name="loyalty_stars_program_default_or_month",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StarAward(models.Model):
    """Stars a customer collected in a month, once per idempotency key."""

    class Source(models.TextChoices):
        ORDER = "order", _("Completed order")
        SURVEY = "survey", _("Answered survey")
        REVIEW = "review", _("Review")
        MANUAL = "manual", _("Granted by staff")

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="star_awards",
    )
    month = models.DateField(_("month"))
    stars = models.PositiveSmallIntegerField(_("stars"))
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    idempotency_key = models.CharField(_("idempotency key"), max_length=120, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("star award")
        verbose_name_plural = _("star awards")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "month"], name="loyalty_stars_cust_month")]
        constraints = [models.CheckConstraint(condition=Q(stars__gt=0), name="loyalty_stars_gt_0")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m} +{self.stars}"


class StarsStepReward(models.Model):
    """A step of the month's stars ladder a customer reached; claimed once per step."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="stars_step_rewards",
    )
    month = models.DateField(_("month"))
    step = models.PositiveSmallIntegerField(_("step"))
    stars_required = models.PositiveSmallIntegerField(_("stars required"))
    points = models.PositiveIntegerField(_("points"), default=0)
    reward = models.CharField(_("reward"), max_length=200, blank=True)
    claimed_at = models.DateTimeField(_("claimed at"), default=timezone.now)

    class Meta:
        verbose_name = _("stars step reward")
        verbose_name_plural = _("stars step rewards")
        ordering = ["month", "step"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "month", "step"], name="loyalty_stars_step_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%Y-%m} step {self.step}"


__all__ = [
    "CustomerLevel",
    "Level",
    "LongTermReward",
    "ProgramSettings",
    "StarAward",
    "StarsProgram",
    "StarsStepReward",
]
