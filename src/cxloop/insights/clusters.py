"""Low-score clusters: what low scorers talk about more than everyone else, and where.

The question is the manager's "what are detractors unhappy about, where": for each place (a
region, a store, a channel, a segment; or the whole set) and each term (an aspect of
:data:`cxloop.insights.text.ASPECTS` or a word of the comments), compare

* the **share of low-score texts in the place that name the term** (``low_hits / low_texts``)
* with the **base rate**: the share of *all* texts of the whole set that name it.

``lift = share / base rate`` reads "region East: logistics, 3.1× the base rate". A term counts
once per text (document frequency), so one long rant does not outweigh ten short complaints.
Each cell is tested one-sided with the exact binomial test, P(X ≥ low_hits) for
X ~ Binomial(low_texts, base rate), and the p-values of every cell tested are adjusted together
by Benjamini–Hochberg (false discovery rate), so scanning 200 stores × 9 aspects does not turn
noise into findings. A finding needs ``min_hits`` texts, ``min_lift`` and ``q ≤ max_q``.

The base includes the low texts themselves: where one place is most of the set its lift shrinks
towards 1, which errs on the quiet side.

:func:`words` turns a comment into the terms for the word analysis: for Chinese, jieba words
of two or more characters and a few one-character complaints (差 慢 贵 脏 …), a negator joined to
the word it negates (so 不满意 stays one term and 满意 is not counted as a complaint); for
English, lower-case words of three or more letters, "not friendly" kept together; both without
common function words. Pure Python + NumPy/SciPy, no Django.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .text_lang import is_chinese, normalise
from .text_model import jieba_tokenizer

__all__ = ["Finding", "Tally", "over_represented", "tally", "word_tally", "words"]

# A rate of exactly 0 would make any single hit infinitely over-represented: smooth the base
# rate as (hits + 0.5) / (texts + 1) (the Jeffreys-style half count).
_HALF = 0.5


@dataclass(frozen=True)
class Tally:
    """Texts of one place: how many, how many low, and how many name each term.

    ``hits`` (all texts naming a term) is needed only for the whole set, which gives the base
    rates; ``low_hits`` is what the places are judged on.
    """

    texts: int
    low_texts: int
    low_hits: Mapping[str, int] = field(default_factory=dict)
    hits: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.texts < 0 or self.low_texts < 0 or self.low_texts > self.texts:
            raise ValueError(f"need 0 <= low_texts <= texts, got {self.low_texts}/{self.texts}")
        for name, counts in (("low_hits", self.low_hits), ("hits", self.hits)):
            bad = {term: n for term, n in counts.items() if n < 0}
            if bad:
                raise ValueError(f"{name} must not be negative: {bad}")
        over = {t: n for t, n in self.low_hits.items() if n > self.low_texts}
        if over:
            raise ValueError(f"low_hits exceed low_texts ({self.low_texts}): {over}")

    def base_rate(self, term: str) -> float:
        """Smoothed share of the texts naming ``term``."""
        return (self.hits.get(term, 0) + _HALF) / (self.texts + 1)


@dataclass(frozen=True)
class Finding:
    """One over-represented term in one place."""

    place: str
    term: str
    low_hits: int
    low_texts: int
    share: float  # low_hits / low_texts
    base_rate: float  # share of all texts of the whole set naming the term (smoothed)
    lift: float  # share / base_rate
    p_value: float  # one-sided exact binomial
    q_value: float  # Benjamini-Hochberg over every cell tested


def tally(texts_terms: Iterable[Iterable[str]], low: Iterable[bool]) -> Tally:
    """A :class:`Tally` from the terms of each text and whether the text is low-score."""
    hits: Counter[str] = Counter()
    low_hits: Counter[str] = Counter()
    texts = low_texts = 0
    for terms, is_low in zip(texts_terms, low, strict=True):
        unique = set(terms)
        texts += 1
        hits.update(unique)
        if is_low:
            low_texts += 1
            low_hits.update(unique)
    return Tally(texts=texts, low_texts=low_texts, low_hits=dict(low_hits), hits=dict(hits))


def over_represented(
    places: Mapping[str, Tally],
    base: Tally,
    *,
    min_hits: int = 5,
    min_lift: float = 1.2,
    max_q: float = 0.05,
) -> list[Finding]:
    """Findings over every place and term, strongest first (by lift, then by low_hits).

    ``places`` maps a place label to its tally ("" may stand for the whole set); ``base`` gives
    the base rates. Every (place, term) cell with at least one low text is tested and counts in
    the false-discovery adjustment; only the cells passing all three thresholds come back.
    """
    if min_hits < 1 or min_lift <= 0 or not 0 < max_q <= 1:
        raise ValueError(f"bad thresholds: min_hits={min_hits}, min_lift={min_lift}, max_q={max_q}")
    cells = [
        (place, term, count, place_tally.low_texts)
        for place, place_tally in places.items()
        if place_tally.low_texts
        for term, count in place_tally.low_hits.items()
    ]
    if not cells:
        return []
    hits = np.array([cell[2] for cell in cells], dtype=np.int64)
    trials = np.array([cell[3] for cell in cells], dtype=np.int64)
    rates = np.array([base.base_rate(cell[1]) for cell in cells])
    p_values = stats.binom.sf(hits - 1, trials, rates)  # P(X >= hits)
    q_values = _benjamini_hochberg(p_values)
    shares = hits / trials
    lifts = shares / rates
    keep = (hits >= min_hits) & (lifts >= min_lift) & (q_values <= max_q)
    findings = [
        Finding(
            place=cells[i][0],
            term=cells[i][1],
            low_hits=int(hits[i]),
            low_texts=int(trials[i]),
            share=float(shares[i]),
            base_rate=float(rates[i]),
            lift=float(lifts[i]),
            p_value=float(p_values[i]),
            q_value=float(q_values[i]),
        )
        for i in np.flatnonzero(keep)
    ]
    findings.sort(key=lambda f: (-f.lift, -f.low_hits, f.place, f.term))
    return findings


def _benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """BH-adjusted p-values (q-values), in the input order."""
    n = len(p_values)
    order = np.argsort(p_values)
    ranked = p_values[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]  # monotone from the largest down
    q_values = np.empty(n)
    q_values[order] = np.minimum(adjusted, 1.0)
    return q_values


# --- words ------------------------------------------------------------------------------------

# Function words that would otherwise top every list. Kept short on purpose: domain words such
# as 没有 / 太 stay, because "没有回复" and "太慢" are exactly what we want to see.
ZH_STOPWORDS = frozenset(
    [
        "我们",
        "你们",
        "他们",
        "她们",
        "它们",
        "这个",
        "那个",
        "这些",
        "那些",
        "一个",
        "一下",
        "一些",
        "一次",
        "什么",
        "怎么",
        "这么",
        "那么",
        "为什么",
        "因为",
        "所以",
        "但是",
        "可是",
        "而且",
        "然后",
        "已经",
        "还是",
        "就是",
        "可以",
        "觉得",
        "感觉",
        "真的",
        "比较",
        "还有",
        "以后",
        "现在",
        "时候",
        "今天",
        "昨天",
        "东西",
        "自己",
        "这样",
        "那样",
        "如果",
        "虽然",
        "之后",
        "之前",
        "一直",
        "其实",
        "应该",
        "而已",
        "的话",
        "或者",
        "然而",
        "并且",
    ]
)
# Single characters that carry a complaint on their own (质量差, 太贵, 很脏): kept, unlike 的/了.
ZH_SINGLE_WORDS = frozenset("差慢贵脏乱吵凶烂坏假旧臭少错破难冷")
EN_STOPWORDS = frozenset(
    [
        "the",
        "and",
        "was",
        "were",
        "are",
        "for",
        "you",
        "your",
        "with",
        "that",
        "this",
        "they",
        "them",
        "their",
        "have",
        "has",
        "had",
        "but",
        "not",
        "our",
        "ours",
        "out",
        "get",
        "got",
        "its",
        "it's",
        "from",
        "what",
        "when",
        "which",
        "who",
        "will",
        "would",
        "could",
        "should",
        "there",
        "then",
        "than",
        "very",
        "just",
        "too",
        "also",
        "all",
        "any",
        "can",
        "did",
        "does",
        "doing",
        "been",
        "being",
        "about",
        "into",
        "over",
        "only",
        "some",
        "such",
        "more",
        "most",
        "other",
        "again",
        "once",
        "here",
        "why",
        "how",
        "she",
        "her",
        "his",
        "him",
        "i'm",
        "i've",
        "you're",
    ]
)
# Negators (as jieba cuts them) joined to the next word, the word they negate.
_ZH_NEGATORS = frozenset(
    ("没有", "不是", "并不", "从不", "从没", "从未", "不太", "不够", "不怎么", "不大", "不算")
    + ("没那么", "不", "没", "未", "无", "别")
)
_ZH_DEGREE = frozenset({"很", "太", "特别", "非常", "那么", "这么", "怎么", "十分", "够", "太过"})
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
_EN_NEGATORS = frozenset({"not", "no", "never", "without", "don't", "didn't", "isn't", "wasn't"})
_HAS_CJK = re.compile(r"[\u3400-\u9fff]")


def words(text: str) -> list[str]:
    """The terms of one comment for the word analysis (see the module docstring)."""
    return list(_words(text or ""))


# Reports sample overlapping texts (the base, each place, the examples) and are asked again:
# tokenising is the slow part, so the terms of recent texts are kept (~10 MB at most).
@functools.lru_cache(maxsize=65_536)
def _words(text: str) -> tuple[str, ...]:
    normalised = normalise(text)
    if not normalised.strip():
        return ()
    if is_chinese(normalised):
        return tuple(_chinese_words(normalised))
    return tuple(_english_words(normalised))


def _chinese_words(normalised: str) -> list[str]:
    # HMM off: new-word discovery costs a third more time and adds little on short comments.
    tokens = [t for t in jieba_tokenizer().lcut(normalised, HMM=False) if t.strip()]
    terms, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if token in _ZH_NEGATORS and i + 1 < len(tokens) and _HAS_CJK.search(tokens[i + 1]):
            token, i = token + tokens[i + 1], i + 1
            if tokens[i] in _ZH_DEGREE and i + 1 < len(tokens):  # 不是 很 好 -> 不是很好
                token, i = token + tokens[i + 1], i + 1
        i += 1
        keep = len(token) >= 2 or token in ZH_SINGLE_WORDS
        if keep and _HAS_CJK.search(token) and token not in ZH_STOPWORDS:
            terms.append(token)
    return terms


def _english_words(normalised: str) -> list[str]:
    tokens = _EN_WORD.findall(normalised)
    terms, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        if token in _EN_NEGATORS and i + 1 < len(tokens):
            token, i = f"{token} {tokens[i + 1]}", i + 1
        i += 1
        if len(token) >= 3 and token not in EN_STOPWORDS:
            terms.append(token)
    return terms


def word_tally(
    texts: Sequence[str], low: Sequence[bool], *, exclude: frozenset[str] = frozenset()
) -> Tally:
    """:func:`tally` over the :func:`words` of each text, leaving out the words in ``exclude``
    (e.g. the words of the place names, which say where rather than what)."""
    terms = ((w for w in _words(text or "") if w not in exclude) for text in texts)
    return tally(terms, low)
