"""The experiment form: reads and type-checks the input; the service decides what is valid."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from cxloop.cases.models import Category, Channel
from cxloop.experiments.models import Experiment

BLANK = [("", _("Any"))]


class ExperimentForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    hypothesis = forms.CharField(
        label=_("Hypothesis"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you expect variant B to change, and why."),
    )  # fmt: skip
    unit = forms.ChoiceField(label=_("Assign by"), choices=Experiment.Unit.choices)
    metric = forms.ChoiceField(label=_("Metric"), choices=Experiment.Metric.choices)
    variant_a = forms.CharField(label=_("Variant A"), max_length=80, initial=_("Standard script"))
    variant_a_description = forms.CharField(
        label=_("What A does"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    variant_b = forms.CharField(label=_("Variant B"), max_length=80, initial=_("Empathy script"))
    variant_b_description = forms.CharField(
        label=_("What B does"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    split_b_percent = forms.IntegerField(
        label=_("Share of variant B (%)"), initial=50, min_value=1, max_value=99
    )
    min_effect = forms.FloatField(
        label=_("Smallest effect worth detecting"), required=False, min_value=0.0001,
        help_text=_("In points for a rate (5 = five percentage points), else in the metric's "
                    "unit. Sets the sample size needed before a verdict."),
    )  # fmt: skip
    channel = forms.ChoiceField(label=_("Channel"), choices=BLANK + Channel.choices, required=False)
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.filter(is_active=True), required=False,
        empty_label=_("Any"),
    )  # fmt: skip
    store = forms.CharField(label=_("Store"), max_length=64, required=False)
    region = forms.CharField(label=_("Region"), max_length=64, required=False)

    @classmethod
    def initial_for(cls, experiment: Experiment) -> dict[str, Any]:
        return {name: getattr(experiment, name) for name in cls.base_fields}

    def service_values(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
