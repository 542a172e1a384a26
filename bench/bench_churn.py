"""Benchmark: churn features and scoring for 1,000,000 customers, and training on 200,000.

    python bench/bench_churn.py [--customers 1000000] [--orders 10000000]
        [--train-customers 200000] [--seed 20240601] [--repeat 3]

Part 1 generates ``--orders`` orders (two years of days, amounts), 500,000 complaints and
2,000,000 survey answers over ``--customers`` customers (seeded NumPy), then times, best of
``--repeat`` (``time.perf_counter``, library and baseline taking turns):
``build_features`` (16 features per customer), ``score`` without and with each customer's top
three reasons, and ``explain`` in words for the 1,000 riskiest. The baseline, measured in the
same run on the same arrays, is one ``np.bincount`` of the orders per customer: the least work
that touches every order once, so the ratio is what the features cost in such passes.

Part 2 simulates ``--train-customers`` customers with a known churn signal (falling order
rate, complaints, low scores before leaving) and times ``train``: features at two cutoffs,
two logistic regressions (the validated fit and the refit), the DeLong AUC and the calibration
table. Its AUC is printed as a sanity check. Goal: part 1 in a few seconds per step.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sklearn

try:
    from cxloop.insights import churn, churn_features
except ImportError:  # run from a clone without cxloop installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from cxloop.insights import churn, churn_features

DAYS = 730  # two years of history up to "today", the last day
REPEAT = [3]  # --repeat, set once by main()


def best_of(functions: list[Callable[[], object]]) -> list[float]:
    """Fastest of ``repeat`` runs of each function, in seconds, the functions taking turns."""
    times = [[] for _ in functions]
    for _ in range(REPEAT[0]):
        for function, runs in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            runs.append(time.perf_counter() - start)
    return [min(runs) for runs in times]


def random_history(customers: int, orders: int, seed: int) -> churn_features.History:
    """Events at random: the work per event is the same whatever the pattern."""
    rng = np.random.default_rng(seed)
    complaints, answers = 500_000, 2_000_000
    return churn_features.History(
        customers, rng.integers(0, customers, orders), rng.integers(0, DAYS, orders),
        rng.integers(990, 100_000, orders),
        rng.integers(0, customers, complaints), rng.integers(0, DAYS, complaints),
        rng.random(complaints) < 0.8, rng.random(complaints) < 0.1,
        rng.integers(0, customers, answers), rng.integers(0, DAYS, answers),
        rng.integers(0, 11, answers),
    )  # fmt: skip


def _poisson_events(rng, begin, end, rate):
    length = np.clip(end - begin, 0, None)
    counts = rng.poisson(rate * length)
    who = np.repeat(np.arange(begin.size), counts)
    day = np.repeat(begin, counts) + rng.random(counts.sum()) * np.repeat(length, counts)
    return who, np.minimum(np.floor(day), DAYS - 1).astype(np.int64)


def signal_history(customers: int, seed: int) -> churn_features.History:
    """60 % leave; in their last 150 days they order at a quarter of their rate, complain ten
    times as often (often unresolved) and score surveys low."""
    rng = np.random.default_rng(seed)
    start = rng.integers(0, 200, customers).astype(float)
    rate = rng.gamma(2.0, 1 / 60, customers)
    leave = np.where(rng.random(customers) < 0.6, rng.uniform(start + 60, DAYS + 200), np.inf)
    turn = np.minimum(np.maximum(leave - 150, start), DAYS)
    end = np.minimum(leave, DAYS)
    good, bad = _poisson_events(rng, start, turn, rate), _poisson_events(rng, turn, end, rate / 4)
    who, day = (np.concatenate(pair) for pair in zip(good, bad, strict=True))
    calm, angry = (_poisson_events(rng, start, turn, np.full(customers, 1 / 500)),
                   _poisson_events(rng, turn, end, np.full(customers, 1 / 50)))  # fmt: skip
    c_who, c_day = (np.concatenate(pair) for pair in zip(calm, angry, strict=True))
    late = np.repeat([False, True], [calm[0].size, angry[0].size])
    asked = rng.random(who.size) < 0.25
    late_order = np.repeat([False, True], [good[0].size, bad[0].size])[asked]
    low = late_order & (rng.random(asked.sum()) < 0.7)
    scores = np.where(low, rng.integers(0, 7, asked.sum()), rng.integers(7, 11, asked.sum()))
    return churn_features.History(
        customers, who, day, rng.integers(1_000, 50_000, who.size), c_who, c_day,
        rng.random(late.size) < np.where(late, 0.4, 0.85), rng.random(late.size) < 0.1,
        who[asked], day[asked], scores,
    )  # fmt: skip


def report(name: str, library_s: float, baseline_s: float, note: str = "") -> None:
    print(
        f"{name:<40}{library_s * 1e3:>9.0f} ms{baseline_s * 1e3:>8.0f} ms"
        f"{library_s / baseline_s:>7.1f}x  {note}"
    )


def part_one(args: argparse.Namespace, model: churn.ChurnModel) -> None:
    history = random_history(args.customers, args.orders, args.seed)
    today = DAYS - 1
    customers = history.order_customer
    baseline = lambda: np.bincount(customers, minlength=args.customers)  # noqa: E731
    features = churn_features.build_features(history, today)
    risk, top = churn.score(model, features)
    active = features.column("days_since_last_order") < model.active_within_days
    assert len(top) == args.customers and np.isfinite(risk[active]).all()
    riskiest = np.argsort(-np.nan_to_num(risk))[:1_000]
    print(f"\n{args.customers:,} customers, {args.orders:,} orders, 500,000 complaints, "
          f"2,000,000 survey answers; baseline: np.bincount(order_customer)\n")  # fmt: skip
    print(f"{'case':<40}{'library':>12}{'baseline':>11}{'ratio':>8}")
    cases = [
        ("build_features (16 columns)", lambda: churn_features.build_features(history, today)),
        ("score: risk only", lambda: churn.score(model, features, top=0)),
        ("score: risk + top 3 reasons each", lambda: churn.score(model, features)),
        ("explain: 1,000 riskiest in words", lambda: churn.explain(model, features, riskiest)),
    ]
    timed = {}
    for name, function in cases:
        timed[name] = library_s, baseline_s = best_of([function, baseline])
        report(name, library_s, baseline_s)
    together = timed[cases[0][0]][0] + timed[cases[2][0]][0]
    report("features + risk + reasons, together", together, timed[cases[0][0]][1])
    example = churn.explain(model, features, riskiest[:1])[0]
    print(f"\nriskiest customer ({risk[riskiest[0]]:.0%}): " + "; ".join(r.text for r in example))


def part_two(args: argparse.Namespace) -> churn.ChurnModel:
    history = signal_history(args.train_customers, args.seed + 1)
    print(f"training: {args.train_customers:,} simulated customers, {history.order_day.size:,} "
          f"orders, cutoff day {DAYS - 1}, horizon 90 days")  # fmt: skip
    churn.train(history, cutoff_day=DAYS - 1)  # warm-up: imports scikit-learn
    models: list[churn.ChurnModel] = []
    (train_s,) = best_of([lambda: models.append(churn.train(history, cutoff_day=DAYS - 1))])
    m = models[-1]
    print(
        f"train: {train_s:.2f} s; n_train {m.n_train:,}, n_valid {m.n_valid:,}; "
        f"AUC {m.auc:.3f} ({m.auc_ci_low:.3f}-{m.auc_ci_high:.3f}), Brier {m.brier:.3f} "
        f"(base rate alone {m.brier_reference:.3f}), usable: {m.usable}"
    )
    return m


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--train-customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    REPEAT[0] = max(1, args.repeat)
    started = time.perf_counter()
    print(
        f"cxloop.insights churn, best of {REPEAT[0]} (Python {platform.python_version()}, "
        f"NumPy {np.__version__}, scikit-learn {sklearn.__version__})\n"
    )
    model = part_two(args)
    part_one(args, model)
    print(f"\ntotal {time.perf_counter() - started:.1f} s (including data generation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
