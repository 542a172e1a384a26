"""Console forms for cases: the new-case form, the detail editor and one small form per action.

The forms only read and tidy the input; the services (``services.py``, ``lifecycle.py``) do
the real validation and raise ``CaseError``, whose ``field_errors`` ``attach_case_error`` puts
on the matching form fields so the form re-renders with every message where it belongs.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from cxloop.cases import attachments
from cxloop.cases.models import Category, Channel, Department, Severity, Solution, Tier
from cxloop.cases.services import CaseError
from cxloop.core.money import yuan_to_fen
from cxloop.customers.models import Customer
from cxloop.customers.validation import Invalid, parse_phone

# Service field name → form field name, where they differ.
FIELD_ALIASES = {"amount_fen": "amount", "customer": "customer_ref"}


def attach_case_error(form: forms.Form, error: CaseError) -> None:
    """Put a ``CaseError`` on ``form``: per field where the form has the field, else on top."""
    for name, messages in error.field_errors.items():
        field = FIELD_ALIASES.get(name, name)
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
    if error.message not in form.non_field_errors():
        form.add_error(None, error.message)


def _text(label, *, required=False, max_length=200, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=required, max_length=max_length, **kwargs)


def _area(label, *, required=True, rows=4, max_length=10_000) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        strip=True,
        widget=forms.Textarea(attrs={"rows": rows}),
    )


class AmountField(forms.CharField):
    """An amount in yuan ("128.50", "¥1,280") cleaned to integer fen; blank is 0."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)

    def clean(self, value) -> int:
        text = super().clean(value)
        if not text:
            return 0
        try:
            fen = yuan_to_fen(text)
        except ValueError:
            raise forms.ValidationError(_("Enter an amount in yuan, e.g. 128.50.")) from None
        if fen < 0:
            raise forms.ValidationError(_("The amount cannot be negative."))
        return fen


def _category_field() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.filter(is_active=True).order_by("code"),
        required=False,
        empty_label=_("— not classified —"),
    )


class CaseDetailsForm(forms.Form):
    """The fields a staff member enters or corrects on a case."""

    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)
    category = _category_field()
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    subject = _text(_("Subject"), help_text=_("A few words; taken from the description if blank."))
    description = _area(_("Description"), required=False, rows=5)
    amount = AmountField(label=_("Amount involved (¥)"))
    media_risk = forms.BooleanField(label=_("Risk of media exposure"), required=False)
    contact_name = _text(_("Contact name"), max_length=100)
    contact_phone = _text(_("Contact phone"), max_length=32)
    contact_email = _text(_("Contact email"), max_length=254)
    region = _text(_("Region"), max_length=64)
    store = _text(_("Store"), max_length=64)
    order_ref = _text(_("Order number"), max_length=64)

    def service_fields(self) -> dict[str, Any]:
        """Cleaned data under the services' argument names."""
        data = dict(self.cleaned_data)
        data["amount_fen"] = data.pop("amount", 0)
        data.pop("customer_ref", None)
        return data


# --- attachments ----------------------------------------------------------------------------

