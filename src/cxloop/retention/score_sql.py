"""The SQL of a scoring run: one aggregate over the orders in, one bulk upsert out.

Reading: the customers and ONE grouped aggregate over the counted orders, fetched in chunks
straight into NumPy arrays (never a Python object per order). Writing: the new scores go into
a temporary table (COPY on PostgreSQL, ``executemany`` on SQLite), and a few statements
compare and merge it in the database: new ``TierChange`` rows where the tier differs, the
merged ``Customer.tags`` where the derived tags differ, an ``UPDATE … FROM`` that rewrites
only the rows whose values changed and an ``INSERT`` of the new ones — so a second run on the
same data writes nothing. The same SQL runs on SQLite (3.39+) and PostgreSQL; only the
epoch/timestamp conversions and the bulk load differ.
"""

# ruff: noqa: S608 - the SQL is built from this module's constant names; values are parameters.
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.db import DataError, connection, transaction

from cxloop.customers.models import Order
from cxloop.retention.tags import merge_tags

READ_CHUNK = 50_000
WRITE_CHUNK = 20_000
LOAD_TABLE = "retention_score_load"
TAG_TABLE = "retention_tag_load"
SCORE_TABLE = "retention_customerscore"
# Orders that are purchases: paid and not taken back. An unpaid order (placed) is not yet one.
COUNTED_STATUSES = (
    Order.Status.PAID,
    Order.Status.SHIPPED,
    Order.Status.DELIVERED,
    Order.Status.COMPLETED,
)
ONLINE_CHANNELS = (Order.Channel.ONLINE, Order.Channel.APP, Order.Channel.MINI_PROGRAM)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _epoch_seconds(expression: str) -> str:
    if _postgres():
        return f"EXTRACT(EPOCH FROM {expression})::float8"
    return f"(julianday({expression}) - 2440587.5) * 86400.0"


def _epoch_days(date_column: str) -> str:
    if _postgres():
        return f"({date_column} - DATE '1970-01-01')"
    return f"(julianday({date_column}) - 2440587.5)"


def _timestamp(epoch_column: str) -> str:
    if _postgres():
        return f"to_timestamp({epoch_column})"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {epoch_column}, 'unixepoch')"


def _fetch(sql: str, params: Sequence, columns: int) -> np.ndarray:
    """All rows of ``sql`` as one float64 array (NULL becomes NaN), converted chunk by chunk."""
    chunks = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(READ_CHUNK):
            chunks.append(np.array(rows, dtype=np.float64).reshape(len(rows), columns))
    return np.concatenate(chunks) if chunks else np.zeros((0, columns))


def db_time(moment: dt.datetime):
    return connection.ops.adapt_datetimefield_value(moment)


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Histories:
    """One entry per customer, sorted by customer id. Times are Unix seconds (NaN: no order)."""

    customer_id: np.ndarray  # int64
    registered_day: np.ndarray  # days since 1970-01-01 (NaN: unknown)
    created_s: np.ndarray
    orders: np.ndarray
    spend_fen: np.ndarray
    yearly_fen: np.ndarray
    first_s: np.ndarray
    last_s: np.ndarray
    store_orders: np.ndarray
    online_orders: np.ndarray

    @property
    def size(self) -> int:
        return int(self.customer_id.size)


def read_customers() -> np.ndarray:
    """(id, registration day, created_at seconds) of every customer."""
    sql = (
        f"SELECT id, {_epoch_days('registered_at')}, {_epoch_seconds('created_at')} "
        "FROM customers_customer"
    )
    rows = _fetch(sql, [], 3)
    rows[:, 2] = _exact_seconds(rows[:, 2])
    return rows


def aggregate_sql() -> str:
    """The one grouped aggregate over the orders: count, spend, first/last order, channels."""
    statuses = ", ".join(["%s"] * len(COUNTED_STATUSES))
    online = ", ".join(["%s"] * len(ONLINE_CHANNELS))
    return (
        "SELECT customer_id, COUNT(*), CAST(SUM(amount_fen) AS BIGINT), "
        f"{_epoch_seconds('MIN(placed_at)')}, {_epoch_seconds('MAX(placed_at)')}, "
        "CAST(SUM(CASE WHEN placed_at >= %s THEN amount_fen ELSE 0 END) AS BIGINT), "
        "SUM(CASE WHEN channel = %s THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN channel IN ({online}) THEN 1 ELSE 0 END) "
        f"FROM customers_order WHERE status IN ({statuses}) AND placed_at <= %s "
        "GROUP BY customer_id"
    )


