"""Benchmark: RFM, tiers, CLV and demand tags for 1,000,000 customers / 10,000,000 orders.

    .venv/bin/python bench/bench_tiering.py [--customers 1000000] [--orders 10000000]
        [--scales 0.1,1] [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench_tiering`` database that
it creates and drops on the PostgreSQL server of ``--database-url``) and migrates it. For each
scale (a share of ``--customers`` and ``--orders``; 0.1 and 1 by default, so the cost at
1/10 of the size shows whether it is linear in the orders) it empties the tables, inserts the
customers and orders straight into them (COPY on PostgreSQL, ``executemany`` on SQLite): 90 %
of the customers buy, lognormal order counts and amounts over three years, the usual mix of
statuses and channels. Then, timed:

* the baseline, alone: ``SELECT customer_id, count(*), sum(amount_fen), max(placed_at) FROM
  customers_order GROUP BY customer_id``, every row fetched;
* ``score_customers`` end to end, split into its aggregate / model / write phases, three
  times: the first scoring (every score and tier change inserted), the next night (as of a
  day later: recency changed, most rows rewritten) and a rerun of that night (nothing to
  write).

Goal: the nightly run under 60 s for 1M customers / 10M orders on PostgreSQL, and a cost per
order that stays flat from 1/10 of the size to the full size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import benchdb
import numpy as np

BENCH_DB = "cxloop_bench_tiering"
NOW = dt.datetime(2026, 6, 3, 18, 30, tzinfo=dt.UTC)  # 02:30 in Shanghai, the nightly slot
YEARS = 3
CHUNK = 500_000
STATUSES = (["completed", "delivered", "paid", "shipped", "cancelled", "refunded"],
            [0.78, 0.10, 0.03, 0.02, 0.04, 0.03])  # fmt: skip
CHANNELS = (["store", "online", "app", "mini_program"], [0.4, 0.25, 0.2, 0.15])
BASELINE = (
    "SELECT customer_id, count(*), sum(amount_fen), max(placed_at) FROM customers_order "
    "GROUP BY customer_id"
)


def main() -> int:
    args = _arguments()
    with benchdb.django_for_bench(args.database_url, BENCH_DB):
        return _run(args)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--scales", default="0.1,1", help="shares of the sizes, in order")
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--seed", type=int, default=20260603)
    return parser.parse_args()


# --- data ----------------------------------------------------------------------------------


def _postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def _text_time(seconds: np.ndarray) -> list[str]:
    """UTC timestamps as text both databases read (SQLite: what Django writes)."""
    stamps = np.asarray(seconds, dtype="datetime64[s]").astype(str)
    suffix = "+00:00" if _postgres() else ""
    return [s.replace("T", " ") + suffix for s in stamps.tolist()]


def _copy_lines(table: str, columns: list[str], lines) -> None:
    """Write tab-separated lines (COPY text format) or executemany the same rows."""
    from django.db import connection

    with connection.cursor() as cursor:
        if _postgres():
            sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
            with cursor.cursor.copy(sql) as copy:
                for block in lines:
                    copy.write(block)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        for block in lines:
            rows = [
                tuple(None if v == "\\N" else v for v in line.split("\t"))
                for line in block.rstrip("\n").split("\n")
            ]
            cursor.executemany(sql, rows)


CUSTOMER_COLUMNS = [
    "external_id", "name", "phone", "email", "registered_at", "region", "store",
    "consent_survey", "consent_marketing", "tags", "created_at", "updated_at",
]  # fmt: skip
ORDER_COLUMNS = [
    "external_id", "customer_id", "amount_fen", "placed_at", "channel", "store", "status",
    "created_at", "updated_at",
]  # fmt: skip


def _customer_blocks(count: int, rng: np.random.Generator):
    now_s = int(NOW.timestamp())
    yes, no = ("t", "f") if _postgres() else ("1", "0")
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        registered = now_s - rng.integers(1, YEARS * 365 * 86400 + 180 * 86400, size)
        days = np.asarray(registered, dtype="datetime64[s]").astype("datetime64[D]").astype(str)
        created = _text_time(registered)
        lines = [
            f"B{start + i + 1:08d}\t顾客{start + i + 1}\t1{start + i + 1:010d}\t\t{days[i]}\t"
            f"华东\t上海徐汇店\t{yes}\t{no}\t[]\t{created[i]}\t{created[i]}"
            for i in range(size)
        ]
        yield "\n".join(lines) + "\n"


def _order_blocks(count: int, first_customer: int, customers: int, rng: np.random.Generator):
    now_s = int(NOW.timestamp())
    buyers = rng.choice(customers, int(customers * 0.9), replace=False) + first_customer
    weights = rng.lognormal(0, 0.8, buyers.size)
    weights /= weights.sum()
    stamp = _text_time(np.array([now_s]))[0]
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        who = rng.choice(buyers, size, p=weights)
        placed = _text_time(now_s - rng.integers(60, YEARS * 365 * 86400, size))
        amounts = np.maximum(990, rng.lognormal(np.log(15_000), 0.8, size)).astype(np.int64)
        status = rng.choice(STATUSES[0], size, p=STATUSES[1])
        channel = rng.choice(CHANNELS[0], size, p=CHANNELS[1])
        who, amounts = who.tolist(), amounts.tolist()
        lines = [
            f"O{start + i + 1:09d}\t{who[i]}\t{amounts[i]}\t{placed[i]}\t{channel[i]}\t"
            f"上海徐汇店\t{status[i]}\t{stamp}\t{stamp}"
            for i in range(size)
        ]
        yield "\n".join(lines) + "\n"


def _reset() -> None:
    from django.db import connection

    tables = ["retention_tierchange", "retention_customerscore", "retention_scoringrun",
              "customers_order", "customers_customer"]  # fmt: skip
    with connection.cursor() as cursor:
        if _postgres():
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {table}")


def _plain_indexes(table: str) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the indexes of ``table`` that no constraint owns."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = %s "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
            [table],
        )
        return cursor.fetchall()


def generate(customers: int, orders: int, seed: int) -> float:
    """Insert the rows. On PostgreSQL the order indexes are built after the load and the
    foreign-key triggers skipped (the generator only uses existing customers): loading 10M
    rows index by index and check by check would take far longer than the benchmark."""
    from django.db import connection, transaction

    _reset()
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    indexes = _plain_indexes("customers_order") if _postgres() else []
    with transaction.atomic(), connection.cursor() as cursor:
        if _postgres():
            cursor.execute("SET LOCAL session_replication_role = replica")
            for name, _create in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
        _copy_lines("customers_customer", CUSTOMER_COLUMNS, _customer_blocks(customers, rng))
        cursor.execute("SELECT min(id) FROM customers_customer")
        first = cursor.fetchone()[0]
        _copy_lines("customers_order", ORDER_COLUMNS, _order_blocks(orders, first, customers, rng))
        for _name, create in indexes:
            cursor.execute(create)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if _postgres() else "ANALYZE")
    return time.perf_counter() - started


# --- rounds --------------------------------------------------------------------------------


def baseline() -> tuple[float, int]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(BASELINE)
        rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


def scoring(now: dt.datetime) -> tuple[float, dict, dict]:
    from cxloop.retention.scoring import score_customers

    started = time.perf_counter()
    run = score_customers(now=now, kind="command")
    took = time.perf_counter() - started
    assert run.status == "done", run.message
    return took, run.parameters["timings"], run.parameters["writes"]


def _line(label: str, total: float, phases: dict, base: float, writes: dict) -> str:
    split = " / ".join(f"{phases[p]:6.2f}" for p in ("aggregate", "model", "write"))
    return (f"  {label:<18} {total:7.2f} s  (aggregate / model / write {split} s)  "
            f"{total / base:5.1f}x baseline, aggregate {phases['aggregate'] / base:4.2f}x  "
            f"writes {writes}")  # fmt: skip


def _scale(args, scale: float) -> dict:
    customers, orders = int(args.customers * scale), int(args.orders * scale)
    took = generate(customers, orders, args.seed)
    print(f"\n{customers:,} customers, {orders:,} orders (generated in {took:.1f} s)")
    base, groups = baseline()
    print(f"  baseline GROUP BY   {base:7.2f} s  ({groups:,} customers with orders)")
    results = {}
    for label, now in (("first scoring", NOW), ("next night", NOW + dt.timedelta(days=1)),
                       ("rerun, no change", NOW + dt.timedelta(days=1))):  # fmt: skip
        total, phases, writes = scoring(now)
        results[label] = total
        print(_line(label, total, phases, base, writes))
    return {"orders": orders, "base": base, **results}


def _run(args) -> int:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"database: {connection.vendor}")
    found = [_scale(args, float(scale)) for scale in args.scales.split(",")]
    if len(found) > 1:
        small, large = found[0], found[-1]
        for label in ("first scoring", "next night"):
            per_small = small[label] / small["orders"] * 1e6
            per_large = large[label] / large["orders"] * 1e6
            print(f"{label}: {per_small:.2f} s per million orders at {small['orders']:,}, "
                  f"{per_large:.2f} s at {large['orders']:,}: {per_large / per_small:.2f}x "
                  "(≈1: linear in orders)")  # fmt: skip
    nightly = found[-1]["next night"]
    met = nightly < 60
    print(f"goal (nightly run < 60 s at {found[-1]['orders']:,} orders): "
          f"{'met' if met else 'NOT met'} ({nightly:.1f} s)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
