"""Benchmark: cxloop.insights metrics on 10,000,000 scores against the bare NumPy floor.

    python bench/bench_metrics.py [--n 10000000] [--seed 20240601]

Generates the scores with a seeded NumPy generator, then times each metric function and three
crosstabs (best of 3, ``time.perf_counter``). Each is printed next to a baseline measured in the
same run on the same data: the least NumPy code that touches every score once (a bincount or a
mean, for crosstabs one grouped bincount over precomputed integer group codes). The ratio is
therefore the library's overhead: input validation, the statistics, the confidence intervals,
and for crosstabs turning the group keys into codes. Goal: nps on 10M scores well under a second,
the whole run under a minute.
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
    from cxloop.insights import metrics
except ImportError:  # run from a clone without cxloop installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from cxloop.insights import metrics

REGIONS = 20
CHANNELS = 4
DIMENSIONS = ("price", "quality", "service", "speed", "staff")


def best_of(functions: list[Callable[[], object]], repeat: int = 3) -> list[float]:
    """Fastest of ``repeat`` runs of each function, in seconds.

    The functions take turns, so a burst of load on a shared machine hits both sides alike.
    """
    times = [[] for _ in functions]
    for _ in range(repeat):
        for function, runs in zip(functions, times, strict=True):
            start = time.perf_counter()
            function()
            runs.append(time.perf_counter() - start)
    return [min(runs) for runs in times]


def make_data(n: int, seed: int) -> dict[str, object]:
    rng = np.random.default_rng(seed)
    region = rng.integers(0, REGIONS, n)
    names = np.array([f"region-{i:02d}" for i in range(REGIONS)])
    return {
        "nps": rng.integers(0, 11, n),
        "csat": rng.integers(1, 6, n),
        "ces": rng.integers(1, 8, n),
        # CSI: five dimensions sharing the n ratings, as five questions of n / 5 respondents.
        "csi": {name: rng.integers(1, 6, n // len(DIMENSIONS)) for name in DIMENSIONS},
        "region": region,
        "region_name": names[region],
        "channel": rng.integers(0, CHANNELS, n),
    }


def cases(data: dict) -> list[tuple[str, Callable, str, Callable]]:
    """(name, library call, baseline description, baseline call) for every timed case."""
    scores, region, channel = data["nps"], data["region"], data["channel"]
    columns = {"score": scores, "region": region, "channel": channel}
    by_name = {"score": scores, "region": data["region_name"]}
    cell = region * CHANNELS + channel
    dims = data["csi"]
    respondents = region[: len(dims[DIMENSIONS[0]])]
    csi_columns = {"region": respondents, **dims}
    return [
        ("nps", lambda: metrics.nps(scores), "np.bincount(scores, minlength=11)",
         lambda: np.bincount(scores, minlength=11)),
        ("csat", lambda: metrics.csat(data["csat"]), "scores.mean()", data["csat"].mean),
        ("ces", lambda: metrics.ces(data["ces"]), "scores.mean()", data["ces"].mean),
        ("csi (5 dims x n/5)", lambda: metrics.csi(dims), "[d.mean() for d in dims]",
         lambda: [d.mean() for d in dims.values()]),
        ("crosstab nps x 20 int regions", lambda: metrics.crosstab(columns, "nps", "region"),
         "np.bincount(code * 11 + score)", lambda: np.bincount(region * 11 + scores)),
        ("crosstab nps x 20 str regions", lambda: metrics.crosstab(by_name, "nps", "region"),
         "same, codes given", lambda: np.bincount(region * 11 + scores)),
        ("crosstab nps x region x channel",
         lambda: metrics.crosstab(columns, "nps", ("region", "channel")),
         "np.bincount(cell * 11 + score)", lambda: np.bincount(cell * 11 + scores)),
        ("crosstab csi (5 dims) x 20 regions",
         lambda: metrics.crosstab(csi_columns, "csi", "region", dimensions=DIMENSIONS),
         "one such bincount per dim",
         lambda: [np.bincount(respondents * 6 + d) for d in dims.values()]),
    ]  # fmt: skip


def check(data: dict) -> None:
    """The library and the baseline must agree, so the timings compare equal work."""
    counts = np.bincount(data["nps"], minlength=11)
    result = metrics.nps(data["nps"])
    assert (result.detractors, result.promoters) == (counts[:7].sum(), counts[9:].sum())
    table = metrics.crosstab({"score": data["nps"], "region": data["region"]}, "nps", "region")
    assert len(table.rows) == REGIONS and sum(row.result.n for row in table.rows) == result.n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="scores per metric")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    started = time.perf_counter()
    data = make_data(args.n, args.seed)
    check(data)
    print(
        f"cxloop.insights metrics: {args.n:,} scores, best of 3 "
        f"(Python {platform.python_version()}, NumPy {np.__version__})\n"
    )
    print(f"{'case':<34}{'library':>11}{'baseline':>11}{'ratio':>8}  baseline is")
    for name, library, description, baseline in cases(data):
        library_s, baseline_s = best_of([library, baseline])
        print(
            f"{name:<34}{library_s * 1e3:>8.1f} ms{baseline_s * 1e3:>8.1f} ms"
            f"{library_s / baseline_s:>7.1f}x  {description}"
        )
    print(f"\ntotal {time.perf_counter() - started:.1f} s (including data generation)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
