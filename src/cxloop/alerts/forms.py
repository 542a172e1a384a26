from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cxloop.alerts.models import Alert, AlertRule, Metric, Subscription


class AlertFilters(forms.Form):
    metric = forms.ChoiceField(
        label=_("Metric"), required=False, choices=[("", _("All"))] + Metric.choices
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + Alert.Status.choices
    )
    place = forms.CharField(label=_("Place"), required=False, max_length=64)

    def filters(self) -> dict:
        """The valid filters (an invalid one is dropped and shown with its error)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or "" for name in ("metric", "status", "place")}


class AcknowledgeForm(forms.Form):
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RuleForm(forms.ModelForm):
    class Meta:
        model = AlertRule
        fields = ["min_sample", "lam", "limit", "direction", "active"]

    def clean_lam(self):
        lam = self.cleaned_data["lam"]
        if not 0 < lam <= 1:
            raise forms.ValidationError(_("Must be more than 0 and at most 1."))
        return lam

    def clean_limit(self):
        limit = self.cleaned_data["limit"]
        if not 0.5 <= limit <= 10:
            raise forms.ValidationError(_("Must be between 0.5 and 10."))
        return limit

    def clean_min_sample(self):
        value = self.cleaned_data["min_sample"]
        if value < 1:
            raise forms.ValidationError(_("Must be at least 1."))
        return value


class SubscriptionForm(forms.ModelForm):
    class Meta:
        model = Subscription
        fields = ["metric", "dimension", "place", "channel"]
        labels = {"metric": _("Metric (blank: all)"), "dimension": _("Dimension (blank: all)"),
                  "place": _("Place (blank: all)")}  # fmt: skip
