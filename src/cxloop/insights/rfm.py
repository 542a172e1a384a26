"""RFM scores, value tiers, VIP and life-cycle stages of customers, vectorised over NumPy arrays.

Inputs are one array per field, one entry per customer:

* ``recency_days``: days since the customer's last order, NaN for a customer without orders;
* ``orders``: number of orders (whole number >= 0; 0 exactly when recency is NaN);
* ``spend_fen``: spend over the scoring window, in fen;
* ``registered_days``: days since registration;
* ``yearly_spend_fen``: spend over the last 365 days, in fen (for the VIP flag).

**Scores** (:func:`score_rfm`). R, F and M are 1..``quantiles`` (5 by default). A customer's
score counts the customers it strictly beats: ``score = 1 + floor(quantiles * worse / n)``,
where ``worse`` is the number of customers with a strictly worse value (longer recency, fewer
orders, lower spend) and n the number of customers. Equal values therefore always get equal
scores, the lowest of the positions they span: ties never promote, all-equal input scores 1
everywhere, and the result does not depend on the order of the input. Customers without
orders have the worst recency (worse than any number of days) and score R = 1.

**Tiers** (:func:`assign_tiers`), with the shares of :class:`RfmConfig`:

1. Customers are ranked by value: the weighted score ``w_r*R + w_f*F + w_m*M`` (weights 1, 1,
   1), ties broken by higher ``spend_fen``, then by more ``orders``. Customers equal on all
   three keys form a tie group and always share a tier.
2. ``high_value``: the customers whose tie group lies wholly within the top
   ``floor(high_value_share * n)`` ranks (10 %); ``potential``: the next ones whose group lies
   wholly within the top ``floor((high_value_share + potential_share) * n)`` ranks (30 % more).
   A group straddling a boundary goes to the lower tier, so neither tier exceeds its share.
3. ``churn_warning``: customers with orders whose last order is more than
   ``churn_inactive_days`` ago (180) and who are not high-value or potential, taken from the
   bottom of the ranking up while they number at most ``floor(churn_warning_share * n)`` (10 %;
   again a straddling tie group stays out). Long-inactive customers ranked above them stay
   ``basic``; the valuable ones keep their tier (their stage tells they are inactive).
4. ``basic``: everyone else (about 50-60 %).

**Flags**: ``vip`` when ``yearly_spend_fen >= vip_yearly_spend_fen`` (¥5,000). **Life-cycle
stage**, exactly one per customer, first rule that applies:

* no orders: ``new`` if registered less than ``new_days`` ago (90), else ``never_ordered``;
* ``lapsed``: high value by history and last order more than ``lapsed_days`` ago (90). "High
  value by history" is the top ``high_value_share`` of the same ranking with
  ``lapsed_value_weights`` (0, 1, 1: F and M only) instead of ``value_weights``: recency is what
  "lapsed" measures, so it must not also decide who was valuable; a lapsed customer's current
  tier has usually fallen below ``high_value`` because of its R score;
* ``active``: last order at most ``active_days`` ago (180);
* ``inactive``: everyone else (ordered, but not within ``active_days``).

Pure NumPy, no Django: see docs/retention.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

__all__ = [
    "STAGES",
    "TIERS",
    "RfmConfig",
    "RfmScores",
    "TierMoves",
    "Tiers",
    "assign_tiers",
    "score_rfm",
    "tier_moves",
]

TIERS = ("churn_warning", "basic", "potential", "high_value")  # worst to best: tier_moves' order
STAGES = ("new", "never_ordered", "active", "lapsed", "inactive")
_CHURN, _BASIC, _POTENTIAL, _HIGH = range(4)
_NEW, _NEVER, _ACTIVE, _LAPSED, _INACTIVE = range(5)
_TIER_LABELS = np.array(TIERS, dtype=object)  # object: 8 bytes a customer, not 52 as "<U13"
_STAGE_LABELS = np.array(STAGES, dtype=object)
_EPSILON = 1e-9  # share * n rounds down, but 0.29 * 100 = 28.999999999999996 must give 29
_WEIGHTS = ("value_weights", "lapsed_value_weights")
_KEY_LIMIT = 2**62  # below it the (score, spend, orders) ranking packs into one int64 key


@dataclass(frozen=True)
class RfmConfig:
    """Every threshold of the scores, tiers, VIP flag and stages (defaults: the plans)."""

    quantiles: int = 5
    value_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)  # R, F, M
    high_value_share: float = 0.10
    potential_share: float = 0.30
    churn_warning_share: float = 0.10
    churn_inactive_days: float = 180
    vip_yearly_spend_fen: int = 500_000  # ¥5,000
    new_days: float = 90  # "registered < 3 months, no order"
    active_days: float = 180  # "ordered within 6 months"
    lapsed_days: float = 90  # "high value, no repurchase within 3 months"
    lapsed_value_weights: tuple[float, float, float] = (0.0, 1.0, 1.0)  # "high value" for lapsed

    def __post_init__(self) -> None:
        if isinstance(self.quantiles, bool) or not isinstance(self.quantiles, int):
            raise ValueError(f"quantiles must be an integer, got {self.quantiles!r}")
        if not 2 <= self.quantiles <= 100:
            raise ValueError(f"quantiles must be between 2 and 100, got {self.quantiles}")
        for name in _WEIGHTS:
            weights = getattr(self, name)
            ok = isinstance(weights, (tuple, list)) and len(weights) == 3
            if not (ok and all(_number(w) and w >= 0 for w in weights) and any(weights)):
                raise ValueError(f"{name} must be 3 numbers >= 0, not all 0, got {weights!r}")
            object.__setattr__(self, name, tuple(float(w) for w in weights))  # frozen: hashable
        for field in fields(self):
            if field.name == "quantiles" or field.name in _WEIGHTS:
                continue
            value = getattr(self, field.name)
            if not _number(value) or value < 0:
                raise ValueError(f"{field.name} must be a number >= 0, got {value!r}")
            if field.name.endswith("_share") and value > 1:
                raise ValueError(f"{field.name} must be at most 1, got {value!r}")
        total = self.high_value_share + self.potential_share + self.churn_warning_share
        if total > 1 + _EPSILON:
            raise ValueError(f"the tier shares add up to {total:g}, more than 1")


def _number(value: object) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


@dataclass(frozen=True)
class RfmScores:
    """R, F and M scores (1..quantiles, int8 arrays) and their sum ``total``."""

    recency: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.recency.astype(np.int16) + self.frequency + self.monetary


@dataclass(frozen=True)
class Tiers:
    """Per customer: tier and stage as int8 codes into TIERS / STAGES, the VIP flag, the scores.

    ``tier`` and ``stage`` give the codes as labels (object arrays of str); the codes are what
    large callers should keep, as they take 1 byte a customer.
    """

    tier_code: np.ndarray
    stage_code: np.ndarray
    vip: np.ndarray
    scores: RfmScores

    @property
    def tier(self) -> np.ndarray:
        return _TIER_LABELS[self.tier_code]

    @property
    def stage(self) -> np.ndarray:
        return _STAGE_LABELS[self.stage_code]

    def counts(self) -> dict[str, dict[str, int]]:
        """Customers per tier and per stage (every code present, 0 when unused), and VIPs."""
        tiers = np.bincount(self.tier_code, minlength=len(TIERS)).tolist()
        stages = np.bincount(self.stage_code, minlength=len(STAGES)).tolist()
        vips = int(self.vip.sum())
        return {
            "tier": dict(zip(TIERS, tiers, strict=True)),
            "stage": dict(zip(STAGES, stages, strict=True)),
            "vip": {"vip": vips, "other": int(self.vip.size) - vips},
        }


# --- input ------------------------------------------------------------------------------------


def _column(values: object, name: str, *, nan: bool = False) -> np.ndarray:
    """A 1-D float array, finite and >= 0 (NaN allowed where ``nan``)."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = np.isinf(arr) | (arr < 0)  # NaN < 0 is False
    if not nan:
        bad |= np.isnan(arr)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite and >= 0, got {arr[i]!r} at index {i}")
    return arr


