"""Churn early warning in the product: read the history, train, score every customer.

``build_history`` reads orders, complaint cases and survey answers with three SQL queries whose
rows are fetched in chunks straight into NumPy arrays (no model instance, no Python object kept
per row) and hands them to ``cxloop.insights.churn``. ``train_churn_model`` stores every
training as a ``ChurnModelRecord`` (the newest is active, also when it was refused, so the page
tells the truth); ``score_churn`` writes ``CustomerScore.churn_risk``/``churn_reasons`` from the
active model, or clears them when that model has no usable signal: nobody is flagged from noise.
Days are calendar days in the configured time zone (Asia/Shanghai), counted from 1970-01-01.
"""

# ruff: noqa: S608 - the SQL is built from constant table/column names; values are parameters.

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction
from django.utils import timezone

from cxloop.core.audit import record_audit
from cxloop.customers.models import Customer, Order
from cxloop.insights import churn as model_lib
from cxloop.insights import clv
from cxloop.insights.churn_features import History, build_features
from cxloop.retention.churn_models import ChurnModelRecord
from cxloop.retention.models import CustomerScore

logger = logging.getLogger(__name__)

EPOCH = dt.date(1970, 1, 1)
READ_CHUNK = 50_000
WRITE_CHUNK = 2_000
TOP_REASONS = 3
COUNTED_STATUSES = ("paid", "shipped", "delivered", "completed")  # purchases, not taken back
RETENTION_CATEGORY_PREFIX = "retention"  # our own win-back cases are not complaints
_NO_DAY = np.iinfo(np.int64).max // 4  # "unknown registration": later than any cutoff


@dataclass(frozen=True)
class HistoryData:
    """The history of all customers; ``customer_ids[i]`` is the pk of customer index i."""

    history: History | None
    customer_ids: np.ndarray
    today: int


def day_number(moment: dt.datetime) -> int:
    return (timezone.localdate(moment) - EPOCH).days


def day_date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def _epoch_seconds(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM {column})::float8"
    return f"(julianday({column}) - 2440587.5) * 86400.0"