def _exact_seconds(values: np.ndarray) -> np.ndarray:
    # SQLite's julianday() carries ~50 µs of float error: 5 days ago must stay 5 days ago.
    return values if _postgres() else np.round(values, 3)


def read_order_aggregate(*, now: dt.datetime, year_ago: dt.datetime) -> np.ndarray:
    params = [db_time(year_ago), Order.Channel.STORE, *ONLINE_CHANNELS, *COUNTED_STATUSES]
    rows = _fetch(aggregate_sql(), [*params, db_time(now)], 8)
    rows[:, 3:5] = _exact_seconds(rows[:, 3:5])
    return rows


def read_histories(*, now: dt.datetime) -> Histories:
    customers = read_customers()
    customers = customers[np.argsort(customers[:, 0], kind="stable")]
    ids = customers[:, 0].astype(np.int64)
    orders = read_order_aggregate(now=now, year_ago=now - dt.timedelta(days=365))
    # Scatter the per-customer aggregate onto the customers (a customer created between the
    # two queries may have orders here and no row above: it waits for the next run).
    at = np.searchsorted(ids, orders[:, 0].astype(np.int64))
    known = at < ids.size
    known[known] = ids[at[known]] == orders[known, 0]
    at, orders = at[known], orders[known]
    columns = []
    fields = ((1, 0.0), (2, 0.0), (5, 0.0), (3, np.nan), (4, np.nan), (6, 0.0), (7, 0.0))
    for index, empty in fields:
        column = np.full(ids.size, empty)
        column[at] = orders[:, index]
        columns.append(column)
    count, spend, yearly, first, last, store, online = columns
    return Histories(
        ids, customers[:, 1], customers[:, 2], count, spend, yearly, first, last, store, online
    )


# --- writing ----------------------------------------------------------------------------------

# (column, PostgreSQL type, SQLite type) of the temporary table; the score columns come first.
LOAD_COLUMNS = (
    ("customer_id", "bigint", "integer"),
    ("recency_days", "integer", "integer"),
    ("frequency", "integer", "integer"),
    ("monetary_fen", "bigint", "integer"),
    ("yearly_spend_fen", "bigint", "integer"),
    ("r_score", "smallint", "integer"),
    ("f_score", "smallint", "integer"),
    ("m_score", "smallint", "integer"),
    ("rfm", "varchar(8)", "text"),
    ("tier", "varchar(20)", "text"),
    ("is_vip", "boolean", "bool"),
    ("stage", "varchar(20)", "text"),
    ("p_alive", "float8", "real"),
    ("expected_purchases_90d", "float8", "real"),
    ("clv_fen", "bigint", "integer"),
    ("derived_tags", "jsonb", "text"),
    ("first_s", "float8", "real"),
    ("last_s", "float8", "real"),
    ("is_new", "boolean", "bool"),  # no score row yet: inserted, not updated
)
_PLAIN = [n for n, _pg, _lite in LOAD_COLUMNS if n not in {"first_s", "last_s", "is_new"}]


