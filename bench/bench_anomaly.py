"""Benchmark: cxloop.insights.anomaly over 365 days x 200 stores x 4 KPIs, with injected jumps.

    python bench/bench_anomaly.py [--stores 200] [--days 365] [--jumps 10] [--seed 20240601]

Generates seeded daily series for four metrics per store: complaint rate and CSAT top-2-box
share (rates with their case counts), NPS and first-response time (means with their counts),
800 series in all, then injects ``--jumps`` lasting jumps (complaint rate x2, CSAT -10 points,
NPS -20, first response +50 %) at random stores and days. One ``scan`` call covers all series
(per-series ``kind``); it is timed best of 3 (``time.perf_counter``) next to a baseline measured
in the same run on the same array: the least NumPy code that gives every day a z-score, a
28-day rolling mean/std from cumulative sums and a |z| > 3 test, with no robustness, no counts,
no EWMA and no alert state. Reported: time, the jumps found within 7 days, and false alarms
(alerts anywhere else) per series-year. Goal: the scan well under 5 s.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

try:
    from cxloop.insights import anomaly
except ImportError:  # run from a clone without cxloop installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from cxloop.insights import anomaly

METRICS = ("complaint_rate", "csat_top2", "nps", "first_response_min")
KINDS = ("rate", "rate", "mean", "mean")
FOUND_WITHIN = 7  # days after the jump


def best_of(functions: list[Callable[[], object]], repeat: int = 3) -> list[float]:
    """Fastest of ``repeat`` runs of each function, in seconds (taking turns, as bench_metrics)."""
    times = [[] for _ in functions]
    for _ in range(repeat):
        for function, runs in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            runs.append(time.perf_counter() - start)
    return [min(runs) for runs in times]


def _metric(rng, name: str, stores: int, days: int, shift: np.ndarray):
    """(values, counts) of one metric; ``shift`` (stores x days, 0/1) marks the jumped days."""
    if name == "complaint_rate":
        counts = rng.poisson(120, (stores, days)).astype(float)
        p = rng.uniform(0.03, 0.08, (stores, 1)) * (1 + shift)
        return rng.binomial(counts.astype(int), p) / counts, counts
    if name == "csat_top2":
        counts = rng.poisson(60, (stores, days)).astype(float)
        p = rng.uniform(0.75, 0.9, (stores, 1)) - 0.10 * shift
        return rng.binomial(counts.astype(int), p) / counts, counts
    if name == "nps":  # mean of +100 / 0 / -100 answers
        counts = rng.poisson(60, (stores, days)).astype(float)
        level = rng.uniform(20, 50, (stores, 1)) - 20 * shift
        return rng.normal(level, 75 / np.sqrt(counts)), counts
    counts = rng.poisson(100, (stores, days)).astype(float)  # tickets
    level = rng.uniform(20, 40, (stores, 1)) * (1 + 0.5 * shift)
    return rng.normal(level, 0.6 * level / np.sqrt(counts)), counts


def make_data(stores: int, days: int, jumps: int, seed: int):
    rng = np.random.default_rng(seed)
    series = len(METRICS) * stores
    injected = rng.choice(series, size=jumps, replace=False)
    starts = rng.integers(days // 4, days - 30, size=jumps)
    shift = np.zeros((series, days))
    for s, start in zip(injected, starts, strict=True):
        shift[s, start:] = 1.0
    values, counts = zip(
        *(_metric(rng, name, stores, days, shift[m * stores : (m + 1) * stores])
          for m, name in enumerate(METRICS)),
        strict=True,
    )  # fmt: skip
    kinds = [kind for kind in KINDS for _ in range(stores)]
    return (
        np.vstack(values),
        np.vstack(counts),
        kinds,
        dict(zip(injected.tolist(), starts.tolist(), strict=True)),
    )


def rolling_baseline(values: np.ndarray, window: int = 28) -> np.ndarray:
    """|z| > 3 against the previous ``window`` days' mean and SD: the bare NumPy floor."""
    padded = np.concatenate([np.zeros((values.shape[0], 1)), values], axis=1)
    s1, s2 = np.cumsum(padded, axis=1), np.cumsum(padded**2, axis=1)
    mean = (s1[:, window:-1] - s1[:, : -window - 1]) / window
    var = (s2[:, window:-1] - s2[:, : -window - 1]) / window - mean**2
    z = (values[:, window:] - mean) / np.sqrt(np.maximum(var, 1e-12))
    return np.abs(z) > 3


def score(alerts, injected: dict[int, int], series: int, days: int) -> tuple[int, float]:
    """(jumps found within FOUND_WITHIN days, false alarms per series-year)."""
    found = {
        a.series for a in alerts
        if a.series in injected and 0 <= a.day - injected[a.series] <= FOUND_WITHIN
    }  # fmt: skip
    false = sum(1 for a in alerts if not (a.series in injected and a.day >= injected[a.series]))
    return len(found), false / series / (days / 365)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--jumps", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    started = time.perf_counter()
    values, counts, kinds, injected = make_data(args.stores, args.days, args.jumps, args.seed)
    series = values.shape[0]
    print(
        f"cxloop.insights anomaly scan: {series} series ({args.stores} stores x "
        f"{len(METRICS)} KPIs) x {args.days} days, {args.jumps} injected jumps, best of 3 "
        f"(Python {platform.python_version()}, NumPy {np.__version__})\n"
    )
    run = lambda: anomaly.scan(values, counts, kind=kinds)  # noqa: E731
    scan_s, base_s = best_of([run, lambda: rolling_baseline(values)])
    result = run()
    found, false_rate = score(result.alerts, injected, series, args.days)
    flags = rolling_baseline(values)
    share = result.out_of_control.sum() / result.judged.sum()
    print(f"{'case':<44}{'time':>10}")
    print(f"{'anomaly.scan (EWMA, robust baseline, alerts)':<44}{scan_s * 1e3:>7.0f} ms")
    print(f"{'baseline: rolling 28-day mean/std |z| > 3':<44}{base_s * 1e3:>7.0f} ms")
    print(f"{'ratio':<44}{scan_s / base_s:>8.1f} x\n")
    print(f"jumps found within {FOUND_WITHIN} days: {found} of {len(injected)}")
    print(f"alerts: {len(result.alerts)}, false alarms {false_rate:.2f} per series-year")
    print(f"out-of-control share of judged days: {share * 100:.2f} % (nominal 0.27 %)")
    print(f"baseline flags |z| > 3: {flags.mean() * 100:.2f} % of days (no alert state)")
    print(f"\ntotal {time.perf_counter() - started:.1f} s (including data generation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
