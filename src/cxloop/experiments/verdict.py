"""The verdict in plain, translated words, built from ``insights.abtest``'s codes and numbers
(its own ``text`` is English only)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from cxloop.insights import abtest

MINUS = "\u2212"


def needed_before_data(min_effect: float | None, *, baseline: float | None = None) -> int:
    """Cases per variant a verdict will need, before both variants have data: the minimum, or
    the size that detects ``min_effect`` (a rate difference) from ``baseline`` (0.5 unknown,
    the largest variance)."""
    if not min_effect:
        return abtest.MIN_N
    base = 0.5 if baseline is None else baseline
    step = min_effect if base + min_effect <= 1 else -min_effect
    try:
        return max(abtest.MIN_N, abtest.required_sample_size(step, baseline=base))
    except ValueError:
        return abtest.MIN_N


def _formatter(kind: str, *values: float):
    if kind == "proportion":
        decimals = 1
    else:
        size = max(abs(v) for v in values)
        decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    return lambda x: f"{x:.{decimals}f}".replace("-", MINUS)


def p_text(p: float) -> str:
    if p < 0.001:
        return _("p < 0.001")
    return _("p = %(p)s") % {"p": f"{p:.3f}" if p < 0.01 else f"{p:.2f}"}


def _interval(low: float, high: float, fmt) -> str:
    if low >= 0:
        return f"{fmt(low)}\u2013{fmt(high)}"
    return _("%(low)s to %(high)s") % {"low": fmt(low), "high": fmt(high)}


def _unit(experiment, kind: str) -> str:
    if kind == "proportion":
        return " " + _("points")
    if experiment.metric == "handling_minutes":
        return " " + _("min")
    return ""


def _label(experiment, variant: str) -> str:
    name = experiment.variant_name(variant)
    return variant if name == variant else f"{variant} ({name})"


def sentence(experiment, kind: str, rows, test, need: int, scale: float) -> str:
    n_a, n_b = rows[0].n, rows[1].n
    if test is None or test.verdict == abtest.TOO_SMALL:
        if test is not None and min(n_a, n_b) >= need:  # the refusal on too few events
            return _(
                "Too few cases to call: need at least %(events)s successes and %(events)s "
                "failures over both variants"
            ) % {"events": abtest.MIN_EVENTS}
        return _(
            "Too few cases to call: need about %(need)s per variant, have %(n_a)s and %(n_b)s"
        ) % {"need": need, "n_a": n_a, "n_b": n_b}
    diff, low, high = (test.difference * scale, test.ci_low * scale, test.ci_high * scale)
    fmt = _formatter(kind, diff, low, high)
    unit = _unit(experiment, kind)
    level = _("95 % CI")
    if test.verdict == abtest.NO_DIFFERENCE:
        text = _("No clear difference: B − A = %(diff)s%(unit)s (%(level)s %(ci)s, %(p)s)")
        return text % {
            "diff": fmt(diff), "unit": unit, "level": level, "ci": _interval(low, high, fmt),
            "p": p_text(test.p_value),
        }  # fmt: skip
    higher = experiment.metric not in ("reopened", "handling_minutes")
    # The gain of the winner over the loser, in the metric's good direction.
    sign = 1 if (test.verdict == abtest.B_BETTER) == higher else -1
    gain, (g_low, g_high) = sign * diff, sorted((sign * low, sign * high))
    winner = "B" if test.verdict == abtest.B_BETTER else "A"
    return _("%(winner)s is better by %(gain)s%(unit)s (%(level)s %(ci)s, %(p)s)") % {
        "winner": _label(experiment, winner), "gain": fmt(gain), "unit": unit, "level": level,
        "ci": _interval(g_low, g_high, fmt), "p": p_text(test.p_value),
    }  # fmt: skip
