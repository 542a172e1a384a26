"""Sentiment and aspects (cxloop.insights.text): sanity, negation, scripts, domain set."""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cxloop.insights import text, text_lang

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def domain_rows() -> list[tuple[str, str, bool]]:
    rows = []
    for line in (FIXTURES / "text_domain_eval.tsv").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, language, sentence = line.split("\t")
            rows.append((language, sentence, label == "pos"))
    return rows


def to_traditional(sentences: list[str]) -> list[str]:
    table = {}
    with gzip.open(FIXTURES / "zh_s2t_opencc.tsv.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                simplified, traditional = line.rstrip("\n").split("\t")
                table[ord(simplified)] = traditional
    return [sentence.translate(table) for sentence in sentences]


@pytest.mark.parametrize(
    ("sentence", "positive"),
    [
        ("不满意", False), ("不是很好", False), ("没想到这么快", True), ("非常满意", True),
        ("服務態度很差", False), ("送貨很快，很滿意", True), ("not good", False),
        ("really helpful, thanks", True), ("快递太慢了", False), ("客服态度很好", True),
        ("退款一直没到账", False), ("The agent was rude", False), ("Delivery was fast", True),
    ],
)  # fmt: skip
def test_sentiment_sign_of_short_texts(sentence, positive):
    (score,) = text.sentiment([sentence])
    assert (score > 0) is positive, score


def test_negation_flips_the_plain_statement():
    plain, negated, english, english_negated = text.sentiment(
        ["很满意", "不满意", "the agent was helpful", "the agent was not helpful"]
    )
    assert plain > 0 > negated
    assert english > 0 > english_negated


def test_empty_and_blank_texts_are_neutral():
    assert text.sentiment(["", "   ", "。。。"]) == [0.0, 0.0, pytest.approx(0.0, abs=0.5)]
    assert text.sentiment([]) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(max_size=80), max_size=8))
def test_scores_are_finite_in_range_and_independent_of_the_batch(texts):
    together = text.sentiment(texts)
    assert len(together) == len(texts)
    assert all(math.isfinite(score) and -1.0 <= score <= 1.0 for score in together)
    assert together == pytest.approx([text.sentiment([item])[0] for item in texts], abs=1e-9)


def test_traditional_scores_like_its_simplified_original():
    simplified = [sentence for language, sentence, _ in domain_rows() if language == "zh"]
    traditional = to_traditional(simplified)
    assert sum(a != b for a, b in zip(simplified, traditional, strict=True)) > 30
    assert text.sentiment(traditional) == pytest.approx(text.sentiment(simplified), abs=1e-6)


def test_domain_set_accuracy():
    """Hand-written customer-service sentences, never trained on; the figure is in the docs."""
    rows = domain_rows()
    assert len(rows) >= 150 - 5
    scores = text.sentiment([sentence for _, sentence, _ in rows])
    correct = {language: [] for language in ("zh", "zh-Hant", "en")}
    for (language, _, positive), score in zip(rows, scores, strict=True):
        correct[language].append((score > 0) is positive)
    overall = sum(map(sum, correct.values())) / len(rows)
    assert overall >= 0.90, overall
    assert all(sum(found) / len(found) >= 0.84 for found in correct.values()), correct


def test_language_detection_by_cjk_share():
    assert text_lang.is_chinese("客服态度很好")
    assert text_lang.is_chinese("客服态度很好 thanks")
    assert not text_lang.is_chinese("the agent was rude")
    assert not text_lang.is_chinese("i ordered the 红米 phone last week and it never came")
    assert text_lang.cjk_share("") == 0.0


def test_normalise_folds_width_case_and_script():
    assert text_lang.normalise("ＡＢＣ！服務態度") == "abc!服务态度"


def test_negation_scopes_skip_words_that_only_look_negative():
    assert text_lang.negated_spans("不满意") == [(1, 3)]
    assert text_lang.negated_spans("不是很好") == [(2, 4)]
    assert text_lang.negated_spans("没想到这么快") == []
    assert text_lang.negated_spans("非常不错") == []
    scopes, idle = text_lang.negation_scopes("质量不错,就是不太满意")
    assert idle == [2]
    assert [("质量不错,就是不太满意"[a:b]) for a, b in scopes] == ["太满意"]
    assert text_lang.negated_spans("不好,很快") == [(1, 2)]  # stops at the clause break


def test_english_scorer_boosters_negation_and_but():
    assert text_lang.english_score("very good") > text_lang.english_score("good") > 0
    assert text_lang.english_score("not good") < 0
    assert text_lang.english_score("didn't help at all") < 0 < text_lang.english_score("helpful")
    assert text_lang.english_score("the app is good but the agent was rude") < 0
    assert text_lang.english_score("nothing") == 0.0 == text_lang.english_score("")


def test_aspects_default_vocabulary_in_fixed_order():
    found = text.aspects([
        "快递太慢了，客服态度还行", "The agent was rude and my refund never came", "價格太貴",
        "门店很干净", "流程太复杂", "谢谢", "还记得我的生日", "等了半天没人回", "质量很差",
    ])  # fmt: skip
    assert found == [
        ["attitude", "logistics"], ["resolution", "attitude"], ["price"], ["environment"],
        ["process_clarity"], [], ["personalisation"], ["response_speed"], ["product_quality"],
    ]  # fmt: skip
    assert list(text.ASPECTS) == [
        "response_speed", "resolution", "attitude", "logistics", "product_quality", "price",
        "process_clarity", "environment", "personalisation",
    ]  # fmt: skip


def test_aspects_custom_vocabulary_and_whole_english_words():
    vocabulary = {"app": {"zh": ["应用", "APP"], "en": ["app"]}, "wifi": {"en": ["wifi"]}}
    assert text.aspects(["應用老是闪退", "the happy path", "app and WiFi"], vocabulary) == [
        ["app"], [], ["app", "wifi"],
    ]  # fmt: skip
    assert text.aspects(["anything"], {}) == [[]]


def test_aspect_sentiment_scores_each_clause():
    (result,) = text.aspect_sentiment(["快递太慢了，客服态度很好"])
    assert list(result) == ["attitude", "logistics"]
    assert result["logistics"] < 0 < result["attitude"]
    assert text.aspect_sentiment(["谢谢", ""]) == [{}, {}]
