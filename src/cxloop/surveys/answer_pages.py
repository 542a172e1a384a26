"""What the answer-page templates show: survey texts in the respondent's language, and each
question as a plain dict of labels, choices and errors (templates stay free of logic)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from cxloop.surveys import answering
from cxloop.surveys.answering import PageResult
from cxloop.surveys.definition import KANO_ANSWERS, Definition, Question, text_for
from cxloop.surveys.models import Response

# Endonyms: each language is named in itself, so nobody is stuck in a language they cannot read.
KANO_LABELS = {
    "like": _("I like it"),
    "expect": _("I expect it"),
    "neutral": _("I am neutral"),
    "tolerate": _("I can live with it"),
    "dislike": _("I dislike it"),
}


def texts_context(definition: Definition, language: str) -> dict:
    """Intro and closing texts of the survey in ``language`` (falling back to its own)."""

    def text(value) -> str:
        return text_for(value, language, definition.language)

    return {
        "language": language,
        "title": text(definition.title),
        "purpose": text(definition.intro.purpose),
        "privacy": text(definition.intro.privacy),
        "minutes": definition.intro.minutes,
        "thanks": text(definition.closing.thanks),
        "incentive": text(definition.closing.incentive),
    }


def page_context(
    definition: Definition,
    response: Response,
    language: str,
    page_index: int,
    result: PageResult | None,
) -> dict:
    """Everything page.html needs for one page; ``result`` carries a failed post's errors."""
    values = dict(result.answers if result else response.answers)
    errors = result.errors if result else {}
    if result:
        values.update(result.display)
    questions = answering.visible_questions(definition, page_index, values)
    views = [
        question_view(q, values.get(q.key), errors.get(q.key, []), language, definition.language)
        for q in questions
    ]
    position, total = answering.progress(definition, page_index, values)
    page = definition.pages[page_index]
    return {
        **texts_context(definition, language),
        "page_index": page_index,
        "page_title": text_for(page.title, language, definition.language),
        "questions": views,
        "shown": ",".join(q.key for q in questions),
        "error_list": [view for view in views if view["errors"]],
        "revealed": bool(result and result.revealed),
        "position": position,
        "total": total,
        "is_last": answering.next_page(definition, page_index, values) is None,
        "can_go_back": answering.previous_page(definition, page_index, values) is not None,
    }


def question_view(
    question: Question, value: Any, errors: list, language: str, fallback: str
) -> dict:
    def text(item) -> str:
        return text_for(item, language, fallback)

    view = {
        "key": question.key,
        "type": question.type,
        "text": text(question.text) if question.text else text(question.feature),
        "required": question.required,
        "errors": errors,
        "field": answering.field_name(question),
        "value": value if isinstance(value, str) else "",
        "max_length": question.max_length,
        "layout": "list",
    }
    if question.type in ("single", "multiple"):
        chosen = value if isinstance(value, list) else [value]
        view["choices"] = [
            _choice(view["field"], i, option.value, text(option.label), option.value in chosen)
            for i, option in enumerate(question.options or [])
        ]
    elif question.type in ("rating", "effort", "nps"):
        view.update(_scale(question, view["field"], value, text))
    elif question.type == "matrix":
        view["rows"] = _matrix_rows(question, value, text)
        view["scale_labels"] = [text(label) for label in question.labels or []]
    elif question.type == "kano":
        view["parts"] = _kano_parts(question, value, text)
    return view


def _choice(field: str, index: int, value: Any, label: str, checked: bool, hint: str = "") -> dict:
    return {
        "id": f"{field}-{index}",
        "value": value,
        "label": label,
        "hint": hint,
        "checked": checked,
    }


def _scale(question: Question, field: str, value: Any, text) -> dict:
    labels = [text(label) for label in question.labels or []]
    points = list(question.points)
    if labels and len(labels) == len(points):
        # Worded scales read best as a list: "5 非常满意" is one big tap target per line.
        choices = [
            _choice(field, p, p, str(p), value == p, hint=labels[i]) for i, p in enumerate(points)
        ]
        return {"choices": choices, "layout": "list"}
    choices = [_choice(field, p, p, str(p), value == p) for p in points]
    ends = _nps_ends() if question.type == "nps" else ("", "")
    return {"choices": choices, "layout": "scale", "low_label": ends[0], "high_label": ends[1]}


def _nps_ends() -> tuple[str, str]:
    return str(_("0 = not at all likely")), str(_("10 = extremely likely"))


def _matrix_rows(question: Question, value: Any, text) -> list[dict]:
    ratings = value if isinstance(value, dict) else {}
    labels = [text(label) for label in question.labels or []]
    rows = []
    for row in question.rows or []:
        field = answering.field_name(question, row.key)
        choices = [
            _choice(field, p, p, str(p), ratings.get(row.key) == p, hint=_at(labels, p - 1))
            for p in question.points
        ]
        rows.append({"key": row.key, "label": text(row.label), "field": field, "choices": choices})
    return rows


def _kano_parts(question: Question, value: Any, text) -> list[dict]:
    pair = value if isinstance(value, dict) else {}
    parts = []
    for part in answering.KANO_PARTS:
        field = answering.field_name(question, part)
        choices = [
            _choice(field, i, answer, str(KANO_LABELS[answer]), pair.get(part) == answer)
            for i, answer in enumerate(KANO_ANSWERS)
        ]
        parts.append(
            {
                "name": part,
                "text": text(getattr(question, part)),
                "field": field,
                "choices": choices,
            }
        )
    return parts


def _at(items: list, index: int) -> str:
    return items[index] if 0 <= index < len(items) else ""
