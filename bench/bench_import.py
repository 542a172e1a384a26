"""Benchmark: importing an orders CSV against a plain bulk INSERT of the same rows.

    .venv/bin/python bench/bench_import.py [--rows 100000] [--customers 10000]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres] [--profile]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench`` database that it creates
and drops on the PostgreSQL server of ``--database-url``), migrates it, creates the customers,
writes an orders CSV with Chinese headers and labels (as a Chinese Excel user would), then times:

(a) the real import path (``importing.import_path`` → ``run_import``: read, map, validate,
    upsert, progress and error report), the same code the console's task and the CLI run;
(b) a re-import of the same file (every row unchanged);
(c) the baseline: one transaction with an ``executemany`` INSERT of the already-parsed rows into
    the emptied orders table.

Goal: (a) ≥ 20,000 rows/s and within 3× of (c). Each is run ``--repeat`` times and the best
(least disturbed) run is reported, with the CPU time spent in this process beside it.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import datetime as dt
import pstats
import random
import time
from pathlib import Path

import benchdb

BENCH_DB = "cxloop_bench"
HEADERS = ["订单号", "客户编号", "金额", "下单时间", "送达时间", "渠道", "门店", "状态"]
CHANNELS = ["门店", "线上", "小程序", "app"]
STATUSES = ["已完成", "已送达", "已取消", "completed"]


def main() -> int:
    args = _arguments()
    with benchdb.django_for_bench(args.database_url, BENCH_DB) as (data_dir, _env):
        return _run(args, data_dir)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="orders in the CSV")
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of (a)")
    return parser.parse_args()


def _run(args, data_dir: Path) -> int:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    _create_customers(args.customers)
    customer_seconds = time.perf_counter() - started
    csv_path = data_dir / "orders.csv"
    _write_orders_csv(csv_path, args.rows, args.customers)
    parsed = _parsed_rows(csv_path)

    runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "import": [], "again": []}
    copy_runs: list[tuple[float, float]] = []
    for round_number in range(args.repeat):
        _empty_orders()
        runs["baseline"].append(_time_baseline(parsed))
        if connection.vendor == "postgresql":
            _empty_orders()
            copy_runs.append(_time_copy_baseline(parsed))
        _empty_orders()
        profile = args.profile and round_number == 0
        runs["import"].append(_time_import(csv_path, args.rows, profile=profile))
        runs["again"].append(_time_import(csv_path, args.rows, expect_unchanged=True))
    best = {name: min(times) for name, times in runs.items()}  # least disturbed run

    print(f"database: {connection.vendor}, {args.rows:,} orders, {args.customers:,} customers, "
          f"best of {args.repeat}")  # fmt: skip
    print(f"customers upsert (setup):  {args.customers / customer_seconds:>9,.0f} rows/s")
    for label, name in [("(c) baseline executemany:", "baseline"), ("(a) import:", "import"),
                        ("(b) re-import, unchanged:", "again")]:  # fmt: skip
        wall, cpu = best[name]
        print(
            f"{label:<26} {args.rows / wall:>9,.0f} rows/s  {wall:6.2f} s  (CPU here {cpu:5.2f} s)"
        )
    ratio = best["import"][0] / best["baseline"][0]
    print(f"ratio import/baseline: {ratio:.2f}x (goal ≤ 3x)")
    if copy_runs:
        # PostgreSQL's fastest plain load, for an honest floor: the import uses COPY too.
        copy_wall = min(copy_runs)[0]
        print(
            f"(c2) baseline COPY:        {args.rows / copy_wall:>9,.0f} rows/s  {copy_wall:6.2f} s"
        )
        print(f"ratio import/COPY baseline: {best['import'][0] / copy_wall:.2f}x")
    print(f"ratio re-import/baseline: {best['again'][0] / best['baseline'][0]:.2f}x")
    ok = args.rows / best["import"][0] >= 20_000 and ratio <= 3
    print("goal met" if ok else "goal NOT met")
    return 0


def _create_customers(count: int) -> None:
    from cxloop.customers.services import bulk_upsert_customers

    rows = [
        {"external_id": f"C{i:06d}", "name": f"客户{i}", "phone": f"138{i:08d}", "region": "华东"}
        for i in range(count)
    ]
    summary = bulk_upsert_customers(rows=rows, actor=None)
    assert summary.created == count, summary


def _write_orders_csv(path: Path, rows: int, customers: int) -> None:
    rng = random.Random(7)
    start = dt.datetime(2025, 1, 1, 9, 0, 0)
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(rows):
            placed = start + dt.timedelta(seconds=rng.randrange(300 * 86400))
            delivered = placed + dt.timedelta(hours=rng.randint(1, 72))
            writer.writerow(
                [
                    f"O{i:08d}",
                    f"C{rng.randrange(customers):06d}",
                    f"{rng.randint(990, 99900) / 100:.2f}",
                    placed.strftime("%Y-%m-%d %H:%M:%S"),
                    delivered.strftime("%Y-%m-%d %H:%M:%S") if i % 10 else "",
                    rng.choice(CHANNELS),
                    f"门店{rng.randrange(20):02d}",
                    rng.choice(STATUSES),
                ]
            )


def _time_import(path: Path, rows: int, *, profile=False, expect_unchanged=False) -> tuple:
    from cxloop.customers.importing import import_path

    profiler = cProfile.Profile() if profile else None
    started, cpu = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    job = import_path(kind="orders", path=path)
    if profiler:
        profiler.disable()
    elapsed = (time.perf_counter() - started, time.process_time() - cpu)
    assert job.status == "done" and job.error_count == 0, (job.status, job.message, job.errors[:3])
    if expect_unchanged:
        assert job.unchanged_count == rows, job.message
    else:
        assert job.created_count == rows, job.message
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(
            r"customers|sqlite3|csv|psycopg", 30
        )
    return elapsed


def _parsed_rows(path: Path) -> list[tuple]:
    """The CSV as ready-to-insert tuples (parsing is not part of the baseline's time)."""
    from django.db import connection
    from django.utils import timezone

    from cxloop.customers.models import Customer

    ids = dict(Customer.objects.values_list("external_id", "id"))
    tz = timezone.get_default_timezone()
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    channel = {"门店": "store", "线上": "online", "小程序": "mini_program", "app": "app"}
    status = {"已完成": "completed", "已送达": "delivered", "已取消": "cancelled"}
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for ext, cust, amount, placed, delivered, chan, store, stat in reader:
            placed_at = dt.datetime.fromisoformat(placed).replace(tzinfo=tz)
            delivered_at = (
                dt.datetime.fromisoformat(delivered).replace(tzinfo=tz) if delivered else None
            )
            rows.append(
                (ext, ids[cust], round(float(amount) * 100), adapt(placed_at),
                 adapt(delivered_at) if delivered_at else None, channel[chan], store,
                 status.get(stat, stat), now, now)
            )  # fmt: skip
    return rows


def _time_baseline(rows: list[tuple]) -> tuple[float, float]:
    from django.db import connection, transaction

    sql = (
        "INSERT INTO customers_order (external_id, customer_id, amount_fen, placed_at, "
        "delivered_at, channel, store, status, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
    return time.perf_counter() - started, time.process_time() - cpu


def _time_copy_baseline(rows: list[tuple]) -> tuple[float, float]:
    from django.db import connection, transaction

    sql = (
        "COPY customers_order (external_id, customer_id, amount_fen, placed_at, delivered_at, "
        "channel, store, status, created_at, updated_at) FROM STDIN"
    )
    started, cpu = time.perf_counter(), time.process_time()
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
    return time.perf_counter() - started, time.process_time() - cpu


def _empty_orders() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("TRUNCATE customers_order CASCADE")
        else:
            cursor.execute("DELETE FROM customers_order")
            cursor.execute("VACUUM")  # start from a compact file, as the baseline did


if __name__ == "__main__":
    raise SystemExit(main())
