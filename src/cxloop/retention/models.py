"""Customer scores: RFM, value tier, VIP flag, life-cycle stage, CLV and churn risk per customer.

``CustomerScore`` holds the latest result of a scoring run, one row per customer, rewritten by
``cxloop.retention.scoring.score_customers``. ``TierChange`` is the tier history: a row only
when a customer's tier changed (the first scoring of a customer counts as a change from no
tier). ``ScoringRun`` records each run with its parameters, the fitted CLV models and counts.
The churn columns belong to the churn model (``retention/churn.py``), which fills them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.customers.models import Customer


class Tier(models.TextChoices):
    """Value tiers, best first (``cxloop.insights.rfm.TIERS`` holds them worst first)."""

    HIGH_VALUE = "high_value", _("High value")
    POTENTIAL = "potential", _("Potential")
    BASIC = "basic", _("Basic")
    CHURN_WARNING = "churn_warning", _("Churn warning")


# Worst to best, the order in which a move counts as "up".
TIER_RANK = {"churn_warning": 0, "basic": 1, "potential": 2, "high_value": 3}


class Stage(models.TextChoices):
    NEW = "new", _("New")
    NEVER_ORDERED = "never_ordered", _("Never ordered")
    ACTIVE = "active", _("Active")
    LAPSED = "lapsed", _("Lapsed")
    INACTIVE = "inactive", _("Inactive")


class ScoringRun(models.Model):
    class Kind(models.TextChoices):
        NIGHTLY = "nightly", _("Nightly")
        MANUAL = "manual", _("On demand")
        COMMAND = "command", _("Command line")
        DEMO = "demo", _("Demo data")

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MANUAL)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The moment the scores are computed for (recency and the 365-day window count from it).
    as_of = models.DateTimeField(_("scored as of"), default=timezone.now)
    customers = models.IntegerField(_("customers"), default=0)
    changed = models.IntegerField(_("tier changes"), default=0)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.RUNNING
    )
    message = models.TextField(_("message"), blank=True)
    # Thresholds used, fitted BG/NBD and Gamma-Gamma parameters, phase timings.
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("scoring run")
        verbose_name_plural = _("scoring runs")
        ordering = ["-started_at", "-id"]
        permissions = [("run_scoring", "Can recalculate customer scores and tiers")]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}"


class CustomerScore(models.Model):
    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="score"
    )
    recency_days = models.IntegerField(_("days since last order"), null=True, blank=True)
    frequency = models.IntegerField(_("orders"), default=0)
    monetary_fen = models.BigIntegerField(_("spend (fen)"), default=0)
    yearly_spend_fen = models.BigIntegerField(_("spend in the last 365 days (fen)"), default=0)
    r_score = models.SmallIntegerField(_("R score"), default=1)
    f_score = models.SmallIntegerField(_("F score"), default=1)
    m_score = models.SmallIntegerField(_("M score"), default=1)
    rfm = models.CharField(_("RFM code"), max_length=8, blank=True)
    # Indexed only through (tier, customer) below: every index on a column the nightly run
    # rewrites would turn its updates from HOT (in-page) into index-maintaining ones.
    tier = models.CharField(_("tier"), max_length=20, choices=Tier.choices)
    is_vip = models.BooleanField(_("VIP"), default=False)
    stage = models.CharField(_("life-cycle stage"), max_length=20, choices=Stage.choices)
    first_order_at = models.DateTimeField(_("first order"), null=True, blank=True)
    last_order_at = models.DateTimeField(_("last order"), null=True, blank=True)
    p_alive = models.FloatField(_("probability still active"), null=True, blank=True)
    expected_purchases_90d = models.FloatField(
        _("expected orders in 90 days"), null=True, blank=True
    )
    clv_fen = models.BigIntegerField(_("customer lifetime value (fen)"), null=True, blank=True)
    # Tags derived from behaviour by retention/tags.py; Customer.tags keeps the manual ones.
    derived_tags = models.JSONField(_("derived tags"), default=list, blank=True)
    # Filled by the churn model (retention/churn.py), not by the scoring run.
    churn_risk = models.FloatField(_("churn risk"), null=True, blank=True)
    churn_reasons = models.JSONField(_("churn reasons"), default=list, blank=True)
    # When these values were last written: a run that changes nothing leaves it alone.
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        indexes = [models.Index(fields=["tier", "customer"], name="retention_score_tier_cust")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.tier} {self.rfm}"


class TierChange(models.Model):
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="tier_changes",
        db_index=False,  # (customer, changed_at) below serves every lookup by customer
    )
    # Empty on a customer's first scoring.
    from_tier = models.CharField(_("from tier"), max_length=20, choices=Tier.choices, blank=True)
    to_tier = models.CharField(_("to tier"), max_length=20, choices=Tier.choices)
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now, db_index=True)
    run = models.ForeignKey(
        ScoringRun,
        verbose_name=_("scoring run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="tier_changes",
    )

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["customer", "changed_at"], name="retention_tierchg_cust")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.from_tier or '-'} → {self.to_tier}"


from cxloop.retention import churn_models, play_models  # noqa: E402,F401  (churn, plays)
