"""Forms of the programs pages: the public idea form, console filters and actions, audit
templates (items one per line) and the phone-first audit entry form."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxloop.customers.validation import Invalid, parse_email, parse_phone
from cxloop.programs.models import AuditTemplate, Idea, ImprovementAction
from cxloop.surveys.text import SENTIMENT_BANDS, aspect_labels

WEEK = re.compile(r"^\d{4}-W\d{2}$")


def _blank(choices) -> list:
    return [("", gettext_lazy("All")), *choices]


class PublicIdeaForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Your idea in one line"), max_length=200)
    body = forms.CharField(
        label=gettext_lazy("Tell us more"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    store = forms.CharField(label=gettext_lazy("Store (if any)"), max_length=64, required=False)
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=100, required=False)
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"),
        max_length=32,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.CharField(
        label=gettext_lazy("Email"),
        max_length=254,
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    website = forms.CharField(required=False, label=gettext_lazy("Leave this field empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    def clean_phone(self) -> str:
        return _contact(parse_phone, self.cleaned_data.get("phone", ""))

    def clean_email(self) -> str:
        return _contact(parse_email, self.cleaned_data.get("email", ""))

    def clean_body(self) -> str:
        text = self.cleaned_data.get("body", "").strip()
        if len(text) < 5:
            raise forms.ValidationError(_("Please tell us a little more (at least 5 characters)."))
        return text


def _contact(parse, value: str) -> str:
    if not value.strip():
        return ""
    try:
        return parse(value)
    except Invalid as bad:
        raise forms.ValidationError(_(bad.reason)) from None


class StaffIdeaForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    body = forms.CharField(label=gettext_lazy("Idea"), max_length=2000, widget=forms.Textarea)
    store = forms.CharField(label=gettext_lazy("Store"), max_length=64, required=False)


class IdeaFilters(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), required=False, choices=_blank(Idea.Status.choices)
    )
    sentiment = forms.ChoiceField(
        label=gettext_lazy("Sentiment"), required=False, choices=_blank(SENTIMENT_BANDS.items())
    )
    aspect = forms.ChoiceField(label=gettext_lazy("Aspect"), required=False)
    store = forms.CharField(label=gettext_lazy("Store"), max_length=64, required=False)
    week = forms.CharField(
        label=gettext_lazy("Best of week"),
        max_length=8,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "2026-W49"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["aspect"].choices = _blank(aspect_labels().items())

    def clean_week(self) -> str:
        week = self.cleaned_data.get("week", "").strip()
        if week and not WEEK.match(week):
            raise forms.ValidationError(_("Write the week as 2026-W49."))
        return week

    def clean_store(self) -> str:
        store = self.cleaned_data.get("store", "").strip()
        if "\x00" in store:
            raise forms.ValidationError(_("Contains a NUL character."))
        return store

    def filters(self) -> dict:
        if not self.is_bound or not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v}


class NoteForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), max_length=500, required=False)


def _staff():
    return get_user_model().objects.filter(is_active=True).order_by("username")


class AdoptForm(NoteForm):
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=None, required=False)
    due_date = forms.DateField(
        label=gettext_lazy("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _staff()


NEW_ACTION_SOURCES = (ImprovementAction.Source.MANUAL, ImprovementAction.Source.CLUSTER)


class ActionForm(forms.Form):
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    description = forms.CharField(
        label=gettext_lazy("Description"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    store = forms.CharField(label=gettext_lazy("Store"), max_length=64, required=False)
    owner = forms.ModelChoiceField(label=gettext_lazy("Owner"), queryset=None, required=False)
    due_date = forms.DateField(
        label=gettext_lazy("Due date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"), choices=ImprovementAction.Status.choices
    )
    # Where a new action came from: typed in, or started from a low-score cluster's finding.
    source_kind = forms.ChoiceField(
        required=False,
        widget=forms.HiddenInput,
        choices=[(source, source) for source in NEW_ACTION_SOURCES],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _staff()


class ActionFilters(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        required=False,
        choices=_blank(ImprovementAction.Status.choices),
    )
    source = forms.ChoiceField(
        label=gettext_lazy("Source"),
        required=False,
        choices=_blank(ImprovementAction.Source.choices),
    )
    store = forms.CharField(label=gettext_lazy("Store"), max_length=64, required=False)

    filters = IdeaFilters.filters
    clean_store = IdeaFilters.clean_store


LINE = re.compile(r"^(?P<text>.+?)(?:\s*\|\s*(?P<weight>\d{1,3}))?(?:\s*\|\s*(?P<max>\d{1,3}))?$")


class TemplateForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    touchpoint = forms.ChoiceField(
        label=gettext_lazy("Touchpoint"), choices=AuditTemplate.Touchpoint.choices
    )
    store = forms.CharField(
        label=gettext_lazy("Store"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Empty: for every store."),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    items = forms.CharField(
        label=gettext_lazy("Checklist items"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 10}),
        help_text=gettext_lazy(
            "One item per line: text | weight | max score, "
            "e.g. 进门三秒内问候 | 2 | 5. Weight and max score default to 1 and 5."
        ),
    )

    def clean_items(self) -> list[dict]:
        items = []
        for line in self.cleaned_data["items"].splitlines():
            if line.strip():
                match = LINE.match(line.strip())
                items.append(
                    {
                        "text": match["text"].strip(),
                        "weight": int(match["weight"] or 1),
                        "max_score": int(match["max"] or 5),
                    }
                )
        return items

    @staticmethod
    def initial_for(template: AuditTemplate) -> dict:
        lines = [
            f"{i.text} | {i.weight} | {i.max_score}" for i in template.items.filter(is_active=True)
        ]
        return {
            "name": template.name,
            "touchpoint": template.touchpoint,
            "store": template.store,
            "is_active": template.is_active,
            "items": "\n".join(lines),
        }


class AuditEntryForm(forms.Form):
    """Store, visit, and per active item a score select and a comment (``item_<id>``)."""

    store = forms.CharField(label=gettext_lazy("Store"), max_length=64)
    visited_at = forms.DateTimeField(
        label=gettext_lazy("Visited at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    shopper_name = forms.CharField(label=gettext_lazy("Shopper"), max_length=100, required=False)
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, template: AuditTemplate, **kwargs):
        super().__init__(*args, **kwargs)
        self.template = template
        self.items = list(template.items.filter(is_active=True))
        if template.store:
            self.fields["store"].initial = template.store
        self.fields["visited_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        for item in self.items:
            choices = [("", "—")] + [(str(n), str(n)) for n in range(item.max_score, -1, -1)]
            self.fields[f"item_{item.pk}"] = forms.ChoiceField(label=item.text, choices=choices)
            self.fields[f"comment_{item.pk}"] = forms.CharField(
                label=gettext_lazy("Comment"), max_length=500, required=False
            )

    def rows(self) -> list[dict]:
        return [
            {"item": item, "score": self[f"item_{item.pk}"], "comment": self[f"comment_{item.pk}"]}
            for item in self.items
        ]

    def scores(self) -> dict[int, dict]:
        data = self.cleaned_data
        return {
            item.pk: {
                "score": int(data[f"item_{item.pk}"]),
                "comment": data.get(f"comment_{item.pk}", ""),
            }
            for item in self.items
        }
