"""Platform-wide records: audit log, organisation settings, outbox, inbound events."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditLog(models.Model):
    """One row per change to customers, settings, users and other audited objects."""

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(_("actor label"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64)
    object_type = models.CharField(_("object type"), max_length=64)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        permissions = [("view_audit", "Can read the audit log")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class Setting(models.Model):
    """An organisation setting; see ``cxloop.core.settings_registry`` for the known keys."""

    key = models.CharField(_("key"), max_length=100, unique=True)
    value = models.JSONField(_("value"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("setting")
        verbose_name_plural = _("settings")
        permissions = [
            ("manage_settings", "Can change organisation settings"),
            ("view_dashboard", "Can open the console home"),
        ]

    def __str__(self) -> str:
        return self.key


class InboundEvent(models.Model):
    """A business event pushed by an integrator, stored once per event id."""

    event_id = models.CharField(_("event id"), max_length=100, unique=True)
    type = models.CharField(_("type"), max_length=64, db_index=True)
    occurred_at = models.DateTimeField(_("occurred at"))
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order = models.ForeignKey(
        "customers.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    source = models.CharField(_("source"), max_length=64, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("inbound event")
        verbose_name_plural = _("inbound events")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class OutboxMessage(models.Model):
    """An outgoing message. Delivery retries with backoff; a message is never dropped."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        WEBHOOK = "webhook", _("Webhook (SMS / WeChat gateway)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Gave up (can be retried)")

    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    recipient = models.CharField(_("recipient"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body"), blank=True)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    dedupe_key = models.CharField(
        _("dedupe key"), max_length=200, null=True, blank=True, unique=True
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    attempt_count = models.IntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outbox")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            # The console lists newest first, optionally by status; the purge scans by age.
            models.Index(fields=["created_at", "id"], name="core_outbox_created_idx"),
            models.Index(
                fields=["status", "created_at", "id"], name="core_outbox_status_created_idx"
            ),
        ]
        permissions = [("retry_outbox", "Can retry failed outgoing messages")]

    def __str__(self) -> str:
        return f"{self.channel} → {self.recipient}"


class OutboxAttempt(models.Model):
    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(_("when"), default=timezone.now)
    succeeded = models.BooleanField(_("succeeded"))
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.IntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.message_id} {'ok' if self.succeeded else 'failed'} {self.at:%Y-%m-%d %H:%M}"


class BusinessCalendar(models.Model):
    """Working hours, holidays and make-up days that SLA deadlines are counted in.

    Write through ``cxloop.core.calendars`` (validated, audited); it also turns a row into the
    ``WorkingCalendar`` that ``cxloop.core.business_time`` computes with.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    # {"0": [["09:00", "12:00"], ["13:30", "18:00"]], …}: weekday 0 = Monday, "24:00" = midnight.
    weekly_hours = models.JSONField(_("weekly working hours"), default=dict, blank=True)
    use_chinese_holidays = models.BooleanField(_("Chinese public holidays"), default=True)
    always_open = models.BooleanField(_("open round the clock (7×24)"), default=False)
    extra_holidays = models.JSONField(_("extra holidays"), default=list, blank=True)
    extra_workdays = models.JSONField(_("extra working days"), default=list, blank=True)
    is_default = models.BooleanField(_("default calendar"), default=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="core_calendar_single_default",
            )
        ]

    def __str__(self) -> str:
        return self.name
