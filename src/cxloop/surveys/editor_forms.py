"""Forms of the survey editor: each turns its input into a changed survey definition.

Texts are edited in the survey's language; when a stored text is a translation object
(``{"zh-hans": …, "en": …}``) only that language's entry changes and the others are kept.
Validation of the whole definition stays with ``definition.parse_definition`` (through
``services.update_draft``); these forms only check what a single field can know on its own.
"""

from __future__ import annotations

import json

from django import forms
from django.core.validators import RegexValidator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from cxloop.surveys.editor_ops import merge_text, parse_lines, parse_pairs, text_in
from cxloop.surveys.logic import ConditionError, compile_condition

MAX_IMPORT_BYTES = 1024 * 1024

TYPE_LABELS = {
    "single": _("Single choice"),
    "multiple": _("Multiple choice"),
    "rating": _("Rating scale"),
    "nps": _("Likelihood to recommend (0–10)"),
    "effort": _("Customer effort"),
    "text": _("Open text"),
    "matrix": _("Rating matrix"),
    "kano": _("KANO pair"),
}

# The headline role each type may feed (docs/survey-format.md, "role").
ROLE_FOR_TYPE = {"nps": "nps", "rating": "csat", "effort": "ces", "matrix": "csi"}
ROLE_LABELS = {"nps": _("NPS"), "csat": _("CSAT"), "ces": _("CES"), "csi": _("CSI")}

FIELDS_BY_TYPE = {
    "single": ("text", "options"),
    "multiple": ("text", "options", "max_choices"),
    "rating": ("text", "scale", "labels", "role"),
    "nps": ("text", "role"),
    "effort": ("text", "scale", "labels", "role"),
    "text": ("text", "max_length"),
    "matrix": ("text", "rows", "scale", "labels", "role"),
    "kano": ("feature", "functional", "dysfunctional"),
}
COMMON_FIELDS = ("key", "required", "show_if")
KANO_TEXTS = ("feature", "functional", "dysfunctional")


def _lines_widget() -> forms.Textarea:
    return forms.Textarea(attrs={"rows": 4, "spellcheck": "false"})


