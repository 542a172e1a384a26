"""Benchmark: the SLA sweep on 1,000,000 open cases, against one indexed SELECT of the due rows.

    .venv/bin/python bench/bench_sla_sweep.py [--cases 1000000] [--due 1000] [--repeat 3]
        [--database-url postgres://postgres@127.0.0.1:5432/postgres]

Sets up its own database (a temporary SQLite file, or a ``cxloop_bench_sla`` database that it
creates and drops on the PostgreSQL server of ``--database-url``), migrates it and inserts
``--cases`` open cases in one department (a supervisor, a head) straight into the tables
(``executemany`` in chunks; COPY on PostgreSQL), each with three clocks: the first response
(met for 85 % of them), the resolution and the progress update, their next checks spread over
the next 30 days — about 2.15 checks per case in the partial index. Then, best of ``--repeat``:

(a) ``sweep.sweep_due_targets`` with nothing due, and the baseline: the same indexed SELECT
    of the due rows (``next_check_at <= now ORDER BY next_check_at LIMIT``) in plain SQL;
(b) the sweep with ``--due / 10`` and ``--due`` resolution clocks past their deadline — each a
    breach event, an escalation to the supervisor with its event and an urgent email through
    the outbox, batches of 500 as the periodic task runs them — against the SELECT of those
    rows. The rows are re-armed (events, messages and escalation levels removed) before every
    round.

Goal: (a) under 200 ms, and (b) growing with the due rows, not with the open cases (compare
the per-row cost at 1/10 and all of ``--due``, or re-run with fewer ``--cases``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time

import benchdb

BENCH_DB = "cxloop_bench_sla"
CHUNK = 50_000
NOW = dt.datetime(2026, 6, 3, 2, 0, tzinfo=dt.UTC)  # Wed 10:00 in Shanghai
SPREAD_MINUTES = 30 * 24 * 60
MINUTE = dt.timedelta(minutes=1)
SELECT_DUE = (
    "SELECT id, next_check_at FROM cases_casetarget WHERE next_check_at IS NOT NULL "
    "AND next_check_at <= %s ORDER BY next_check_at LIMIT %s"
)


def main() -> int:
    args = _arguments()
    with benchdb.django_for_bench(args.database_url, BENCH_DB):
        return _run(args)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000, help="open cases")
    parser.add_argument("--due", type=int, default=1000, help="clocks due in the big round")
    parser.add_argument("--database-url", default="", help="postgres://… (default: SQLite)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the best is reported")
    parser.add_argument("--seed", type=int, default=20260603)
    return parser.parse_args()


# --- data ----------------------------------------------------------------------------------


def _db_time(value: dt.datetime):
    """What Django itself sends for a datetime (SQLite: naive UTC text; PostgreSQL: aware)."""
    from django.db import connection

    return connection.ops.adapt_datetimefield_value(value)


def _insert(table: str, columns: list[str], rows) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def _case_rows(count: int, department_id: int, owner_id: int, rng: random.Random):
    """Columns and rows of ``cases_case``: every concrete field, its default unless set here."""
    from cxloop.cases.models import Case

    fields = [f for f in Case._meta.concrete_fields if not f.primary_key]
    defaults = {f.column: f.get_default() for f in fields}
    defaults.update(department_id=department_id, owner_id=owner_id, status="assigned",
                    channel="hotline", subject="快递三天没到", public_nonce="0" * 16)  # fmt: skip
    columns = [f.column for f in fields]
    created = _db_time(NOW - dt.timedelta(hours=2))
    defaults.update(created_at=created, updated_at=created, next_due_at=None)
    template = [defaults[c] for c in columns]
    at_number = columns.index("number")

    def rows():
        for number in range(1, count + 1):  # one template row; only the number changes
            template[at_number] = f"B{number:09d}"
            yield tuple(template)

    return columns, rows()


TARGET_COLUMNS = [
    "case_id", "kind", "rule_id", "started_at", "due_at", "warn_at", "met_at", "warned_at",
    "breached_at", "escalated_to_head_at", "paused_seconds", "cycle", "next_check_at",
    "claimed_until",
]  # fmt: skip


def _target_rows(first_case: int, count: int, rules: dict[str, int], rng: random.Random):
    started = NOW - dt.timedelta(hours=2)
    start_text = _db_time(started)
    for case_id in range(first_case, first_case + count):
        met = rng.random() < 0.85
        for kind in ("first_response", "resolution", "progress_update"):
            if kind == "first_response" and met:  # answered after 9 minutes: no check left
                warn, due = _db_time(started + 12 * MINUTE), _db_time(started + 15 * MINUTE)
                check, done = None, _db_time(started + 9 * MINUTE)
            else:  # the warning some time in the next 30 days, the deadline 3 hours later
                moment = NOW + rng.randint(1, SPREAD_MINUTES) * MINUTE
                warn = check = _db_time(moment)
                due, done = _db_time(moment + 180 * MINUTE), None
            yield (case_id, kind, rules[kind], start_text, due, warn, done, None, None, None, 0,
                   1, check, None)  # fmt: skip


def generate(args) -> tuple[int, float]:
    """Insert the cases and their clocks; returns the department id and the seconds it took."""
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from cxloop.cases.models import Department, Membership, SlaRule

    rng = random.Random(args.seed)
    users = get_user_model().objects
    department = Department.objects.create(code="bench", name="客服中心")
    supervisor = users.create_user(username="lead", email="lead@example.com")
    Membership.objects.create(department=department, user=supervisor, role="supervisor")
    department.head = users.create_user(username="head", email="head@example.com")
    department.save()
    agent = users.create_user(username="agent", email="agent@example.com")
    SlaRule.objects.all().delete()
    rules = {kind: SlaRule.objects.create(name=kind, target=kind, minutes=m).pk
             for kind, m in (("first_response", 15), ("resolution", 1440),
                             ("progress_update", 1440))}  # fmt: skip
    if connection.vendor == "sqlite":  # index pages of 4M random-order rows: keep them cached
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -524288")  # 512 MB
    started = time.perf_counter()
    with transaction.atomic():
        columns, rows = _case_rows(args.cases, department.pk, agent.pk, rng)
        _insert("cases_case", columns, rows)
        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id) FROM cases_case")
            first = cursor.fetchone()[0]
        _insert("cases_casetarget", TARGET_COLUMNS, _target_rows(first, args.cases, rules, rng))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return department.pk, time.perf_counter() - started


# --- rounds --------------------------------------------------------------------------------


def best(function, repeat: int, before=None) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def select_due(now: dt.datetime, limit: int) -> list:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(SELECT_DUE, [_db_time(now), limit])
        return cursor.fetchall()


def sweep_all(now: dt.datetime) -> int:
    """What the periodic task does: batches until a short one."""
    from cxloop.cases import sweep

    handled = 0
    while True:
        report = sweep.sweep_due_targets(now=now)
        handled += report.breached
        if report.selected < sweep.DEFAULT_LIMIT:
            return handled


class Rearm:
    """Put ``due`` resolution clocks past their deadline again, undoing the last round."""

    def __init__(self, due: int, cases: int, rng: random.Random):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT min(id), max(id) FROM cases_case")
            low, high = cursor.fetchone()
            self.marks = {
                t: self._max(cursor, t) for t in ("cases_caseevent", "core_outboxmessage")
            }
        self.case_ids = rng.sample(range(low, high + 1), due)

    @staticmethod
    def _max(cursor, table: str) -> int:
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}")
        return cursor.fetchone()[0]

    def __call__(self) -> None:
        """Due: warned an hour ago, the deadline a minute ago, not breached."""
        self._set(due=NOW - MINUTE, warned=NOW - 60 * MINUTE)

    def disarm(self) -> None:
        """Back to a deadline days away, so the next round sees only its own due rows."""
        self._set(due=NOW + 3 * 24 * 60 * MINUTE, warned=None)

    def _set(self, *, due: dt.datetime, warned: dt.datetime | None) -> None:
        from django.db import connection, transaction

        marks = ", ".join(["%s"] * len(self.case_ids))
        warn = warned or due - 180 * MINUTE
        check = due if warned else warn
        values = [_db_time(due), _db_time(warn), warned and _db_time(warned), _db_time(check)]
        with transaction.atomic(), connection.cursor() as cursor:
            for table, mark in self.marks.items():
                cursor.execute(f"DELETE FROM {table} WHERE id > %s", [mark])
            cursor.execute(f"UPDATE cases_case SET escalation_level = 0 WHERE id IN ({marks})",
                           self.case_ids)  # fmt: skip
            cursor.execute(
                "UPDATE cases_casetarget SET due_at = %s, warn_at = %s, warned_at = %s, "
                "breached_at = NULL, escalated_to_head_at = NULL, claimed_until = NULL, "
                f"next_check_at = %s WHERE kind = 'resolution' AND case_id IN ({marks})",
                [*values, *self.case_ids],
            )


def _plan() -> str:
    from django.db import connection

    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cursor:
        cursor.execute(prefix + SELECT_DUE, [_db_time(NOW), 500])
        return " | ".join(str(row[-1]) for row in cursor.fetchall())


def _run(args) -> int:
    from django.core.management import call_command
    from django.db import connection

    from cxloop.cases import sweep
    from cxloop.cases.models import CaseTarget

    call_command("migrate", verbosity=0)
    _department, took = generate(args)
    checks = CaseTarget.objects.filter(next_check_at__isnull=False).count()
    print(f"database: {connection.vendor}, {args.cases:,} open cases, "
          f"{CaseTarget.objects.count():,} clocks ({checks:,} with a next check), "
          f"generated in {took:.1f} s, best of {args.repeat}")  # fmt: skip
    print(f"plan of the due SELECT: {_plan()}")
    empty_s, report = best(lambda: sweep.sweep_due_targets(now=NOW), args.repeat)
    base_s, rows = best(lambda: select_due(NOW, sweep.DEFAULT_LIMIT), args.repeat)
    assert report.selected == 0 and rows == []
    print(f"nothing due:  sweep {empty_s * 1000:8.2f} ms   indexed SELECT {base_s * 1000:7.2f} ms"
          f"   ratio {empty_s / base_s:6.1f}x")  # fmt: skip
    ok = empty_s < 0.2
    rng = random.Random(args.seed + 1)
    per_row = []
    for due in sorted({max(1, args.due // 10), args.due}):
        rearm = Rearm(due, args.cases, rng)
        sweep_s, handled = best(lambda: sweep_all(NOW), args.repeat, before=rearm)
        assert handled == due, (handled, due)
        rearm()
        base_s, rows = best(lambda due=due: select_due(NOW, due + 1), args.repeat)
        assert len(rows) == due
        rearm.disarm()
        per_row.append(sweep_s / due)
        print(f"{due:>5} due:    sweep {sweep_s * 1000:8.1f} ms   indexed SELECT "
              f"{base_s * 1000:7.2f} ms   ratio {sweep_s / base_s:6.0f}x   "
              f"{sweep_s / due * 1000:5.2f} ms per due clock")  # fmt: skip
    growth = per_row[-1] / per_row[0]
    print(
        f"per-row cost at {args.due:,} due vs {max(1, args.due // 10):,}: {growth:.2f}x "
        "(≈1: the cost follows the due rows)"
    )
    print("goal (nothing due < 200 ms) met" if ok else "goal NOT met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
