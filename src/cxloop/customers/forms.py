"""Forms of the customers app: import upload, column mapping, export options."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.utils.translation import gettext_lazy as _

from cxloop.customers.importing import ALLOWED_SUFFIXES, field_choices, missing_fields
from cxloop.customers.models import ImportJob, Order
from cxloop.customers.validation import FIELD_LABELS, REQUIRED_TARGETS

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"  # an .xlsx file is a zip archive


def required_labels(kind: str) -> list[str]:
    """Labels of the fields every row needs ("Amount" may come in yuan or in fen)."""
    return [str(FIELD_LABELS[sources[0]]) for sources in REQUIRED_TARGETS[kind].values()]


class ImportUploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("The file holds"), choices=ImportJob.Kind.choices)
    file = forms.FileField(label=_("File (.csv or .xlsx, up to 50 MB)"))
    review_mapping = forms.BooleanField(
        label=_("Let me check the column mapping first"), required=False
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = Path(upload.name).suffix.lower()
        if suffix not in ALLOWED_SUFFIXES:
            raise forms.ValidationError(_("Choose a .csv or .xlsx file."))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 50 MB."))
        if upload.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        if suffix == ".xlsx" and not _starts_with(upload, XLSX_MAGIC):
            raise forms.ValidationError(_("The file is not a valid Excel (.xlsx) workbook."))
        return upload


def _starts_with(upload, magic: bytes) -> bool:
    upload.seek(0)
    head = upload.read(len(magic))
    upload.seek(0)
    return head == magic


class ImportMappingForm(forms.Form):
    """Step two of an upload: one select per column of the file, pre-set to what we detected."""

    token = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, kind: str, headers: list[str], detected: dict[str, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.headers = headers
        choices = [("", _("(ignore this column)"))] + [
            (name, FIELD_LABELS.get(name, name)) for name in field_choices(kind)
        ]
        for index, header in enumerate(headers):
            self.fields[f"column_{index}"] = forms.ChoiceField(
                label=header or _("(no header)"),
                choices=choices,
                required=False,
                initial=detected.get(header, ""),
            )

    def column_fields(self):
        return [self[f"column_{index}"] for index in range(len(self.headers))]

    def mapping(self) -> dict[str, str]:
        """header → field ("" for ignored columns), for ``start_import``."""
        return {
            header: self.cleaned_data.get(f"column_{index}", "")
            for index, header in enumerate(self.headers)
            if header
        }

    def clean(self):
        cleaned = super().clean()
        chosen = [value for key, value in cleaned.items() if key.startswith("column_") and value]
        if len(chosen) != len(set(chosen)):
            raise forms.ValidationError(_("Each field can be chosen for one column only."))
        missing = missing_fields(self.kind, self.mapping())
        if missing:
            labels = ", ".join(str(FIELD_LABELS.get(name, name)) for name in missing)
            raise forms.ValidationError(
                _("Choose a column for: %(fields)s."), params={"fields": labels}
            )
        return cleaned


class ExportForm(forms.Form):
    kind = forms.ChoiceField(choices=ImportJob.Kind.choices)
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (.xlsx)")], required=False)
    region = forms.CharField(max_length=64, required=False)
    store = forms.CharField(max_length=64, required=False)
    channel = forms.ChoiceField(choices=[("", "")] + Order.Channel.choices, required=False)
    status = forms.ChoiceField(choices=[("", "")] + Order.Status.choices, required=False)
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)

    def filters(self) -> dict:
        names = ("region", "store", "channel", "status", "date_from", "date_to")
        return {name: self.cleaned_data[name] for name in names if self.cleaned_data.get(name)}
