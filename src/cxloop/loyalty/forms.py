"""Console forms of the points ledger: adjustments and decisions, earn rules, campaigns and
rewards, and the customer lookup."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cxloop.loyalty.ledger import MAX_POINTS, LoyaltyError
from cxloop.loyalty.models import Campaign, EarnRule, Reward

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def attach_loyalty_error(form: forms.Form, error: LoyaltyError) -> None:
    """Put a ``LoyaltyError`` on ``form``: per field where the form has it, else on top."""
    for name, messages in error.errors.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
    if error.message not in form.non_field_errors():
        form.add_error(None, error.message)


class LookupForm(forms.Form):
    q = forms.CharField(
        label=_("Customer external id or phone"), max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True}),
    )  # fmt: skip


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"), min_value=-MAX_POINTS, max_value=MAX_POINTS,
        help_text=_("Negative to take points away."),
    )  # fmt: skip
    reason = forms.CharField(
        label=_("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
    key = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("Enter a number of points other than 0."))
        return points


class DecideForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=300)


class RedeemForm(forms.Form):
    reward = forms.ModelChoiceField(label=_("Reward"), queryset=Reward.objects.none())
    key = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reward"].queryset = Reward.objects.filter(active=True)


def _none_if_blank(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


class EarnRuleForm(forms.ModelForm):
    class Meta:
        model = EarnRule
        fields = ["name", "level_code", "category", "points_per_yuan", "priority", "active"]
        help_texts = {
            "level_code": _("A member level code, e.g. gold. Empty: any level."),
            "category": _("A product category. Empty: any category."),
            "priority": _("Of the matching rules, the one of highest priority applies."),
        }

    def clean_level_code(self):
        return _none_if_blank(self.cleaned_data.get("level_code"))

    def clean_category(self):
        return _none_if_blank(self.cleaned_data.get("category"))

    def clean_points_per_yuan(self):
        rate = self.cleaned_data["points_per_yuan"]
        if rate < 0:
            raise forms.ValidationError(_("Enter 0 or more."))
        return rate


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["name", "multiplier", "starts_at", "ends_at", "store", "category", "active"]
        widgets = {"starts_at": DATETIME, "ends_at": DATETIME}
        help_texts = {
            "multiplier": _("Points of an order placed while it runs are multiplied by this."),
            "store": _("Empty: every store."),
            "category": _("Empty: every category."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("starts_at", "ends_at"):
            self.fields[name].input_formats = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]

    def clean_multiplier(self):
        multiplier = self.cleaned_data["multiplier"]
        if multiplier <= 0:
            raise forms.ValidationError(_("Enter a multiplier above 0."))
        return multiplier

    def clean(self):
        cleaned = super().clean()
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", _("The end must be after the start."))
        return cleaned


class RewardForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = ["name", "kind", "description", "cost_points", "stock", "active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}
        help_texts = {"stock": _("Empty: unlimited.")}

    def clean_cost_points(self):
        cost = self.cleaned_data["cost_points"]
        if not cost or cost <= 0:
            raise forms.ValidationError(_("Enter a cost of at least 1 point."))
        return cost
