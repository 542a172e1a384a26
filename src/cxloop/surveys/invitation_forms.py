"""Console forms for triggers and sample campaigns."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from cxloop.core.events import EVENT_TYPE_PATTERN, KNOWN_EVENT_TYPES
from cxloop.surveys.models import Invitation, Survey, Trigger
from cxloop.surveys.sampling import DEFAULT_QUOTAS, GROUP_LABELS, MAX_QUOTA
from cxloop.surveys.triggers import TRIGGER_FIELDS

Channel = Invitation.Channel
MESSAGE_CHANNELS = [(c.value, c.label) for c in (Channel.SMS, Channel.WECHAT, Channel.EMAIL)]
MAX_DELAY_MINUTES = 365 * 24 * 60


class TriggerForm(forms.ModelForm):
    channel = forms.ChoiceField(label=_("channel"), choices=MESSAGE_CHANNELS)

    class Meta:
        model = Trigger
        fields = TRIGGER_FIELDS  # the fields the audited trigger services write
        help_texts = {
            "event_type": _("For event triggers, e.g. order.delivered."),
            "delay_minutes": _(
                "After the event, or after registration for “registered without an order” "
                "(7 days = 10080)."
            ),
            "every_days": _("Periodic triggers: e.g. 90."),
            "active_within_days": _("Periodic triggers: customers with an order in this time."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        examples = ", ".join(sorted(KNOWN_EVENT_TYPES))
        self.fields["event_type"].widget.attrs["placeholder"] = "order.delivered"
        self.fields["event_type"].widget.attrs["title"] = examples

    def clean(self):
        data = super().clean()
        kind, event_type = data.get("kind"), (data.get("event_type") or "").strip()
        if kind == Trigger.Kind.EVENT and not re.match(EVENT_TYPE_PATTERN, event_type):
            self.add_error("event_type", _("Use the form namespace.action, e.g. order.delivered."))
        if kind == Trigger.Kind.PERIODIC and not data.get("every_days"):
            self.add_error("every_days", _("Say how often the survey goes out."))
        if (data.get("delay_minutes") or 0) > MAX_DELAY_MINUTES:
            self.add_error("delay_minutes", _("At most one year."))
        if (data.get("expire_after_hours") or 0) < 1:
            self.add_error("expire_after_hours", _("At least one hour."))
        data["event_type"] = event_type if kind == Trigger.Kind.EVENT else ""
        return data


class SampleForm(forms.Form):
    channel = forms.ChoiceField(label=_("channel"), choices=MESSAGE_CHANNELS)

    def __init__(self, *args, survey: Survey, **kwargs):
        super().__init__(*args, **kwargs)
        self.survey = survey
        for group, label in GROUP_LABELS.items():
            self.fields[group] = forms.IntegerField(
                label=label, min_value=0, max_value=MAX_QUOTA, initial=DEFAULT_QUOTAS[group]
            )

    def clean(self):
        data = super().clean()
        if self.survey.status != Survey.Status.ACTIVE:
            raise forms.ValidationError(_("Publish the survey before inviting customers."))
        if not any(data.get(group) for group in GROUP_LABELS):
            raise forms.ValidationError(_("Give at least one group a quota."))
        return data

    @property
    def quotas(self) -> dict[str, int]:
        return {group: self.cleaned_data[group] for group in GROUP_LABELS}
