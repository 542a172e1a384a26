"""The profile edit form: the few fields staff may correct by hand (no personal data)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from cxloop.customers.models import Customer
from cxloop.customers.validation import Invalid, parse_tags

EDITABLE_FIELDS = ("tags", "consent_survey", "consent_marketing", "region", "store")


class CustomerEditForm(forms.Form):
    """Phone, email and name are deliberately absent, so masked users never receive them."""

    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=2000,
        help_text=_("Separate tags with commas, e.g. 关注高端款, 偏好性价比"),
    )
    consent_survey = forms.BooleanField(label=_("Consents to surveys"), required=False)
    consent_marketing = forms.BooleanField(label=_("Consents to marketing"), required=False)
    region = forms.CharField(label=_("Region"), required=False, max_length=64)
    store = forms.CharField(label=_("Store"), required=False, max_length=64)

    @classmethod
    def for_customer(cls, customer: Customer, data=None) -> CustomerEditForm:
        initial = {name: getattr(customer, name) for name in EDITABLE_FIELDS}
        initial["tags"] = ", ".join(customer.tags or [])
        return cls(data, initial=initial)

    def clean_tags(self) -> list[str]:
        try:
            return parse_tags(self.cleaned_data["tags"])
        except Invalid as error:
            raise forms.ValidationError(gettext(error.reason)) from None

    def clean_region(self) -> str:
        return self.cleaned_data["region"].strip()

    def clean_store(self) -> str:
        return self.cleaned_data["store"].strip()

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}
