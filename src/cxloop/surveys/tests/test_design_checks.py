"""Design warnings: each rule fires on the case from the survey guide and stays quiet otherwise."""

from __future__ import annotations

import pytest

from cxloop.surveys import builtin
from cxloop.surveys.definition import parse_definition
from cxloop.surveys.design_checks import DesignWarning, Warning, check_design, estimate_seconds

GOOD_LABELS = ["很不满意", "不满意", "一般", "满意", "非常满意"]


def _survey(*questions: dict, minutes: int = 3) -> dict:
    return {
        "title": "T",
        "intro": {"minutes": minutes},
        "pages": [{"key": "p1", "questions": list(questions)}],
    }


def _rating(key="overall", text="您对本次服务的满意度如何？", labels=None, scale=5, **extra):
    question = {"key": key, "type": "rating", "text": text, "scale": scale, "required": True}
    if labels is not None:
        question["labels"] = labels
    return {**question, **extra}


def _codes(data) -> list[tuple[str, str | None]]:
    return [(warning.code, warning.question_key) for warning in check_design(data)]


def test_clean_survey_has_no_warnings():
    assert check_design(_survey(_rating(labels=GOOD_LABELS))) == []


def test_accepts_a_parsed_definition_and_warning_alias():
    definition = parse_definition(_survey(_rating(text="难道您不满意吗？")))
    warnings = check_design(definition)
    assert warnings == [DesignWarning("leading_wording", warnings[0].message, "overall")]
    assert Warning is DesignWarning


@pytest.mark.parametrize(
    "text",
    [
        "您是否觉得我们的服务非常周到？",
        "难道您对我们的配送不满意？",
        "您一定很喜欢我们的新包装吧？",
        "您对本次服务非常满意吗？",
        "我们的客服是不是很专业？",
        "大多数客户都喜欢次日达，您呢？",
        "Don't you agree our delivery is fast?",
        "Wouldn't you say the app is easy?",
    ],
)
def test_leading_wording(text):
    assert _codes(_survey(_rating(text=text))) == [("leading_wording", "overall")]


@pytest.mark.parametrize(
    "text",
    ["您对本次服务的满意度如何？", "How satisfied are you with the delivery?", "是否需要发票？"],
)
def test_neutral_wording(text):
    assert _codes(_survey(_rating(text=text))) == []


def test_leading_wording_in_a_translation_and_kano_text():
    rating = _rating(text={"zh-hans": "您对服务满意度如何？", "en": "Don't you agree it was good?"})
    kano = {
        "key": "k",
        "type": "kano",
        "feature": "次日达",
        "functional": "难道您不想要次日达？",
        "dysfunctional": "如果不提供次日达，您觉得如何？",
    }
    assert _codes(_survey(rating, kano)) == [
        ("leading_wording", "overall"),
        ("leading_wording", "k"),
    ]


@pytest.mark.parametrize(
    ("labels", "code"),
    [
        (["非常满意", "满意", "比较满意", "一般", "不满意"], "scale_labels_unbalanced"),
        (["一般", "比较满意", "满意", "非常满意"], "scale_labels_unbalanced"),
        (["很不满意", "不满意", "满意", "一般", "非常满意"], "scale_labels_order"),
        (["很不满意", "满意", "一般", "不满意", "非常满意"], "scale_labels_order"),
        (["不满意", "一般", "一般", "满意", "非常满意"], "scale_labels_repeated"),
        (
            [
                "Very dissatisfied",
                "Dissatisfied",
                "Satisfied",
                "Very satisfied",
                "Extremely satisfied",
            ],
            "scale_labels_unbalanced",
        ),
    ],
)
def test_unbalanced_or_disordered_labels(labels, code):
    scale = len(labels)
    assert _codes(_survey(_rating(labels=labels, scale=scale))) == [(code, "overall")]


@pytest.mark.parametrize(
    "labels",
    [
        GOOD_LABELS,
        list(reversed(GOOD_LABELS)),
        ["不满意", "满意"],
        ["很不满意", "不满意", "满意", "非常满意"],
        ["1分", "2分", "3分", "4分", "5分"],  # custom labels are not judged
        [
            "Very dissatisfied",
            "Dissatisfied",
            "Neither satisfied nor dissatisfied",
            "Satisfied",
            "Very satisfied",
        ],
    ],
)
def test_balanced_labels(labels):
    assert _codes(_survey(_rating(labels=labels, scale=len(labels)))) == []


def test_matrix_and_effort_labels_are_checked():
    matrix = {
        "key": "dims",
        "type": "matrix",
        "text": "请打分",
        "scale": 4,
        "labels": ["非常满意", "满意", "比较满意", "一般"],
        "rows": [{"key": "attitude", "label": "服务态度"}],
        "required": True,
    }
    effort = _rating(key="effort", scale=4, labels=["非常省力", "省力", "费力", "非常费力"])
    effort["type"] = "effort"
    assert _codes(_survey(matrix, effort)) == [("scale_labels_unbalanced", "dims")]


def _text(key):
    return {"key": key, "type": "text", "text": "还有什么建议？"}


def test_more_than_two_open_questions():
    assert _codes(_survey(_rating(), _text("a"), _text("b"))) == []
    assert _codes(_survey(_rating(), _text("a"), _text("b"), _text("c"), minutes=5)) == [
        ("too_many_open_questions", "c")
    ]


def test_estimate_and_longer_than_promised():
    definition = parse_definition(builtin.get_template("relationship_nps"))
    # nps 10 + multiple 8 + rating 10 + 7 matrix rows × 6 + kano 15 + text 30
    assert estimate_seconds(definition) == 115
    questions = [_rating(key=f"r{i}") for i in range(18)] + [_text("a")]  # 180 + 30 s
    assert _codes(_survey(*questions)) == [("longer_than_promised", None)]
    assert _codes(_survey(*questions, minutes=4)) == []


def test_nothing_required():
    optional = _rating(required=False)
    assert _codes(_survey(optional)) == [("nothing_required", None)]
    assert _codes({"title": "T", "pages": []}) == []


def test_empty_page():
    data = _survey(_rating())
    data["pages"].append({"key": "p2", "questions": []})
    assert _codes(data) == [("empty_page", None)]


def test_messages_follow_the_active_language():
    from django.utils import translation

    with translation.override("en"):
        message = check_design(_survey(_rating(text="难道不好吗")))[0].message
    assert message == "The wording may lead respondents to an answer; ask neutrally."
