"""Console forms of the levels programme: a level, the programme settings, a stars ladder."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from cxloop.cases.forms import AmountField
from cxloop.core.money import format_fen
from cxloop.loyalty.level_models import Level, ProgramSettings, StarsProgram
from cxloop.loyalty.stars import clean_thresholds

MAX_BENEFITS = 20
STEP_RE = re.compile(r"^\s*(\d+)\s*[:：]\s*(\d+)\s*(?:[:：]\s*(.*?))?\s*$")
MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


class LevelForm(forms.ModelForm):
    min_spend = AmountField(
        label=_("Minimum rolling spend (¥)"), required=True,
        help_text=_("Spend on completed orders over the window that reaches this level."),
    )  # fmt: skip
    benefits_text = forms.CharField(
        label=_("Benefits"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line, as members read them."),
    )  # fmt: skip

    class Meta:
        model = Level
        fields = ["code", "name", "rank", "window_months", "price_percent", "free_after_sales",
                  "is_active"]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window_months"].min_value = 1
        self.fields["window_months"].widget.attrs.update(min=1, max=60)
        self.fields["price_percent"].widget.attrs.update(min=1, max=100)
        if self.instance.pk:
            self.initial["min_spend"] = format_fen(self.instance.min_spend_fen).lstrip("¥")
            self.initial["benefits_text"] = "\n".join(self.instance.benefits or [])

    def clean_window_months(self) -> int:
        value = self.cleaned_data["window_months"]
        if not 1 <= value <= 60:
            raise ValidationError(_("Enter 1 to 60 months."))
        return value

    def clean_price_percent(self) -> int:
        value = self.cleaned_data["price_percent"]
        if not 1 <= value <= 100:
            raise ValidationError(_("Enter 1 to 100 (100 means no discount)."))
        return value

    def clean_benefits_text(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["benefits_text"].splitlines()]
        lines = [line for line in lines if line]
        if len(lines) > MAX_BENEFITS or any(len(line) > 100 for line in lines):
            raise ValidationError(_("At most 20 benefits of 100 characters each."))
        return lines

    def changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["min_spend_fen"] = self.cleaned_data["min_spend"]
        data["benefits"] = self.cleaned_data["benefits_text"]
        return data


class ProgramSettingsForm(forms.ModelForm):
    class Meta:
        model = ProgramSettings
        fields = ["downgrade_grace_days", "long_term_years", "referral_inviter_points",
                  "referral_invitee_points", "referral_monthly_limit"]  # fmt: skip

    def clean_long_term_years(self) -> int:
        value = self.cleaned_data["long_term_years"]
        if not 1 <= value <= 50:
            raise ValidationError(_("Enter 1 to 50 years."))
        return value

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class StarsProgramForm(forms.ModelForm):
    month_text = forms.CharField(
        label=_("Month"), required=False, max_length=7,
        help_text=_("YYYY-MM; leave empty for the default ladder of every other month."),
    )  # fmt: skip
    steps_text = forms.CharField(
        label=_("Steps"), widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One step per line: stars:points or stars:points:reward, e.g. 3:50."),
    )  # fmt: skip

    class Meta:
        model = StarsProgram
        fields = ["name", "stars_per_order", "stars_per_survey", "stars_per_review", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        program = self.instance
        if program.pk:
            self.initial["month_text"] = f"{program.month:%Y-%m}" if program.month else ""
            self.initial["steps_text"] = "\n".join(
                ":".join(str(v) for v in (s["stars"], s["points"], s.get("reward")) if v != "")
                for s in program.thresholds or []
            )

    def clean_month_text(self) -> dt.date | None:
        text = self.cleaned_data["month_text"].strip()
        if not text:
            return None
        match = MONTH_RE.match(text)
        if match is None or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
            raise ValidationError(_("Enter a month as YYYY-MM, e.g. 2026-03."))
        month = dt.date(int(match.group(1)), int(match.group(2)), 1)
        others = StarsProgram.objects.filter(month=month).exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("This month already has its own ladder."))
        return month

    def clean_steps_text(self) -> list[dict]:
        steps = []
        for line in self.cleaned_data["steps_text"].splitlines():
            if not line.strip():
                continue
            match = STEP_RE.match(line)
            if match is None:
                raise ValidationError(_("Write each step as stars:points[:reward], e.g. 3:50."))
            stars, points, reward = match.groups()
            steps.append({"stars": int(stars), "points": int(points), "reward": reward or ""})
        if not steps:
            raise ValidationError(_("Give at least one step."))
        return clean_thresholds(steps)

    def clean(self):
        data = super().clean()
        if "month_text" in data and data["month_text"] is None:
            default = StarsProgram.objects.filter(is_default=True).exclude(pk=self.instance.pk)
            if default.exists():
                self.add_error("month_text", _("There is already a default ladder."))
        return data

    def changes(self) -> dict:
        data = {name: self.cleaned_data[name] for name in self.Meta.fields}
        data["month"] = self.cleaned_data["month_text"]
        data["thresholds"] = self.cleaned_data["steps_text"]
        return data
