"""Sentiment and aspects of short customer texts (survey comments, case descriptions, chat
messages) in Simplified Chinese, Traditional Chinese and English.

    sentiment(["不满意", "送貨很快，很滿意", "The agent was rude"])  # [-0.78, 0.97, -0.51]
    aspects(["快递太慢了，客服态度还行"])               # [["attitude", "logistics"]]
    aspect_sentiment(["快递太慢了，客服态度很好"])       # [{"attitude": 0.52, "logistics": -0.66}]

:func:`sentiment` scores each text in -1..1 (below 0 negative, 0 when nothing is said). A text
is normalised (full-width forms, lower case, Traditional -> Simplified characters), then sent by
its share of CJK characters either to the Chinese model trained by the project
(:mod:`~cxloop.insights.text_model`: hashed character 1-3-grams with negation marking,
NB-weighted logistic regression, score ``2 p - 1``), or to a VADER-style English
lexicon scorer (:func:`~cxloop.insights.text_lang.english_score`). Everything it needs ships in
``cxloop/insights/data``; nothing is downloaded. The shipped model needs no jieba (it would
cost more than half the speed; a model trained with ``--words`` loads it lazily). Figures,
data, split and limits: docs/text-analytics.md.

:func:`aspects` finds which survey dimensions a text talks about by keywords: :data:`ASPECTS`
maps each dimension key to Chinese keywords (Simplified; Traditional text matches after the
conversion; plain substrings, so they should be words jieba would also cut out) and English
keywords (whole words, lower case). Pass ``vocabulary=`` (same shape) to use your own; keys come
back in the vocabulary's order.

Pure Python + NumPy, no Django.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .text_lang import clauses, english_score, is_chinese, normalise
from .text_model import shipped_model

__all__ = ["ASPECTS", "aspect_sentiment", "aspects", "sentiment"]

# The survey dimensions (R2.2) and the words that name them. Keys are stable identifiers.
ASPECTS: dict[str, dict[str, tuple[str, ...]]] = {
    "response_speed": {
        "zh": ("回复", "回应", "响应", "答复", "接通", "排队", "等了很久", "等太久", "等半天",
               "秒回", "及时", "不及时", "效率", "速度", "半天没人", "没人理", "没人回"),
        "en": ("response", "respond", "responded", "reply", "replied", "wait", "waited",
               "waiting", "hold", "on hold", "queue", "quick reply", "took forever", "promptly"),
    },
    "resolution": {
        "zh": ("解决", "处理", "搞定", "退款", "退货", "换货", "售后", "维修", "修好", "赔偿",
               "补偿", "到账", "问题还在", "没解决", "投诉"),
        "en": ("resolve", "resolved", "resolution", "solve", "solved", "fix", "fixed", "refund",
               "refunded", "return", "replacement", "repair", "repaired", "compensation",
               "issue", "problem", "complaint"),
    },
    "attitude": {
        "zh": ("态度", "服务态度", "耐心", "热情", "礼貌", "客气", "冷漠", "敷衍", "不耐烦",
               "脾气", "凶", "友好", "微笑", "客服人员", "服务员"),
        "en": ("rude", "polite", "friendly", "attitude", "patient", "impatient", "courteous",
               "helpful", "unhelpful", "kind", "respectful", "dismissive", "agent", "staff"),
    },
    "logistics": {
        "zh": ("快递", "物流", "送货", "发货", "配送", "到货", "收货", "包装", "运输", "快递员",
               "派送", "签收", "发货速度", "送达", "运费"),
        "en": ("delivery", "delivered", "shipping", "shipped", "shipment", "courier", "parcel",
               "package", "packaging", "arrived", "tracking", "dispatch", "logistics"),
    },
    "product_quality": {
        "zh": ("质量", "品质", "做工", "材质", "正品", "假货", "次品", "坏了", "破损", "瑕疵",
               "故障", "耐用", "好用", "不好用", "效果", "手感"),
        "en": ("quality", "defective", "broken", "damaged", "faulty", "durable", "material",
               "works", "stopped working", "fake", "genuine", "build"),
    },
    "price": {
        "zh": ("价格", "价钱", "便宜", "太贵", "贵了", "性价比", "划算", "优惠", "折扣", "涨价",
               "降价", "价位", "收费", "多收"),
        "en": ("price", "prices", "pricing", "expensive", "cheap", "overpriced", "cost",
               "costs", "value for money", "discount", "charged", "fee", "fees", "affordable"),
    },
    "process_clarity": {
        "zh": ("流程", "手续", "步骤", "说明", "规则", "操作", "复杂", "麻烦", "繁琐", "不清楚",
               "看不懂", "说不清", "清楚", "简单方便", "表格", "填写"),
        "en": ("process", "procedure", "steps", "instructions", "confusing", "unclear",
               "complicated", "form", "forms", "policy", "rules", "easy to follow", "clear"),
    },
    "environment": {
        "zh": ("环境", "门店", "店面", "卫生", "干净", "脏", "整洁", "装修", "设施", "停车",
               "座位", "噪音", "吵", "拥挤", "空调"),
        "en": ("store", "shop", "branch", "clean", "dirty", "tidy", "facilities", "parking",
               "seating", "noisy", "crowded", "environment", "atmosphere"),
    },
    "personalisation": {
        "zh": ("个性化", "定制", "专属", "推荐", "贴心", "记得我", "针对", "量身", "会员",
               "生日", "偏好", "一对一"),
        "en": ("personalised", "personalized", "personal", "tailored", "custom", "customised",
               "customized", "recommendation", "recommendations", "remembered", "birthday",
               "member", "loyalty"),
    },
}  # fmt: skip


def sentiment(texts: Sequence[str]) -> list[float]:
    """Sentiment of each text in -1..1 (below 0 negative); 0.0 for an empty text."""
    normalised = [normalise(text) for text in texts]
    scores = np.zeros(len(normalised))
    chinese = [i for i, text in enumerate(normalised) if text.strip() and is_chinese(text)]
    if chinese:
        probabilities = shipped_model().probabilities([normalised[i] for i in chinese])
        scores[chinese] = 2.0 * probabilities - 1.0
    chinese_set = set(chinese)
    for i, text in enumerate(normalised):
        if i not in chinese_set and text.strip():
            scores[i] = english_score(text)
    return [float(score) for score in np.clip(scores, -1.0, 1.0)]


def _compile(vocabulary: Mapping[str, Mapping[str, Sequence[str]]]) -> _Matcher:
    """One alternation of all keywords, longest first, and which aspects each keyword names."""
    keys = list(vocabulary)
    owners: dict[str, set[int]] = {}
    pieces: dict[str, str] = {}
    for index, key in enumerate(keys):
        for language in ("zh", "en"):
            for word in vocabulary[key].get(language, ()):
                word = normalise(word).strip()
                if word:
                    owners.setdefault(word, set()).add(index)
                    escaped = re.escape(word)
                    pieces[word] = rf"\b{escaped}\b" if language == "en" else escaped
    ordered = sorted(pieces, key=lambda word: (-len(word), word))
    pattern = re.compile("|".join(pieces[word] for word in ordered) or r"(?!)")
    return _Matcher(pattern, keys, owners)


@dataclass(frozen=True)
class _Matcher:
    pattern: re.Pattern
    keys: list[str]
    owners: dict[str, set[int]]

    def found(self, normalised: str) -> list[str]:
        indices = set()
        for match in self.pattern.finditer(normalised):
            indices |= self.owners[match.group()]
        return [self.keys[index] for index in sorted(indices)]


_COMPILED: dict[int, tuple[object, _Matcher]] = {}


def _matcher(vocabulary: Mapping | None) -> _Matcher:
    vocabulary = ASPECTS if vocabulary is None else vocabulary
    cached = _COMPILED.get(id(vocabulary))
    if cached is None or cached[0] is not vocabulary:  # the id of a dead dict can come back
        cached = (vocabulary, _compile(vocabulary))
        if len(_COMPILED) > 32:
            _COMPILED.clear()
        _COMPILED[id(vocabulary)] = cached
    return cached[1]


def aspects(texts: Sequence[str], vocabulary: Mapping | None = None) -> list[list[str]]:
    """The aspect keys each text mentions, in the vocabulary's order (default :data:`ASPECTS`).

    ``vocabulary`` maps a key to ``{"zh": [...], "en": [...]}`` keyword lists.
    """
    matcher = _matcher(vocabulary)
    return [matcher.found(normalise(text)) for text in texts]


def aspect_sentiment(
    texts: Sequence[str], vocabulary: Mapping | None = None
) -> list[dict[str, float]]:
    """Per text, each mentioned aspect's sentiment: the mean score of the clauses naming it.

    Clauses are split on ，。！？；,.!? (and a few more); a clause naming no aspect is ignored.
    """
    matcher = _matcher(vocabulary)
    pieces = [clauses(text) for text in texts]
    flat = [clause for parts in pieces for clause in parts]
    scores = iter(sentiment(flat))
    result = []
    for parts in pieces:
        totals: dict[str, list[float]] = {}
        for clause in parts:
            score = next(scores)
            for key in matcher.found(normalise(clause)):
                totals.setdefault(key, []).append(score)
        result.append({key: float(np.mean(totals[key])) for key in matcher.keys if key in totals})
    return result
