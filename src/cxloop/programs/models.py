"""The suggestion scheme 服务金点子 (ideas, their events, the weekly best), mystery-shopper
audits (templates with weighted items, audits with a score per item) and the improvement list
both feed (docs/programs.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

TEXT_MAX = 2000


class Idea(models.Model):
    class Channel(models.TextChoices):
        PUBLIC = "public", _("Public form")
        CONSOLE = "console", _("Console")
        API = "api", _("API")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        SHORTLISTED = "shortlisted", _("Shortlisted")
        CHOSEN = "chosen", _("Best idea of the week")
        ADOPTED = "adopted", _("Adopted")
        REJECTED = "rejected", _("Rejected")

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("idea"), max_length=TEXT_MAX)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ideas",
        verbose_name=_("customer"),
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="ideas",
        verbose_name=_("staff author"),
    )
    contact_name = models.CharField(_("name"), max_length=100, blank=True)
    contact_phone = models.CharField(_("mobile number"), max_length=32, blank=True)
    contact_email = models.CharField(_("email"), max_length=254, blank=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    store = models.CharField(_("store"), max_length=64, blank=True, db_index=True)
    sentiment = models.FloatField(_("sentiment"), null=True, blank=True)
    aspects = models.JSONField(_("aspects"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.SUBMITTED
    )
    # ISO year-week ("2026-W48") the idea was chosen as the best; unique: one best per week.
    week = models.CharField(_("best of week"), max_length=8, null=True, blank=True, unique=True)
    reward_entry = models.ForeignKey(
        "loyalty.PointsEntry",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("reward"),
    )
    external_ref = models.CharField(
        _("external reference"), max_length=100, null=True, blank=True, unique=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("idea")
        verbose_name_plural = _("ideas")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def author_label(self) -> str:
        if self.author_user_id:
            return self.author_user.get_username()
        if self.customer_id:
            return self.customer.external_id
        return self.contact_name


class IdeaEvent(models.Model):
    """One status change of an idea (and its creation), with who and why."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, blank=True)
    to_status = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    note = models.CharField(max_length=500, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} → {self.to_status}"


class ImprovementAction(models.Model):
    """The improvement list: adopted ideas, weak audit items and manual entries."""

    class Source(models.TextChoices):
        IDEA = "idea", _("Idea")
        AUDIT_ITEM = "audit_item", _("Audit item")
        MANUAL = "manual", _("Manual")
        CLUSTER = "cluster", _("Low-score cluster")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        DONE = "done", _("Done")

    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=TEXT_MAX, blank=True)
    source_kind = models.CharField(_("source"), max_length=16, choices=Source.choices)
    idea = models.ForeignKey(
        Idea, on_delete=models.SET_NULL, null=True, blank=True, related_name="actions"
    )
    audit_score = models.ForeignKey(
        "AuditScore", on_delete=models.SET_NULL, null=True, blank=True, related_name="actions"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="improvement_actions",
        verbose_name=_("owner"),
    )
    store = models.CharField(_("store"), max_length=64, blank=True, db_index=True)
    due_date = models.DateField(_("due date"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("improvement action")
        verbose_name_plural = _("improvement actions")
        ordering = ["-created_at", "-id"]
        constraints = [
            # One action per adopted idea and per weak item of an audit, even under retries.
            models.UniqueConstraint(
                fields=["idea"],
                condition=Q(source_kind="idea"),
                name="programs_action_one_per_idea",
            ),
            models.UniqueConstraint(
                fields=["audit_score"],
                condition=Q(source_kind="audit_item"),
                name="programs_action_one_per_audit_item",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class AuditTemplate(models.Model):
    class Touchpoint(models.TextChoices):
        STORE = "store", _("Store visit")
        PHONE = "phone", _("Phone service")
        ONLINE = "online", _("Online / app")
        DELIVERY = "delivery", _("Delivery")

    name = models.CharField(_("name"), max_length=100, unique=True)
    touchpoint = models.CharField(_("touchpoint"), max_length=16, choices=Touchpoint.choices)
    store = models.CharField(
        _("store"), max_length=64, blank=True, help_text=_("Empty: for every store.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("audit template")
        verbose_name_plural = _("audit templates")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AuditItem(models.Model):
    template = models.ForeignKey(AuditTemplate, on_delete=models.CASCADE, related_name="items")
    text = models.CharField(_("checklist item"), max_length=200)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    max_score = models.PositiveSmallIntegerField(_("max score"), default=5)
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.text


class MysteryAudit(models.Model):
    template = models.ForeignKey(AuditTemplate, on_delete=models.PROTECT, related_name="audits")
    store = models.CharField(_("store"), max_length=64, db_index=True)
    shopper_name = models.CharField(_("shopper"), max_length=100, blank=True)
    shopper_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    visited_at = models.DateTimeField(_("visited at"))
    score_percent = models.FloatField(_("score (%)"))
    notes = models.TextField(_("notes"), max_length=TEXT_MAX, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("mystery-shopper audit")
        verbose_name_plural = _("mystery-shopper audits")
        ordering = ["-visited_at", "-id"]
        indexes = [models.Index(fields=["store", "visited_at"])]

    def __str__(self) -> str:
        return f"{self.template} · {self.store}"


class AuditScore(models.Model):
    """One item's score; weight and max score are copied so editing a template later does
    not rewrite old audits."""

    audit = models.ForeignKey(MysteryAudit, on_delete=models.CASCADE, related_name="scores")
    item = models.ForeignKey(AuditItem, on_delete=models.PROTECT, related_name="scores")
    score = models.PositiveSmallIntegerField(_("score"))
    max_score = models.PositiveSmallIntegerField()
    weight = models.PositiveSmallIntegerField()
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["audit", "item"], name="programs_score_once"),
        ]

    def __str__(self) -> str:
        return f"{self.item.text}: {self.score}/{self.max_score}"
