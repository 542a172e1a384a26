"""Score every customer: RFM, value tier, VIP flag, life-cycle stage, CLV and demand tags.

``score_customers`` runs three phases and records their times on the ``ScoringRun``:

1. **aggregate** — one grouped SQL aggregate over the counted orders (paid, shipped,
   delivered, completed; ``score_sql.COUNTED_STATUSES``) into NumPy arrays, plus every
   customer, with or without orders (``score_sql.read_histories``);
2. **model** — ``cxloop.insights.rfm`` for scores, tiers, VIP and stages with the thresholds
   of the organisation settings; ``cxloop.insights.clv`` BG/NBD + Gamma-Gamma fitted on the
   buyers (repeat purchases = orders - 1, recency and T in weeks) for P(alive), expected
   orders in 90 days and the discounted CLV; ``retention.tags`` for the demand tags;
3. **write** — the bulk upsert of ``score_sql`` in one transaction: TierChange rows only
   where the tier changed, scores rewritten only where a value changed.

Running it twice on the same data and the same ``now`` changes nothing the second time.
When too few customers bought twice to fit the CLV models, P(alive) and CLV stay empty and
the run says why (``parameters["notes"]``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from cxloop.core import settings_registry as registry
from cxloop.core.audit import record_audit
from cxloop.insights import clv as clv_model
from cxloop.insights.rfm import STAGES, TIERS, RfmConfig, Tiers, assign_tiers
from cxloop.retention import score_sql
from cxloop.retention.models import ScoringRun
from cxloop.retention.score_sql import Histories
from cxloop.retention.tags import DERIVED_TAGS, TagRules, derive_tag_masks

logger = logging.getLogger(__name__)

DAY = 86_400.0
WEEK = 7 * DAY
HOUR_IN_WEEKS = 1 / (7 * 24)
EXPECTED_DAYS = 90
MIN_REPEAT_BUYERS = 20  # fewer customers with a second order cannot identify BG/NBD
FIT_SAMPLE = 200_000  # the models are fitted on at most this many buyers (fixed seed)
CLV_CHUNK = 100_000


@dataclass
class Modelled:
    """The model phase's output, one entry per customer (NaN: not available)."""

    recency_days: np.ndarray
    tiers: Tiers
    p_alive: np.ndarray
    expected_90d: np.ndarray
    clv_fen: np.ndarray
    tag_masks: np.ndarray
    parameters: dict[str, Any] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)


# --- thresholds -------------------------------------------------------------------------------


def rfm_config(notes: list[dict]) -> RfmConfig:
    """The RfmConfig of the settings; impossible shares fall back to the defaults (noted)."""
    get = registry.get_setting
    values = {
        "vip_yearly_spend_fen": get(registry.VIP_ANNUAL_SPEND_FEN),
        "churn_inactive_days": get(registry.CHURN_INACTIVE_DAYS),
        "new_days": get(registry.NEW_CUSTOMER_DAYS),
        "active_days": get(registry.ACTIVE_CUSTOMER_DAYS),
        "lapsed_days": get(registry.LAPSED_CUSTOMER_DAYS),
    }
    shares = {
        "quantiles": get(registry.RFM_QUANTILES),
        "high_value_share": get(registry.TIER_HIGH_VALUE_PERCENT) / 100,
        "potential_share": get(registry.TIER_POTENTIAL_PERCENT) / 100,
        "churn_warning_share": get(registry.TIER_CHURN_WARNING_PERCENT) / 100,
    }
    try:
        return RfmConfig(**values, **shares)
    except ValueError as error:
        notes.append({"code": "tier_shares_invalid", "params": {"error": str(error)}})
        return RfmConfig(**values)


def clv_settings() -> tuple[int, float]:
    months = registry.get_setting(registry.CLV_HORIZON_MONTHS)
    return months, registry.get_setting(registry.CLV_MONTHLY_DISCOUNT_PERCENT) / 100


# --- model phase ------------------------------------------------------------------------------


