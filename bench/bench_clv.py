"""Benchmark: BG/NBD + Gamma-Gamma on CDNOW, and RFM tiers / CLV for 1,000,000 customers.

    python bench/bench_clv.py [--customers 1000000] [--orders 10000000] [--seed 20240601]
        [--repeat 3]

Part 1 fits ``cxloop.insights.clv`` on the CDNOW sample shipped as the test fixture (2,357
customers; best of ``--repeat`` runs, ``time.perf_counter``) and prints the estimates next to
the published ones. When the ``lifetimes`` package imports, its BetaGeoFitter /
GammaGammaFitter fit the same data in the same run, and the speed-up is printed; otherwise
"lifetimes not installed; ratio skipped" (lifetimes is not a cxloop dependency: install it
yourself to get the figure).

Part 2 generates ``--orders`` orders over ``--customers`` customers (seeded NumPy; order times
are continuous so no two orders of a customer coincide) and aggregates them per customer, which
is the part the database does in production and is timed only for information. It then times
the pure part, best of ``--repeat``, next to a baseline measured in the same run on the same
arrays: the bare ``np.argsort`` of each column a rank-based score needs (three for the scores,
four for the tiers, which also rank the customers), so the ratio is the library's overhead over
sorting. Lifetime value for all buyers (12 months, the models fitted on a 100,000-customer
sample) is timed too. Goal: tiers for 1M customers well under a few seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy

try:
    from cxloop.insights import clv, rfm
except ImportError:  # run from a clone without cxloop installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from cxloop.insights import clv, rfm

FIXTURE = (
    Path(__file__).resolve().parents[1] / "src/cxloop/insights/tests/fixtures/cdnow_summary.csv"
)
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.44}
HORIZON_DAYS = 730.0  # the synthetic order history covers two years up to "today"


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


# --- part 1: CDNOW ----------------------------------------------------------------------------


def load_cdnow() -> dict[str, np.ndarray]:
    with FIXTURE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    names = ("frequency", "recency", "T", "monetary_value")
    return {name: np.array([float(row[name]) for row in rows]) for name in names}


def lifetimes_fits(data: dict) -> tuple[Callable, Callable] | None:
    try:
        import lifetimes
    except ImportError:
        return None
    import pandas as pd

    frame = pd.DataFrame(data)
    repeat = frame[frame["frequency"] > 0]
    return (
        lambda: lifetimes.BetaGeoFitter().fit(frame["frequency"], frame["recency"], frame["T"]),
        lambda: lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"]),
    )


def single_blas_thread():
    """A context limiting BLAS to one thread, when threadpoolctl (a scikit-learn dependency) is
    there. The 4-parameter optimisers make tiny BLAS calls: once something has woken OpenBLAS's
    thread pool, each call pays for waking threads, which on a busy 2-core machine made both
    libraries' fits up to 30 times slower and the timings noise."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def bench_cdnow() -> None:
    with single_blas_thread():
        _bench_cdnow()


def _bench_cdnow() -> None:
    data = load_cdnow()
    x, t_x, age, m = data["frequency"], data["recency"], data["T"], data["monetary_value"]
    repeat = x > 0
    bg = clv.fit_bgnbd(x, t_x, age)
    gg = clv.fit_gamma_gamma(x[repeat], m[repeat])
    print(f"CDNOW sample: {x.size:,} customers ({int(repeat.sum())} with repeat purchases)\n")
    print(f"{'parameter':<12}{'cxloop':>10}{'published':>11}{'diff':>9}")
    for name, published in PUBLISHED.items():
        value = getattr(bg if name in ("r", "alpha", "a", "b") else gg, name)
        print(f"{name:<12}{value:>10.4f}{published:>11.3f}{(value / published - 1):>+9.3%}")
    print(f"{'BG/NBD LL':<12}{bg.log_likelihood:>10.1f}{-9582.4:>11.1f}\n")
    ours = [lambda: clv.fit_bgnbd(x, t_x, age), lambda: clv.fit_gamma_gamma(x[repeat], m[repeat])]
    theirs = lifetimes_fits(data)
    names = ("fit_bgnbd", "fit_gamma_gamma")
    if theirs is None:
        for name, seconds in zip(names, best_of(ours), strict=True):
            print(f"{name:<18}{seconds * 1e3:>8.1f} ms")
        print("lifetimes not installed; ratio skipped")
        return
    import lifetimes

    version = lifetimes.__version__
    print(f"{'fit':<18}{'cxloop':>11}{'lifetimes':>12}{'speed-up':>10}  (lifetimes {version})")
    for name, mine, other in zip(names, ours, theirs, strict=True):
        mine_s, other_s = best_of([mine, other])
        print(f"{name:<18}{mine_s * 1e3:>8.1f} ms{other_s * 1e3:>9.1f} ms{other_s / mine_s:>9.1f}x")
    reference = theirs[0]().params_
    print(f"lifetimes BG/NBD: r={reference['r']:.4f} alpha={reference['alpha']:.4f} "
          f"a={reference['a']:.4f} b={reference['b']:.4f}")  # fmt: skip


# --- part 2: one million customers ------------------------------------------------------------


def make_orders(customers: int, orders: int, seed: int) -> dict[str, np.ndarray]:
    """Orders sorted by customer: customer index, time (days, 0..HORIZON_DAYS), amount (fen)."""
    rng = np.random.default_rng(seed)
    mean = orders / customers
    counts = rng.negative_binomial(0.8, 0.8 / (0.8 + mean), customers)  # ~12 % never order
    first = rng.uniform(0, HORIZON_DAYS, customers)
    owner = np.repeat(np.arange(customers), counts)
    when = first[owner] + rng.random(owner.size) * (HORIZON_DAYS - first[owner])
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    when[starts[counts > 0]] = first[counts > 0]  # each customer's first order opens its history
    amount = np.round(rng.lognormal(np.log(15_000), 0.8, owner.size))
    return {"counts": counts, "first": first, "owner": owner, "when": when, "amount": amount}


