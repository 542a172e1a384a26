"""The trained Chinese sentiment model: hashed character n-grams (optionally jieba words too),
NB-weighted logistic regression.

Features of a normalised text (see :func:`cxloop.insights.text_lang.normalise`):

- character n-grams of length 1..3 (``ngram_max``);
- optionally jieba words and word bigrams, prefixed ``w:`` and ``b:`` (``words`` in the model
  metadata; off in the shipped model, for speed: docs/text-analytics.md);
- a feature that starts inside a negation scope (:func:`~cxloop.insights.text_lang.negated_spans`)
  gets the prefix ``!``, so 满意 in 不满意 is a different feature from 满意.

Each feature string is hashed with CRC-32 of its UTF-8 bytes modulo ``2**hash_bits``: no
vocabulary to ship, and the hash is the same on every platform and Python version (the
built-in ``hash`` is salted per process). A text is the binary vector of its buckets, scaled by
the naive-Bayes log-count ratio ``r`` of each bucket (Wang & Manning 2012, "NBSVM") and
L2-normalised; a logistic regression on that gives ``p = P(positive)``. The shipped arrays fold
the scaling in: ``weights = coef * r`` and ``norms = r**2``, so a text's logit is
``bias + sum(weights[b]) / sqrt(sum(norms[b]))`` over its buckets ``b`` — two gathers and two
sums in NumPy per batch. Training lives in :mod:`cxloop.insights.text_train`.
"""

from __future__ import annotations

import functools
import itertools
import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .text_lang import DATA, negation_scopes

MODEL_FILE = DATA / "sentiment_zh.npz"
FORMAT = 1
_JIEBA_LOCK = threading.Lock()
_JIEBA: dict[str, Any] = {}


def jieba_tokenizer():
    """jieba's tokenizer, initialised on first use (about a second, reported as ``load_s``)."""
    with _JIEBA_LOCK:
        if "tokenizer" not in _JIEBA:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            start = time.perf_counter()
            tokenizer = jieba.Tokenizer()
            tokenizer.initialize()
            _JIEBA["load_s"] = time.perf_counter() - start
            _JIEBA["tokenizer"] = tokenizer
        return _JIEBA["tokenizer"]


def jieba_load_seconds() -> float | None:
    """Seconds jieba took to load its dictionary in this process, None before it was used."""
    return _JIEBA.get("load_s")


def features(text: str, *, ngram_max: int = 3, words: bool = True) -> list[str]:
    """The feature strings of one normalised Chinese text (duplicates included)."""
    text = " ".join(text.split())
    scopes, idle = negation_scopes(text)
    size = len(text)
    lengths = range(1, ngram_max + 1)
    mask = None
    if scopes or idle:
        mask = bytearray(size)  # 1: inside a negation scope
        for start, end in scopes:
            mask[start:end] = b"\1" * (end - start)
        out = [("!" + text[i : i + k]) if mask[i] else text[i : i + k]
               for k in lengths for i in range(size - k + 1)]  # fmt: skip
        for i in reversed(idle):  # the unigrams come first, each at its own position
            del out[i]
    else:
        out = [text[i : i + k] for k in lengths for i in range(size - k + 1)]
    if words:
        tokens = [
            ("!w:" if mask is not None and mask[start] else "w:") + word
            for word, start, _end in jieba_tokenizer().tokenize(text, HMM=False)
            if not word.isspace()
        ]
        out += tokens
        out += ["b:" + a[a.index(":") + 1 :] + "|" + b[b.index(":") + 1 :]
                for a, b in zip(tokens, tokens[1:], strict=False)]  # fmt: skip
    return out


def crc_set(text: str, *, ngram_max: int = 3, words: bool = True) -> set[int]:
    """The distinct CRC-32 values of one normalised text's features (bucket = crc & mask)."""
    return set(map(zlib.crc32, map(str.encode, features(text, ngram_max=ngram_max, words=words))))


def buckets(text: str, *, hash_bits: int, ngram_max: int = 3, words: bool = True) -> np.ndarray:
    """The hash buckets of one normalised text's distinct features (a bucket repeats only when
    two of them collide in it, the same in training and scoring)."""
    crcs = crc_set(text, ngram_max=ngram_max, words=words)
    return np.fromiter(crcs, np.int64, len(crcs)) & ((1 << hash_bits) - 1)


@dataclass(frozen=True)
class SentimentModel:
    """Arrays and settings of a trained model; :meth:`probabilities` scores normalised texts."""

    weights: np.ndarray
    norms: np.ndarray
    bias: float
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def hash_bits(self) -> int:
        return int(self.meta["hash_bits"])

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """P(positive) of each normalised text; 0.5 for a text without features."""
        settings = {"ngram_max": self.meta["ngram_max"], "words": self.meta["words"]}
        found = [crc_set(text, **settings) for text in texts]
        lengths = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
        logits = np.zeros(len(found))
        keep = lengths > 0
        if keep.any():
            flat = np.fromiter(itertools.chain.from_iterable(found), np.int64, int(lengths.sum()))
            flat &= (1 << self.hash_bits) - 1
            starts = np.concatenate(([0], np.cumsum(lengths[keep])[:-1]))
            sums = np.add.reduceat(self.weights[flat].astype(np.float64), starts)
            norms = np.add.reduceat(self.norms[flat].astype(np.float64), starts)
            logits[keep] = self.bias + sums / np.sqrt(np.maximum(norms, 1e-12))
        probabilities = 1.0 / (1.0 + np.exp(-logits))
        probabilities[~keep] = 0.5
        return probabilities

    def save(self, path: Path) -> None:
        """Write the model as compressed ``.npz`` (float16 arrays; metadata as JSON text)."""
        meta = json.dumps({**self.meta, "format": FORMAT, "bias": self.bias}, sort_keys=True)
        with open(path, "wb") as out:  # a file object keeps np.savez from renaming the path
            weights, norms = self.weights.astype(np.float16), self.norms.astype(np.float16)
            np.savez_compressed(out, weights=weights, norms=norms, meta=np.array(meta))

    @classmethod
    def load(cls, path: Path) -> SentimentModel:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path}: model format {meta.get('format')}, expected {FORMAT}")
            weights = data["weights"].astype(np.float32)
            norms = data["norms"].astype(np.float32)
        return cls(weights=weights, norms=norms, bias=float(meta.pop("bias")), meta=meta)


@functools.cache
def shipped_model() -> SentimentModel:
    """The model shipped in ``data/sentiment_zh.npz``, loaded once per process."""
    return SentimentModel.load(MODEL_FILE)
