"""Churn early warning: who is likely to stop ordering, and why, from the company's own history.

    history = History(n_customers, order_customer, order_day, ...)   # see churn_features
    model = train(history, cutoff_day=today, horizon_days=90)
    if model.usable:                                   # enough data and a real signal
        features = build_features(history, today)
        risk, top = score(model, features)             # P(no order in the next 90 days)
        reasons = explain(model, features, np.flatnonzero(risk > 0.6))

A customer *churns* at a cutoff when they ordered on or before it but not in the ``horizon_days``
after it. :func:`train` learns this with time-based validation, never a random split across
time: the model is fitted on features at ``cutoff - 2 horizon`` with the labels of the horizon
after, and judged on features at ``cutoff - horizon`` with the labels of the last horizon, which
it has never seen. The model is a standardised logistic regression (scikit-learn), so each
customer's risk splits into per-feature contributions ``coefficient x standardised value``;
the largest positive ones are the reasons. When the data are too few, or the validation AUC's
confidence interval does not clear 0.5, the model says so (``enough_data`` / ``signal``) and
nobody should be flagged from it. Models serialise to plain JSON dicts (:meth:`ChurnModel.as_dict`).

Pure Python + NumPy/SciPy/scikit-learn, no Django: see docs/retention.md, "Churn early warning".
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from scipy.special import expit
from scipy.stats import rankdata

from . import _stats
from .churn_features import (
    FEATURES,
    Features,
    History,
    Reason,
    build_features,
    feature_keys,
    label_churn,
    reason_params,
    reasons_in_words,
)

__all__ = [
    "MODEL_REASONS", "CalibrationBin", "ChurnModel", "Reason", "auc_interval", "explain",
    "score", "train",
]  # fmt: skip

_FORMAT = 1
_CHUNK = 1 << 17  # rows standardised at a time while scoring: bounds memory on 1M customers
_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": np.asarray, "sqrt": np.sqrt, "log1p": np.log1p,
}  # fmt: skip

_TOO_LITTLE = (
    "needs at least {min_customers} customers with 2+ orders, {min_churners} churners and "
    "{min_churners} who stayed in both periods; the PERIOD period has {customers} customers "
    "with 2+ orders, {churners} churners and {stayed} who stayed"
)
# Why a model must not be used, as English msgids; ChurnModel.reason_code names one.
MODEL_REASONS: dict[str, str] = {
    "history_too_short": (
        "needs at least {needed_days} days of order history before the cutoff "
        "(two horizons of {horizon_days} days and a {window_days}-day window); found {found_days}"
    ),
    "too_little_data_training": _TOO_LITTLE.replace("PERIOD", "training"),
    "too_little_data_validation": _TOO_LITTLE.replace("PERIOD", "validation"),
    "no_signal": (
        "no reliable signal: the validation AUC of {auc} ({confidence_percent} % interval "
        "{auc_ci_low} to {auc_ci_high}) is not clearly above 0.5, the level of guessing"
    ),
    "weak_signal": (
        "signal too weak to flag customers: the validation AUC of {auc} is below {min_auc}"
    ),
}


# --- results -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalibrationBin:
    """One tenth of the validation customers, by predicted risk: predicted vs observed churn.

    ``observed_low``..``observed_high`` is the Wilson interval of ``observed_rate``.
    """

    n: int
    predicted_low: float
    predicted_high: float
    mean_predicted: float
    observed_rate: float
    observed_low: float
    observed_high: float


@dataclass(frozen=True)
class ChurnModel:
    """A trained (or refused) churn model and its out-of-time validation.

    ``enough_data`` is False when the history is too short or too small to train; then there
    are no coefficients and ``reason_if_not`` says what is missing. ``signal`` is True only
    when the validation AUC's interval lies above 0.5 and the AUC reaches ``min_auc``;
    :attr:`usable` is both. ``reason_code``/``reason_params`` give ``reason_if_not`` as a
    :data:`MODEL_REASONS` key and its values, for translation. The validation figures (AUC,
    Brier score, calibration deciles, ``*_valid``) come from the model fitted at
    ``train_cutoff_day`` and judged at ``valid_cutoff_day``; with ``refit`` the stored
    coefficients are then refitted at ``valid_cutoff_day`` (``fitted_cutoff_day``).
    """

    enough_data: bool
    signal: bool
    reason_if_not: str
    reason_code: str
    reason_params: dict[str, Any]
    cutoff_day: int
    horizon_days: int
    window_days: int
    active_within_days: int
    train_cutoff_day: int
    valid_cutoff_day: int
    fitted_cutoff_day: int | None
    features: tuple[str, ...]
    transforms: tuple[str, ...]
    means: tuple[float, ...]
    scales: tuple[float, ...]
    coefficients: tuple[float, ...]
    intercept: float
    n_train: int
    n_valid: int
    churners_train: int
    churners_valid: int
    base_rate_train: float | None
    base_rate_valid: float | None
    auc: float | None
    auc_ci_low: float | None
    auc_ci_high: float | None
    auc_std_error: float | None
    brier: float | None
    brier_reference: float | None  # Brier score of predicting the validation base rate
    calibration: tuple[CalibrationBin, ...]
    confidence: float
    min_auc: float
    regularisation: float  # scikit-learn's C: inverse L2 strength
    format: ClassVar[int] = _FORMAT

    @property
    def usable(self) -> bool:
        """Whether customers may be flagged from this model."""
        return self.enough_data and self.signal

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (no NaN), readable back with :meth:`from_dict`."""
        data = dataclasses.asdict(self)
        for key in ("features", "transforms", "means", "scales", "coefficients"):
            data[key] = list(data[key])
        data["calibration"] = [dataclasses.asdict(b) for b in self.calibration]
        return {"format": _FORMAT, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChurnModel:
        if data.get("format") != _FORMAT:
            raise ValueError(f"unknown churn model format {data.get('format')!r}; retrain")
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(fields - set(data))
        if missing:
            raise ValueError(f"churn model dict lacks {missing}")
        values = {key: data[key] for key in fields}
        for key in ("features", "transforms", "means", "scales", "coefficients"):
            values[key] = tuple(values[key])
        values["calibration"] = tuple(CalibrationBin(**b) for b in values["calibration"])
        values["reason_params"] = dict(values["reason_params"])
        unknown = sorted(set(values["features"]) - set(feature_keys()))
        if unknown:
            raise ValueError(f"churn model uses features {unknown} this version lacks; retrain")
        sizes = {len(values[key]) for key in ("features", "transforms", "means", "scales",
                                               "coefficients")}  # fmt: skip
        if len(sizes) > 1 or not set(values["transforms"]) <= set(_TRANSFORMS):
            raise ValueError("churn model dict is inconsistent (feature lists differ); retrain")
        return cls(**values)


# --- AUC with a confidence interval, calibration ------------------------------------------------


def auc_interval(
    labels: np.ndarray, scores: np.ndarray, *, confidence: float = 0.95
) -> tuple[float, float, float, float]:
    """(AUC, standard error, low, high): ROC AUC with DeLong's variance, normal interval.

    ``labels`` are True for the positive class (churned). Uses the midrank form of DeLong et
    al. (1988) given by Sun & Xu (2014): O(n log n), ties count one half.
    """
    confidence = _stats.check_probability(confidence, "confidence")
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    pos, neg = s[y], s[~y]
    m, n = pos.size, neg.size
    if m < 2 or n < 2:
        raise ValueError(f"AUC needs 2+ of each class, got {m} positive and {n} negative")
    ranks = rankdata(np.concatenate([pos, neg]))
    v10 = (ranks[:m] - rankdata(pos)) / n  # per positive: share of negatives scored below it
    v01 = 1.0 - (ranks[m:] - rankdata(neg)) / m  # per negative: share of positives above it
    auc = float(v10.mean())
    se = math.sqrt(v10.var(ddof=1) / m + v01.var(ddof=1) / n)
    half = _stats.z_quantile(confidence) * se
    return auc, se, max(0.0, auc - half), min(1.0, auc + half)


def _calibration(
    risk: np.ndarray, churned: np.ndarray, confidence: float
) -> tuple[CalibrationBin, ...]:
    """Deciles of predicted risk (equal counts, ties split by position) and their churn rate."""
    order = np.argsort(risk, kind="stable")
    z = _stats.z_quantile(confidence)
    bins = []
    for part in np.array_split(order, min(10, risk.size)):
        p, y = risk[part], churned[part]
        low, high = _stats.wilson_interval(np.array([y.sum()]), np.array([y.size]), z)
        rate = float(y.mean())
        bins.append(
            CalibrationBin(int(y.size), float(p.min()), float(p.max()), float(p.mean()), rate,
                           min(float(low[0]), rate), max(float(high[0]), rate))
        )  # fmt: skip
    return tuple(bins)


# --- fitting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    """Features at one cutoff, the churn label of the horizon after it, and who counts."""

    cutoff: int
    features: Features
    churned: np.ndarray
    population: np.ndarray  # ordered within ``active_within_days`` before the cutoff


@dataclass(frozen=True)
class _Fit:
    means: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray
    intercept: float


def _period(history: History, cutoff: int, settings: dict, p_alive) -> _Period:
    features = build_features(
        history, cutoff, window_days=settings["window_days"],
        p_alive=None if p_alive is None else p_alive(cutoff),
    )  # fmt: skip
    churned, eligible = label_churn(
        history.order_customer, history.order_day, history.n_customers,
        cutoff_day=cutoff, horizon_days=settings["horizon_days"],
    )  # fmt: skip
    with np.errstate(invalid="ignore"):
        active = features.column("days_since_last_order") < settings["active_within_days"]
    return _Period(cutoff, features, churned, eligible & active)


def _transformed(features: Features, keys: tuple[str, ...], transforms, rows) -> np.ndarray:
    pairs = zip(keys, transforms, strict=True)
    columns = [_TRANSFORMS[t](features.column(k)[rows]) for k, t in pairs]
    return np.column_stack(columns) if columns else np.empty((0, 0))


def _standardised(x: np.ndarray, means: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """(x - mean) / scale with unknown values at 0, i.e. at the training mean: no contribution."""
    z = (x - means) / scales
    z[np.isnan(z)] = 0.0
    return z


def _fit(period: _Period, transforms: tuple[str, ...], regularisation: float) -> _Fit:
    # Imported here: scikit-learn takes ~0.5 s to import and only training needs it.
    from sklearn.linear_model import LogisticRegression

    x = _transformed(period.features, feature_keys(), transforms, period.population)
    y = period.churned[period.population]
    known = ~np.isnan(x)
    counts = known.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(known, x, 0.0).sum(axis=0) / counts
        scales = np.sqrt(np.where(known, (x - means) ** 2, 0.0).sum(axis=0) / counts)
    used = (counts > 0) & (scales > 1e-9)  # an unknown or constant column carries nothing
    means, scales = np.where(used, means, 0.0), np.where(used, scales, 1.0)
    z = _standardised(x, means, scales)
    coefficients = np.zeros(x.shape[1])
    intercept = float(np.log(y.mean() / (1 - y.mean())))
    if used.any():
        # No class weighting: the risk must read as a probability (calibration table, Brier);
        # "balanced" weights would pull every risk toward 0.5 and barely change the ranking.
        model = LogisticRegression(C=regularisation, max_iter=1000).fit(z[:, used], y)
        coefficients[used] = model.coef_[0]
        intercept = float(model.intercept_[0])
    return _Fit(means, scales, coefficients, intercept)


def _predict(fit: _Fit, period: _Period, transforms: tuple[str, ...]) -> np.ndarray:
    x = _transformed(period.features, feature_keys(), transforms, period.population)
    return expit(_standardised(x, fit.means, fit.scales) @ fit.coefficients + fit.intercept)


def _counts(period: _Period) -> dict[str, int]:
    population = period.population
    y = period.churned[population]
    repeat = (period.features.column("orders_total")[population] >= 2).sum()
    return {"customers": int(repeat), "churners": int(y.sum()), "stayed": int((~y).sum())}


# --- training ----------------------------------------------------------------------------------


def _settings(**values: Any) -> dict[str, Any]:
    for name in ("horizon_days", "window_days", "active_within_days"):
        values[name] = _stats.check_int(values[name], name, 1)
    values["cutoff_day"] = _stats.check_int(values["cutoff_day"], "cutoff_day", -(2**62))
    for name in ("min_customers", "min_churners"):
        values[name] = _stats.check_int(values[name], name, 2)
    values["confidence"] = _stats.check_probability(values["confidence"], "confidence")
    values["min_auc"] = float(values["min_auc"])
    if not 0.5 <= values["min_auc"] < 1:
        raise ValueError(f"min_auc must be from 0.5 up to 1, got {values['min_auc']!r}")
    c = values["regularisation"] = float(values["regularisation"])
    if not 0 < c < math.inf:
        raise ValueError(f"regularisation must be a positive number, got {c!r}")
    return values


def _english(code: str, params: dict[str, Any]) -> str:
    return MODEL_REASONS[code].format(**params) if code else ""


def _refused(base: dict[str, Any], code: str, params: dict[str, Any], **counts: Any) -> ChurnModel:
    """A model that did not train: no coefficients, no figures, and the reason why."""
    empty: dict[str, Any] = {"n_train": 0, "n_valid": 0, "churners_train": 0, "churners_valid": 0}
    return ChurnModel(
        **base, enough_data=False, signal=False, reason_code=code, reason_params=params,
        reason_if_not=_english(code, params), fitted_cutoff_day=None, features=(),
        transforms=(), means=(), scales=(), coefficients=(), intercept=0.0,
        **{**empty, **counts}, base_rate_train=None, base_rate_valid=None, auc=None,
        auc_ci_low=None, auc_ci_high=None, auc_std_error=None, brier=None,
        brier_reference=None, calibration=(),
    )  # fmt: skip


def _enough(periods: dict[str, _Period], s: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """("", {}) when both periods are big enough, else the refusal code and its values."""
    for name, period in periods.items():
        counts = _counts(period)
        small = counts["customers"] < s["min_customers"]
        if small or min(counts["churners"], counts["stayed"]) < s["min_churners"]:
            limits = {"min_customers": s["min_customers"], "min_churners": s["min_churners"]}
            return f"too_little_data_{name}", {**limits, **counts}
    return "", {}


def _verdict(auc: float, low: float, high: float, s: dict[str, Any]) -> tuple[str, dict]:
    """("", {}) when the validation shows a usable signal, else why not."""
    shown = {"auc": round(auc, 3), "auc_ci_low": round(low, 3), "auc_ci_high": round(high, 3)}
    if low <= 0.5:
        percent = round(100 * s["confidence"], 1)
        shown["confidence_percent"] = int(percent) if percent.is_integer() else percent
        return "no_signal", shown
    if auc < s["min_auc"]:
        return "weak_signal", {"auc": round(auc, 3), "min_auc": s["min_auc"]}
    return "", {}


def train(
    history: History,
    *,
    cutoff_day: int,
    horizon_days: int = 90,
    window_days: int = 90,
    active_within_days: int = 365,
    p_alive: Callable[[int], np.ndarray] | None = None,
    min_customers: int = 200,
    min_churners: int = 30,
    min_auc: float = 0.6,
    confidence: float = 0.95,
    regularisation: float = 1.0,
    refit: bool = True,
) -> ChurnModel:
    """Train and validate a churn model on ``history``, complete up to ``cutoff_day``.

    Training: features at ``cutoff - 2 horizon``, label = no order in the horizon after.
    Validation: features at ``cutoff - horizon``, label = no order up to ``cutoff``. Only
    customers who ordered within ``active_within_days`` before a cutoff take part (the long
    lost are not at risk, they are gone). ``p_alive(day)``, if given, returns the P(alive)
    column as of ``day``. Refuses (``enough_data=False``) when the orders span less than two
    horizons plus a window, or a period has fewer than ``min_customers`` customers with 2+
    orders or fewer than ``min_churners`` churners or stayers. ``signal`` needs the AUC's
    ``confidence`` interval above 0.5 and the AUC at least ``min_auc``. With ``refit`` the
    stored model is refitted on the validation period, the freshest labelled one.
    """
    s = _settings(
        cutoff_day=cutoff_day, horizon_days=horizon_days, window_days=window_days,
        active_within_days=active_within_days, min_customers=min_customers,
        min_churners=min_churners, min_auc=min_auc, confidence=confidence,
        regularisation=regularisation,
    )  # fmt: skip
    valid_day = s["cutoff_day"] - s["horizon_days"]
    train_day = valid_day - s["horizon_days"]
    base = {
        "cutoff_day": s["cutoff_day"], "horizon_days": s["horizon_days"],
        "window_days": s["window_days"], "active_within_days": s["active_within_days"],
        "train_cutoff_day": train_day, "valid_cutoff_day": valid_day,
        "confidence": s["confidence"], "min_auc": s["min_auc"],
        "regularisation": s["regularisation"],
    }  # fmt: skip
    needed = 2 * s["horizon_days"] + s["window_days"]
    first = history.first_order_day
    found = 0 if first is None else max(0, s["cutoff_day"] - first)
    if found < needed:
        return _refused(base, "history_too_short", {
            "needed_days": needed, "found_days": found, "horizon_days": s["horizon_days"],
            "window_days": s["window_days"]})  # fmt: skip
    periods = {
        "training": _period(history, train_day, s, p_alive),
        "validation": _period(history, valid_day, s, p_alive),
    }
    code, params = _enough(periods, s)
    if code:
        return _refused(base, code, params)
    return _validated(base, periods["training"], periods["validation"], s, refit)


def _validated(
    base: dict[str, Any], train_p: _Period, valid_p: _Period, s: dict[str, Any], refit: bool
) -> ChurnModel:
    transforms = tuple(feature.transform for feature in FEATURES)
    fit = _fit(train_p, transforms, s["regularisation"])
    risk = _predict(fit, valid_p, transforms)
    y_train = train_p.churned[train_p.population]
    y = valid_p.churned[valid_p.population]
    auc, se, low, high = auc_interval(y, risk, confidence=s["confidence"])
    code, params = _verdict(auc, low, high, s)
    final = _fit(valid_p, transforms, s["regularisation"]) if refit else fit
    base_rate = float(y.mean())
    return ChurnModel(
        **base, enough_data=True, signal=not code, reason_code=code, reason_params=params,
        reason_if_not=_english(code, params),
        fitted_cutoff_day=valid_p.cutoff if refit else train_p.cutoff,
        features=feature_keys(), transforms=transforms,
        means=tuple(final.means.tolist()), scales=tuple(final.scales.tolist()),
        coefficients=tuple(final.coefficients.tolist()), intercept=final.intercept,
        n_train=int(y_train.size), n_valid=int(y.size), churners_train=int(y_train.sum()),
        churners_valid=int(y.sum()), base_rate_train=float(y_train.mean()),
        base_rate_valid=base_rate, auc=auc, auc_ci_low=low, auc_ci_high=high,
        auc_std_error=se, brier=float(np.mean((risk - y) ** 2)),
        brier_reference=base_rate * (1 - base_rate),
        calibration=_calibration(risk, y, s["confidence"]),
    )  # fmt: skip


# --- scoring and reasons -----------------------------------------------------------------------


def _check_scorable(model: ChurnModel, features: Features) -> None:
    if not model.enough_data:
        raise ValueError(f"this churn model was not trained: {model.reason_if_not}")
    if features.window_days != model.window_days:
        raise ValueError(
            f"features use a {features.window_days}-day window, the model "
            f"{model.window_days} days: build them with window_days={model.window_days}"
        )


def _eligible(model: ChurnModel, features: Features) -> np.ndarray:
    with np.errstate(invalid="ignore"):  # NaN (no order yet) compares False: not scored
        return features.column("days_since_last_order") < model.active_within_days


_RISKY = {feature.key: feature.risky for feature in FEATURES}


def _contributions(model: ChurnModel, features: Features, rows: np.ndarray):
    """(all, told): (rows, features) log-odds contributions, coefficient x standardised value,
    and those a reason may tell: positive, from a value on the feature's risky side. A positive
    term from a value on the safe side comes from a coefficient against common sense (features
    that move together share their weight) and would read absurdly ("no order for 2 days")."""
    x = _transformed(features, model.features, model.transforms, rows)
    z = _standardised(x, np.asarray(model.means), np.asarray(model.scales))
    contributions = z * np.asarray(model.coefficients)
    risky = np.array([_RISKY[key] for key in model.features])
    return contributions, np.where((z * risky > 0) & (contributions > 0), contributions, 0.0)


def score(
    model: ChurnModel, features: Features, *, top: int = 3
) -> tuple[np.ndarray, list[list[tuple[str, float]]]]:
    """(risk, top_reasons) for every customer of ``features``.

    ``risk`` is the probability of no order in the model's horizon, NaN for customers who have
    not ordered within ``active_within_days`` (they are not scored). ``top_reasons[i]`` lists up
    to ``top`` (feature key, contribution) pairs that raise customer i's risk, largest first,
    from values on the features' risky side (see :class:`~.churn_features.Feature`).
    """
    _check_scorable(model, features)
    top = _stats.check_int(top, "top", 0)
    risk = np.full(len(features), np.nan)
    rows = np.flatnonzero(_eligible(model, features))
    keys = np.array(model.features, dtype=object)
    with _without_gc():
        reasons: list[list[tuple[str, float]]] = [[] for _ in range(len(features))]
        for start in range(0, rows.size, _CHUNK):
            chunk = rows[start : start + _CHUNK]
            contributions, told = _contributions(model, features, chunk)
            risk[chunk] = expit(contributions.sum(axis=1) + model.intercept)
            if top and keys.size:
                _top_reasons(told, chunk, keys, min(top, keys.size), reasons)
    return risk, reasons


@contextlib.contextmanager
def _without_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: millions of new small lists would trigger it
    hundreds of times (tripling the time), and they hold no reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _top_reasons(contributions, rows, keys, top: int, reasons: list) -> None:
    best = np.argpartition(-contributions, top - 1, axis=1)[:, :top]
    values = np.take_along_axis(contributions, best, axis=1)
    order = np.argsort(-values, axis=1, kind="stable")
    best, values = np.take_along_axis(best, order, 1), np.take_along_axis(values, order, 1)
    names = keys[best]
    # Column-wise zips build the million small lists at C speed; the positive contributions
    # are a prefix of each sorted row, so rows with fewer than ``top`` are cut to it.
    pairs = [zip(names[:, j].tolist(), values[:, j].tolist(), strict=True) for j in range(top)]
    lists = list(map(list, zip(*pairs, strict=True)))
    positive = (values > 0).sum(axis=1)
    for i in np.flatnonzero(positive < top).tolist():
        del lists[i][positive[i] :]
    for row, row_pairs in zip(rows.tolist(), lists, strict=True):
        reasons[row] = row_pairs


_REASON_OF = {feature.key: feature.reason for feature in FEATURES}


def explain(
    model: ChurnModel, features: Features, customers: int | np.ndarray, *, top: int = 3
) -> list[list[Reason]]:
    """For each of ``customers`` (indexes), up to ``top`` reasons raising their risk, in words.

    Features sharing a :data:`REASONS` template (e.g. the recent and previous order counts)
    are summed into one reason, so a reason is never told twice. Only positive contributions
    from values on the risky side count (as in :func:`score`); unscored customers get none.
    """
    _check_scorable(model, features)
    top = _stats.check_int(top, "top", 0)
    rows = np.atleast_1d(np.asarray(customers))
    if rows.size == 0:
        return []
    if rows.dtype.kind not in "iu" or rows.ndim != 1:
        raise ValueError("customers must be an index or a 1-D array of indexes")
    if rows.size and (rows.min() < 0 or rows.max() >= len(features)):
        raise ValueError(f"customer indexes must be 0..{len(features) - 1}")
    groups = [_REASON_OF[key] for key in model.features]
    names = list(dict.fromkeys(groups))
    member = np.array([[group == name for name in names] for group in groups], dtype=float)
    _, told = _contributions(model, features, rows)
    grouped = told @ member if member.size else np.zeros((rows.size, 0))
    eligible = _eligible(model, features)[rows]
    params, keys = reason_params(features, rows), model.features
    return [
        reasons_in_words(grouped[i], told[i], names, groups, params[i], keys)[:top]
        if eligible[i] else []
        for i in range(rows.size)
    ]  # fmt: skip
