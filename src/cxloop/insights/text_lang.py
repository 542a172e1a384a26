"""Language handling for :mod:`cxloop.insights.text`: normalisation, script conversion, language
detection, clause splitting, Chinese negation scopes and the English lexicon scorer.

- :func:`normalise` folds full-width forms (NFKC), lower-cases, and maps Traditional Chinese
  characters to Simplified with a shipped table (``data/zh_t2s.tsv``, the first candidate of each
  line of OpenCC's ``TSCharacters.txt``, Apache-2.0). Character-level only: Taiwan/Hong Kong
  vocabulary (軟體 for 软件) stays as it is.
- :func:`is_chinese` decides by the share of CJK characters among letters (Latin letters count
  a third, about one Chinese character's worth of information each) and sends the text to the
  trained Chinese model or to the English scorer.
- :func:`negated_spans` finds the characters a Chinese negator governs (不/没/没有/别/无/未/非 …)
  up to the next clause break, skipping words that only look negative (不错, 非常, 没想到 …).
- :func:`english_score` is a VADER-style scorer (lexicon of C.J. Hutto's VADER 3.3.2, MIT,
  shipped as ``data/en_lexicon.tsv.gz``, plus a few customer-service words): valence per word,
  boosted by degree adverbs, flipped by a negation in the three words before, "but" shifts the
  weight to the clause after it; the sum s becomes s / sqrt(s^2 + 15), in -1..1.

Pure Python, no Django.
"""

from __future__ import annotations

import functools
import gzip
import math
import re
import unicodedata
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_LATIN = re.compile(r"[a-z]")
CLAUSE_BREAKS = "，。！？；,.!?;\n、…~～"
_CLAUSE_SPLIT = re.compile(r"[，。！？；,.!?;\n、…~～]+")

# Chinese negators, longest first so that 没有 wins over 没. Their scope runs over the next
# NEGATION_WINDOW characters, stopped early by a clause break.
ZH_NEGATORS = ("没有", "不是", "并不", "从不", "毫不", "绝不", "决不", "从没", "从未", "不", "没",
               "无", "未", "非", "别", "莫", "勿", "甭")  # fmt: skip
# Words containing a negator that do not negate what follows (or are positive themselves).
ZH_NOT_NEGATORS = ("不错", "不仅", "不但", "不过", "不管", "不论", "无论", "非常", "没想到",
                   "想不到", "不得不", "差不多", "不久", "不断", "不少", "无比", "不愧", "别人",
                   "别的", "特别", "区别", "无需", "无须", "不用谢", "莫名", "并非不", "无时无刻",
                   "不一会", "毫无疑问", "无微不至", "非得")  # fmt: skip
NEGATION_WINDOW = 4

_NEGATOR = re.compile("|".join(map(re.escape, ZH_NEGATORS)))
_NOT_NEGATOR = re.compile("|".join(map(re.escape, sorted(ZH_NOT_NEGATORS, key=len, reverse=True))))
_BREAK_SET = frozenset(CLAUSE_BREAKS)
_NEGATOR_CHARS = frozenset("".join(ZH_NEGATORS))