def _registered_days(h: Histories, now: dt.datetime) -> np.ndarray:
    today = timezone.localdate(now)
    today_day = (today - dt.date(1970, 1, 1)).days
    offset = timezone.localtime(now).utcoffset().total_seconds()
    created_day = np.floor((h.created_s + offset) / DAY)  # no registration date: first seen
    registered = np.where(np.isnan(h.registered_day), created_day, h.registered_day)
    return np.maximum(today_day - registered, 0.0)


def model(h: Histories, *, now: dt.datetime) -> Modelled:
    notes: list[dict] = []
    config = rfm_config(notes)
    now_s = now.timestamp()
    with np.errstate(invalid="ignore"):
        recency = np.floor(np.maximum(now_s - h.last_s, 0.0) / DAY)  # NaN stays NaN
    tiers = assign_tiers(
        recency, h.orders, h.spend_fen, _registered_days(h, now), h.yearly_fen, config
    )
    rules = TagRules.from_settings()
    masks = derive_tag_masks(
        orders=h.orders,
        spend_fen=h.spend_fen,
        store_orders=h.store_orders,
        online_orders=h.online_orders,
        rules=rules,
    )
    result = Modelled(recency, tiers, *_empty(h.size, 3), masks, notes=notes)
    result.parameters = {"rfm": asdict(config), "tags": asdict(rules)}
    _lifetime_values(h, now_s, result)
    return result


def _empty(size: int, count: int) -> list[np.ndarray]:
    return [np.full(size, np.nan) for _ in range(count)]


@dataclass(frozen=True)
class ClvInputs:
    """The buyers (indexes into the customers) and their BG/NBD / Gamma-Gamma summary."""

    index: np.ndarray
    x: np.ndarray
    t_x: np.ndarray
    age: np.ndarray
    m: np.ndarray


def clv_inputs(h: Histories, now_s: float) -> ClvInputs:
    index = np.flatnonzero(h.orders > 0)
    x = h.orders[index] - 1
    t_x = (h.last_s[index] - h.first_s[index]) / WEEK
    age = np.maximum((now_s - h.first_s[index]) / WEEK, 0.0)
    # Two orders at the same moment still count as a repeat purchase: an hour later.
    t_x = np.where((x > 0) & (t_x <= 0), HOUR_IN_WEEKS, np.where(x > 0, t_x, 0.0))
    age = np.maximum(age, t_x)
    # The mean of all counted orders stands in for the mean of the repeat purchases.
    m = h.spend_fen[index] / h.orders[index]
    return ClvInputs(index, x, t_x, age, m)


def _fit_sample(size: int) -> np.ndarray:
    if size <= FIT_SAMPLE:
        return np.arange(size)
    rng = np.random.default_rng(20260603)  # fixed: the same data gives the same fit
    return np.sort(rng.choice(size, FIT_SAMPLE, replace=False))


def _fit(inputs: ClvInputs, result: Modelled):
    """The two fitted models, or (None, None) with a note saying why not."""
    repeaters = int((inputs.x > 0).sum())
    if repeaters < MIN_REPEAT_BUYERS:
        params = {"found": repeaters, "needed": MIN_REPEAT_BUYERS}
        result.notes.append({"code": "clv_too_few_repeat_buyers", "params": params})
        return None, None
    sample = _fit_sample(inputs.x.size)
    x, t_x, age, m = (inputs.x[sample], inputs.t_x[sample], inputs.age[sample], inputs.m[sample])
    try:
        bgnbd = clv_model.fit_bgnbd(x, t_x, age)
        spenders = (x > 0) & (m > 0)
        gg = clv_model.fit_gamma_gamma(x[spenders], m[spenders])
    except ValueError as error:
        result.notes.append({"code": "clv_fit_failed", "params": {"error": str(error)}})
        return None, None
    result.parameters |= {"bgnbd": bgnbd.as_dict(), "gamma_gamma": gg.as_dict()}
    result.parameters["fit_customers"] = int(sample.size)
    if gg.q <= 1:
        result.notes.append({"code": "clv_spend_unbounded", "params": {"q": gg.q}})
        return bgnbd, None
    return bgnbd, gg


