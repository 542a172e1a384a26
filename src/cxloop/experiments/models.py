"""A/B tests of two service variants: the experiment and each unit's stored variant.

The unit (a case or a customer) gets its variant once, from a hash of the experiment and the
unit (``services.assign``), and keeps it: the ``Assignment`` row is the record the result reads.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from cxloop.cases.models import Channel


class Experiment(models.Model):
    class Unit(models.TextChoices):
        CASE = "case", _("Case")
        CUSTOMER = "customer", _("Customer")

    class Metric(models.TextChoices):
        CSAT_TOP2 = "csat_top2", _("CSAT top-2-box (%)")
        RESOLVED_FIRST_CONTACT = "resolved_first_contact", _("Resolved at first contact (%)")
        REOPENED = "reopened", _("Reopened (%)")
        CES_MEAN = "ces_mean", _("Mean CES")
        HANDLING_MINUTES = "handling_minutes", _("Handling time (minutes)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        RUNNING = "running", _("Running")
        STOPPED = "stopped", _("Stopped")

    name = models.CharField(_("name"), max_length=120)
    hypothesis = models.TextField(_("hypothesis"), blank=True)
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices, default=Unit.CASE)
    # Population: blank matches anything.
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, blank=True)
    category = models.ForeignKey(
        "cases.Category",
        verbose_name=_("category"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    store = models.CharField(_("store"), max_length=64, blank=True)
    region = models.CharField(_("region"), max_length=64, blank=True)
    variant_a = models.CharField(_("variant A"), max_length=80, default="A")
    variant_a_description = models.TextField(_("variant A description"), blank=True)
    variant_b = models.CharField(_("variant B"), max_length=80, default="B")
    variant_b_description = models.TextField(_("variant B description"), blank=True)
    split_b_percent = models.PositiveSmallIntegerField(_("share of variant B (%)"), default=50)
    metric = models.CharField(_("metric"), max_length=30, choices=Metric.choices)
    # In the metric's display unit: percentage points for rates, the metric's unit for means.
    min_effect = models.FloatField(_("smallest effect worth detecting"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    stopped_at = models.DateTimeField(_("stopped at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("experiment")
        verbose_name_plural = _("experiments")
        ordering = ["-created_at", "-id"]
        # view/add/change come with the model; nothing else is needed.

    def __str__(self) -> str:
        return self.name

    @property
    def is_proportion(self) -> bool:
        return self.metric in PROPORTION_METRICS

    def variant_name(self, variant: str) -> str:
        return self.variant_b if variant == Assignment.Variant.B else self.variant_a

    def variant_description(self, variant: str) -> str:
        if variant == Assignment.Variant.B:
            return self.variant_b_description
        return self.variant_a_description


PROPORTION_METRICS = (
    Experiment.Metric.CSAT_TOP2,
    Experiment.Metric.RESOLVED_FIRST_CONTACT,
    Experiment.Metric.REOPENED,
)


class Assignment(models.Model):
    class Variant(models.TextChoices):
        A = "A", "A"
        B = "B", "B"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    variant = models.CharField(_("variant"), max_length=1, choices=Variant.choices)
    assigned_at = models.DateTimeField(_("assigned at"))

    class Meta:
        verbose_name = _("experiment assignment")
        verbose_name_plural = _("experiment assignments")
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "case"], name="experiment_assignment_case_once"
            ),
            models.UniqueConstraint(
                fields=["experiment", "customer"], name="experiment_assignment_customer_once"
            ),
            models.CheckConstraint(
                condition=models.Q(case__isnull=False, customer__isnull=True)
                | models.Q(case__isnull=True, customer__isnull=False),
                name="experiment_assignment_one_unit",
            ),
        ]
        indexes = [models.Index(fields=["experiment", "variant"])]

    def __str__(self) -> str:
        return f"{self.experiment_id}: {self.case_id or self.customer_id} → {self.variant}"
