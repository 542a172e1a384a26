"""Trained churn models: one row per training, the newest is the active one.

The model itself is the JSON of ``cxloop.insights.churn.ChurnModel.as_dict``; the columns copy
the figures the model page shows. A refused training (too little history, no signal) is stored
too, so the page can say why nobody is flagged. Imported by ``retention/models.py``.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChurnModelRecord(models.Model):
    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("Weekly")
        MANUAL = "manual", _("On demand")
        DEMO = "demo", _("Demo data")

    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MANUAL)
    trained_at = models.DateTimeField(_("trained at"), default=timezone.now, db_index=True)
    horizon_days = models.PositiveIntegerField(_("horizon (days)"), default=90)
    cutoff_date = models.DateField(_("history up to"), null=True, blank=True)
    train_cutoff_date = models.DateField(_("training cutoff"), null=True, blank=True)
    valid_cutoff_date = models.DateField(_("validation cutoff"), null=True, blank=True)
    model = models.JSONField(_("model"), default=dict, blank=True)
    auc = models.FloatField(_("AUC"), null=True, blank=True)
    auc_ci = models.JSONField(_("AUC interval"), default=list, blank=True)  # [low, high]
    brier = models.FloatField(_("Brier score"), null=True, blank=True)
    brier_reference = models.FloatField(_("Brier score of the base rate"), null=True, blank=True)
    calibration = models.JSONField(_("calibration"), default=list, blank=True)
    base_rate = models.FloatField(_("churn base rate"), null=True, blank=True)
    n_train = models.PositiveIntegerField(_("training customers"), default=0)
    n_valid = models.PositiveIntegerField(_("validation customers"), default=0)
    customers = models.PositiveIntegerField(_("customers in the history"), default=0)
    enough_data = models.BooleanField(_("enough data"), default=False)
    signal = models.BooleanField(_("usable signal"), default=False)
    # Why the model must not be used: English text, and its key/values for translation.
    message = models.TextField(_("message"), blank=True)
    message_code = models.CharField(max_length=60, blank=True)
    message_params = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(_("active"), default=False)
    scored_at = models.DateTimeField(_("last scored at"), null=True, blank=True)
    scored_customers = models.PositiveIntegerField(_("customers scored"), default=0)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("churn model")
        verbose_name_plural = _("churn models")
        ordering = ["-trained_at", "-id"]
        permissions = [("train_churn_model", "Can retrain the churn model")]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=models.Q(is_active=True),
                name="retention_churn_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"churn model {self.trained_at:%Y-%m-%d %H:%M}"

    @property
    def usable(self) -> bool:
        return self.enough_data and self.signal
