"""The survey definition format ``cxloop.survey/1`` (docs/survey-format.md) as pydantic models.

``parse_definition`` is the one door: pydantic checks shapes and types, then ``_check_survey``
checks what spans questions (unique keys, ``show_if`` only on earlier answers, one question per
role). Every problem is reported at once as ``DefinitionError.errors``: a JSON path such as
``pages[0].questions[2].show_if`` mapped to messages, so the editor can show each next to its field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal

from django.utils.translation import gettext_lazy as _
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.functional_validators import BeforeValidator

from cxloop.surveys.logic import RESERVED_NAMES, Condition, ConditionError, compile_condition

FORMAT = "cxloop.survey/1"
LANGUAGES = ("zh-hans", "en")
MAX_QUESTIONS = 200
MAX_PAGES = 50
MAX_OPTIONS = 50
MAX_ROWS = 30
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$"

QUESTION_TYPES = ("single", "multiple", "rating", "nps", "effort", "text", "matrix", "kano")
QuestionType = Literal["single", "multiple", "rating", "nps", "effort", "text", "matrix", "kano"]
Role = Literal["nps", "csat", "ces", "csi"]
# Which question type may feed which headline column.
ROLE_TYPES = {"nps": "nps", "csat": "rating", "ces": "effort", "csi": "matrix"}
DEFAULT_SCALES = {"rating": 5, "effort": 7, "matrix": 5}
SCALE_BOUNDS = {"rating": (2, 10), "effort": (3, 10), "matrix": (2, 10)}
DEFAULT_MAX_LENGTH = 1000
STANDARD_DIMENSIONS = (
    "efficiency",
    "response_speed",
    "resolution",
    "attitude",
    "environment",
    "personalisation",
    "process_clarity",
)
KANO_ANSWERS = ("like", "expect", "neutral", "tolerate", "dislike")
# Fields that only some types use; others are dropped on parse so stale editor fields vanish.
TYPE_FIELDS = {
    "options": {"single", "multiple"},
    "max_choices": {"multiple"},
    "scale": {"rating", "effort", "matrix"},
    "labels": {"rating", "effort", "matrix"},
    "max_length": {"text"},
    "rows": {"matrix"},
    "feature": {"kano"},
    "functional": {"kano"},
    "dysfunctional": {"kano"},
}


def _text_checker(max_length: int):
    """A text is a string, or an object of translations ``{"zh-hans": "…", "en": "…"}``."""

    def check(value: Any) -> Any:
        if isinstance(value, str):
            if len(value) > max_length:
                raise ValueError(_too_long(max_length))
            return value
        if isinstance(value, Mapping):
            if not value or len(value) > 10:
                raise ValueError(str(_("Give 1 to 10 translations.")))
            for language, text in value.items():
                if not isinstance(language, str) or not _matches(LANGUAGE_PATTERN, language):
                    raise ValueError(
                        str(_("Translations are keyed by language code, e.g. zh-hans or en."))
                    )
                if not isinstance(text, str) or len(text) > max_length:
                    raise ValueError(_too_long(max_length))
            return dict(value)
        raise ValueError(str(_("Expected text or an object of translations.")))

    return check


def _too_long(max_length: int) -> str:
    return str(_("At most %(max)d characters.") % {"max": max_length})


def _matches(pattern: str, value: str) -> bool:
    return re.match(pattern, value) is not None


Text = Annotated[str | dict[str, str], BeforeValidator(_text_checker(200))]
LongText = Annotated[str | dict[str, str], BeforeValidator(_text_checker(1000))]
Key = Annotated[str, Field(pattern=KEY_PATTERN)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Intro(_Model):
    purpose: LongText = ""
    privacy: LongText = ""
    minutes: int = Field(default=3, ge=1, le=60)


class Closing(_Model):
    thanks: LongText = ""
    incentive: LongText = ""


class Option(_Model):
    value: str = Field(min_length=1, max_length=100)
    label: Text


class Row(_Model):
    key: Key
    label: Text


class Question(_Model):
    key: Key
    type: QuestionType
    text: LongText | None = None
    required: bool = False
    show_if: str | None = Field(default=None, max_length=1000)
    role: Role | None = None
    options: list[Option] | None = Field(default=None, max_length=MAX_OPTIONS)
    max_choices: int | None = Field(default=None, ge=1)
    scale: int | None = None
    labels: list[Text] | None = None
    max_length: int | None = Field(default=None, ge=1, le=10000)
    rows: list[Row] | None = Field(default=None, max_length=MAX_ROWS)
    feature: Text | None = None
    functional: LongText | None = None
    dysfunctional: LongText | None = None

    _condition: Condition | None = PrivateAttr(default=None)

    @field_validator("show_if", mode="before")
    @classmethod
    def _blank_condition_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _normalise(self) -> Question:
        for name, types in TYPE_FIELDS.items():
            if self.type not in types:
                setattr(self, name, None)
        if self.type in DEFAULT_SCALES and self.scale is None:
            self.scale = DEFAULT_SCALES[self.type]
        if self.type == "text" and self.max_length is None:
            self.max_length = DEFAULT_MAX_LENGTH
        return self

    @property
    def points(self) -> range:
        """The integers a scale answer may take (nps 0…10, others 1…scale)."""
        if self.type == "nps":
            return range(0, 11)
        return range(1, (self.scale or 0) + 1)

    @property
    def condition(self) -> Condition | None:
        """The compiled ``show_if`` (checked by ``parse_definition``), or None."""
        if self.show_if and self._condition is None:
            self._condition = compile_condition(self.show_if)
        return self._condition

    def is_visible(self, answers: Mapping[str, Any]) -> bool:
        return self.condition is None or self.condition.evaluate(answers)


class Page(_Model):
    key: Key
    title: Text | None = None
    questions: list[Question] = Field(default_factory=list)


class Definition(_Model):
    format: Literal["cxloop.survey/1"] = FORMAT
    title: Text
    language: Literal["zh-hans", "en"] = "zh-hans"
    intro: Intro = Field(default_factory=Intro)
    closing: Closing = Field(default_factory=Closing)
    pages: list[Page] = Field(default_factory=list, max_length=MAX_PAGES)

    def to_json(self) -> dict:
        """The normalised JSON form, as stored in ``Survey.draft`` and ``SurveyVersion``."""
        return self.model_dump(mode="json", exclude_none=True)


class DefinitionError(ValueError):
    """An invalid definition; ``errors`` maps JSON paths (``""`` is the root) to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = {path: [str(m) for m in messages] for path, messages in errors.items()}
        first = next(iter(self.errors.items()), ("", [""]))
        where = f"{first[0]}: " if first[0] else ""
        super().__init__(f"Invalid survey definition: {where}{first[1][0]}")