def aggregate(data: dict, seed: int) -> dict[str, np.ndarray]:
    """Per-customer columns, as the nightly job's SQL would return them."""
    counts, owner, when, amount = data["counts"], data["owner"], data["when"], data["amount"]
    buyers = counts > 0
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))[buyers]
    last = np.full(counts.size, np.nan)
    last[buyers] = np.maximum.reduceat(when, starts)
    spend = np.bincount(owner, weights=amount, minlength=counts.size)
    recent = when > HORIZON_DAYS - 365
    yearly = np.bincount(owner[recent], weights=amount[recent], minlength=counts.size)
    rng = np.random.default_rng(seed + 1)
    opened = np.where(buyers, data["first"] - rng.exponential(60, counts.size), 0)
    registered = HORIZON_DAYS - np.clip(opened, -HORIZON_DAYS, None)
    registered[~buyers] = rng.uniform(0, 1000, int((~buyers).sum()))
    weeks = 7.0
    return {
        "recency_days": np.floor(HORIZON_DAYS - last),
        "orders": counts.astype(np.float64),
        "spend_fen": spend,
        "registered_days": np.floor(registered),
        "yearly_spend_fen": yearly,
        # BG/NBD view of buyers (weeks since the first order), and their mean repeat spend
        "x": np.maximum(counts[buyers] - 1, 0).astype(np.float64),
        "t_x": (last[buyers] - data["first"][buyers]) / weeks,
        "T": (HORIZON_DAYS - data["first"][buyers]) / weeks,
        "m": spend[buyers] / counts[buyers],  # mean order value, standing in for repeat spend
    }


def bench_customers(customers: int, orders: int, seed: int) -> None:
    started = time.perf_counter()
    data = make_orders(customers, orders, seed)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    cols = aggregate(data, seed)
    aggregated = time.perf_counter() - started
    print(f"\n{customers:,} customers, {data['owner'].size:,} orders "
          f"(generated in {generated:.1f} s; per-customer aggregation, the database's part in "
          f"production, {aggregated:.2f} s)\n")  # fmt: skip
    rec, cnt, spend = cols["recency_days"], cols["orders"], cols["spend_fen"]
    rest = (cols["registered_days"], cols["yearly_spend_fen"])
    tiers = rfm.assign_tiers(rec, cnt, spend, *rest)
    shifted = rfm.assign_tiers(rec + 30, cnt, spend, *rest)  # the same book 30 days later
    key = np.where(np.isnan(rec), np.inf, rec)
    cases = [
        ("score_rfm", lambda: rfm.score_rfm(rec, cnt, spend), "3 x np.argsort",
         lambda: [np.argsort(c) for c in (key, cnt, spend)]),
        ("assign_tiers", lambda: rfm.assign_tiers(rec, cnt, spend, *rest), "4 x np.argsort",
         lambda: [np.argsort(c) for c in (key, cnt, spend, spend)]),
        ("tier_moves (codes)", lambda: rfm.tier_moves(tiers.tier_code, shifted.tier_code),
         "np.bincount(old * 4 + new)",
         lambda: np.bincount(tiers.tier_code * 4 + shifted.tier_code)),
    ]  # fmt: skip
    print(f"{'case':<22}{'library':>11}{'baseline':>11}{'ratio':>8}  baseline is")
    for name, library, description, baseline in cases:
        library_s, baseline_s = best_of([library, baseline])
        print(f"{name:<22}{library_s * 1e3:>8.1f} ms{baseline_s * 1e3:>8.1f} ms"
              f"{library_s / baseline_s:>7.1f}x  {description}")  # fmt: skip
    counts = tiers.counts()
    print(f"\ntiers  {counts['tier']}\nstages {counts['stage']}\nvip    {counts['vip']}")
    bench_lifetime_value(cols, seed)


def bench_lifetime_value(cols: dict, seed: int) -> None:
    x, t_x, age, m = cols["x"], cols["t_x"], cols["T"], cols["m"]
    sample = np.random.default_rng(seed + 2).choice(x.size, min(100_000, x.size), replace=False)
    started = time.perf_counter()
    bg = clv.fit_bgnbd(x[sample], t_x[sample], age[sample])
    repeat = sample[x[sample] > 0]
    gg = clv.fit_gamma_gamma(x[repeat], m[repeat])
    fitted = time.perf_counter() - started
    (alive_s,) = best_of([lambda: clv.p_alive(bg, x, t_x, age)])
    (value_s,) = best_of([lambda: clv.clv(bg, gg, x, t_x, age, m)])
    values = clv.clv(bg, gg, x, t_x, age, m)
    print(f"\nlifetime value for {x.size:,} buyers: fits on {sample.size:,} {fitted:.2f} s, "
          f"p_alive {alive_s * 1e3:.0f} ms, clv (12 months) {value_s:.2f} s; "
          f"median CLV ¥{np.median(values) / 100:,.0f}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing (best is kept)")
    args = parser.parse_args()
    REPEAT[0] = max(args.repeat, 1)
    started = time.perf_counter()
    print(
        f"cxloop.insights clv/rfm, best of {REPEAT[0]} (Python {platform.python_version()}, "
        f"NumPy {np.__version__}, SciPy {scipy.__version__})\n"
    )
    bench_cdnow()
    bench_customers(args.customers, args.orders, args.seed)
    print(f"\ntotal {time.perf_counter() - started:.1f} s (including data generation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
