"""Forms for the administration pages: settings, users and roles, audit log filters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from cxloop.core.models import AuditLog
from cxloop.core.roles import ROLE_LABELS
from cxloop.core.settings_registry import SPECS, SettingSpec


def _setting_field(spec: SettingSpec) -> forms.Field:
    common = {"label": spec.label, "help_text": spec.help_text}
    if spec.kind == "bool":
        return forms.BooleanField(required=False, **common)
    if spec.kind == "int":
        return forms.IntegerField(**common)
    if spec.kind == "money":
        # Shown and typed in yuan, stored in fen.
        return forms.DecimalField(min_value=0, decimal_places=2, max_digits=12, **common)
    if spec.kind == "time":
        widget = forms.TextInput(attrs={"type": "time", "pattern": r"[0-2]\d:[0-5]\d"})
        return forms.CharField(max_length=5, widget=widget, **common)
    return forms.CharField(max_length=100, **common)


class SettingsForm(forms.Form):
    """One field per known setting; ``values()`` gives the canonical values to store."""

    def __init__(self, *args, current: dict, **kwargs):
        initial = {spec.key: _to_form(spec, current[spec.key]) for spec in SPECS}
        super().__init__(*args, initial=initial, **kwargs)
        for spec in SPECS:
            self.fields[spec.key] = _setting_field(spec)

    def clean(self):
        cleaned = super().clean()
        for spec in SPECS:
            if spec.key not in cleaned:
                continue  # the field already has its own error
            try:
                cleaned[spec.key] = spec.clean(_from_form(spec, cleaned[spec.key]))
            except forms.ValidationError as error:
                self.add_error(spec.key, error)
        return cleaned

    def values(self) -> dict:
        return {spec.key: self.cleaned_data[spec.key] for spec in SPECS}


def _to_form(spec: SettingSpec, value):
    if spec.kind == "money":
        return (Decimal(value) / 100).quantize(Decimal("0.01"))
    return value


def _from_form(spec: SettingSpec, value):
    if spec.kind == "money":
        return int((value * 100).to_integral_value())
    return value


def _role_choices() -> list[tuple[str, str]]:
    return [(name, label) for name, label in ROLE_LABELS.items()]


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("Email"), required=False)
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=lazy(password_validators_help_text_html, str)(),
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=_role_choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("A user with this name already exists."))
        return username

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password") and "username" in cleaned:
            candidate = get_user_model()(username=cleaned["username"], email=cleaned.get("email"))
            try:
                validate_password(cleaned["password"], user=candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class UserAccessForm(forms.Form):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=_role_choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    active = forms.BooleanField(
        label=_("Active (may sign in)"),
        required=False,
        help_text=_("Deactivated users keep their history but cannot sign in."),
    )


class AuditFilterForm(forms.Form):
    object_type = forms.ChoiceField(label=_("Object type"), required=False)
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, object_types: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("All"))] + [(name, name) for name in object_types]
        self.fields["object_type"].choices = choices

    def filter(self, entries: QuerySet[AuditLog]) -> QuerySet[AuditLog]:
        """Narrow ``entries`` to the valid filters; invalid ones are ignored (and shown)."""
        self.is_valid()  # fills cleaned_data with the fields that are valid
        data = self.cleaned_data
        if data.get("object_type"):
            entries = entries.filter(object_type=data["object_type"])
        if data.get("actor"):
            entries = entries.filter(actor_label__iexact=data["actor"].strip())
        if data.get("date_from"):
            entries = entries.filter(at__gte=_start_of_day(data["date_from"]))
        if data.get("date_to"):
            entries = entries.filter(at__lt=_start_of_day(data["date_to"] + dt.timedelta(days=1)))
        return entries


def _start_of_day(day: dt.date) -> dt.datetime:
    """Midnight in the console's time zone (Asia/Shanghai), so dates mean local days."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))