def parse_definition(data: Any) -> Definition:
    """Validate ``data`` (a dict or a Definition) and return the model or raise DefinitionError."""
    if isinstance(data, Definition):
        data = data.to_json()
    if not isinstance(data, Mapping):
        raise DefinitionError({"": [_("A survey definition must be a JSON object.")]})
    try:
        definition = Definition.model_validate(dict(data))
    except ValidationError as exc:
        raise DefinitionError(_pydantic_errors(exc)) from None
    errors = _check_survey(definition)
    if errors:
        raise DefinitionError(errors)
    return definition


def iter_questions(definition: Definition) -> Iterator[Question]:
    for page in definition.pages:
        yield from page.questions


def question_by_key(definition: Definition, key: str) -> Question | None:
    return next((q for q in iter_questions(definition) if q.key == key), None)


def question_for_role(definition: Definition, role: str) -> Question | None:
    return next((q for q in iter_questions(definition) if q.role == role), None)


def text_for(value: str | Mapping[str, str] | None, language: str, fallback: str = "") -> str:
    """The text of ``value`` in ``language``, else in ``fallback``, else any one there is."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    wanted = (language or "").lower()
    for code in (wanted, wanted.split("-")[0], (fallback or "").lower()):
        if code and code in value:
            return value[code]
    for code, text in value.items():  # "zh" matches "zh-hans", "en-us" matches "en"
        if wanted and code.split("-")[0] == wanted.split("-")[0]:
            return text
    return next(iter(value.values()), "")


_PYDANTIC_MESSAGES = {
    "missing": _("This field is required."),
    "extra_forbidden": _("Unknown field."),
    "string_too_long": _("This text is too long."),
    "string_too_short": _("This must not be empty."),
    "string_pattern_mismatch": _("Use lower-case letters, digits and _; start with a letter."),
    "too_long": _("Too many items."),
    "literal_error": None,  # pydantic's message lists the allowed values
}


def _pydantic_errors(exc: ValidationError) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        path = json_path(error["loc"])
        message = _PYDANTIC_MESSAGES.get(error["type"]) or error["msg"].removeprefix(
            "Value error, "
        )
        errors.setdefault(path, []).append(str(message))
    return errors


def json_path(loc: tuple | list) -> str:
    """``("pages", 0, "questions", 2, "show_if")`` → ``pages[0].questions[2].show_if``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _check_survey(definition: Definition) -> dict[str, list[str]]:
    """Rules that span fields or questions; returns path → messages."""
    errors: dict[str, list[str]] = {}

    def add(path: str, message) -> None:
        errors.setdefault(path, []).append(str(message))

    seen_pages: set[str] = set()
    seen_keys: set[str] = set()
    seen_roles: set[str] = set()
    count = 0
    if not text_for(definition.title, definition.language).strip():
        add("title", _("The survey needs a title."))
    for p, page in enumerate(definition.pages):
        if page.key in seen_pages:
            add(f"pages[{p}].key", _("Another page already uses this key."))
        seen_pages.add(page.key)
        for q, question in enumerate(page.questions):
            path = f"pages[{p}].questions[{q}]"
            count += 1
            if question.key in RESERVED_NAMES:
                add(f"{path}.key", _("This key is reserved; choose another."))
            elif question.key in seen_keys:
                add(f"{path}.key", _("Another question already uses this key."))
            _check_condition(question, seen_keys, path, add)
            seen_keys.add(question.key)
            _check_role(question, seen_roles, path, add)
            _check_question(question, path, add)
    if count > MAX_QUESTIONS:
        add("pages", _("At most %(max)d questions.") % {"max": MAX_QUESTIONS})
    return errors


