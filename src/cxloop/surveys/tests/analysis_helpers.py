"""Test helpers for the KANO and key-driver analysis: a survey with four KANO pairs and three
dimension ratings, and responses with known answers written straight to the models."""

from __future__ import annotations

import itertools

from django.utils import timezone

from cxloop.surveys.models import Response, Survey, SurveyVersion

ANSWER = {1: "like", 2: "expect", 3: "neutral", 4: "tolerate", 5: "dislike"}
# One answer pair per category (functional, dysfunctional), from the Kano table.
PAIR = {"A": (1, 3), "O": (1, 5), "M": (2, 5), "I": (3, 3), "R": (5, 1), "Q": (1, 1)}
# Per feature: how many respondents fall in each category.
KANO_PLAN = {
    "kano_delivery": {"M": 6, "O": 3, "A": 1},  # must-be, better 0.4, worse -0.9
    "kano_wifi": {"A": 2, "I": 7, "Q": 1},  # indifferent, better 2/9, worse 0
    "kano_service": {"O": 5, "M": 2, "A": 2, "I": 1},  # one-dimensional, 0.7 / -0.7
    "kano_returns": {"A": 6, "I": 2, "R": 1, "Q": 1},  # attractive, 6/8 / 0
}
FEATURES = {
    "kano_delivery": {"zh-hans": "送货上门安装", "en": "Home delivery and installation"},
    "kano_wifi": "门店WiFi",
    "kano_service": "会员专属客服",
    "kano_returns": "30天无理由退换",
}


def _kano(key: str) -> dict:
    return {
        "key": key,
        "type": "kano",
        "feature": FEATURES[key],
        "functional": "如果提供，您觉得如何？",
        "dysfunctional": "如果不提供，您觉得如何？",
    }


DEFINITION = {
    "format": "cxloop.survey/1",
    "title": "门店体验调研",
    "language": "zh-hans",
    "pages": [
        {
            "key": "p1",
            "questions": [
                {"key": "nps", "type": "nps", "text": "推荐可能性", "role": "nps"},
                {
                    "key": "overall",
                    "type": "rating",
                    "text": "总体满意度",
                    "scale": 5,
                    "role": "csat",
                },
                {
                    "key": "dims",
                    "type": "matrix",
                    "text": "请打分",
                    "scale": 5,
                    "role": "csi",
                    "rows": [
                        {"key": "speed", "label": {"zh-hans": "速度", "en": "Speed"}},
                        {"key": "attitude", "label": {"zh-hans": "态度", "en": "Attitude"}},
                    ],
                },
                {"key": "price", "type": "rating", "text": {"en": "Price", "zh-hans": "价格"}},
                {"key": "comment", "type": "text", "text": "还有什么想说的？"},
                *(_kano(key) for key in KANO_PLAN),
            ],
        }
    ],
}
_counter = itertools.count(1)


def make_survey(key: str = "store-visit") -> Survey:
    survey = Survey.objects.create(key=key, title="门店体验调研", status=Survey.Status.ACTIVE)
    version = SurveyVersion.objects.create(survey=survey, number=1, definition=DEFINITION)
    survey.current_version = version
    survey.draft = DEFINITION
    survey.save(update_fields=["current_version", "draft"])
    return survey


def response(survey: Survey, answers: dict, *, excluded: bool = False, **fields) -> Response:
    return Response(
        survey=survey,
        version=survey.current_version,
        answers=answers,
        submitted_at=fields.pop("submitted_at", None) or timezone.now(),
        excluded=excluded,
        respondent_key=f"a{next(_counter)}",
        **fields,
    )


def kano_answers(plan: dict[str, dict[str, int]] = KANO_PLAN) -> list[dict]:
    """Answer dicts realising ``plan``: respondent i answers each feature's i-th pair."""
    columns = {}
    for key, counts in plan.items():
        cells = [PAIR[c] for c, k in counts.items() for _ in range(k)]
        columns[key] = [{"functional": ANSWER[f], "dysfunctional": ANSWER[d]} for f, d in cells]
    size = max(len(cells) for cells in columns.values())
    return [
        {key: cells[i] for key, cells in columns.items() if i < len(cells)} for i in range(size)
    ]


def add_kano_responses(survey: Survey, **fields) -> None:
    Response.objects.bulk_create(response(survey, a, **fields) for a in kano_answers())


def driver_rows(noise: bool = True) -> list[dict]:
    """A balanced design: speed, attitude and price each 1..5, all combinations, so the three are
    uncorrelated. NPS = speed + attitude - 1 + e (e in -1, 0, 1 balanced): price has no effect."""
    rows = []
    errors = (-1, 0, 1) if noise else (0,)
    for speed, attitude, price, e in itertools.product(
        range(1, 6), range(1, 6), range(1, 6), errors
    ):
        nps = speed + attitude - 1 + e
        rows.append(
            {
                "nps": nps,
                "overall": 3,
                "dims": {"speed": speed, "attitude": attitude},
                "price": price,
            }
        )
    return rows


def add_driver_responses(survey: Survey, rows: list[dict], **fields) -> None:
    Response.objects.bulk_create(response(survey, a, **fields) for a in rows)
