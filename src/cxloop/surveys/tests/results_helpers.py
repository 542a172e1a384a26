"""Test helpers for results: a published survey and responses written straight to the models."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from cxloop.surveys.models import Response, Survey, SurveyVersion

LABELS = ["很不满意", "不满意", "一般", "满意", "非常满意"]
DEFINITION = {
    "format": "cxloop.survey/1",
    "title": "配送满意度调查",
    "language": "zh-hans",
    "pages": [
        {
            "key": "p1",
            "questions": [
                {
                    "key": "nps",
                    "type": "nps",
                    "text": "推荐可能性",
                    "required": True,
                    "role": "nps",
                },
                {
                    "key": "overall",
                    "type": "rating",
                    "text": "总体满意度",
                    "scale": 5,
                    "labels": LABELS,
                    "role": "csat",
                },
                {"key": "effort", "type": "effort", "text": "容易程度", "scale": 7, "role": "ces"},
                {
                    "key": "dims",
                    "type": "matrix",
                    "text": "请打分",
                    "scale": 5,
                    "labels": LABELS,
                    "role": "csi",
                    "rows": [
                        {"key": "efficiency", "label": "服务效率"},
                        {"key": "attitude", "label": "服务态度"},
                    ],
                },
                {
                    "key": "reason",
                    "type": "single",
                    "text": "主要原因",
                    "options": [
                        {"value": "物流", "label": "物流"},
                        {"value": "价格", "label": "价格"},
                    ],
                },
                {"key": "comment", "type": "text", "text": "还有什么想说的？"},
            ],
        }
    ],
}
_counter = itertools.count(1)


def make_survey(key: str = "delivery", *, title: str = "配送满意度调查") -> Survey:
    survey = Survey.objects.create(key=key, title=title, status=Survey.Status.ACTIVE)
    version = SurveyVersion.objects.create(survey=survey, number=1, definition=DEFINITION)
    survey.current_version = version
    survey.draft = DEFINITION
    survey.save(update_fields=["current_version", "draft"])
    return survey


def make_response(
    survey: Survey,
    *,
    nps: int | None = None,
    csat: int | None = None,
    ces: int | None = None,
    dims: dict | None = None,
    comment: str | None = None,
    reason: str | None = None,
    submitted_at: dt.datetime | None = None,
    excluded: bool = False,
    **fields,
) -> Response:
    """A submitted response whose headline columns match its answers."""
    answers = {"nps": nps, "overall": csat, "effort": ces, "dims": dims, "reason": reason}
    answers = {k: v for k, v in answers.items() if v is not None}
    if comment is not None:
        answers["comment"] = comment
    csi = None
    if dims:
        csi = (sum(dims.values()) / len(dims) - 1) / 4 * 100
    return Response.objects.create(
        survey=survey,
        version=survey.current_version,
        answers=answers,
        submitted_at=submitted_at or timezone.now(),
        nps=nps,
        csat=csat,
        ces=ces,
        csi=csi,
        dimension_scores=dims or {},
        excluded=excluded,
        respondent_key=f"r{next(_counter)}",
        **fields,
    )


def local(year: int, month: int, day: int, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour))


ISSUES = {
    "key": "issues",
    "type": "multiple",
    "text": "哪些方面需要改进？",
    "options": [
        {"value": "speed", "label": "配送速度"},
        {"value": "packing", "label": "包装"},
        {"value": "price", "label": {"zh-hans": "价格", "en": "Price"}},
    ],
}


def add_multiple_choice(survey: Survey) -> Survey:
    """Give the survey's current version the multiple-choice question ``issues`` (last)."""
    version = survey.current_version
    definition = {**DEFINITION, "pages": [{**DEFINITION["pages"][0]}]}
    definition["pages"][0]["questions"] = [*DEFINITION["pages"][0]["questions"], ISSUES]
    version.definition = definition
    version.save(update_fields=["definition"])
    return survey


def with_answer(response: Response, key: str, value) -> Response:
    response.answers = {**response.answers, key: value}
    response.save(update_fields=["answers"])
    return response
