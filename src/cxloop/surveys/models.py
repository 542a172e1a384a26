"""Surveys, their frozen versions, invitations, triggers and responses.

A survey's questions live in a JSON definition (format: docs/survey-format.md). Editing changes
``Survey.draft``; publishing freezes a ``SurveyVersion`` and every response keeps the version it
answered. Headline scores (NPS, CSAT, CES, CSI) are copied into columns of ``Response`` at
submit time so metrics are single-table SQL aggregates.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Survey(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        ACTIVE = "active", _("Collecting answers")
        CLOSED = "closed", _("Closed")

    key = models.SlugField(_("key"), max_length=64, unique=True)
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    draft = models.JSONField(_("draft definition"), default=dict)
    current_version = models.ForeignKey(
        "SurveyVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Finishing faster than this flags a speeder; None derives it from the question count.
    speeder_seconds = models.IntegerField(_("speeder threshold (seconds)"), null=True, blank=True)
    public_link_enabled = models.BooleanField(_("public link enabled"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("publish_survey", "Can publish surveys"),
            ("view_results", "Can read survey results"),
            ("clean_responses", "Can restore flagged responses"),
        ]

    def __str__(self) -> str:
        return self.title


class SurveyVersion(models.Model):
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    definition = models.JSONField(_("definition"))
    published_at = models.DateTimeField(_("published at"), default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("survey version")
        verbose_name_plural = _("survey versions")
        ordering = ["survey", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "number"], name="survey_version_unique")
        ]

    def __str__(self) -> str:
        return f"{self.survey} v{self.number}"


class Trigger(models.Model):
    """On event X, invite to survey Y after delay D; the invitation expires after W."""

    class Kind(models.TextChoices):
        EVENT = "event", _("When an event arrives")
        NO_ORDER_AFTER_REGISTRATION = "no_order", _("Registered without an order")
        PERIODIC = "periodic", _("Periodic, to recently active customers")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.EVENT)
    event_type = models.CharField(_("event type"), max_length=64, blank=True)
    delay_minutes = models.PositiveIntegerField(_("delay (minutes)"), default=0)
    expire_after_hours = models.PositiveIntegerField(_("expires after (hours)"), default=24)
    channel = models.CharField(_("channel"), max_length=20, default="sms")
    # Periodic triggers: every N days, to customers with an order in the last M days.
    every_days = models.PositiveIntegerField(_("every (days)"), null=True, blank=True)
    active_within_days = models.PositiveIntegerField(
        _("active within (days)"), null=True, blank=True
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("trigger")
        verbose_name_plural = _("triggers")
        ordering = ["survey", "id"]

    def __str__(self) -> str:
        return self.name


class Invitation(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENT = "sent", _("Sent")
        OPENED = "opened", _("Opened")
        ANSWERED = "answered", _("Answered")
        EXPIRED = "expired", _("Expired")
        SUPPRESSED = "suppressed", _("Suppressed")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")
        WECHAT = "wechat", _("WeChat")
        LINK = "link", _("Link")
        QR = "qr", _("QR code in store")
        PHONE = "phone", _("Phone interview")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="invitations",
    )
    trigger = models.ForeignKey(
        Trigger, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations"
    )
    source_event = models.ForeignKey(
        "core.InboundEvent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Same trigger + same event → one invitation, however often the event is processed.
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    nonce = models.CharField(max_length=32, unique=True)
    channel = models.CharField(
        _("channel"), max_length=20, choices=Channel.choices, default=Channel.LINK
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SCHEDULED
    )
    suppressed_reason = models.CharField(_("why suppressed"), max_length=200, blank=True)
    sample_group = models.CharField(_("sample group"), max_length=40, blank=True)
    scheduled_for = models.DateTimeField(_("scheduled for"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    outbox_message = models.ForeignKey(
        "core.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "scheduled_for"]),
            models.Index(fields=["customer", "created_at"]),
            models.Index(fields=["survey", "status"]),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer_id or 'anonymous'}"


class Response(models.Model):
    """One person's answers to one survey version; ``submitted_at`` is None while partial."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    version = models.ForeignKey(SurveyVersion, on_delete=models.PROTECT, related_name="responses")
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="response"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="responses",
    )
    # Public links: a hash of the browser cookie/IP guards against duplicate answers.
    respondent_key = models.CharField(max_length=64, blank=True, db_index=True)
    answers = models.JSONField(_("answers"), default=dict)
    current_page = models.PositiveIntegerField(default=0)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    channel = models.CharField(_("channel"), max_length=20, blank=True)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    # Segment snapshot at answer time, so results by group do not move when a customer does.
    region = models.CharField(_("region"), max_length=64, blank=True)
    store = models.CharField(_("store"), max_length=64, blank=True)
    age_band = models.CharField(_("age band"), max_length=16, blank=True)
    segment = models.CharField(_("segment"), max_length=32, blank=True)
    # Headline scores, filled at submit from the questions with these roles.
    nps = models.SmallIntegerField(null=True, blank=True)
    csat = models.SmallIntegerField(null=True, blank=True)
    ces = models.SmallIntegerField(null=True, blank=True)
    csi = models.FloatField(null=True, blank=True)
    dimension_scores = models.JSONField(default=dict, blank=True)
    flags = models.JSONField(_("quality flags"), default=list, blank=True)
    excluded = models.BooleanField(_("excluded from metrics"), default=False)
    restored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    restored_at = models.DateTimeField(null=True, blank=True)
    # Text analytics of the comment (the open-text answers joined; surveys/text.py), filled
    # by the worker after the submit so the submit itself stays fast.
    comment_sentiment = models.FloatField(
        _("comment sentiment"), null=True, blank=True, db_index=True
    )
    comment_aspects = models.JSONField(_("comment aspects"), default=list, blank=True)
    text_analysed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["survey", "excluded", "submitted_at"]),
            models.Index(fields=["customer", "submitted_at"]),
            models.Index(
                fields=["id"],
                name="response_text_pending",
                condition=models.Q(text_analysed_at__isnull=True, submitted_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} #{self.pk}"


ROLLUP_MAX_SCALE = 10  # rating and effort scales are 2–10 (docs/survey-format.md)


class MetricRollup(models.Model):
    """Sufficient statistics of one (survey, local day, dimension value), for fast metrics.

    Counted like the selectors count: submitted, not excluded responses. CSAT and CES keep a
    histogram over 1…10 because the survey's scale (and so its top-2 box) is read at query
    time; every other figure of the selectors' output derives from these sums.
    """

    DIMENSIONS = ("all", "region", "store", "channel", "age_band", "segment")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()  # in settings.TIME_ZONE (Asia/Shanghai)
    dimension = models.CharField(max_length=16)  # "all" (value "") or a Response column
    value = models.CharField(max_length=64, blank=True)
    responses = models.PositiveIntegerField(default=0)
    nps_n = models.PositiveIntegerField(default=0)
    nps_promoters = models.PositiveIntegerField(default=0)
    nps_passives = models.PositiveIntegerField(default=0)
    nps_detractors = models.PositiveIntegerField(default=0)
    csat_n = models.PositiveIntegerField(default=0)
    ces_n = models.PositiveIntegerField(default=0)
    csi_n = models.PositiveIntegerField(default=0)
    csi_sum = models.FloatField(default=0.0)
    csi_sumsq = models.FloatField(default=0.0)

    class Meta:
        verbose_name = _("metric rollup")
        verbose_name_plural = _("metric rollups")
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "dimension", "day", "value"], name="metric_rollup_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day} {self.dimension}={self.value}"


# csat_1 … csat_10 and ces_1 … ces_10: answers per scale point.
for _metric in ("csat", "ces"):
    for _point in range(1, ROLLUP_MAX_SCALE + 1):
        MetricRollup.add_to_class(f"{_metric}_{_point}", models.PositiveIntegerField(default=0))
del _metric, _point


class RollupDirtyDay(models.Model):
    """A (survey, local day) whose responses changed since its rollup rows were computed."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    marked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("day to roll up again")
        verbose_name_plural = _("days to roll up again")
        constraints = [
            models.UniqueConstraint(fields=["survey", "day"], name="rollup_dirty_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} {self.day}"
