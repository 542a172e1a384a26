"""Benchmark: NPS, CSAT and CSI by month × region on 1,000,000 responses, against DuckDB.

    .venv/bin/python bench/bench_survey_metrics.py [--rows 1000000] [--repeat 3]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench_metrics`` database that
it creates and drops on the PostgreSQL server of ``--database-url``), migrates it, inserts the
generated responses (seeded NumPy), then times, best of ``--repeat``:

(a) the real query path: ``surveys.selectors.metric_table(metric=…, survey=…, group_by="region",
    period="month")`` — one grouped SQL query per metric plus the statistics in
    ``cxloop.insights``, the same call the results page and ``/api/v1/metrics`` make;
    — served from the daily rollup (``surveys.rollups``), which the data generation builds
    first (its build time is printed too);
(b) the same aggregates (category counts / histogram / n, Σx, Σx² per month × region) in DuckDB
    over the same rows, loaded in memory in the same run.

Goal: each metric ≤ 1 s and within 3× of DuckDB.
"""

from __future__ import annotations

import argparse
import time

import benchdb
import numpy as np

BENCH_DB = "cxloop_bench_metrics"
REGIONS = np.array(["华东", "华南", "华北", "西南", "东北"], dtype=object)
METRICS = ("nps", "csat", "csi")
START = np.datetime64("2025-01-01T00:00:00", "us")
YEAR_US = 365 * 24 * 3600 * 10**6


def main() -> int:
    args = _arguments()
    with benchdb.django_for_bench(args.database_url, BENCH_DB):
        return _run(args)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported")
    parser.add_argument("--seed", type=int, default=20250601)
    return parser.parse_args()


def generate(rows: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    region = rng.integers(0, len(REGIONS), rows)
    offsets = rng.integers(0, YEAR_US, rows)
    ratings = rng.integers(1, 6, (rows, 4))
    return {
        "submitted_at": START + offsets.astype("timedelta64[us]"),
        "region": REGIONS[region],
        "nps": rng.integers(0, 11, rows),
        "csat": np.clip(rng.integers(1, 6, rows) - (region == 1), 1, 5),
        "csi": (ratings.mean(axis=1) - 1) / 4 * 100,
        # A few flagged answers that both sides must leave out.
        "excluded": rng.random(rows) < 0.02,
    }


def _insert(data: dict[str, np.ndarray]) -> int:
    """Rows straight into the table (COPY on PostgreSQL); returns the survey id."""
    from django.db import connection, transaction

    from cxloop.surveys.models import Survey, SurveyVersion

    survey = Survey.objects.create(key="bench", title="bench", status="active")
    version = SurveyVersion.objects.create(survey=survey, number=1, definition={"pages": []})
    columns = ["survey_id", "version_id", "answers", "current_page", "language", "channel",
               "respondent_key", "started_at", "submitted_at", "region", "store", "age_band",
               "segment", "nps", "csat", "csi", "dimension_scores", "flags",
               "excluded"]  # fmt: skip
    times = [f"{t}+00:00".replace("T", " ") for t in data["submitted_at"].astype(str)]
    rows = (
        (survey.pk, version.pk, "{}", 1, "zh-hans", "sms", "", t, t, r, "", "", "", int(n),
         int(c), float(s), "{}", "[]", bool(e))
        for t, r, n, c, s, e in zip(times, data["region"], data["nps"], data["csat"], data["csi"],
                                    data["excluded"], strict=True)
    )  # fmt: skip
    table = "surveys_response"
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return survey.pk


DUCK_AGGREGATES = {
    "nps": "count(*) FILTER (nps >= 9), count(*) FILTER (nps BETWEEN 7 AND 8), "
    "count(*) FILTER (nps <= 6)",
    "csat": ", ".join(f"count(*) FILTER (csat = {v})" for v in range(1, 6)),
    "csi": "count(csi), sum(csi), sum(csi * csi)",
}


def duckdb_query(con, metric: str) -> list:
    return con.execute(
        f"SELECT date_trunc('month', submitted_at + INTERVAL 8 HOUR) AS month, region, "
        f"{DUCK_AGGREGATES[metric]} FROM data WHERE NOT excluded "
        f"GROUP BY month, region ORDER BY month, region"
    ).fetchall()


def best(function, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def _run(args) -> int:
    import duckdb
    from django.core.management import call_command
    from django.db import connection

    from cxloop.surveys import rollups, selectors
    from cxloop.surveys.models import Survey

    call_command("migrate", verbosity=0)
    data = generate(args.rows, args.seed)
    started = time.perf_counter()
    survey = Survey.objects.get(pk=_insert(data))
    took = time.perf_counter() - started
    print(f"database: {connection.vendor}, {args.rows:,} responses "
          f"(inserted in {took:.1f} s), best of {args.repeat}")  # fmt: skip
    started = time.perf_counter()
    written = rollups.rebuild_rollups(survey_id=survey.pk)
    took = time.perf_counter() - started
    print(f"daily rollup built from {args.rows:,} responses in {took:.1f} s ({written:,} rows)")
    con = duckdb.connect()
    con.register("data", data)
    con.execute("CREATE TABLE data_table AS SELECT * FROM data")
    con.unregister("data")
    con.execute("CREATE VIEW data AS SELECT * FROM data_table")
    ok = True
    for metric in METRICS:

        def ours(metric=metric):
            return selectors.metric_table(
                metric=metric, survey=survey, group_by="region", period="month"
            )

        rows = len(ours().rows)
        assert rows == len(duckdb_query(con, metric)), "the two sides disagree on the groups"
        ours_s = best(ours, args.repeat)
        duck_s = best(lambda metric=metric: duckdb_query(con, metric), args.repeat)
        ratio = ours_s / duck_s
        ok &= ours_s <= 1 and ratio <= 3
        print(f"{metric:>5} by month × region ({rows} groups): cxloop {ours_s:6.3f} s   "
              f"DuckDB (raw rows) {duck_s:6.3f} s   ratio {ratio:5.1f}x")  # fmt: skip
    print("goal (≤ 1 s and ≤ 3× DuckDB) met" if ok else "goal NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
