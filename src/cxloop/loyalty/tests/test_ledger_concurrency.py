"""Concurrent writers on the same customers: 8 threads × 50 earn/redeem operations, each
thread with its own database connection, a fifth of the idempotency keys shared by all
threads. Afterwards no entry is lost or doubled, balances equal the ledger sums and the lots,
nothing is negative.

PostgreSQL is the real target (row locks of ``select_for_update`` serialise each customer's
writers). SQLite's test database is a shared-cache in-memory file whose table locks do not
wait, so there the test is skipped; ``bench/bench_ledger.py`` runs 8 writers on a SQLite file.
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Sum

from cxloop.loyalty.models import PointsAccount, PointsEntry, PointsLot
from cxloop.loyalty.services import LoyaltyError, earn_points, redeem_points
from cxloop.loyalty.tests import points_helpers as h

THREADS = 8
OPERATIONS = 50

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="SQLite's in-memory test database locks tables without waiting; "
        "run with CXLOOP_DATABASE_URL=postgres://… (bench_ledger.py covers a SQLite file)",
    ),
]


def _operation(rng: random.Random, thread: int, index: int, customers: list):
    """(kind, customer, points, key). Every fifth operation is the same in all threads."""
    if index % 5 == 0:
        customer = customers[index % len(customers)]
        return "earn", customer, 10 + index, f"shared:{index}"
    kind = rng.choice(["earn", "earn", "redeem"])
    customer = rng.choice(customers)
    return kind, customer, rng.randint(1, 40), f"t{thread}:{index}"


def _worker(thread: int, customers, barrier, results: list, errors: list) -> None:
    rng = random.Random(thread)
    try:
        barrier.wait()
        for index in range(OPERATIONS):
            kind, customer, points, key = _operation(rng, thread, index, customers)
            try:
                if kind == "earn":
                    entry = earn_points(
                        customer=customer,
                        points=points,
                        idempotency_key=key,
                        reason="load",
                        source="test",
                    )
                else:
                    entry = redeem_points(
                        customer=customer, points=points, idempotency_key=key, reason="load"
                    )
            except LoyaltyError as error:
                if "not enough points" not in error.message:
                    errors.append(error)
                continue
            results.append((key, entry.pk, entry.points, customer.pk))
    except Exception as error:  # noqa: BLE001 - reported by the test
        errors.append(error)
    finally:
        connection.close()  # each thread had its own connection


def test_concurrent_writers_lose_and_double_nothing():
    customers = [h.customer() for _ in range(3)]
    barrier = threading.Barrier(THREADS)
    results: list = []
    errors: list = []
    threads = [
        threading.Thread(target=_worker, args=(n, customers, barrier, results, errors))
        for n in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]

    # Every returned entry exists; one key, one entry, however many threads sent it.
    by_key: dict[str, set[int]] = {}
    for key, pk, _points, _customer in results:
        by_key.setdefault(key, set()).add(pk)
    assert all(len(pks) == 1 for pks in by_key.values())
    entries = PointsEntry.objects.filter(account__customer__in=customers)
    assert entries.count() == len(by_key)
    assert set(entries.values_list("pk", flat=True)) == {next(iter(p)) for p in by_key.values()}
    shared = Counter(key for key, *_rest in results if key.startswith("shared:"))
    assert set(shared.values()) == {THREADS}  # every thread got the shared entry back

    for customer in customers:
        account = PointsAccount.objects.get(customer=customer)
        mine = entries.filter(account=account)
        total = mine.aggregate(s=Sum("points"))["s"] or 0
        lots = PointsLot.objects.filter(account=account).aggregate(s=Sum("remaining"))["s"] or 0
        assert account.balance == total == lots >= 0
        assert not mine.filter(balance_after__lt=0).exists()
        # The running balances form one chain: each entry starts where the previous ended.
        running = 0
        for points, after in mine.order_by("id").values_list("points", "balance_after"):
            running += points
            assert after == running