def _lifetime_values(h: Histories, now_s: float, result: Modelled) -> None:
    inputs = clv_inputs(h, now_s)
    bgnbd, gg = _fit(inputs, result) if inputs.index.size else (None, None)
    if bgnbd is None:
        return
    idx, x, t_x, age = inputs.index, inputs.x, inputs.t_x, inputs.age
    result.p_alive[idx] = clv_model.p_alive(bgnbd, x, t_x, age)
    expected = clv_model.expected_purchases(EXPECTED_DAYS / 7, bgnbd, x, t_x, age)
    values = _clv_values(inputs, bgnbd, gg, result) if gg is not None else None
    # insights.clv is finite for every valid history; this guard only keeps a NaN out of the
    # scores should that ever break.
    bad = ~np.isfinite(expected) | (~np.isfinite(values) if values is not None else False)
    if bad.any():
        result.notes.append({"code": "clv_not_finite", "params": {"customers": int(bad.sum())}})
    result.expected_90d[idx] = np.where(bad, np.nan, expected)
    if values is not None:
        result.clv_fen[idx] = np.where(bad, np.nan, np.rint(values))


def _clv_values(inputs: ClvInputs, bgnbd, gg, result: Modelled) -> np.ndarray:
    """CLV in fen of every buyer, in chunks (the model holds months x customers arrays)."""
    months, discount = clv_settings()
    result.parameters["clv"] = {"months": months, "discount_rate_monthly": discount}
    x, t_x, age, m = inputs.x, inputs.t_x, inputs.age, inputs.m
    values = np.zeros(x.size)
    spends = ~((x > 0) & (m <= 0))  # only zero-amount orders: nothing to expect
    for start in range(0, x.size, CLV_CHUNK):
        part = np.arange(start, min(start + CLV_CHUNK, x.size))
        part = part[spends[part]]
        values[part] = clv_model.clv(
            bgnbd, gg, x[part], t_x[part], age[part], m[part], months, discount
        )
    return values


def summary(h: Histories, m: Modelled) -> dict[str, Any]:
    """Per tier: customers, VIPs, spend and CLV totals; customers per stage and tier — the
    segments page reads this rollup instead of scanning a million scores."""
    tiers, stages = m.tiers.tier, m.tiers.stage
    with_clv = ~np.isnan(m.clv_fen)
    per_tier = {}
    for tier in TIERS:
        mine = tiers == tier
        per_tier[tier] = {
            "customers": int(mine.sum()),
            "vip": int((mine & m.tiers.vip).sum()),
            "spend_fen": int(h.spend_fen[mine].sum()),
            "clv_customers": int((mine & with_clv).sum()),
            "clv_fen": int(m.clv_fen[mine & with_clv].sum()),
        }
    per_stage = {
        stage: {tier: int(((stages == stage) & (tiers == tier)).sum()) for tier in TIERS}
        for stage in STAGES
    }
    return {"tiers": per_tier, "stages": per_stage}


# --- write phase ------------------------------------------------------------------------------


def _nullable(values: np.ndarray, cast) -> list:
    return [None if v != v else cast(v) for v in values.tolist()]  # v != v: NaN


def score_rows(h: Histories, m: Modelled, scored_ids: np.ndarray):
    """One tuple per customer in ``score_sql.LOAD_COLUMNS`` order; ``scored_ids``: the
    customers that already have a score row."""
    scores = m.tiers.scores
    r, f, mo = (scores.recency.tolist(), scores.frequency.tolist(), scores.monetary.tolist())
    rfm = [f"{a}{b}{c}" for a, b, c in zip(r, f, mo, strict=True)]
    tags = {mask: json.dumps([t for b, t in enumerate(DERIVED_TAGS) if mask >> b & 1])
            for mask in range(1 << len(DERIVED_TAGS))}  # fmt: skip
    columns = [
        h.customer_id.tolist(),
        _nullable(m.recency_days, int),
        h.orders.astype(np.int64).tolist(),
        h.spend_fen.astype(np.int64).tolist(),
        h.yearly_fen.astype(np.int64).tolist(),
        r, f, mo, rfm,
        m.tiers.tier.tolist(),
        m.tiers.vip.tolist(),
        m.tiers.stage.tolist(),
        _nullable(m.p_alive, float),
        _nullable(m.expected_90d, float),
        _nullable(m.clv_fen, int),
        [tags[mask] for mask in m.tag_masks.tolist()],
        _nullable(h.first_s, float),
        _nullable(h.last_s, float),
        (~np.isin(h.customer_id, scored_ids, assume_unique=True)).tolist(),
    ]  # fmt: skip
    return zip(*columns, strict=True)