class SurveySettingsForm(forms.Form):
    """Title, intro page (purpose, privacy promise, minutes) and closing page."""

    title = forms.CharField(label=_("Title"), max_length=200)
    purpose = forms.CharField(
        label=_("Purpose"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    privacy = forms.CharField(
        label=_("Privacy promise"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    minutes = forms.IntegerField(
        label=_("Promised minutes"), required=False, min_value=1, max_value=120
    )
    thanks = forms.CharField(
        label=_("Thank-you text"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    incentive = forms.CharField(
        label=_("Incentive text"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    @classmethod
    def for_definition(cls, definition: dict, language: str, data=None):
        intro = definition.get("intro") or {}
        closing = definition.get("closing") or {}
        initial = {
            "title": text_in(definition.get("title"), language),
            "purpose": text_in(intro.get("purpose"), language),
            "privacy": text_in(intro.get("privacy"), language),
            "minutes": intro.get("minutes"),
            "thanks": text_in(closing.get("thanks"), language),
            "incentive": text_in(closing.get("incentive"), language),
        }
        return cls(data=data, initial=initial, prefix="settings")

    def apply(self, definition: dict, language: str) -> dict:
        data = self.cleaned_data
        changed = dict(definition)
        changed["title"] = merge_text(definition.get("title"), data["title"], language)
        intro = dict(definition.get("intro") or {})
        for name in ("purpose", "privacy"):
            _set_text(intro, name, data[name], language)
        _set_value(intro, "minutes", data["minutes"])
        closing = dict(definition.get("closing") or {})
        for name in ("thanks", "incentive"):
            _set_text(closing, name, data[name], language)
        changed["intro"], changed["closing"] = intro, closing
        return changed


def _set_text(target: dict, name: str, text: str, language: str) -> None:
    if text:
        target[name] = merge_text(target.get(name), text, language)
    else:
        target.pop(name, None)


def _set_value(target: dict, name: str, value) -> None:
    if value in (None, ""):
        target.pop(name, None)
    else:
        target[name] = value


class QuestionForm(forms.Form):
    """Edit one question; only the fields of its type are kept (FIELDS_BY_TYPE)."""

    key = forms.CharField(
        label=_("Key"),
        max_length=40,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]*$",
                _("Lower-case letters, digits and _, starting with a letter."),
            )
        ],
        help_text=_("Used in conditions and exports."),
    )
    text = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 2}))
    required = forms.BooleanField(label=_("Required"), required=False)
    options = forms.CharField(
        label=_("Options"),
        widget=_lines_widget(),
        help_text=_("One per line: value|label"),
    )
    max_choices = forms.IntegerField(
        label=_("At most this many choices"), required=False, min_value=1, max_value=50
    )
    scale = forms.IntegerField(label=_("Scale points"), min_value=2, max_value=10)
    labels = forms.CharField(
        label=_("Scale labels"),
        required=False,
        widget=_lines_widget(),
        help_text=_("One per line, from lowest to highest."),
    )
    rows = forms.CharField(
        label=_("Rows"), widget=_lines_widget(), help_text=_("One per line: key|label")
    )
    feature = forms.CharField(label=_("Feature"), max_length=200)
    functional = forms.CharField(label=_("If the feature is offered…"), max_length=500)
    dysfunctional = forms.CharField(label=_("If the feature is not offered…"), max_length=500)
    max_length = forms.IntegerField(
        label=_("Maximum length"), required=False, min_value=1, max_value=10000
    )
    role = forms.ChoiceField(label=_("Headline score"), required=False)
    show_if = forms.CharField(
        label=_("Show only if"),
        required=False,
        max_length=1000,
        help_text=_('Optional, e.g. nps <= 6 or "物流" in reasons'),
    )

    def __init__(self, *args, question: dict, language: str, condition_url: str = "", **kwargs):
        self.question = question
        self.language = language
        self.qtype = question.get("type", "")
        kwargs.setdefault("initial", _question_initial(question, language))
        kwargs.setdefault("prefix", f"q-{question.get('key', '')}")
        super().__init__(*args, **kwargs)
        keep = COMMON_FIELDS + FIELDS_BY_TYPE.get(self.qtype, ("text",))
        for name in list(self.fields):
            if name not in keep:
                del self.fields[name]
        if "role" in self.fields:
            role = ROLE_FOR_TYPE[self.qtype]
            self.fields["role"].choices = [("", _("None")), (role, ROLE_LABELS[role])]
        if condition_url:
            self._wire_condition_check(condition_url)

    def _wire_condition_check(self, url: str) -> None:
        """Check ``show_if`` as it is typed (htmx GET); the result goes next to the help text."""
        status_id = f"{self.prefix}-condition-status"
        field = self.fields["show_if"]
        field.widget.attrs.update(
            {
                "hx-get": url,
                "hx-trigger": "input changed delay:400ms",
                "hx-target": f"#{status_id}",
                "hx-swap": "innerHTML",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        )
        field.help_text = format_html(
            '{} <span id="{}" class="condition-status" aria-live="polite"></span>',
            field.help_text,
            status_id,
        )

    @property
    def type_label(self):
        return TYPE_LABELS.get(self.qtype, self.qtype)

    def clean_show_if(self) -> str:
        text = self.cleaned_data["show_if"].strip()
        if text:
            try:
                compile_condition(text)
            except ConditionError as error:
                raise forms.ValidationError(error.message) from None
        return text

    def clean_options(self) -> list[tuple[str, str]]:
        return _clean_pairs(self.cleaned_data["options"])

    def clean_rows(self) -> list[tuple[str, str]]:
        return _clean_pairs(self.cleaned_data["rows"])

    def clean_labels(self) -> list[str]:
        return parse_lines(self.cleaned_data["labels"])

    def to_question(self) -> dict:
        """The edited question: the original with this form's fields written over it."""
        data, lang, original = self.cleaned_data, self.language, self.question
        question = dict(original)
        question["key"] = data["key"]
        question["required"] = data["required"]
        _set_value(question, "show_if", data["show_if"])
        for name in ("text", *KANO_TEXTS):
            if name in self.fields:
                question[name] = merge_text(original.get(name), data[name], lang)
        for name in ("scale", "max_length", "max_choices", "role"):
            if name in self.fields:
                _set_value(question, name, data[name])
        if "labels" in self.fields:
            old = original.get("labels") or []
            labels = [
                merge_text(old[i] if i < len(old) else None, label, lang)
                for i, label in enumerate(data["labels"])
            ]
            _set_value(question, "labels", labels or None)
        if "options" in self.fields:
            question["options"] = _merge_pairs(
                original.get("options"), data["options"], "value", lang
            )
        if "rows" in self.fields:
            question["rows"] = _merge_pairs(original.get("rows"), data["rows"], "key", lang)
        return question


def _question_initial(question: dict, language: str) -> dict:
    initial = {
        name: question.get(name)
        for name in ("key", "required", "show_if", "scale", "max_length", "max_choices", "role")
    }
    initial["required"] = bool(question.get("required"))
    for name in ("text", *KANO_TEXTS):
        initial[name] = text_in(question.get(name), language)
    initial["labels"] = "\n".join(text_in(label, language) for label in question.get("labels", []))
    initial["options"] = _pairs_text(question.get("options"), "value", language)
    initial["rows"] = _pairs_text(question.get("rows"), "key", language)
    return initial


def _pairs_text(items, id_name: str, language: str) -> str:
    return "\n".join(
        f"{item.get(id_name, '')}|{text_in(item.get('label'), language)}"
        for item in items or []
        if isinstance(item, dict)
    )


def _clean_pairs(text: str) -> list[tuple[str, str]]:
    pairs = parse_pairs(text)
    if not pairs:
        raise forms.ValidationError(_("Enter at least one line."))
    return pairs


def _merge_pairs(old_items, pairs, id_name: str, language: str) -> list[dict]:
    """Rebuild options/rows from ``value|label`` lines, keeping each item's other translations."""
    old_by_id = {item.get(id_name): item for item in old_items or [] if isinstance(item, dict)}
    merged = []
    for ident, label in pairs:
        old = old_by_id.get(ident, {})
        merged.append(
            {**old, id_name: ident, "label": merge_text(old.get("label"), label, language)}
        )
    return merged


class AddQuestionForm(forms.Form):
    type = forms.ChoiceField(label=_("Question type"), choices=list(TYPE_LABELS.items()))


class PageTitleForm(forms.Form):
    title = forms.CharField(
        label=_("Page title"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("Page title (optional)")}),
    )


class ImportForm(forms.Form):
    """A survey definition as a JSON file or pasted text (cxloop format or SurveyJS)."""

    file = forms.FileField(label=_("JSON file"), required=False)
    text = forms.CharField(
        label=_("Or paste the JSON"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), (cleaned.get("text") or "").strip()
        if not upload and not text:
            raise forms.ValidationError(_("Choose a file or paste the JSON."))
        if upload and text:
            raise forms.ValidationError(_("Choose a file or paste the JSON, not both."))
        if upload:
            if upload.size > MAX_IMPORT_BYTES:
                raise forms.ValidationError(_("The file is larger than 1 MB."))
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise forms.ValidationError(_("The file is not UTF-8 text.")) from None
        try:
            cleaned["data"] = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                _("This is not valid JSON (line %(line)s, column %(column)s): %(msg)s"),
                params={"line": error.lineno, "column": error.colno, "msg": error.msg},
            ) from None
        if not isinstance(cleaned["data"], dict):
            raise forms.ValidationError(_("The JSON must be an object."))
        return cleaned


SETTINGS_PATHS = {
    "title": "title",
    "intro.purpose": "purpose",
    "intro.privacy": "privacy",
    "intro.minutes": "minutes",
    "closing.thanks": "thanks",
    "closing.incentive": "incentive",
}


def attach_errors(form: forms.Form, errors: dict[str, list[str]], *, prefix: str) -> dict:
    """Show DefinitionError messages under ``prefix`` on ``form``; return the other paths.

    ``prefix`` is the JSON path of what the form edits (``pages[0].questions[2]``, or ``""`` for
    the settings form), so ``pages[0].questions[2].options[1].value`` lands on ``options``.
    """
    rest = {}
    for path, messages in errors.items():
        field = _field_for(form, path, prefix)
        if field is None:
            rest[path] = messages
            continue
        for message in messages:
            form.add_error(field or None, message)
    return rest


def _field_for(form: forms.Form, path: str, prefix: str) -> str | None:
    """The form field ``path`` belongs to, ``""`` for the form as a whole, None if not ours."""
    if not prefix:
        name = SETTINGS_PATHS.get(path.split("[")[0])
        return name if name in form.fields else None
    if path == prefix:
        return ""
    if not path.startswith(prefix + "."):
        return None
    name = path[len(prefix) + 1 :].split(".")[0].split("[")[0]
    return name if name in form.fields else ""