def _epoch_days(date_column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({date_column} - DATE '1970-01-01')"
    return f"(julianday({date_column}) - 2440587.5)"


def _fetch(sql: str, params: list, columns: int) -> np.ndarray:
    """(rows, columns) float64 array of the query, read ``READ_CHUNK`` rows at a time."""
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(READ_CHUNK):
            parts.append(np.array(rows, dtype=np.float64).reshape(-1, columns))
    return np.concatenate(parts) if parts else np.empty((0, columns))


def _local_days(seconds: np.ndarray, offset: float) -> np.ndarray:
    return np.floor((seconds + offset) / 86400.0).astype(np.int64)


def _customers() -> tuple[np.ndarray, np.ndarray]:
    table = Customer._meta.db_table
    rows = _fetch(
        f"SELECT id, COALESCE({_epoch_days('registered_at')}, -1e18) FROM {table} ORDER BY id",
        [],
        2,
    )
    registered = np.where(rows[:, 1] < -1e17, _NO_DAY, np.floor(rows[:, 1])).astype(np.int64)
    return rows[:, 0].astype(np.int64), registered


def _orders(offset: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    marks = ", ".join(["%s"] * len(COUNTED_STATUSES))
    rows = _fetch(
        f"SELECT customer_id, {_epoch_seconds('placed_at')}, amount_fen "
        f"FROM {Order._meta.db_table} WHERE status IN ({marks})",
        list(COUNTED_STATUSES),
        3,
    )
    return rows[:, 0].astype(np.int64), _local_days(rows[:, 1], offset), rows[:, 2].astype(np.int64)


def _complaints(offset: float) -> np.ndarray:
    return _fetch(
        f"SELECT c.customer_id, {_epoch_seconds('c.created_at')}, "
        "CASE WHEN c.resolved_at IS NULL THEN 0 ELSE 1 END, "
        "CASE WHEN c.reopen_count > 0 THEN 1 ELSE 0 END "
        "FROM cases_case c LEFT JOIN cases_category k ON k.id = c.category_id "
        "WHERE c.customer_id IS NOT NULL AND c.merged_into_id IS NULL "
        "AND (k.code IS NULL OR k.code NOT LIKE %s)",
        [RETENTION_CATEGORY_PREFIX + "%"],
        4,
    )


def _surveys() -> np.ndarray:
    return _fetch(
        f"SELECT customer_id, {_epoch_seconds('submitted_at')}, nps FROM surveys_response "
        "WHERE customer_id IS NOT NULL AND submitted_at IS NOT NULL AND nps IS NOT NULL "
        "AND excluded = %s AND nps BETWEEN 0 AND 10",
        [False],
        3,
    )


def build_history(*, now: dt.datetime | None = None) -> HistoryData:
    """Every customer's orders, complaints and survey scores as one ``History``."""
    now = now or timezone.now()
    offset = timezone.localtime(now).utcoffset().total_seconds()
    ids, registered = _customers()
    if ids.size == 0:
        return HistoryData(None, ids, day_number(now))
    order_customer, order_day, amount = _orders(offset)
    cases, surveys = _complaints(offset), _surveys()
    history = History(
        n_customers=int(ids.size),
        order_customer=np.searchsorted(ids, order_customer),
        order_day=order_day,
        order_amount_fen=amount,
        complaint_customer=np.searchsorted(ids, cases[:, 0].astype(np.int64)),
        complaint_day=_local_days(cases[:, 1], offset),
        complaint_resolved=cases[:, 2] > 0,
        complaint_reopened=cases[:, 3] > 0,
        survey_customer=np.searchsorted(ids, surveys[:, 0].astype(np.int64)),
        survey_day=_local_days(surveys[:, 1], offset),
        survey_score=surveys[:, 2].astype(np.int64),
        registered_day=registered,
    )
    return HistoryData(history, ids, day_number(now))


def p_alive_at(history: History):
    """``day -> P(alive)`` per customer from a BG/NBD fit on the orders up to that day (weeks,
    distinct purchase days); NaN for customers without orders or when the fit fails."""

    def at(day: int) -> np.ndarray:
        result = np.full(history.n_customers, np.nan)
        keep = history.order_day <= day
        key = np.unique(history.order_customer[keep] * (1 << 32) + history.order_day[keep])
        customer, days = key >> 32, key & ((1 << 32) - 1)
        if customer.size == 0:
            return result
        count = np.bincount(customer, minlength=history.n_customers)
        first = np.full(history.n_customers, day, dtype=np.int64)
        last = np.zeros(history.n_customers, dtype=np.int64)
        np.minimum.at(first, customer, days)
        np.maximum.at(last, customer, days)
        rows = np.flatnonzero(count > 0)
        x = (count[rows] - 1).astype(np.float64)
        t_x, age = (last[rows] - first[rows]) / 7.0, (day - first[rows]) / 7.0
        try:
            fit = clv.fit_bgnbd(x, t_x, age)
            result[rows] = clv.p_alive(fit, x, t_x, age)
        except ValueError:
            logger.info("P(alive) left out of the churn features: BG/NBD fit failed at %s", day)
        return result

    return at


# --- training ----------------------------------------------------------------------------------


def _train(data: HistoryData, horizon_days: int) -> model_lib.ChurnModel | None:
    if data.history is None or data.history.order_day.size == 0:
        return None
    return model_lib.train(
        data.history,
        cutoff_day=data.today,
        horizon_days=horizon_days,
        p_alive=p_alive_at(data.history),
    )


def _record(model, data: HistoryData, *, now, horizon_days, actor, kind) -> ChurnModelRecord:
    record = ChurnModelRecord(
        kind=kind, trained_at=now, horizon_days=horizon_days, actor=actor,
        customers=int(data.customer_ids.size), cutoff_date=day_date(data.today),
    )  # fmt: skip
    if model is None:
        record.message_code, record.message = "no_orders", "there are no orders yet"
        return record
    record.train_cutoff_date = day_date(model.train_cutoff_day)
    record.valid_cutoff_date = day_date(model.valid_cutoff_day)
    record.model = model.as_dict()
    record.enough_data, record.signal = model.enough_data, model.signal
    record.message, record.message_code = model.reason_if_not, model.reason_code
    record.message_params = model.reason_params
    record.n_train, record.n_valid = model.n_train, model.n_valid
    record.auc, record.brier, record.base_rate = model.auc, model.brier, model.base_rate_valid
    record.brier_reference = model.brier_reference
    if model.auc is not None:
        record.auc_ci = [model.auc_ci_low, model.auc_ci_high]
    record.calibration = record.model["calibration"]
    return record


def train_churn_model(
    *,
    now: dt.datetime | None = None,
    horizon_days: int = 90,
    actor=None,
    kind: str = ChurnModelRecord.Kind.MANUAL,
) -> ChurnModelRecord:
    """Train on the whole history up to ``now``; the new record becomes the active model."""
    now = now or timezone.now()
    data = build_history(now=now)
    model = _train(data, horizon_days)
    record = _record(model, data, now=now, horizon_days=horizon_days, actor=actor, kind=kind)
    with transaction.atomic():
        ChurnModelRecord.objects.filter(is_active=True).update(is_active=False)
        record.is_active = True
        record.save()
        record_audit(
            actor=actor, action="retention.churn.train", target=record,
            after={"auc": record.auc, "signal": record.signal, "n_valid": record.n_valid,
                   "message": record.message_code},
        )  # fmt: skip
    logger.info("Churn model %s trained: AUC %s, signal %s", record.pk, record.auc, record.signal)
    return record


def active_model() -> ChurnModelRecord | None:
    return ChurnModelRecord.objects.filter(is_active=True).first()


# --- scoring -----------------------------------------------------------------------------------


def clear_churn_scores() -> int:
    """Nobody flagged: every churn risk NULL, every reason list empty."""
    return CustomerScore.objects.exclude(churn_risk=None, churn_reasons=[]).update(
        churn_risk=None, churn_reasons=[]
    )


def _scores(record: ChurnModelRecord, data: HistoryData) -> tuple[np.ndarray, dict[int, list]]:
    model = model_lib.ChurnModel.from_dict(record.model)
    p_alive = p_alive_at(data.history)(data.today)
    features = build_features(
        data.history, data.today, window_days=model.window_days, p_alive=p_alive
    )
    risk, _unused = model_lib.score(model, features, top=0)
    # Reasons for the customers above the average risk, the ones a list may flag.
    with np.errstate(invalid="ignore"):
        rows = np.flatnonzero(risk >= (record.base_rate or 0.0))
    told = model_lib.explain(model, features, rows, top=TOP_REASONS)
    reasons = {
        int(row): [{"key": r.key, "params": r.params} for r in found]
        for row, found in zip(rows.tolist(), told, strict=True)
    }
    return risk, reasons


def score_churn(*, now: dt.datetime | None = None) -> int:
    """Fill churn risk and reasons of every scored customer; returns how many have a risk.

    With no active model, or one without a usable signal, the columns are cleared instead.
    """
    now = now or timezone.now()
    record = active_model()
    if record is None or not record.usable:
        clear_churn_scores()
        return 0
    data = build_history(now=now)
    if data.history is None:
        return 0
    risk, reasons = _scores(record, data)
    written = _write(data.customer_ids, risk, reasons)
    ChurnModelRecord.objects.filter(pk=record.pk).update(scored_at=now, scored_customers=written)
    return written


def _write(customer_ids: np.ndarray, risk: np.ndarray, reasons: dict[int, list]) -> int:
    """Bulk update of the score rows in chunks; returns how many got a risk."""
    rows = CustomerScore.objects.order_by("pk").values_list("pk", "customer_id")
    written, batch = 0, []
    for pk, customer_id in rows.iterator(chunk_size=WRITE_CHUNK):
        index = int(np.searchsorted(customer_ids, customer_id))
        found = index < customer_ids.size and customer_ids[index] == customer_id
        value = float(risk[index]) if found and np.isfinite(risk[index]) else None
        written += value is not None
        told = reasons.get(index, []) if value is not None else []
        batch.append(CustomerScore(pk=pk, churn_risk=value, churn_reasons=told))
        if len(batch) >= WRITE_CHUNK:
            CustomerScore.objects.bulk_update(batch, ["churn_risk", "churn_reasons"])
            batch = []
    if batch:
        CustomerScore.objects.bulk_update(batch, ["churn_risk", "churn_reasons"])
    return written


# --- the risk list -----------------------------------------------------------------------------


def at_risk(*, threshold: float, tier: str = "", region: str = "", store: str = ""):
    """Scores of the customers at or above ``threshold``, riskiest first, filtered in SQL."""
    rows = CustomerScore.objects.filter(churn_risk__gte=threshold)
    if tier:
        rows = rows.filter(tier=tier)
    if region:
        rows = rows.filter(customer__region=region)
    if store:
        rows = rows.filter(customer__store=store)
    return rows.select_related("customer").order_by("-churn_risk", "customer_id")
