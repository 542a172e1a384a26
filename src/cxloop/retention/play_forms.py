"""The console form of a retention play."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from cxloop.retention.models import Stage, Tier
from cxloop.retention.play_models import PlayChannel, PlayKind, RetentionPlay

FIELDS = (
    "name", "kind", "tier", "stage", "min_churn_risk", "channel", "subject", "message",
    "assignee", "task_due_days", "gift_points", "cap_days", "holdout_percent", "measure_days",
    "is_active",
)  # fmt: skip


class PlayForm(forms.ModelForm):
    tier = forms.ChoiceField(
        label=_("Tier"), required=False, choices=[("", _("Any"))] + list(Tier.choices)
    )
    stage = forms.ChoiceField(
        label=_("Life-cycle stage"), required=False, choices=[("", _("Any"))] + list(Stage.choices)
    )

    class Meta:
        model = RetentionPlay
        fields = FIELDS
        widgets = {"message": forms.Textarea(attrs={"rows": 4})}
        help_texts = {
            "message": _("{name} is replaced by the customer's name."),
            "min_churn_risk": _("0 to 1, e.g. 0.6. Customers matching any condition set qualify."),
            "holdout_percent": _("Customers left out on purpose, to measure the effect."),
            "measure_days": _("A customer counts as won back on an order within these days."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = get_user_model().objects.filter(is_active=True)

    def clean(self):
        data = super().clean()
        if not (data.get("tier") or data.get("stage") or data.get("min_churn_risk") is not None):
            self.add_error("tier", _("Set a tier, a life-cycle stage or a churn risk."))
        if data.get("channel") and not (data.get("message") or "").strip():
            self.add_error("message", _("Write the message the channel sends."))
        kind = data.get("kind")
        if kind == PlayKind.ACCOUNT_MANAGER and not data.get("assignee"):
            self.add_error("assignee", _("Name the account manager."))
        if kind in (PlayKind.PERSONAL_OFFER, PlayKind.COMMUNITY_BENEFIT) and not data.get(
            "channel"
        ):
            self.add_error("channel", _("An offer or benefit needs a message channel."))
        if data.get("channel") not in (None, "", *PlayChannel.values):
            self.add_error("channel", _("Choose a channel."))
        return data