def _history(recency_days: object, orders: object, spend_fen: object):
    recency = _column(recency_days, "recency_days", nan=True)
    count = _column(orders, "orders")
    spend = _column(spend_fen, "spend_fen")
    _same_length(recency_days=recency, orders=count, spend_fen=spend)
    never = np.isnan(recency)
    for bad, problem in [
        (count != np.floor(count), "orders must be whole numbers"),
        (never & (count > 0), "recency_days is NaN (no order) but orders > 0"),
        (~never & (count == 0), "orders is 0 but recency_days is given (NaN means no order)"),
    ]:
        if bad.any():
            raise ValueError(f"{problem} (customer at index {int(np.argmax(bad))})")
    return recency, count, spend


def _same_length(**arrays: np.ndarray) -> None:
    sizes = {name: arr.size for name, arr in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"inputs must have the same length, got {sizes}")


# --- scores -----------------------------------------------------------------------------------


def _quantile_scores(worse: np.ndarray, quantiles: int) -> np.ndarray:
    """1 + floor(quantiles * worse / n), as int8, from :func:`_worse`'s counts."""
    return (1 + (quantiles * worse) // max(worse.size, 1)).astype(np.int8)


def _worse(goodness: np.ndarray) -> np.ndarray:
    """Per customer, how many have a strictly lower ``goodness`` (-inf: lowest of all).

    Whole numbers in a modest range (order counts, days) are counted with a histogram in linear
    time; anything else by one sort, where each tie run takes the position of its first member.
    """
    n = goodness.size
    lowest = np.isneginf(goodness)
    floor = int(lowest.sum())  # the -inf customers are below everyone else
    rest = goodness[~lowest] if floor else goodness
    if rest.size and (rest.max() - rest.min()) <= 4 * n and np.array_equal(rest, np.floor(rest)):
        shifted = (rest - rest.min()).astype(np.intp)
        counts = np.bincount(shifted)
        below = np.cumsum(counts) - counts + floor
        worse = np.zeros(n, dtype=np.intp)
        worse[~lowest] = below[shifted]
        return worse
    order = np.argsort(goodness, kind="stable")
    ranked = goodness[order]
    first = np.arange(n)
    first[1:][ranked[1:] == ranked[:-1]] = 0  # a tie run keeps its first position (max-scan)
    np.maximum.accumulate(first, out=first)
    worse = np.empty(n, dtype=np.intp)
    worse[order] = first
    return worse


def score_rfm(
    recency_days: object, orders: object, spend_fen: object, config: RfmConfig | None = None
) -> RfmScores:
    """R, F, M scores 1..``config.quantiles``; the module docstring gives the tie rule."""
    config = config or RfmConfig()
    recency, count, spend = _history(recency_days, orders, spend_fen)
    return _scores(_worse_all(recency, count, spend), config.quantiles)


def _worse_all(recency, count, spend) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_worse` of recency (recent is better, no order worst), orders and spend."""
    return _worse(np.where(np.isnan(recency), -np.inf, -recency)), _worse(count), _worse(spend)


def _scores(worse: tuple[np.ndarray, ...], quantiles: int) -> RfmScores:
    return RfmScores(*(_quantile_scores(w, quantiles) for w in worse))


# --- tiers ------------------------------------------------------------------------------------


def _limit(share: float, n: int) -> int:
    return math.floor(share * n + _EPSILON)


def _value_order(scores: RfmScores, worse: tuple, weights: tuple, quantiles: int):
    """Customers best first by (weighted score, spend, orders), and each one's tie-group end.

    Returns ``order``, ``reach`` and ``group``: for the i-th customer in ``order``, ``reach[i]``
    is the 1-based rank of the last member of its tie group (the ranks the group covers) and
    ``group[i]`` the group's number, 0 for the best.
    """
    q, n = quantiles, scores.recency.size
    # The weighted score of every (R, F, M) combination, as a dense level: q**3 entries only.
    combos = np.stack(np.meshgrid(*[np.arange(1, q + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    _, level_of_combo = np.unique(combos @ np.asarray(weights), return_inverse=True)
    combo = (scores.recency - 1).astype(np.intp) * q * q
    combo += (scores.frequency - 1).astype(np.intp) * q + (scores.monetary - 1)
    level = level_of_combo.reshape(-1)[combo]
    # worse[2] ranks spend and worse[1] orders: equal rank <=> equal value, so one int64 key.
    if (int(level.max()) + 1) * n * n < _KEY_LIMIT:
        key = (level.astype(np.int64) * n + worse[2]) * n + worse[1]
        order = np.argsort(-key, kind="stable")
        ranked = key[order]
        starts = np.ones(n, dtype=bool)
        starts[1:] = ranked[1:] != ranked[:-1]
    else:  # many quantiles times tens of millions of customers: sort on the three keys
        order = np.lexsort((-worse[1], -worse[2], -level))
        starts = np.ones(n, dtype=bool)
        for part in (level, worse[2], worse[1]):
            ranked = part[order]
            starts[1:] &= ranked[1:] == ranked[:-1]
        starts = ~starts
        starts[0] = True
    group = np.cumsum(starts) - 1
    ends = np.append(np.flatnonzero(starts)[1:], n)
    return order, ends[group], group


def _tier_codes(scores: RfmScores, worse: tuple, recency, count, config: RfmConfig):
    n = count.size
    order, reach, group = _value_order(scores, worse, config.value_weights, config.quantiles)
    codes_sorted = np.full(n, _BASIC, dtype=np.int8)
    top = _limit(config.high_value_share + config.potential_share, n)
    codes_sorted[reach <= top] = _POTENTIAL
    codes_sorted[reach <= _limit(config.high_value_share, n)] = _HIGH
    # Churn warning: long-inactive candidates below the top tiers, counted from the bottom.
    with np.errstate(invalid="ignore"):  # NaN recency (no order) is not long-inactive
        inactive = (recency > config.churn_inactive_days) & (count > 0)
    candidate = inactive[order] & (codes_sorted == _BASIC)
    per_group = np.bincount(group, weights=candidate)
    from_bottom = np.cumsum(per_group[::-1])[::-1]  # candidates in this group and all below
    churn = candidate & (from_bottom[group] <= _limit(config.churn_warning_share, n))
    codes_sorted[churn] = _CHURN
    codes = np.empty(n, dtype=np.int8)
    codes[order] = codes_sorted
    return codes


def _historic_high(scores: RfmScores, worse: tuple, tier: np.ndarray, config: RfmConfig):
    """Who is in the top ``high_value_share`` when ranked with ``lapsed_value_weights``."""
    if tuple(config.lapsed_value_weights) == tuple(config.value_weights):
        return tier == _HIGH  # the same ranking: spare the second sort
    order, reach, _ = _value_order(scores, worse, config.lapsed_value_weights, config.quantiles)
    high = np.empty(tier.size, dtype=bool)
    high[order] = reach <= _limit(config.high_value_share, tier.size)
    return high


def _stage_codes(
    tier: np.ndarray, historic_high: np.ndarray, recency, count, registered, config: RfmConfig
) -> np.ndarray:
    never = count == 0
    with np.errstate(invalid="ignore"):  # NaN recency compares False: handled by ``never``
        lapsed = historic_high & (recency > config.lapsed_days)
        active = recency <= config.active_days
    stage = np.full(tier.size, _INACTIVE, dtype=np.int8)
    stage[active] = _ACTIVE
    stage[lapsed] = _LAPSED
    stage[never] = np.where(registered[never] < config.new_days, _NEW, _NEVER)
    return stage


def assign_tiers(
    recency_days: object,
    orders: object,
    spend_fen: object,
    registered_days: object,
    yearly_spend_fen: object,
    config: RfmConfig | None = None,
) -> Tiers:
    """Tier, VIP flag and life-cycle stage of each customer (rules in the module docstring)."""
    config = config or RfmConfig()
    recency, count, spend = _history(recency_days, orders, spend_fen)
    registered = _column(registered_days, "registered_days")
    yearly = _column(yearly_spend_fen, "yearly_spend_fen")
    _same_length(orders=count, registered_days=registered, yearly_spend_fen=yearly)
    worse = _worse_all(recency, count, spend)
    scores = _scores(worse, config.quantiles)
    if count.size == 0:
        empty = np.zeros(0, dtype=np.int8)
        return Tiers(empty, empty.copy(), np.zeros(0, dtype=bool), scores)
    tier = _tier_codes(scores, worse, recency, count, config)
    historic_high = _historic_high(scores, worse, tier, config)
    return Tiers(
        tier_code=tier,
        stage_code=_stage_codes(tier, historic_high, recency, count, registered, config),
        vip=yearly >= config.vip_yearly_spend_fen,
        scores=scores,
    )


# --- movements --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TierMoves:
    """Customers whose tier went up, down or stayed, and the full old -> new count table."""

    up: int
    down: int
    same: int
    matrix: dict[str, dict[str, int]]  # matrix[old][new]


def tier_moves(old: object, new: object) -> TierMoves:
    """Compare two tier assignments of the same customers, in the same order.

    ``old`` and ``new`` hold tier labels or :attr:`Tiers.tier_code` codes. The tiers are
    ordered churn_warning < basic < potential < high_value (see TIERS).
    """
    codes = []
    for name, labels in (("old", old), ("new", new)):
        arr = np.asarray(labels)
        if arr.ndim != 1:
            raise ValueError(f"{name} tiers must be one-dimensional")
        if arr.dtype.kind in "iu":  # Tiers.tier_code
            code = arr.astype(np.intp)
            known = (code >= 0) & (code < len(TIERS))
        else:
            code = np.full(arr.size, -1, dtype=np.intp)
            for rank, tier in enumerate(TIERS):  # four vectorised comparisons beat np.unique
                code[arr == tier] = rank
            known = code >= 0
        if not known.all():
            bad = arr[int(np.argmin(known))].item()
            raise ValueError(f"unknown tier {bad!r} in {name}; known: {list(TIERS)} or 0..3")
        codes.append(code)
    before, after = codes
    if before.size != after.size:
        raise ValueError(f"old and new differ in length: {before.size} != {after.size}")
    table = np.bincount(before * 4 + after, minlength=16).reshape(4, 4)
    matrix = {o: {t: int(table[i, j]) for j, t in enumerate(TIERS)} for i, o in enumerate(TIERS)}
    return TierMoves(
        up=int(np.triu(table, 1).sum()),
        down=int(np.tril(table, -1).sum()),
        same=int(np.trace(table)),
        matrix=matrix,
    )
