"""Feedback and complaint cases: departments, taxonomy, SLA rules, cases, their clocks and events.

One source of truth: every change of a case is a ``CaseEvent`` row (the timeline, the SLA
clocks, the audit trail and the analytics read it). ``CaseTarget`` holds one SLA clock per
target (first response, resolution, …) with an indexed ``next_check_at`` so the sweep touches
only what is due. Money is integer fen.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    HOTLINE = "hotline", _("Hotline")
    CHAT = "chat", _("Online chat")
    APP = "app", _("App / mini-program")
    SOCIAL = "social", _("Social media")
    STORE = "store", _("Store")
    EMAIL = "email", _("Email")
    THIRD_PARTY = "third_party", _("Third-party platform")
    PUBLIC_PLATFORM = "public_platform", _("Public complaint platform")
    SURVEY = "survey", _("Survey follow-up")
    WEB_FORM = "web_form", _("Web form")
    STAFF = "staff", _("Staff entry")
    MYSTERY_SHOPPER = "mystery_shopper", _("Mystery shopper")


class Severity(models.TextChoices):
    GENERAL = "general", _("General")
    IMPORTANT = "important", _("Important")
    URGENT = "urgent", _("Urgent")


class Tier(models.TextChoices):
    """The customer tier SLA rules match on (VIP: yearly spend ≥ the VIP setting)."""

    VIP = "vip", _("VIP")
    ORDINARY = "ordinary", _("Ordinary")


class Department(models.Model):
    """A department cases are routed to (customer service, logistics, product, a store …)."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("department head"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    calendar = models.ForeignKey(
        "core.BusinessCalendar",
        verbose_name=_("business calendar"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A staff member in a department; supervisors get the first escalation."""

    class Role(models.TextChoices):
        MEMBER = "member", _("Member")
        SUPERVISOR = "supervisor", _("Supervisor")

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="case_memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    accepts_cases = models.BooleanField(_("takes new cases"), default=True)

    class Meta:
        verbose_name = _("department member")
        verbose_name_plural = _("department members")
        constraints = [
            models.UniqueConstraint(fields=["department", "user"], name="case_membership_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.department}"


class Category(models.Model):
    """The complaint taxonomy (product, logistics, service attitude, …), two levels deep."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    default_department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("case category")
        verbose_name_plural = _("case categories")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SlaRule(models.Model):
    """One SLA target for the cases it matches; the most specific active rule wins.

    Blank ``channel`` / ``tier`` / ``severity`` / ``category`` match anything; a top-level
    ``category`` also matches its sub-categories (ranking: ``sla._rank``). The target is either
    a duration in working minutes of ``calendar`` or ``working_days`` (end of the N-th working
    day after the start). No calendar: the department's, else the default one.
    """

    class Target(models.TextChoices):
        FIRST_RESPONSE = "first_response", _("First response")
        RESOLUTION = "resolution", _("Resolution")
        PROGRESS_UPDATE = "progress_update", _("Progress update")
        MANAGEMENT_NOTICE = "management_notice", _("Management notified")
        ESCALATION_ANSWER = "escalation_answer", _("Answer to an escalation")
        CALLBACK = "callback", _("Callback")

    name = models.CharField(_("name"), max_length=100)
    target = models.CharField(_("target"), max_length=30, choices=Target.choices)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    tier = models.CharField(_("customer tier"), max_length=20, choices=Tier.choices, blank=True)
    severity = models.CharField(_("severity"), max_length=20, choices=Severity.choices, blank=True)
    major_only = models.BooleanField(_("major complaints only"), default=False)
    # PROTECT: a category a rule names is deactivated, never deleted (config_services).
    category = models.ForeignKey(
        Category,
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sla_rules",
    )
    minutes = models.PositiveIntegerField(_("working minutes"), null=True, blank=True)
    working_days = models.PositiveSmallIntegerField(_("working days"), null=True, blank=True)
    calendar = models.ForeignKey(
        "core.BusinessCalendar",
        verbose_name=_("business calendar"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    warn_percent = models.PositiveSmallIntegerField(_("warn at (percent of the time)"), default=80)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("SLA rule")
        verbose_name_plural = _("SLA rules")
        ordering = ["target", "name"]

    def __str__(self) -> str:
        return self.name


class AssignmentRule(models.Model):
    """Routing (三定 定人): cases matching category / channel / region / store go to a
    department and, within it, to a fixed person, round-robin or the least-loaded member."""

    class Strategy(models.TextChoices):
        ROUND_ROBIN = "round_robin", _("Round-robin")
        LEAST_LOADED = "least_loaded", _("Least loaded")
        FIXED = "fixed", _("Fixed person")

    name = models.CharField(_("name"), max_length=100)
    priority = models.PositiveSmallIntegerField(_("priority"), default=100)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    store = models.CharField(_("store"), max_length=64, blank=True)
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    strategy = models.CharField(
        _("strategy"), max_length=20, choices=Strategy.choices, default=Strategy.LEAST_LOADED
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("New")
        ASSIGNED = "assigned", _("Assigned")
        RESPONDED = "responded", _("Responded")
        WAITING = "waiting", _("Waiting on customer")
        RESOLVED = "resolved", _("Resolved")
        CALLBACK_DONE = "callback_done", _("Callback done")
        CLOSED = "closed", _("Closed")
        MERGED = "merged", _("Merged")

    OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.RESPONDED, Status.WAITING)

    number = models.CharField(_("number"), max_length=20, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=32, blank=True)
    contact_email = models.EmailField(_("contact email"), blank=True)
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices)
    category = models.ForeignKey(
        Category, verbose_name=_("category"), null=True, blank=True, on_delete=models.PROTECT
    )
    severity = models.CharField(
        _("severity"), max_length=20, choices=Severity.choices, default=Severity.GENERAL
    )
    tier = models.CharField(
        _("customer tier"), max_length=20, choices=Tier.choices, default=Tier.ORDINARY
    )
    amount_fen = models.BigIntegerField(_("amount involved (fen)"), default=0)
    media_risk = models.BooleanField(_("media exposure risk"), default=False)
    is_major = models.BooleanField(_("major complaint"), default=False, db_index=True)
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    store = models.CharField(_("store"), max_length=64, blank=True)
    order_ref = models.CharField(_("order number"), max_length=64, blank=True)
    external_ref = models.CharField(_("external reference"), max_length=100, blank=True)

    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.NEW, db_index=True
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_cases",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)

    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    first_response_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    callback_at = models.DateTimeField(_("callback done at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    paused_at = models.DateTimeField(_("waiting on customer since"), null=True, blank=True)
    # Nearest open SLA deadline, for the queues ("sorted by nearest deadline").
    next_due_at = models.DateTimeField(_("next deadline"), null=True, blank=True, db_index=True)
    resolution_cycle = models.PositiveSmallIntegerField(default=1)
    reopen_count = models.PositiveSmallIntegerField(_("reopened"), default=0)
    agent_response_count = models.PositiveSmallIntegerField(default=0)

    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_cases"
    )
    repeat_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="repeats"
    )
    source_response = models.ForeignKey(
        "surveys.Response", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    public_nonce = models.CharField(max_length=32, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    # Text analytics (cases/text.py, by the worker): the most negative of the description and
    # the customer's messages, the aspects they name; NULL analysed-at means "to analyse".
    sentiment = models.FloatField(_("sentiment"), null=True, blank=True, db_index=True)
    aspects = models.JSONField(_("aspects"), default=list, blank=True)
    text_analysed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["department", "status"]),
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["customer", "category", "created_at"]),
            models.Index(fields=["channel", "external_ref"]),  # idempotent API create
            models.Index(
                fields=["id"],
                name="case_text_pending",
                condition=models.Q(text_analysed_at__isnull=True),
            ),
        ]
        permissions = [
            ("view_all_cases", "Can see the cases of every department"),
            ("work_case", "Can work cases (respond, resolve, escalate)"),
            ("assign_case", "Can assign cases to anyone"),
            ("manage_sla", "Can change SLA rules, routing and the taxonomy"),
            ("approve_compensation", "Can approve compensation above the agent limit"),
            ("view_case_metrics", "Can read case metrics"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def text_negative(self) -> bool:
        """The customer's words are below the ``negative_text_threshold`` setting."""
        from cxloop.core.settings_registry import NEGATIVE_TEXT_THRESHOLD, get_setting

        return self.sentiment is not None and self.sentiment < get_setting(NEGATIVE_TEXT_THRESHOLD)

    @property
    def aspect_labels(self) -> list[str]:
        from cxloop.surveys.text import aspect_labels

        labels = aspect_labels()
        return [labels.get(key, key) for key in self.aspects or []]


class CaseTarget(models.Model):
    """One SLA clock of a case. ``next_check_at`` is when the sweep must look next (the warning
    moment, then the deadline, then the second escalation); NULL once nothing is pending."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=30, choices=SlaRule.Target.choices)
    rule = models.ForeignKey(SlaRule, null=True, blank=True, on_delete=models.SET_NULL)
    started_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warn_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    warned_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    escalated_to_head_at = models.DateTimeField(null=True, blank=True)
    paused_seconds = models.PositiveIntegerField(default=0)  # working seconds spent paused
    cycle = models.PositiveSmallIntegerField(default=1)
    next_check_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SLA clock")
        verbose_name_plural = _("SLA clocks")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "kind", "cycle"], name="case_target_once_per_cycle"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_check_at"],
                name="case_target_due",
                condition=models.Q(next_check_at__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} due {self.due_at:%Y-%m-%d %H:%M}"


class CaseEvent(models.Model):
    """Everything that happened to a case, in order. ``public`` events show on the customer's
    progress page."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        ASSIGNED = "assigned", _("Assigned")
        STATUS = "status", _("Status changed")
        RESPONSE = "response", _("Reply to the customer")
        CUSTOMER_MESSAGE = "customer_message", _("Message from the customer")
        NOTE = "note", _("Internal note")
        UPDATED = "updated", _("Details changed")
        SLA_SET = "sla_set", _("Deadlines set")
        SLA_MET = "sla_met", _("Target met")
        SLA_WARNING = "sla_warning", _("Deadline approaching")
        SLA_BREACHED = "sla_breached", _("Deadline missed")
        ESCALATED = "escalated", _("Escalated")
        COMPENSATION = "compensation", _("Compensation")
        CALLBACK = "callback", _("Callback")
        SURVEY = "survey", _("Satisfaction survey")
        MERGED = "merged", _("Merged")
        REOPENED = "reopened", _("Reopened")
        REPEAT = "repeat", _("Repeat complaint")
        MAJOR = "major", _("Emergency procedure")
        TASK = "task", _("Task")
        ATTACHMENT_ADDED = "attachment_added", _("Attachment added")
        ATTACHMENT_REMOVED = "attachment_removed", _("Attachment removed")
        NEGATIVE_TEXT = "negative_text", _("Negative text flagged")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=30, choices=Kind.choices, db_index=True)
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    body = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    public = models.BooleanField(default=False)
    # Events the sweep writes once per target and cycle carry a key; a second is refused.
    dedupe_key = models.CharField(max_length=120, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"]), models.Index(fields=["kind", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"


class Compensation(models.Model):
    """A coupon, refund or gift for a complainant: an append-only ledger row per grant.

    Up to the agent limit (setting ``compensation_limit_fen``, default ¥50) it is granted at
    once; above it waits for approval. Decisions change ``status`` once and are case events.
    """

    class Kind(models.TextChoices):
        COUPON = "coupon", _("Coupon")
        REFUND = "refund", _("Refund")
        GIFT = "gift", _("Gift")

    class Status(models.TextChoices):
        GRANTED = "granted", _("Granted")
        PENDING = "pending", _("Waiting for approval")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="compensations")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    reason = models.CharField(_("reason"), max_length=300)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=300, blank=True)
    idempotency_key = models.CharField(max_length=100, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("compensation")
        verbose_name_plural = _("compensations")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_fen__gt=0), name="compensation_amount_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind} {self.amount_fen}"


class CaseTask(models.Model):
    """Follow-up work on a case: the callback (定效), a care package, a thank-you note."""

    class Kind(models.TextChoices):
        CALLBACK = "callback", _("Callback")
        CARE_PACKAGE = "care_package", _("Care package")
        THANK_YOU_NOTE = "thank_you_note", _("Thank-you note")
        ESCALATION_ANSWER = "escalation_answer", _("Answer the escalation")

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=300, blank=True)
    cycle = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("case task")
        verbose_name_plural = _("case tasks")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["case", "kind", "cycle"], name="case_task_once")
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class Solution(models.Model):
    """The solution library: standard answers to frequent problems (quick replies)."""

    title = models.CharField(_("title"), max_length=200)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="solutions"
    )
    body = models.TextField(_("answer"))
    uses = models.PositiveIntegerField(_("times used"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("solution")
        verbose_name_plural = _("solution library")
        ordering = ["-uses", "title"]

    def __str__(self) -> str:
        return self.title


from cxloop.cases.attachment_models import CaseAttachment  # noqa: E402,F401
