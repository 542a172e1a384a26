"""Filters of the segment pages: which tier, stage and order for the list; which month and
direction for the movement report. Bad values re-render the page with the field's message."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.retention.models import Stage, Tier

SORT_CHOICES = [
    ("clv", _("Lifetime value")),
    ("spend", _("Spend")),
    ("recent", _("Most recent order")),
    ("churn_risk", _("Churn risk")),
]
DIRECTION_CHOICES = [
    ("", _("Up and down")),
    ("up", _("Moved up")),
    ("down", _("Moved down")),
    ("first", _("Scored for the first time")),
]


class ScoredCustomerFilterForm(forms.Form):
    tier = forms.ChoiceField(label=_("Tier"), required=False, choices=[("", _("All tiers"))])
    stage = forms.ChoiceField(label=_("Stage"), required=False, choices=[("", _("All stages"))])
    vip = forms.BooleanField(label=_("VIP only"), required=False)
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [("", _("All tiers")), *Tier.choices]
        self.fields["stage"].choices = [("", _("All stages")), *Stage.choices]

    def filters(self) -> dict:
        """The valid filters (everything when the form is invalid: the errors are shown)."""
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "tier": data.get("tier", ""),
            "stage": data.get("stage", ""),
            "vip": bool(data.get("vip")),
            "sort": data.get("sort") or "clv",
        }


class MonthField(forms.CharField):
    """A calendar month typed as YYYY-MM (what <input type="month"> sends)."""

    def to_python(self, value) -> dt.date | None:
        text = super().to_python(value).strip()
        if not text:
            return None
        try:
            return dt.datetime.strptime(text, "%Y-%m").date()
        except ValueError:
            raise forms.ValidationError(_("Enter a month as YYYY-MM, e.g. 2026-06.")) from None


class MoveFilterForm(forms.Form):
    month = MonthField(
        label=_("Month"), required=False, widget=forms.TextInput(attrs={"type": "month"})
    )
    direction = forms.ChoiceField(label=_("Moves"), required=False, choices=DIRECTION_CHOICES)
    tier = forms.ChoiceField(label=_("To tier"), required=False, choices=[("", _("All tiers"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [("", _("All tiers")), *Tier.choices]

    def filters(self) -> dict:
        data = self.cleaned_data if self.is_valid() else {}
        return {
            "month": data.get("month") or timezone.localdate().replace(day=1),
            "direction": data.get("direction", ""),
            "tier": data.get("tier", ""),
        }
