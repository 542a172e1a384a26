"""Design warnings from the survey guide: things that make answers less trustworthy.

Warnings never block saving or publishing (invalid definitions do, in ``definition.py``). They
cover leading wording, unbalanced or badly ordered scale labels, too many open questions, a survey
longer than the minutes it promises, nothing required, and empty pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from cxloop.surveys.definition import Definition, Question, iter_questions, parse_definition

MAX_OPEN_QUESTIONS = 2
# Seconds a respondent needs, by question type (matrix: per row). Rough figures from the guide.
SECONDS = {
    "single": 8,
    "multiple": 8,
    "rating": 10,
    "nps": 10,
    "effort": 10,
    "text": 30,
    "kano": 15,
}
SECONDS_PER_MATRIX_ROW = 6

LEADING_PATTERNS = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"是否(觉得|认为|感到|同意).{0,30}(非常|很|十分|特别)",
        r"难道",
        r"您一定",
        r"你一定",
        r"非常满意吗",
        r"是不是(很|非常|特别)",
        r"(大家|大多数|绝大多数)(人|客户|顾客|用户)?都",
        r"\b(don'?t|do not) you (agree|think|feel)\b",
        r"\b(wouldn'?t|would not) you (agree|say)\b",
        r"\bisn'?t it (true|great)\b",
        r"\b(surely|obviously)\b",
    )
]

# Label polarity: neutral, then negative ("不满意" contains "满意"), then positive.
_NEGATIVE = re.compile(
    r"不满意|不同意|不好|不太|差|费力|困难|失望|不可能|不推荐|"
    r"\bdis\w*|\bun\w*|\bpoor\b|\bbad\b|\bdifficult|\bhard\b|\bnot\b",
    re.IGNORECASE,
)
_NEUTRAL = re.compile(
    r"一般|中立|说不清|普通|还行|中等|\bneutral\b|\bneither\b|\baverage\b|\bok\b", re.IGNORECASE
)
_POSITIVE = re.compile(
    r"满意|同意|好|省力|容易|可能|推荐|\bsatisf|\bagree|\bgood|\beasy|\blikely|\bexcellent",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DesignWarning:
    code: str
    message: str
    question_key: str | None = None


Warning = DesignWarning  # the name the surveys plan uses


def check_design(definition: Definition | dict) -> list[DesignWarning]:
    """All design warnings for ``definition`` (parsed, or a dict that must be valid)."""
    if not isinstance(definition, Definition):
        definition = parse_definition(definition)
    warnings: list[DesignWarning] = []
    questions = list(iter_questions(definition))
    for question in questions:
        warnings += _leading(question)
        warnings += _scale_labels(question, definition.language)
    warnings += _open_questions(questions)
    warnings += _duration(definition)
    if questions and not any(question.required for question in questions):
        warnings.append(DesignWarning("nothing_required", str(_("No question is required.")), None))
    for page in definition.pages:
        if not page.questions:
            message = _("Page %(page)s has no questions.") % {"page": page.key}
            warnings.append(DesignWarning("empty_page", str(message), None))
    return warnings


def estimate_seconds(definition: Definition) -> int:
    """How long the survey takes if every question is shown."""
    total = 0
    for question in iter_questions(definition):
        if question.type == "matrix":
            total += SECONDS_PER_MATRIX_ROW * len(question.rows or [])
        else:
            total += SECONDS[question.type]
    return total


def _texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for text in value.values() if isinstance(text, str)]
    return [value] if isinstance(value, str) else []


def _leading(question: Question) -> list[DesignWarning]:
    texts = [*_texts(question.text), *_texts(question.functional), *_texts(question.dysfunctional)]
    for text in texts:
        if any(pattern.search(text) for pattern in LEADING_PATTERNS):
            message = _("The wording may lead respondents to an answer; ask neutrally.")
            return [DesignWarning("leading_wording", str(message), question.key)]
    return []


def _polarity(label: str) -> int | None:
    """-1 negative, 0 neutral, 1 positive, None when the label says neither (e.g. "1分")."""
    if _NEUTRAL.search(label):  # first: "Neither satisfied nor dissatisfied"
        return 0
    if _NEGATIVE.search(label):
        return -1
    if _POSITIVE.search(label):
        return 1
    return None


def _scale_labels(question: Question, language: str) -> list[DesignWarning]:
    labels = question.labels or []
    if not labels:
        return []
    texts = [_first_text(label, language) for label in labels]
    if len(set(texts)) != len(texts):
        message = _("Two scale points have the same label.")
        return [DesignWarning("scale_labels_repeated", str(message), question.key)]
    polarities = [_polarity(text) for text in texts]
    if None in polarities:
        return []  # custom labels: we cannot judge their balance
    if polarities.count(-1) != polarities.count(1) or polarities.count(0) > 1:
        message = _("The scale labels are not balanced: as many negative as positive points.")
        return [DesignWarning("scale_labels_unbalanced", str(message), question.key)]
    ordered = polarities in (sorted(polarities), sorted(polarities, reverse=True))
    middle_neutral = len(polarities) % 2 == 0 or polarities[len(polarities) // 2] == 0
    if not ordered or not middle_neutral:
        message = _("Order the scale labels from one end to the other, neutral in the middle.")
        return [DesignWarning("scale_labels_order", str(message), question.key)]
    return []


def _first_text(label: Any, language: str) -> str:
    if isinstance(label, dict):
        return label.get(language) or next(iter(label.values()), "")
    return str(label)


def _open_questions(questions: list[Question]) -> list[DesignWarning]:
    open_questions = [question for question in questions if question.type == "text"]
    if len(open_questions) <= MAX_OPEN_QUESTIONS:
        return []
    message = _("%(count)d open questions; more than %(max)d tire respondents.") % {
        "count": len(open_questions),
        "max": MAX_OPEN_QUESTIONS,
    }
    return [DesignWarning("too_many_open_questions", str(message), open_questions[-1].key)]


def _duration(definition: Definition) -> list[DesignWarning]:
    seconds = estimate_seconds(definition)
    promised = definition.intro.minutes
    if seconds <= promised * 60:
        return []
    minutes = (seconds + 59) // 60
    message = _("Takes about %(minutes)d minutes, more than the %(promised)d promised.") % {
        "minutes": minutes,
        "promised": promised,
    }
    return [DesignWarning("longer_than_promised", str(message), None)]