def _check_condition(question: Question, earlier: set[str], path: str, add) -> None:
    if not question.show_if:
        return
    try:
        condition = compile_condition(question.show_if)
    except ConditionError as exc:
        add(f"{path}.show_if", exc.message)
        return
    for name in sorted(condition.names - earlier):
        add(
            f"{path}.show_if",
            _("%(name)s is not a question before this one.") % {"name": name},
        )


def _check_role(question: Question, seen_roles: set[str], path: str, add) -> None:
    if question.role is None:
        return
    if ROLE_TYPES[question.role] != question.type:
        add(
            f"{path}.role",
            _("The %(role)s role needs a %(type)s question.")
            % {"role": question.role, "type": ROLE_TYPES[question.role]},
        )
    if question.role in seen_roles:
        add(f"{path}.role", _("Another question already has this role."))
    seen_roles.add(question.role)


def _check_question(question: Question, path: str, add) -> None:
    """Per-type requirements: options, scales and labels, rows, KANO texts."""
    if question.type != "kano" and not question.text:
        add(f"{path}.text", _("The question needs a text."))
    if question.type in ("single", "multiple"):
        _check_options(question, path, add)
    if question.type in SCALE_BOUNDS:
        low, high = SCALE_BOUNDS[question.type]
        if not low <= question.scale <= high:
            add(
                f"{path}.scale",
                _("The scale must be between %(low)d and %(high)d.") % {"low": low, "high": high},
            )
        if question.labels is not None and len(question.labels) != question.scale:
            add(
                f"{path}.labels",
                _("Give one label per scale point (%(n)d).") % {"n": question.scale},
            )
    if question.type == "matrix":
        keys = [row.key for row in question.rows or []]
        if not keys:
            add(f"{path}.rows", _("A matrix needs at least one row."))
        if len(set(keys)) != len(keys):
            add(f"{path}.rows", _("Row keys must be unique."))
    if question.type == "kano":
        for name in ("feature", "functional", "dysfunctional"):
            if not getattr(question, name):
                add(f"{path}.{name}", _("This field is required."))


def _check_options(question: Question, path: str, add) -> None:
    options = question.options or []
    if len(options) < 2:
        add(f"{path}.options", _("Give at least two options."))
    values = [option.value for option in options]
    if len(set(values)) != len(values):
        add(f"{path}.options", _("Option values must be unique."))
    if question.max_choices is not None and question.max_choices > len(options):
        add(f"{path}.max_choices", _("More than the number of options."))