def write(h: Histories, m: Modelled, *, run: ScoringRun, at: dt.datetime) -> dict[str, int]:
    """Store the run's results; tier changes are dated as of the run (``run.as_of``), the
    rewritten scores and tags at ``at`` (the wall clock)."""
    try:
        with transaction.atomic():
            score_sql.prepare_write()
            score_sql.load_scores(score_rows(h, m, score_sql.scored_customer_ids()))
            changed = score_sql.insert_tier_changes(at=run.as_of, run_id=run.pk)
            tagged = score_sql.merge_derived_tags(at=at)
            rewritten = score_sql.upsert_scores(at=at)
    finally:
        score_sql.drop_load_tables()
    return {"tier_changes": changed, "tags_changed": tagged, "scores_written": rewritten}


# --- the run ----------------------------------------------------------------------------------


def score_customers(
    *, now: dt.datetime, actor=None, kind: str = ScoringRun.Kind.MANUAL
) -> ScoringRun:
    """Score every customer as of ``now``; the finished (or failed) run is returned."""
    run = ScoringRun.objects.create(
        kind=kind, as_of=now, actor=actor if getattr(actor, "is_authenticated", False) else None
    )
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        histories = score_sql.read_histories(now=now)
        timings["aggregate"] = time.perf_counter() - started
        modelled = model(histories, now=now)
        timings["model"] = time.perf_counter() - started - timings["aggregate"]
        counts = write(histories, modelled, run=run, at=timezone.now())
        timings["write"] = time.perf_counter() - started - sum(timings.values())
    except Exception as error:
        _fail(run, error, timings)
        raise
    return _finish(run, histories, modelled, counts, timings, actor)


def _fail(run: ScoringRun, error: Exception, timings: dict) -> None:
    logger.exception("Scoring run %s failed", run.pk)
    run.status = ScoringRun.Status.FAILED
    run.message = f"{type(error).__name__}: {error}"[:2000]
    run.finished_at = timezone.now()
    run.parameters = {"timings": timings}
    run.save(update_fields=["status", "message", "finished_at", "parameters"])


def _finish(run, histories, modelled: Modelled, counts, timings, actor) -> ScoringRun:
    run.customers = histories.size
    run.changed = counts["tier_changes"]
    run.status = ScoringRun.Status.DONE
    run.finished_at = timezone.now()
    run.message = "; ".join(note_text(note) for note in modelled.notes)
    run.parameters = {
        **modelled.parameters,
        "counts": modelled.tiers.counts(),
        "summary": summary(histories, modelled),
        "writes": counts,
        "notes": modelled.notes,
        "timings": {name: round(seconds, 3) for name, seconds in timings.items()},
    }
    run.save()
    after = {"customers": run.customers, "tier_changes": run.changed, **counts}
    record_audit(actor=actor, action="retention.scored", target=run, after=after)
    return run


NOTE_TEXTS = {
    "tier_shares_invalid": "The tier shares in the settings are impossible ({error}); "
    "the default shares were used.",
    "clv_too_few_repeat_buyers": "Only {found} customers ordered more than once (at least "
    "{needed} needed): no lifetime value this time.",
    "clv_fit_failed": "The lifetime value models could not be fitted: {error}",
    "clv_spend_unbounded": "The spend model has no finite mean (q = {q:.3f}): no lifetime value.",
    "clv_not_finite": "The lifetime value models gave no finite value for {customers} customers: "
    "their lifetime value is left empty.",
}


def note_text(note: dict) -> str:
    """English text of a run note for logs and the run record; pages translate them."""
    template = NOTE_TEXTS.get(note.get("code", ""), "{code}")
    try:
        return template.format(code=note.get("code", ""), **note.get("params", {}))
    except (KeyError, ValueError):
        return str(note.get("code", ""))
