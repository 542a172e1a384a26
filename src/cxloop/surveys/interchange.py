"""JSON export and import of survey definitions: our format, or the common subset of SurveyJS.

SurveyJS mapping (docs/survey-format.md, "Importing SurveyJS JSON"): radiogroup/dropdown →
single, checkbox/tagbox → multiple, rating → rating (0…10 → nps), comment/text → text, matrix →
matrix (columns become the scale), boolean → single yes/no; panels are flattened. ``visibleIf``
is translated to ``show_if`` when it uses only what our language has, else dropped with a warning.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from cxloop.surveys.definition import (
    FORMAT,
    SCALE_BOUNDS,
    Definition,
    DefinitionError,
    parse_definition,
)
from cxloop.surveys.logic import RESERVED_NAMES, ConditionError, compile_condition

MAX_IMPORT_BYTES = 2_000_000
CHOICE_TYPES = {"radiogroup": "single", "dropdown": "single", "checkbox": "multiple"}
CHOICE_TYPES["tagbox"] = "multiple"
TEXT_TYPES = ("comment", "text")
LOCALES = {"default": None, "zh-cn": "zh-hans", "zh": "zh-hans", "zh-hans": "zh-hans", "en": "en"}
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def export_definition(source: Any) -> dict:
    """The definition of a Survey (its draft), a SurveyVersion, a Definition or a dict."""
    if isinstance(source, Definition):
        return source.to_json()
    data = getattr(source, "definition", None)
    if data is None:
        data = getattr(source, "draft", source)
    try:
        return parse_definition(data).to_json()
    except DefinitionError:  # an old draft that no longer validates: export it as stored
        return copy.deepcopy(dict(data)) if isinstance(data, Mapping) else {}


def import_definition(data: Any) -> dict:
    """A valid definition in our format from ``data`` (ours or SurveyJS; dict, str or bytes)."""
    return convert_definition(data)[0]


def convert_definition(data: Any) -> tuple[dict, list[str]]:
    """Like ``import_definition``, also returning warnings about what could not be converted."""
    data = _load(data)
    if _is_ours(data):
        return parse_definition(data).to_json(), []
    converter = _SurveyJS(data)
    return parse_definition(converter.definition()).to_json(), converter.warnings


def _load(data: Any) -> Mapping:
    if isinstance(data, bytes | str):
        if len(data) > MAX_IMPORT_BYTES:
            raise DefinitionError({"": [_("The file is too large.")]})
        try:
            data = json.loads(data)
        except (ValueError, RecursionError):
            raise DefinitionError({"": [_("The file is not valid JSON.")]}) from None
    if not isinstance(data, Mapping):
        raise DefinitionError({"": [_("A survey definition must be a JSON object.")]})
    return data


def _is_ours(data: Mapping) -> bool:
    if "format" in data:
        return True
    pages = data.get("pages")
    if not isinstance(pages, list):
        return False
    return any(
        isinstance(page, Mapping)
        and isinstance(page.get("questions"), list)
        and any(isinstance(q, Mapping) and "key" in q for q in page["questions"])
        for page in pages
    )


class _SurveyJS:
    """One SurveyJS document being converted; collects warnings as it goes."""

    def __init__(self, data: Mapping):
        self.data = data
        self.language = self._language()
        self.warnings: list[str] = []
        self.keys: dict[str, str] = {}  # SurveyJS name → our key
        self.types: dict[str, str] = {}  # our key → our type

    def definition(self) -> dict:
        pages = []
        for index, page in enumerate(self._pages()):
            questions = [q for element in _flatten(page) if (q := self.question(element))]
            pages.append(
                {
                    "key": f"p{index + 1}",
                    **self._text_field("title", page.get("title")),
                    "questions": questions,
                }
            )
        title = self.text(self.data.get("title")) or str(_("Imported survey"))
        intro = {"minutes": 3, **self._text_field("purpose", self.data.get("description"))}
        closing = self._text_field("thanks", self.data.get("completedHtml"), html=True)
        return {
            "format": FORMAT,
            "title": title,
            "language": self.language,
            "intro": intro,
            "closing": closing,
            "pages": pages,
        }

    def _language(self) -> str:
        locale = str(self.data.get("locale") or "").lower()
        if locale:
            return "zh-hans" if locale.startswith("zh") else "en"
        sample = json.dumps(self.data.get("title") or self.data.get("pages"), ensure_ascii=False)
        return "zh-hans" if CJK_RE.search(sample) else "en"

    def _pages(self) -> list[Mapping]:
        pages = self.data.get("pages")
        if isinstance(pages, list):
            return [page for page in pages if isinstance(page, Mapping)]
        elements = self.data.get("elements") or self.data.get("questions") or []
        return [{"elements": elements}]

    def _text_field(self, name: str, value: Any, html: bool = False) -> dict:
        text = self.text(value, html=html)
        return {name: text} if text else {}

    def text(self, value: Any, html: bool = False) -> str | dict[str, str] | None:
        """A SurveyJS string or localisable object as our text or translation object."""
        if isinstance(value, Mapping):
            result = {}
            for locale, text in value.items():
                language = LOCALES.get(str(locale).lower(), "")
                language = self.language if language is None else language
                if language and isinstance(text, str) and text.strip():
                    result[language] = _plain(text, html)
            return result or None
        if isinstance(value, str | int | float) and str(value).strip():
            return _plain(str(value), html)
        return None

    def question(self, element: Mapping) -> dict | None:
        kind = str(element.get("type", ""))
        name = str(element.get("name") or "")
        converted = self._convert(kind, element)
        if converted is None:
            self.warn(_("%(name)s: question type %(type)s is not supported; skipped."), name, kind)
            return None
        key = self._key(name)
        question = {
            "key": key,
            **converted,
            "text": self.text(element.get("title")) or name or key,
            "required": bool(element.get("isRequired", False)),
        }
        condition = self.condition(element.get("visibleIf"), name)
        if condition:
            question["show_if"] = condition
        self.keys[name] = key
        self.types[key] = question["type"]
        return question

    def _convert(self, kind: str, element: Mapping) -> dict | None:
        if kind in CHOICE_TYPES:
            result = {"type": CHOICE_TYPES[kind], "options": self.options(element.get("choices"))}
            if kind in ("checkbox", "tagbox") and isinstance(
                element.get("maxSelectedChoices"), int
            ):
                result["max_choices"] = element["maxSelectedChoices"]
            return result
        if kind == "rating":
            return self.rating(element)
        if kind in TEXT_TYPES:
            limit = element.get("maxLength")
            return {"type": "text", **({"max_length": limit} if isinstance(limit, int) else {})}
        if kind == "matrix":
            columns = self.options(element.get("columns"))
            rows = [
                {"key": self._row_key(option["value"], i), "label": option["label"]}
                for i, option in enumerate(self.options(element.get("rows")))
            ]
            labels = [column["label"] for column in columns]
            return {"type": "matrix", "rows": rows, "scale": len(labels), "labels": labels}
        if kind == "boolean":
            yes = self.text(element.get("labelTrue")) or _yes_no(self.language, True)
            no = self.text(element.get("labelFalse")) or _yes_no(self.language, False)
            options = [{"value": "yes", "label": yes}, {"value": "no", "label": no}]
            return {"type": "single", "options": options}
        return None

    def rating(self, element: Mapping) -> dict:
        values = element.get("rateValues")
        if isinstance(values, list) and values:
            labels = [option["label"] for option in self.options(values)]
            return {"type": "rating", "scale": len(labels), "labels": labels}
        low, high = element.get("rateMin", 1), element.get("rateMax", 5)
        if not (isinstance(low, int) and isinstance(high, int)):
            low, high = 1, 5
        if (low, high) == (0, 10):
            return {"type": "nps"}
        scale = high - low + 1
        bounded = min(max(scale, SCALE_BOUNDS["rating"][0]), SCALE_BOUNDS["rating"][1])
        if low != 1 or bounded != scale:
            message = _("%(name)s: rating %(low)s…%(high)s became 1…%(scale)s.")
            self.warnings.append(
                str(
                    message
                    % {"name": element.get("name"), "low": low, "high": high, "scale": bounded}
                )
            )
        return {"type": "rating", "scale": bounded}

    def options(self, choices: Any) -> list[dict]:
        options = []
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, Mapping):
                value, label = choice.get("value"), self.text(choice.get("text"))
            else:
                value, label = choice, None
            if value is None or isinstance(value, Mapping | list):
                continue
            options.append({"value": str(value), "label": label or str(value)})
        return options

    def condition(self, expression: Any, name: str) -> str | None:
        if not isinstance(expression, str) or not expression.strip():
            return None
        converted = convert_surveyjs_expression(expression, self.keys, self.types)
        if converted is not None:
            try:
                if compile_condition(converted).names <= set(self.types):
                    return converted
            except ConditionError:
                pass
        message = _("%(name)s: the condition %(condition)s could not be converted; dropped.")
        self.warnings.append(str(message % {"name": name, "condition": expression[:200]}))
        return None

    def warn(self, message, name: str, kind: str) -> None:
        self.warnings.append(str(message % {"name": name or "?", "type": kind or "?"}))

    def _key(self, name: str) -> str:
        key = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")[:36] or "q"
        if not key[0].isalpha():
            key = f"q_{key}"[:36]
        if key in RESERVED_NAMES:
            key = f"{key}_q"
        candidate, n = key, 2
        while candidate in self.types:
            candidate, n = f"{key}_{n}", n + 1
        return candidate

    @staticmethod
    def _row_key(value: str, index: int) -> str:
        key = re.sub(r"[^a-z0-9_]+", "_", value.lower()).strip("_")[:36]
        return key if key and key[0].isalpha() else f"row_{index + 1}"


def _flatten(container: Mapping) -> list[Mapping]:
    """The questions of a page, with panels opened up (we have no panels)."""
    found: list[Mapping] = []
    for element in container.get("elements") or container.get("questions") or []:
        if not isinstance(element, Mapping):
            continue
        if element.get("type") == "panel":
            found.extend(_flatten(element))
        else:
            found.append(element)
    return found


def _plain(text: str, html: bool) -> str:
    if html:
        text = re.sub(r"<[^>]*>", " ", text)
    return " ".join(text.split())


def _yes_no(language: str, yes: bool) -> str:
    if language == "zh-hans":
        return "是" if yes else "否"
    return "Yes" if yes else "No"


_TOKEN_RE = re.compile(
    r"""\s*(?:
    \{(?P<var>[^{}]+)\}
    |'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"
    |(?P<num>-?\d+(?:\.\d+)?)
    |(?P<op><>|!=|==|>=|<=|=|<|>|!)
    |(?P<word>[A-Za-z_]+)
    |(?P<punct>[\[\](),])
    )""",
    re.VERBOSE,
)
_WORDS = {"and": "and", "or": "or", "not": "not", "true": "true", "false": "false"}
_WORDS["null"] = "null"
_OPS = {"=": "==", "==": "==", "<>": "!=", "!=": "!=", "!": "not"}


def convert_surveyjs_expression(
    expression: str, keys: Mapping[str, str], types: Mapping[str, str]
) -> str | None:
    """``{nps} <= 6 and {reasons} contains '物流'`` → ``nps <= 6 and "物流" in reasons``.

    Returns None for anything outside the shared subset (functions, arithmetic, unknown names).
    """
    tokens = _tokens(expression, keys)
    if tokens is None:
        return None
    out: list[str] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        after = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "var" and after[1] in ("empty", "notempty"):
            out.append(f"answered({value})" if after[1] == "notempty" else f"not answered({value})")
            i += 2
            continue
        if kind == "var" and after[1] in ("contains", "notcontains") and i + 2 < len(tokens):
            operand = tokens[i + 2]
            if operand[0] not in ("str", "num"):
                return None
            op = "in" if after[1] == "contains" else "not in"
            out.append(f"{operand[1]} {op} {value}")
            i += 3
            continue
        if kind == "var" and after[1] in ("anyof", "allof"):
            converted, i = _any_all(tokens, i, types.get(value))
            if converted is None:
                return None
            out.append(converted)
            continue
        if kind == "word" and value not in _WORDS.values():
            return None
        out.append(value)
        i += 1
    return " ".join(out)


def _tokens(expression: str, keys: Mapping[str, str]) -> list[tuple[str, str]] | None:
    tokens: list[tuple[str, str]] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _TOKEN_RE.match(text, position)
        if not match or match.end() == position:
            return None
        position = match.end()
        kind = match.lastgroup
        value = match.group(kind)
        if kind == "var":
            if value.strip() not in keys:
                return None
            tokens.append(("var", keys[value.strip()]))
        elif kind in ("sq", "dq"):
            tokens.append(("str", json.dumps(value, ensure_ascii=False)))
        elif kind == "op":
            tokens.append(("op", _OPS.get(value, value)))
        elif kind == "word":
            word = value.lower()
            tokens.append(("word", _WORDS.get(word, word)))
        else:
            tokens.append((kind, value))
    return tokens


def _any_all(tokens: list[tuple[str, str]], i: int, question_type: str | None):
    """``{q} anyof ['a', 'b']``: membership for a single answer, or per item for a multiple."""
    key, word = tokens[i][1], tokens[i + 1][1]
    if i + 2 >= len(tokens) or tokens[i + 2][1] != "[":
        return None, i
    items, j = [], i + 3
    while j < len(tokens) and tokens[j][1] != "]":
        if tokens[j][0] in ("str", "num"):
            items.append(tokens[j][1])
        elif tokens[j][1] != ",":
            return None, i
        j += 1
    if j >= len(tokens) or not items:
        return None, i
    if question_type == "multiple":
        joiner = " or " if word == "anyof" else " and "
        return "(" + joiner.join(f"{item} in {key}" for item in items) + ")", j + 1
    if word == "allof" and len(items) > 1:
        return None, i
    return f"{key} in [{', '.join(items)}]", j + 1