def _create_table(name: str, columns: Iterable[tuple[str, str, str]]) -> None:
    typed = ", ".join(f"{n} {pg if _postgres() else lite}" for n, pg, lite in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        suffix = " ON COMMIT DROP" if _postgres() else ""
        key = "PRIMARY KEY (customer_id)"
        cursor.execute(f"CREATE TEMPORARY TABLE {name} ({typed}, {key}){suffix}")


def drop_load_tables() -> None:
    with connection.cursor() as cursor:
        for name in (LOAD_TABLE, TAG_TABLE):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _load(table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
    with connection.cursor() as cursor:
        if _postgres():
            with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        chunk: list[tuple] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == WRITE_CHUNK:
                cursor.executemany(sql, chunk)
                chunk = []
        if chunk:
            cursor.executemany(sql, chunk)


def scored_customer_ids() -> np.ndarray:
    """The customers that already have a score row (sorted)."""
    ids = _fetch(f"SELECT customer_id FROM {SCORE_TABLE}", [], 1)[:, 0].astype(np.int64)
    return np.sort(ids)


def load_scores(rows: Iterable[tuple]) -> None:
    """Fill the temporary table with one row per customer, in LOAD_COLUMNS order."""
    _create_table(LOAD_TABLE, LOAD_COLUMNS)
    _load(LOAD_TABLE, [name for name, _pg, _lite in LOAD_COLUMNS], rows)


def _distinct() -> str:
    return "IS DISTINCT FROM" if _postgres() else "IS NOT"


def _json_empty() -> str:
    return "'[]'::jsonb" if _postgres() else "'[]'"


def insert_tier_changes(*, at: dt.datetime, run_id: int) -> int:
    """A TierChange for every loaded customer whose tier differs from the stored one."""
    sql = (
        "INSERT INTO retention_tierchange (customer_id, from_tier, to_tier, changed_at, run_id) "
        f"SELECT l.customer_id, COALESCE(s.tier, ''), l.tier, %s, %s FROM {LOAD_TABLE} l "
        f"LEFT JOIN {SCORE_TABLE} s ON s.customer_id = l.customer_id "
        "WHERE s.tier IS NULL OR s.tier <> l.tier"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_time(at), run_id])
        return cursor.rowcount


def _as_list(value) -> list[str]:
    value = json.loads(value) if isinstance(value, str) else value
    return [str(tag) for tag in value] if isinstance(value, list) else []


def merge_derived_tags(*, at: dt.datetime) -> int:
    """Rewrite Customer.tags of the customers whose derived tags changed; how many changed."""
    sql = (
        f"SELECT l.customer_id, c.tags, COALESCE(s.derived_tags, {_json_empty()}), "
        f"l.derived_tags FROM {LOAD_TABLE} l JOIN customers_customer c ON c.id = l.customer_id "
        f"LEFT JOIN {SCORE_TABLE} s ON s.customer_id = l.customer_id "
        f"WHERE COALESCE(s.derived_tags, {_json_empty()}) <> l.derived_tags"
    )
    updates = []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        while rows := cursor.fetchmany(READ_CHUNK):
            for customer_id, tags, old, new in rows:
                current = _as_list(tags)
                merged = merge_tags(current, old_derived=_as_list(old), new_derived=_as_list(new))
                if merged != current:
                    updates.append((customer_id, json.dumps(merged)))
    if updates:
        _create_table(TAG_TABLE, [("customer_id", "bigint", "integer"), ("tags", "jsonb", "text")])
        _load(TAG_TABLE, ["customer_id", "tags"], updates)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE customers_customer SET tags = t.tags, updated_at = %s FROM {TAG_TABLE} t "
                "WHERE customers_customer.id = t.customer_id",
                [db_time(at)],
            )
    return len(updates)


def upsert_scores(*, at: dt.datetime) -> int:
    """Rewrite the scores whose values changed, insert the new ones; how many rows were
    written. The churn columns are never touched. An UPDATE … FROM (one hash join) plus an
    INSERT of the rows marked new is several times cheaper than ON CONFLICT, which probes the
    unique index once per loaded row even when nothing changes; and the INSERT must not look
    up the table it fills (NOT EXISTS on a table planned as empty rescans it per row)."""
    names = [name for name in _PLAIN if name != "customer_id"] + ["first_order_at", "last_order_at"]
    values = {name: f"l.{name}" for name in _PLAIN}
    values |= {"first_order_at": _timestamp("l.first_s"), "last_order_at": _timestamp("l.last_s")}
    changed = " OR ".join(f"{SCORE_TABLE}.{n} {_distinct()} {values[n]}" for n in names)
    update = (
        f"UPDATE {SCORE_TABLE} SET "
        + ", ".join(f"{n} = {values[n]}" for n in names)
        + f", computed_at = %s FROM {LOAD_TABLE} l "
        f"WHERE {SCORE_TABLE}.customer_id = l.customer_id AND ({changed})"
    )
    columns = ["customer_id", *names]
    insert = (
        f"INSERT INTO {SCORE_TABLE} ({', '.join(columns)}, computed_at, churn_reasons) "
        f"SELECT {', '.join(values[n] for n in columns)}, %s, {_json_empty()} "
        f"FROM {LOAD_TABLE} l WHERE l.is_new"
    )
    with connection.cursor() as cursor:
        cursor.execute(update, [db_time(at)])
        written = cursor.rowcount
        cursor.execute(insert, [db_time(at)])
        return written + cursor.rowcount


def prepare_write() -> None:
    """In the write transaction: one writer at a time (a second run waits, then compares
    against the first's result), and on PostgreSQL memory for the million-row joins and the
    temporary table instead of spilling them to disk (for this transaction only)."""
    if _postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCORING_LOCK_KEY])
            cursor.execute("SET LOCAL work_mem = '128MB'")
            # Only possible before this connection's first temporary table; a worker that
            # scored before keeps the buffers it had, which changes speed, not results.
            try:
                with transaction.atomic():
                    cursor.execute("SET LOCAL temp_buffers = '256MB'")
            except DataError:
                pass


SCORING_LOCK_KEY = 5_202_605  # any constant; only scoring runs take this advisory lock