ACCEPT = (
    "image/jpeg,image/png,image/gif,image/webp,image/heic,.heic,.heif,"
    "application/pdf,text/plain,.txt,.log"
)  # a hint for the file picker; attachments.inspect_file decides


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input, each checked by ``attachments.check_files`` (every
    problem one message). ``max_files`` caps one submission; ``case`` counts its files."""

    def __init__(self, *, max_files: int | None = None, **kwargs):
        self.max_files = max_files
        self.case = None
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ACCEPT}))
        super().__init__(**kwargs)

    def clean(self, data, initial=None) -> list:
        files = [f for f in (data if isinstance(data, list | tuple) else [data]) if f]
        if not files:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return []
        errors = attachments.check_files(files, case=self.case, at_once=self.max_files)
        if errors:
            raise forms.ValidationError(errors)
        return files


def _attachments_help() -> str:
    return _("Photos, screenshots, PDF or text files, up to %(mb)s MB each.") % {
        "mb": settings.CXLOOP_ATTACHMENT_MAX_MB
    }


class AttachmentForm(forms.Form):
    """The upload form of the case page."""

    files = AttachmentsField(label=_("Attach files"), required=True)

    def __init__(self, *args, case, **kwargs):
        super().__init__(*args, prefix="attach", **kwargs)
        self.fields["files"].case = case
        self.fields["files"].help_text = _attachments_help()


class NewCaseForm(CaseDetailsForm):
    """Staff entry of a case: the customer by number or phone, or free contact fields."""

    customer_ref = _text(
        _("Customer"),
        max_length=64,
        help_text=_("Customer number or mobile number; leave blank for an anonymous contact."),
    )
    attachments = AttachmentsField(label=_("Attachments"))
    field_order = ["channel", "customer_ref", "contact_name", "contact_phone", "contact_email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].initial = Channel.HOTLINE
        self.fields["attachments"].help_text = _attachments_help()
        self.customer: Customer | None = None

    def clean_customer_ref(self) -> str:
        ref = self.cleaned_data["customer_ref"]
        if ref:
            self.customer = find_customer(ref)
        return ref

    def service_fields(self) -> dict[str, Any]:
        fields = super().service_fields() | {"customer": self.customer}
        fields.pop("attachments", None)  # stored by attachments.open_case_with_files
        return fields


def find_customer(ref: str) -> Customer:
    """The customer with this customer number, else with this (whole) mobile number."""
    found = Customer.objects.filter(external_id=ref).first()
    if found is not None:
        return found
    with contextlib.suppress(Invalid):
        matches = list(Customer.objects.filter(phone=parse_phone(ref)).order_by("id")[:2])
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise forms.ValidationError(
                _("Several customers have this phone number; enter the customer number.")
            )
    raise forms.ValidationError(_("No customer with this customer number or phone number."))


class EditCaseForm(CaseDetailsForm):
    """Correct the details of a case; contact fields only for roles that see personal data."""

    tier = forms.ChoiceField(label=_("Customer tier"), choices=Tier.choices)

    @classmethod
    def for_case(cls, case, data=None, *, show_pii: bool):
        initial = {name: getattr(case, name) for name in cls.base_fields if hasattr(case, name)}
        initial["amount"] = f"{case.amount_fen / 100:.2f}" if case.amount_fen else ""
        initial["category"] = case.category_id
        form = cls(data, initial=initial, prefix="edit")
        if not show_pii:
            del form.fields["contact_phone"], form.fields["contact_email"]
        return form


# --- actions --------------------------------------------------------------------------------


class ReplyForm(forms.Form):
    body = _area(_("Reply to the customer"), rows=5)
    solution = forms.ModelChoiceField(
        queryset=Solution.objects.filter(is_active=True), required=False, widget=forms.HiddenInput
    )


class NoteForm(forms.Form):
    body = _area(_("Internal note"), rows=3)


class WaitForm(forms.Form):
    body = _area(_("What are you waiting for?"), required=False, rows=2)


class ResumeForm(forms.Form):
    body = _area(_("Note"), required=False, rows=2)


class ResolveForm(forms.Form):
    resolution = _area(_("How was it solved?"), rows=4)


class CallbackForm(forms.Form):
    satisfied = forms.TypedChoiceField(
        label=_("Is the customer satisfied with the result?"),
        choices=[("yes", _("Yes, satisfied")), ("no", _("No, not solved"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    note = _area(_("Callback note"), required=False, rows=2, max_length=300)


class CloseForm(forms.Form):
    pass


class ReasonForm(forms.Form):
    reason = _area(_("Reason"), rows=2, max_length=2000)


class MergeForm(forms.Form):
    number = _text(_("Merge into case number"), required=True, max_length=20)


class AssignForm(forms.Form):
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=None, required=False)
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        required=False,
    )
    reason = _text(_("Why (optional)"), max_length=200)

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners

    def clean(self):
        data = super().clean()
        if not data.get("owner") and not data.get("department"):
            raise forms.ValidationError(_("Choose an owner or a department."))
        return data


class BulkAssignForm(forms.Form):
    cases = forms.TypedMultipleChoiceField(
        label=_("Cases"), coerce=int, choices=(), error_messages={"required": _("Tick cases.")}
    )
    owner = forms.ModelChoiceField(label=_("Assign to"), queryset=None)

    def __init__(self, *args, owners, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = owners
        given = self.data.getlist("cases") if hasattr(self.data, "getlist") else []
        self.fields["cases"].choices = [(v, v) for v in given if str(v).isdigit()]
