"""Benchmark: points ledger throughput with concurrent writers, against plain INSERTs.

    .venv/bin/python bench/bench_ledger.py [--writers 8] [--operations 500] [--customers 50]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench_ledger`` database that
it creates and drops on the PostgreSQL server of ``--database-url``) and migrates it. Then
``--writers`` threads, each with its own database connection, start together and run
``--operations`` ledger operations each on ``--customers`` customers: 70 % ``earn_points``,
30 % ``redeem_points`` (a redemption larger than the balance is refused, and counts as an
operation), every tenth operation with an idempotency key all writers share (one entry, however
many send it). Each operation is the real write path: the account row locked FOR UPDATE, the
key checked, the entry, its lot or lot uses, the cached balance and an audit row written in one
transaction.

Baseline, in the same run: the same writers INSERT the same number of rows, one row per
transaction, into a plain table with a unique key and no locking logic. The ratio says what
the ledger's exactness costs.

At the end an anomaly check: each account's cached balance against the SUM of its entries and
the remaining points of its lots, negative balances or lots, keys with more than one entry,
entries a writer was given back that are not in the table, and one entry per distinct key.
It prints "0 anomalies" when the ledger is exact.
"""

from __future__ import annotations

import argparse
import random
import threading
import time

import benchdb

BENCH_DB = "cxloop_bench_ledger"
PLAIN_TABLE = "bench_plain_entry"


def main() -> int:
    args = _arguments()
    with benchdb.django_for_bench(args.database_url, BENCH_DB):
        return _run(args)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=8, help="concurrent writer threads")
    parser.add_argument("--operations", type=int, default=500, help="operations per writer")
    parser.add_argument("--customers", type=int, default=50, help="customers written to")
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--seed", type=int, default=20260601)
    return parser.parse_args()


# --- the ledger run ---------------------------------------------------------------------------


def _operation(rng: random.Random, writer: int, index: int, customers: list):
    if index % 10 == 0:  # the same operation in every writer
        return "earn", customers[index % len(customers)], 5 + index % 50, f"shared:{index}"
    kind = "earn" if rng.random() < 0.7 else "redeem"
    return kind, rng.choice(customers), rng.randint(1, 60), f"w{writer}:{index}"


def _ledger_writer(writer, args, customers, barrier, returned: list, failures: list) -> None:
    from django.db import connection

    from cxloop.loyalty.services import LoyaltyError, earn_points, redeem_points

    rng = random.Random(args.seed + writer)
    mine = []
    try:
        barrier.wait()
        for index in range(args.operations):
            kind, customer, points, key = _operation(rng, writer, index, customers)
            try:
                if kind == "earn":
                    entry = earn_points(
                        customer=customer,
                        points=points,
                        idempotency_key=key,
                        reason="bench",
                        source="bench",
                    )
                else:
                    entry = redeem_points(
                        customer=customer, points=points, idempotency_key=key, reason="bench"
                    )
                mine.append((key, entry.pk))
            except LoyaltyError as error:
                if "not enough points" not in error.message:
                    failures.append(repr(error))
    except Exception as error:  # noqa: BLE001 - counted as an anomaly below
        failures.append(repr(error))
    finally:
        returned.extend(mine)
        connection.close()  # each writer had its own connection