# English: VADER's negations and degree adverbs (constants from VADER 3.3.2).
EN_NEGATIONS = frozenset((
    "aint", "arent", "cannot", "cant", "couldnt", "didnt", "doesnt", "dont", "hadnt", "hasnt",
    "havent", "isnt", "mightnt", "mustnt", "neither", "neednt", "never", "no", "none", "nope",
    "nor", "not", "nothing", "nowhere", "oughtnt", "shant", "shouldnt", "wasnt", "werent",
    "without", "wont", "wouldnt", "rarely", "seldom", "hardly",
))  # fmt: skip
_B_INCR, _B_DECR, _N_SCALAR, _BUT_BEFORE, _BUT_AFTER = 0.293, -0.293, -0.74, 0.5, 1.5
EN_BOOSTERS = {
    **dict.fromkeys((
        "absolutely", "amazingly", "awfully", "completely", "considerably", "deeply",
        "enormously", "entirely", "especially", "exceptionally", "extremely", "fully", "greatly",
        "highly", "hugely", "incredibly", "intensely", "particularly", "quite", "really",
        "remarkably", "so", "super", "substantially", "thoroughly", "totally", "tremendously",
        "unbelievably", "unusually", "utterly", "very", "too",
    ), _B_INCR),
    **dict.fromkeys((
        "almost", "barely", "kinda", "less", "little", "marginally", "occasionally", "partly",
        "scarcely", "slightly", "somewhat", "sorta",
    ), _B_DECR),
}  # fmt: skip
# Customer-service words VADER lacks (or scores for other genres), valence on VADER's -4..4.
EN_DOMAIN = {
    "fast": 1.5, "quick": 1.5, "quickly": 1.3, "prompt": 1.3, "promptly": 1.3, "slow": -1.5,
    "slowly": -1.2, "late": -1.3, "delay": -1.5, "delays": -1.5, "delayed": -1.6, "rude": -2.3,
    "unhelpful": -2.0, "polite": 1.6, "patient": 1.3, "professional": 1.5, "responsive": 1.6,
    "resolved": 1.5, "solved": 1.5, "fixed": 1.2, "refunded": 1.0, "expensive": -1.2,
    "overpriced": -2.0, "cheap": 0.5, "affordable": 1.3, "broken": -2.1, "damaged": -2.0,
    "missing": -1.4, "lost": -1.5, "wrong": -1.8, "waiting": -0.8, "waited": -0.9,
    "ignored": -1.8, "confusing": -1.6, "clear": 1.0, "easy": 1.5, "smooth": 1.3,
    "recommend": 1.6, "thanks": 1.9, "thank": 1.6, "no": 0.0, "ok": 0.9, "okay": 0.9,
}  # fmt: skip
_EN_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|[:;=8][\-o']?[()\[\]dp/\\|]|<3")


def _t2s_table() -> dict[int, int]:
    table: dict[int, int] = {}
    with open(DATA / "zh_t2s.tsv", encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                traditional, simplified = line.rstrip("\n").split("\t")
                table[ord(traditional)] = ord(simplified)
    table[ord("\u2019")] = ord("'")  # curly apostrophe, so that "don’t" negates like "don't"
    return table


@functools.cache
def t2s_table() -> dict[int, int]:
    """The Traditional -> Simplified character table for ``str.translate``, loaded once."""
    return _t2s_table()


def normalise(text: str) -> str:
    """NFKC (full-width -> half-width), lower case, Traditional -> Simplified characters."""
    return unicodedata.normalize("NFKC", text).lower().translate(t2s_table())


def cjk_share(text: str) -> float:
    """Share of CJK characters among CJK characters and Latin letters / 3 (0 when neither)."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text.lower()))
    return cjk / (cjk + latin / 3) if cjk or latin else 0.0


def is_chinese(normalised: str) -> bool:
    """Chinese when at least a third of the (weighted) letters are CJK characters."""
    return cjk_share(normalised) >= 1 / 3


def clauses(text: str) -> list[str]:
    """The non-empty clauses of ``text``, split on Chinese and Western punctuation."""
    return [part.strip() for part in _CLAUSE_SPLIT.split(text) if part.strip()]


def negation_scopes(text: str) -> tuple[list[tuple[int, int]], list[int]]:
    """Where Chinese negators act in ``text``: ``(scopes, idle)``.

    ``scopes`` are the ``(start, end)`` character ranges a negator governs: from just after it
    for :data:`NEGATION_WINDOW` characters or to the next clause break. ``idle`` are the
    positions of negator characters inside :data:`ZH_NOT_NEGATORS` words (不 in 不错), which
    negate nothing and so should not count as negators either.
    """
    if not _NEGATOR.search(text):
        return [], []
    idle = []
    for match in _NOT_NEGATOR.finditer(text):
        idle += [i for i in range(match.start(), match.end()) if text[i] in _NEGATOR_CHARS]
    masked = _NOT_NEGATOR.sub(lambda match: "\0" * len(match.group()), text) if idle else text
    scopes = []
    for match in _NEGATOR.finditer(masked):
        start = end = match.end()
        while end < len(text) and end - start < NEGATION_WINDOW and text[end] not in _BREAK_SET:
            end += 1
        if end > start:
            scopes.append((start, end))
    return scopes, idle


def negated_spans(text: str) -> list[tuple[int, int]]:
    """The character ranges governed by a Chinese negator (see :func:`negation_scopes`)."""
    return negation_scopes(text)[0]


@functools.cache
def english_lexicon() -> dict[str, float]:
    """VADER's lexicon with the customer-service additions (:data:`EN_DOMAIN` wins)."""
    lexicon: dict[str, float] = {}
    with gzip.open(DATA / "en_lexicon.tsv.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                word, valence = line.rstrip("\n").split("\t")
                lexicon.setdefault(word, float(valence))
    lexicon.update(EN_DOMAIN)
    return lexicon


def _is_negation(word: str) -> bool:
    return word in EN_NEGATIONS or word.endswith("n't")


def _word_valence(words: list[str], i: int, lexicon: dict[str, float]) -> float:
    valence = lexicon.get(words[i], 0.0)
    if not valence or words[i] in EN_BOOSTERS:
        return 0.0
    for distance, before in enumerate(words[max(0, i - 3) : i][::-1]):
        boost = EN_BOOSTERS.get(before)
        if boost:
            valence += math.copysign(boost, valence) * (1.0, 0.95, 0.9)[distance]
    if any(_is_negation(before) for before in words[max(0, i - 3) : i]):
        valence *= _N_SCALAR
    return valence


def english_score(text: str) -> float:
    """VADER-style compound score in -1..1 of an (already lower-cased) English text."""
    lexicon = english_lexicon()
    words = [word.replace("'", "") if word.replace("'", "") in EN_NEGATIONS else word
             for word in _EN_TOKEN.findall(text)]  # fmt: skip
    valences = [_word_valence(words, i, lexicon) for i in range(len(words))]
    if "but" in words:
        pivot = words.index("but")
        valences = [v * (_BUT_BEFORE if i < pivot else _BUT_AFTER) for i, v in enumerate(valences)]
    total = sum(valences)
    if total:
        total += math.copysign(min(text.count("!"), 4) * 0.292, total)
    return total / math.sqrt(total * total + 15.0)
