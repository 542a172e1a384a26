"""The page-flow engine of the answer pages: visibility, validation, progress, headline scores.

Everything runs on the server so branching works without JavaScript. A question is visible when
its ``show_if`` holds for the answers of *visible* questions before it; a page is shown when it
has a visible question. Answers of questions that became hidden are dropped (``visible_answers``).

Form field names: ``q-<key>`` for one-value questions and multiple choice (repeated), matrix rows
``q-<key>-<row>``, KANO parts ``q-<key>-functional`` / ``q-<key>-dysfunctional``. The form also
posts ``shown``: the keys it displayed. A question that became visible on the same page because
of an answer just given (``nps <= 6`` on the page of ``nps``) is "revealed": it is not an error,
the page is shown again with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext_lazy as _

from cxloop.surveys.definition import (
    KANO_ANSWERS,
    Definition,
    Question,
    iter_questions,
    parse_definition,
    question_for_role,
)
from cxloop.surveys.logic import is_answered

KANO_PARTS = ("functional", "dysfunctional")
SCORE_ROLES = ("nps", "csat", "ces")


def definition_for(version) -> Definition:
    """The parsed definition of a ``SurveyVersion``; cached, since parsing costs on every page.

    Keyed by the JSON text (not the id), so a test database reusing ids never sees stale data.
    """
    parsed = getattr(version, "_parsed_definition", None)
    if parsed is None:
        text = json.dumps(version.definition, sort_keys=True, ensure_ascii=False)
        parsed = version._parsed_definition = _parse_cached(text)
    return parsed


@lru_cache(maxsize=64)
def _parse_cached(text: str) -> Definition:
    return parse_definition(json.loads(text))


def field_name(question: Question, part: str = "") -> str:
    return f"q-{question.key}-{part}" if part else f"q-{question.key}"


# --- visibility and navigation ------------------------------------------------------------


def visible_answers(definition: Definition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """``answers`` without those of hidden or unknown questions, in question order."""
    kept: dict[str, Any] = {}
    for question in iter_questions(definition):
        if question.key in answers and question.is_visible(kept):
            kept[question.key] = answers[question.key]
    return kept


def visible_questions(
    definition: Definition, page_index: int, answers: Mapping[str, Any]
) -> list[Question]:
    if not 0 <= page_index < len(definition.pages):
        return []
    kept = visible_answers(definition, answers)
    return [q for q in definition.pages[page_index].questions if q.is_visible(kept)]


def visible_pages(definition: Definition, answers: Mapping[str, Any]) -> list[int]:
    kept = visible_answers(definition, answers)
    return [
        index
        for index, page in enumerate(definition.pages)
        if any(q.is_visible(kept) for q in page.questions)
    ]


def next_page(definition: Definition, after: int, answers: Mapping[str, Any]) -> int | None:
    """The first page after ``after`` with something to answer (``after=-1``: the first)."""
    return next((i for i in visible_pages(definition, answers) if i > after), None)


def previous_page(definition: Definition, before: int, answers: Mapping[str, Any]) -> int | None:
    return next((i for i in reversed(visible_pages(definition, answers)) if i < before), None)


def progress(
    definition: Definition, page_index: int, answers: Mapping[str, Any]
) -> tuple[int, int]:
    """(position of this page among the pages shown, how many pages are shown)."""
    pages = visible_pages(definition, answers)
    position = sum(1 for index in pages if index <= page_index)
    return max(position, 1), max(len(pages), 1)


def first_incomplete_page(definition: Definition, answers: Mapping[str, Any]) -> int | None:
    """The first page with a visible required question left unanswered, or None."""
    kept = visible_answers(definition, answers)
    for index, page in enumerate(definition.pages):
        for question in page.questions:
            if question.required and question.is_visible(kept) and question.key not in kept:
                return index
    return None


# --- reading a posted page ------------------------------------------------------------------


@dataclass
class PageResult:
    """A posted page read against the definition.

    ``answers``: all answers after this page (hidden ones dropped); ``errors``: key → messages;
    ``revealed``: keys that became visible on this page and were not on the form yet;
    ``display``: what to show in the fields again (valid values, plus too-long texts as typed).
    """

    answers: dict[str, Any]
    errors: dict[str, list[str]] = field(default_factory=dict)
    revealed: list[str] = field(default_factory=list)
    display: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.errors and not self.revealed


def read_page(
    definition: Definition, page_index: int, data: Mapping[str, Any], answers: Mapping[str, Any]
) -> PageResult:
    """Validate the posted ``data`` of one page; nothing already answered elsewhere is lost."""
    working = visible_answers(definition, answers)
    shown = _shown_keys(data)
    result = PageResult(answers={})
    for question in definition.pages[page_index].questions:
        if not question.is_visible(working):
            working.pop(question.key, None)
            continue
        if shown is not None and question.key not in shown:
            result.revealed.append(question.key)
            if question.key in working:
                result.display[question.key] = working[question.key]
            continue
        value, error, typed = read_answer(question, data)
        if error:
            result.errors[question.key] = [str(error)]
        if value is None:
            working.pop(question.key, None)
        else:
            working[question.key] = value
        if typed is not None:
            result.display[question.key] = typed
    merged = dict(answers)
    for question in definition.pages[page_index].questions:
        if question.key in working:
            merged[question.key] = working[question.key]
        else:  # left empty, invalid or hidden on this page
            merged.pop(question.key, None)
    result.answers = visible_answers(definition, merged)
    return result


def _shown_keys(data: Mapping[str, Any]) -> set[str] | None:
    raw = _first(data, "shown")
    if raw is None:
        return None  # not posted by our form (API, tests): every visible question counts
    return {key for key in str(raw).split(",") if key}


def read_answer(question: Question, data: Mapping[str, Any]) -> tuple[Any, Any, Any]:
    """(value or None, error message or None, what to show in the field again)."""
    reader = _READERS[question.type]
    value, error = reader(question, data)
    if error is None and value is None and question.required:
        error = _("This question needs an answer.")
    typed = value
    if question.type == "text" and error is not None:
        typed = _clean_text(_first(data, field_name(question)))
    return (None if error else value), error, typed


def _first(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(name)
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def _all(data: Mapping[str, Any], name: str) -> list:
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _clean_text(value: Any) -> str:
    # NUL cannot be stored in PostgreSQL JSON; other text is kept exactly as typed.
    return str(value or "").replace("\x00", "").strip()


def _read_single(question: Question, data) -> tuple[Any, Any]:
    raw = _clean_text(_first(data, field_name(question)))
    if not raw:
        return None, None
    if raw not in {option.value for option in question.options or []}:
        return None, _("Choose one of the options.")
    return raw, None


def _read_multiple(question: Question, data) -> tuple[Any, Any]:
    allowed = [option.value for option in question.options or []]
    chosen = list(dict.fromkeys(_clean_text(v) for v in _all(data, field_name(question))))
    chosen = [value for value in chosen if value]
    if any(value not in allowed for value in chosen):
        return None, _("Choose from the options given.")
    if question.max_choices and len(chosen) > question.max_choices:
        return None, _("Choose at most %(n)d options.") % {"n": question.max_choices}
    return (chosen or None), None


def _read_point(question: Question, raw: Any) -> tuple[Any, Any]:
    text = _clean_text(raw)
    if not text:
        return None, None
    points = question.points
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or number not in points:
        message = _("Choose a number from %(low)d to %(high)d.")
        return None, message % {"low": points[0], "high": points[-1]}
    return number, None


def _read_scale(question: Question, data) -> tuple[Any, Any]:
    return _read_point(question, _first(data, field_name(question)))


def _read_text(question: Question, data) -> tuple[Any, Any]:
    text = _clean_text(_first(data, field_name(question)))
    limit = question.max_length or 1000
    if len(text) > limit:
        message = _("At most %(max)d characters; this has %(n)d.")
        return None, message % {"max": limit, "n": len(text)}
    return (text or None), None


def _read_matrix(question: Question, data) -> tuple[Any, Any]:
    ratings: dict[str, int] = {}
    for row in question.rows or []:
        value, error = _read_point(question, _first(data, field_name(question, row.key)))
        if error:
            return None, error
        if value is not None:
            ratings[row.key] = value
    if question.required and ratings and len(ratings) < len(question.rows or []):
        return None, _("Rate every row.")
    return (ratings or None), None


def _read_kano(question: Question, data) -> tuple[Any, Any]:
    pair = {}
    for part in KANO_PARTS:
        raw = _clean_text(_first(data, field_name(question, part)))
        if raw and raw not in KANO_ANSWERS:
            return None, _("Choose one of the options.")
        if raw:
            pair[part] = raw
    if len(pair) == 1:
        return None, _("Answer both parts.")
    return (pair or None), None


_READERS = {
    "single": _read_single,
    "multiple": _read_multiple,
    "rating": _read_scale,
    "nps": _read_scale,
    "effort": _read_scale,
    "text": _read_text,
    "matrix": _read_matrix,
    "kano": _read_kano,
}


# --- scores -------------------------------------------------------------------------------


def headline_scores(definition: Definition, answers: Mapping[str, Any]) -> dict[str, Any]:
    """nps/csat/ces from the questions with those roles; csi and dimension scores from the
    ``csi`` matrix (CSI = mean row rating rescaled so 1 → 0 and ``scale`` → 100)."""
    answers = visible_answers(definition, answers)
    scores: dict[str, Any] = {role: None for role in (*SCORE_ROLES, "csi")}
    scores["dimension_scores"] = {}
    for role in SCORE_ROLES:
        question = question_for_role(definition, role)
        value = answers.get(question.key) if question else None
        if isinstance(value, int) and not isinstance(value, bool):
            scores[role] = value
    matrix = question_for_role(definition, "csi")
    rows = answers.get(matrix.key) if matrix else None
    if isinstance(rows, dict):
        ratings = {k: v for k, v in rows.items() if isinstance(v, int) and not isinstance(v, bool)}
        if ratings and matrix.scale and matrix.scale > 1:
            mean = sum(ratings.values()) / len(ratings)
            scores["csi"] = round((mean - 1) / (matrix.scale - 1) * 100, 2)
            scores["dimension_scores"] = ratings
    return scores


def answered_items(definition: Definition, answers: Mapping[str, Any]) -> int:
    """How many judgements the answers hold: a matrix row or a KANO part counts as one."""
    count = 0
    for value in visible_answers(definition, answers).values():
        if isinstance(value, dict):
            count += len(value)
        elif is_answered(value):
            count += 1
    return count


def matrix_answers(definition: Definition, answers: Mapping[str, Any]) -> list[tuple[str, dict]]:
    """(key, row ratings) for each answered matrix question — input of straight-lining checks."""
    return [
        (q.key, answers[q.key])
        for q in iter_questions(definition)
        if q.type == "matrix" and isinstance(answers.get(q.key), dict)
    ]
