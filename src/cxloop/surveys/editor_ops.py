"""Pure edits of a survey definition dict for the console editor.

Each function takes a definition (format: docs/survey-format.md) and returns a changed deep copy;
nothing here validates or saves — the caller hands the result to ``services.update_draft``,
which runs ``parse_definition`` and refuses anything invalid.
"""

from __future__ import annotations

import copy

from django.utils import translation
from django.utils.translation import gettext as _

from cxloop.surveys.definition import QUESTION_TYPES

# Default scale labels in the survey's language; other languages start from English.
_RATING_LABELS = {
    "zh-hans": ["很不满意", "不满意", "一般", "满意", "非常满意"],
    "en": ["Very dissatisfied", "Dissatisfied", "Neutral", "Satisfied", "Very satisfied"],
}
_EFFORT_LABELS = {
    "zh-hans": ["非常困难", "困难", "有点困难", "一般", "有点容易", "容易", "非常容易"],
    "en": [
        "Very difficult",
        "Difficult",
        "Somewhat difficult",
        "Neutral",
        "Somewhat easy",
        "Easy",
        "Very easy",
    ],
}


class EditError(ValueError):
    """An edit that cannot apply to this definition (unknown question, page out of range)."""


def text_in(value, language: str) -> str:
    """The text shown for ``value`` (a string or a ``{language: text}`` object) in the editor."""
    if isinstance(value, dict):
        return str(value.get(language) or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def merge_text(old, new: str, language: str):
    """Write ``new`` as the ``language`` text, keeping the other translations of ``old``."""
    if isinstance(old, dict):
        return {**old, language: new}
    return new


def new_question(qtype: str, key: str, language: str) -> dict:
    """A question of ``qtype`` with placeholder texts that already pass validation."""
    if qtype not in QUESTION_TYPES:
        raise EditError(_("Unknown question type."))
    with translation.override(language):
        question = {"key": key, "type": qtype, "text": _("New question")}
        question.update(_type_defaults(qtype, language))
    return question


def _type_defaults(qtype: str, language: str) -> dict:
    rating = _RATING_LABELS.get(language, _RATING_LABELS["en"])
    if qtype in ("single", "multiple"):
        return {
            "options": [
                {"value": "a", "label": _("Option A")},
                {"value": "b", "label": _("Option B")},
            ]
        }
    if qtype == "rating":
        return {"scale": 5, "labels": list(rating)}
    if qtype == "effort":
        return {"scale": 7, "labels": list(_EFFORT_LABELS.get(language, _EFFORT_LABELS["en"]))}
    if qtype == "text":
        return {"max_length": 500}
    if qtype == "matrix":
        return {
            "scale": 5,
            "labels": list(rating),
            "rows": [
                {"key": "efficiency", "label": _("Service efficiency")},
                {"key": "attitude", "label": _("Service attitude")},
            ],
        }
    if qtype == "kano":
        return {
            "feature": _("New feature"),
            "functional": _("If we offered this, how would you feel?"),
            "dysfunctional": _("If we did not offer this, how would you feel?"),
        }
    return {}


def question_keys(definition: dict) -> list[str]:
    return [q.get("key", "") for page in _pages(definition) for q in page.get("questions", [])]


def free_key(definition: dict, prefix: str = "q") -> str:
    """The first ``q1``, ``q2``… not yet used as a question key."""
    used = set(question_keys(definition))
    number = 1
    while f"{prefix}{number}" in used:
        number += 1
    return f"{prefix}{number}"


def add_question(definition: dict, *, page_index: int, qtype: str, language: str) -> dict:
    changed = copy.deepcopy(definition)
    page = _page_at(changed, page_index)
    page.setdefault("questions", []).append(new_question(qtype, free_key(changed), language))
    return changed


def replace_question(definition: dict, *, key: str, question: dict) -> dict:
    changed = copy.deepcopy(definition)
    page_index, index = _locate(changed, key)
    changed["pages"][page_index]["questions"][index] = question
    return changed


def delete_question(definition: dict, *, key: str) -> dict:
    changed = copy.deepcopy(definition)
    page_index, index = _locate(changed, key)
    del changed["pages"][page_index]["questions"][index]
    return changed


def move_question(definition: dict, *, key: str, step: int) -> dict:
    """Move one place up (-1) or down (+1); past a page's edge it joins the neighbouring page."""
    changed = copy.deepcopy(definition)
    page_index, index = _locate(changed, key)
    pages = changed["pages"]
    questions = pages[page_index]["questions"]
    target = index + step
    if 0 <= target < len(questions):
        questions[index], questions[target] = questions[target], questions[index]
        return changed
    neighbour = page_index + step
    if not 0 <= neighbour < len(pages):
        return changed  # already first (or last) of the survey: nothing to do
    question = questions.pop(index)
    others = pages[neighbour].setdefault("questions", [])
    if step < 0:
        others.append(question)
    else:
        others.insert(0, question)
    return changed


def add_page(definition: dict, *, language: str) -> dict:
    changed = copy.deepcopy(definition)
    pages = changed.setdefault("pages", [])
    used = {page.get("key") for page in pages}
    number = len(pages) + 1
    while f"p{number}" in used:
        number += 1
    with translation.override(language):
        pages.append({"key": f"p{number}", "title": _("New page"), "questions": []})
    return changed


def delete_page(definition: dict, *, page_index: int) -> dict:
    changed = copy.deepcopy(definition)
    _page_at(changed, page_index)
    del changed["pages"][page_index]
    return changed


def move_page(definition: dict, *, page_index: int, step: int) -> dict:
    changed = copy.deepcopy(definition)
    _page_at(changed, page_index)
    pages = changed["pages"]
    target = page_index + step
    if 0 <= target < len(pages):
        pages[page_index], pages[target] = pages[target], pages[page_index]
    return changed


def rename_page(definition: dict, *, page_index: int, title: str, language: str) -> dict:
    changed = copy.deepcopy(definition)
    page = _page_at(changed, page_index)
    if title:
        page["title"] = merge_text(page.get("title"), title, language)
    else:
        page.pop("title", None)  # titles are optional: an empty one means none
    return changed


def _pages(definition: dict) -> list[dict]:
    pages = definition.get("pages")
    return pages if isinstance(pages, list) else []


def _page_at(definition: dict, page_index: int) -> dict:
    pages = _pages(definition)
    if not 0 <= page_index < len(pages):
        raise EditError(_("That page no longer exists."))
    return pages[page_index]


def _locate(definition: dict, key: str) -> tuple[int, int]:
    for page_index, page in enumerate(_pages(definition)):
        for index, question in enumerate(page.get("questions", [])):
            if question.get("key") == key:
                return page_index, index
    raise EditError(_("That question no longer exists."))


def parse_pairs(text: str) -> list[tuple[str, str]]:
    """Lines of ``value|label`` (a line without ``|`` uses itself for both), blank lines skipped."""
    pairs = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        value, _sep, label = (part.strip() for part in line.partition("|"))
        pairs.append((value, label or value))
    return pairs


def parse_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


KANO_CHOICES = ("like", "expect", "neutral", "tolerate", "dislike")


def preview(definition: dict) -> dict:
    """What the respondent sees, as plain strings in the survey's language (read-only preview)."""
    language = definition.get("language") or "zh-hans"
    intro = definition.get("intro") or {}
    closing = definition.get("closing") or {}
    return {
        "title": text_in(definition.get("title"), language),
        "purpose": text_in(intro.get("purpose"), language),
        "privacy": text_in(intro.get("privacy"), language),
        "minutes": intro.get("minutes"),
        "thanks": text_in(closing.get("thanks"), language),
        "incentive": text_in(closing.get("incentive"), language),
        "pages": [
            {
                "title": text_in(page.get("title"), language),
                "questions": [_preview_question(q, language) for q in page.get("questions") or []],
            }
            for page in _pages(definition)
        ],
    }


def _preview_question(question: dict, language: str) -> dict:
    qtype = question.get("type", "")
    labels = [text_in(label, language) for label in question.get("labels") or []]
    if qtype == "nps":
        points = [(value, "") for value in range(11)]
    elif qtype in ("rating", "effort", "matrix"):
        scale = question.get("scale") or (7 if qtype == "effort" else 5)
        points = [
            (value, labels[value - 1] if value - 1 < len(labels) else "")
            for value in range(1, scale + 1)
        ]
    else:
        points = []
    return {
        "key": question.get("key", ""),
        "type": qtype,
        "text": text_in(question.get("text"), language),
        "required": bool(question.get("required")),
        "show_if": question.get("show_if") or "",
        "options": [text_in(o.get("label"), language) for o in question.get("options") or []],
        "points": points,
        "rows": [text_in(row.get("label"), language) for row in question.get("rows") or []],
        "feature": text_in(question.get("feature"), language),
        "functional": text_in(question.get("functional"), language),
        "dysfunctional": text_in(question.get("dysfunctional"), language),
        "max_length": question.get("max_length"),
    }