def _threads(count: int, target, *args) -> float:
    barrier = threading.Barrier(count + 1)
    threads = [threading.Thread(target=target, args=(n, *args, barrier)) for n in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def run_ledger(args, customers) -> tuple[float, list, list]:
    returned: list = []
    failures: list = []

    def writer(n, barrier):
        _ledger_writer(n, args, customers, barrier, returned, failures)

    seconds = _threads(args.writers, writer)
    return seconds, returned, failures


# --- the baseline: plain INSERTs ----------------------------------------------------------------


def _create_plain_table() -> None:
    from django.db import connection

    serial = "BIGSERIAL" if connection.vendor == "postgresql" else "INTEGER"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cursor.execute(
            f"CREATE TABLE {PLAIN_TABLE} (id {serial} PRIMARY KEY, customer_id BIGINT NOT NULL, "
            "points BIGINT NOT NULL, idempotency_key VARCHAR(200) NOT NULL UNIQUE, "
            "created_at TIMESTAMP NOT NULL)"
        )


def _plain_writer(writer, args, customers, barrier) -> None:
    from django.db import connection
    from django.utils import timezone

    rng = random.Random(args.seed + writer)
    sql = (
        f"INSERT INTO {PLAIN_TABLE} (customer_id, points, idempotency_key, created_at) "
        "VALUES (%s, %s, %s, %s)"
    )
    try:
        barrier.wait()
        with connection.cursor() as cursor:
            for index in range(args.operations):
                customer = rng.choice(customers)
                now = timezone.now().replace(tzinfo=None)
                cursor.execute(sql, (customer.pk, rng.randint(-60, 60), f"w{writer}:{index}", now))
    finally:
        connection.close()


def run_plain(args, customers) -> float:
    _create_plain_table()
    return _threads(args.writers, lambda n, barrier: _plain_writer(n, args, customers, barrier))


# --- the anomaly check --------------------------------------------------------------------------


def anomalies(returned: list, failures: list) -> list[str]:
    from django.db.models import Count, Sum

    from cxloop.loyalty.models import PointsAccount, PointsEntry, PointsLot

    found = [f"writer error: {failure}" for failure in failures[:20]]
    sums = dict(PointsEntry.objects.values_list("account").annotate(s=Sum("points")))
    lots = dict(PointsLot.objects.values_list("account").annotate(s=Sum("remaining")))
    for account in PointsAccount.objects.all():
        if account.balance != (sums.get(account.pk) or 0):
            found.append(f"account {account.pk}: balance {account.balance} != ledger sum")
        if account.balance != (lots.get(account.pk) or 0):
            found.append(f"account {account.pk}: balance {account.balance} != lots remaining")
        if account.balance < 0:
            found.append(f"account {account.pk}: negative balance")
    negative = PointsEntry.objects.filter(balance_after__lt=0).count()
    negative += PointsLot.objects.filter(remaining__lt=0).count()
    found += [f"{negative} negative entries or lots"] if negative else []
    doubled = PointsEntry.objects.values("idempotency_key").annotate(n=Count("id")).filter(n__gt=1)
    found += [f"key {row['idempotency_key']} has {row['n']} entries" for row in doubled]
    given = {pk for _key, pk in returned}
    stored = set(PointsEntry.objects.values_list("pk", flat=True))
    found += [f"{len(given - stored)} returned entries are missing"] if given - stored else []
    keys = {key for key, _pk in returned}
    if len(stored) != len(keys):
        found.append(f"{len(stored)} entries for {len(keys)} distinct keys")
    return found


# --- run ------------------------------------------------------------------------------------------


def _run(args) -> int:
    from django.core.management import call_command
    from django.db import connection

    from cxloop.customers.models import Customer
    from cxloop.loyalty.models import PointsEntry

    call_command("migrate", verbosity=0)
    Customer.objects.bulk_create(
        [Customer(external_id=f"bench-{n}", name=f"客户{n}") for n in range(args.customers)]
    )
    customers = list(Customer.objects.order_by("pk"))
    connection.close()  # the writers open their own
    total = args.writers * args.operations
    print(
        f"database: {connection.vendor}, {args.writers} writers × {args.operations} operations "
        f"on {args.customers} customers"
    )

    ledger_seconds, returned, failures = run_ledger(args, customers)
    plain_seconds = run_plain(args, customers)
    entries = PointsEntry.objects.count()
    ledger_rate, plain_rate = total / ledger_seconds, total / plain_seconds
    print(
        f"ledger: {total:,} operations ({entries:,} entries) in {ledger_seconds:.2f} s = "
        f"{ledger_rate:,.0f} operations/s"
    )
    print(f"plain INSERTs: {total:,} rows in {plain_seconds:.2f} s = {plain_rate:,.0f} rows/s")
    print(
        f"ratio: the ledger runs at {ledger_rate / plain_rate:.2f} × the plain INSERT rate "
        f"({plain_rate / ledger_rate:.1f} × slower)"
    )
    found = anomalies(returned, failures)
    for line in found[:20]:
        print("  anomaly:", line)
    print(f"{len(found)} anomalies")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
