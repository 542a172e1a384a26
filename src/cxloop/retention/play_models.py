"""Retention plays (per-tier strategies) and who each play reached, with the holdout.

A ``PlayAssignment`` is written for every customer a play selected in a run — treatment,
holdout, or skipped (no consent, no address, contacted recently) — so a rerun in the same
frequency-cap window leaves the customer alone and the effect report can compare the groups.
Imported by ``retention/models.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.signals import post_migrate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.customers.models import Customer


class PlayKind(models.TextChoices):
    ACCOUNT_MANAGER = "account_manager", _("Named account manager and exclusive benefits")
    PERSONAL_OFFER = "personal_offer", _("Personal offer")
    COMMUNITY_BENEFIT = "community_benefit", _("Community and newcomer benefits")
    WINBACK_TASK = "winback_task", _("Win-back call and return gift")


class PlayChannel(models.TextChoices):
    NONE = "", _("No message")
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS (through the webhook)")


# Kinds whose work is a task for staff; the others are a message (and gift) only.
STAFF_KINDS = (PlayKind.ACCOUNT_MANAGER, PlayKind.WINBACK_TASK)


class RetentionPlay(models.Model):
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=30, choices=PlayKind.choices)
    # Who the play is for: customers matching ANY of the conditions that are set.
    tier = models.CharField(_("tier"), max_length=20, blank=True)
    stage = models.CharField(_("life-cycle stage"), max_length=20, blank=True)
    min_churn_risk = models.FloatField(
        _("churn risk at least"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
    )
    channel = models.CharField(
        _("message channel"), max_length=20, choices=PlayChannel.choices, blank=True
    )
    subject = models.CharField(_("message subject"), max_length=200, blank=True)
    message = models.TextField(_("message text"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("account manager / task owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    task_due_days = models.PositiveSmallIntegerField(
        _("staff task due in (days)"), default=3, validators=[MaxValueValidator(365)]
    )
    gift_points = models.PositiveIntegerField(
        _("points gift"), default=0, validators=[MaxValueValidator(1_000_000)]
    )
    cap_days = models.PositiveSmallIntegerField(
        _("frequency cap (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    holdout_percent = models.PositiveSmallIntegerField(
        _("holdout (percent)"), default=10, validators=[MaxValueValidator(50)]
    )
    measure_days = models.PositiveSmallIntegerField(
        _("win-back window (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("retention play")
        verbose_name_plural = _("retention plays")
        ordering = ["name", "id"]
        permissions = [("run_plays", "Can run retention plays")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_staff_kind(self) -> bool:
        return self.kind in STAFF_KINDS

    @property
    def tier_label(self) -> str:
        from cxloop.retention.models import Tier

        return dict(Tier.choices).get(self.tier, self.tier)

    @property
    def stage_label(self) -> str:
        from cxloop.retention.models import Stage

        return dict(Stage.choices).get(self.stage, self.stage)


class PlayAssignment(models.Model):
    class Group(models.TextChoices):
        TREATMENT = "treatment", _("Treatment")
        HOLDOUT = "holdout", _("Holdout")

    class Skipped(models.TextChoices):
        NONE = "", _("Not skipped")
        NO_CONSENT = "no_consent", _("No marketing consent")
        NO_ADDRESS = "no_address", _("No address for the channel")
        CAPPED = "capped", _("Contacted recently (frequency cap)")

    play = models.ForeignKey(RetentionPlay, on_delete=models.CASCADE, related_name="assignments")
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="+"
    )
    group = models.CharField(_("group"), max_length=20, choices=Group.choices)
    assigned_at = models.DateTimeField(_("assigned at"), default=timezone.now, db_index=True)
    due_at = models.DateTimeField(_("task due"), null=True, blank=True)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    task = models.ForeignKey(
        "cases.CaseTask", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.ForeignKey(
        "core.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    gift_entry_id = models.BigIntegerField(_("points gift entry"), null=True, blank=True)
    skipped_reason = models.CharField(
        _("skipped"), max_length=20, choices=Skipped.choices, blank=True
    )
    churn_risk = models.FloatField(_("churn risk when assigned"), null=True, blank=True)
    # Outcome: the first counted order after the assignment, within the play's window.
    window_ends_at = models.DateTimeField(_("measured until"))
    ordered_again_at = models.DateTimeField(_("ordered again at"), null=True, blank=True)
    # play:customer:cap-window bucket — two workers running the same play cannot both assign.
    dedupe_key = models.CharField(max_length=80, unique=True)

    class Meta:
        verbose_name = _("play assignment")
        verbose_name_plural = _("play assignments")
        ordering = ["-assigned_at", "-id"]
        indexes = [
            models.Index(fields=["play", "customer", "assigned_at"], name="retention_pa_cap"),
            models.Index(fields=["customer", "assigned_at"], name="retention_pa_cust"),
        ]

    def __str__(self) -> str:
        return f"{self.play_id} {self.customer_id} {self.group}"


def _after_migrate(sender, using: str = "default", **kwargs) -> None:
    if getattr(sender, "name", "") == "cxloop.retention" and using == "default":
        from cxloop.retention.plays import ensure_default_plays

        ensure_default_plays()


# Default plays per tier after every migrate (only while there are none: see plays.py).
post_migrate.connect(_after_migrate, dispatch_uid="cxloop.retention.play_defaults")
