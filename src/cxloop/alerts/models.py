"""Anomaly alerts: the rules that say which daily KPI series to scan, the alerts the scan opened,
and who is told about them.

No storm: a partial unique constraint allows one OPEN alert per (metric, dimension, place); the
alert stays open (and silent) until the series recovers, then a later jump may open a new one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Metric(models.TextChoices):
    COMPLAINT_RATE = "complaint_rate", _("Complaint rate (cases per 1,000 orders)")
    CSAT = "csat", _("CSAT (top-2-box share)")
    NPS = "nps", _("NPS")
    FIRST_RESPONSE = "first_response_minutes", _("First-response time (minutes)")


class Dimension(models.TextChoices):
    REGION = "region", _("Region")
    STORE = "store", _("Store")
    CHANNEL = "channel", _("Channel")


class Direction(models.TextChoices):
    WORSE = "worse", _("Worse only")
    BOTH = "both", _("Both directions")


class AlertRule(models.Model):
    """Scan one metric over every place of one dimension, with these thresholds."""

    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    min_sample = models.PositiveIntegerField(
        _("minimum sample per day"),
        default=30,
        help_text=_("Days with fewer orders, responses or responded cases are not judged."),
    )
    lam = models.FloatField(
        _("EWMA weight (lambda)"),
        default=0.3,
        help_text=_("Between 0 and 1: higher reacts faster to a jump, lower catches small drifts."),
    )
    limit = models.FloatField(
        _("control limit (SDs)"),
        default=3.0,
        help_text=_("How many standard deviations the chart must leave before an alert opens."),
    )
    direction = models.CharField(
        _("direction"), max_length=8, choices=Direction.choices, default=Direction.WORSE
    )
    active = models.BooleanField(_("active"), default=True)
    last_scanned_day = models.DateField(_("last day scanned"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("alert rule")
        verbose_name_plural = _("alert rules")
        ordering = ["metric", "dimension"]
        constraints = [
            models.UniqueConstraint(fields=["metric", "dimension"], name="alert_rule_unique"),
            models.CheckConstraint(condition=Q(lam__gt=0, lam__lte=1), name="alert_rule_lam"),
            models.CheckConstraint(condition=Q(limit__gt=0), name="alert_rule_limit"),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} / {self.get_dimension_display()}"


class Alert(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        RECOVERED = "recovered", _("Recovered")

    # Acknowledged alerts are still "open" for the no-storm rule: the series has not recovered.
    ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED)

    rule = models.ForeignKey(
        AlertRule, verbose_name=_("rule"), null=True, blank=True, on_delete=models.SET_NULL
    )
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    dimension = models.CharField(_("dimension"), max_length=16, choices=Dimension.choices)
    place = models.CharField(_("place"), max_length=64)
    day = models.DateField(_("day"))
    value = models.FloatField(_("value"))
    expected = models.FloatField(_("expected"))
    jump_abs = models.FloatField(_("jump"))
    jump_rel = models.FloatField(_("relative jump"), null=True, blank=True)
    z = models.FloatField(_("z"))
    p_value = models.FloatField(_("p-value"))
    direction = models.CharField(_("direction"), max_length=8)  # "up" or "down"
    sample = models.PositiveIntegerField(_("sample"), default=0)
    in_control_days = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    last_checked_day = models.DateField(null=True, blank=True)
    recovered_at = models.DateTimeField(_("recovered at"), null=True, blank=True)
    recovered_day = models.DateField(_("recovered on"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("acknowledged by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    acknowledge_note = models.TextField(_("note"), blank=True)
    evidence = models.JSONField(_("evidence parameters"), default=dict, blank=True)

    class Meta:
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")
        ordering = ["-day", "-id"]
        permissions = [("acknowledge_alert", "Can acknowledge alerts")]
        constraints = [
            models.UniqueConstraint(
                fields=["metric", "dimension", "place"],
                condition=Q(status__in=["open", "acknowledged"]),
                name="alert_one_open_per_series",
            )
        ]
        indexes = [models.Index(fields=["metric", "dimension", "place", "day"])]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.place} {self.day}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class Subscription(models.Model):
    """A user's wish to hear about new alerts; blank metric / dimension / place match all."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook (chat / SMS gateway)")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_subscriptions"
    )
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices, blank=True)
    dimension = models.CharField(
        _("dimension"), max_length=16, choices=Dimension.choices, blank=True
    )
    place = models.CharField(_("place"), max_length=64, blank=True)
    channel = models.CharField(
        _("channel"), max_length=8, choices=Channel.choices, default=Channel.EMAIL
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("alert subscription")
        verbose_name_plural = _("alert subscriptions")
        ordering = ["user", "metric", "dimension", "place"]

    def __str__(self) -> str:
        return f"{self.user} {self.metric or '*'} {self.dimension or '*'} {self.place or '*'}"

    def matches(self, alert: Alert) -> bool:
        return (
            (not self.metric or self.metric == alert.metric)
            and (not self.dimension or self.dimension == alert.dimension)
            and (not self.place or self.place == alert.place)
        )
