"""Data-quality rules run when a response is submitted.

Each rule returns flags ``{"code", "reason", "params"}``: ``reason`` is the English sentence (for
exports and logs), ``params`` feed ``describe_flag`` which says the same in the reader's language.
A flagged response is excluded from metrics by default; an analyst may restore it
(``responses.restore_response``), and the flags stay so the reason remains visible.

Rules:
- **speeder**: finished faster than ``Survey.speeder_seconds``; when that is empty the threshold is
  ``SECONDS_PER_ITEM`` per answered item (a matrix row or a KANO part counts as one item, they
  each take a judgement), at least ``MIN_SPEEDER_SECONDS``.
- **straight_lining**: every row of a matrix with at least ``STRAIGHT_LINE_MIN_ROWS`` answered rows
  got the same rating.
- **contradiction**: headline scores that cannot both be meant (``CONTRADICTION_RULES``).
- **duplicate**: the same customer submitted this survey within ``DUPLICATE_WINDOW`` before, or the
  same respondent key (public link cookie) already submitted it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from cxloop.surveys import submit_sql
from cxloop.surveys.models import Response

SECONDS_PER_ITEM = 3
MIN_SPEEDER_SECONDS = 20
STRAIGHT_LINE_MIN_ROWS = 4
DUPLICATE_WINDOW = dt.timedelta(hours=24)

SPEEDER = "speeder"
STRAIGHT_LINING = "straight_lining"
CONTRADICTION = "contradiction"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class ContradictionRule:
    name: str
    reason: Any  # a lazy translatable sentence
    holds: Callable[[Mapping[str, Any]], bool]


def _is(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and low <= value <= high


# Add rules here; ``holds`` reads the headline scores (nps, csat, ces, csi).
CONTRADICTION_RULES: tuple[ContradictionRule, ...] = (
    ContradictionRule(
        "promoter_very_dissatisfied",
        _("Would recommend (NPS 9–10) but very dissatisfied (CSAT 1)."),
        lambda s: _is(s.get("nps"), 9, 10) and s.get("csat") == 1,
    ),
    ContradictionRule(
        "detractor_very_satisfied",
        _("Would not recommend (NPS 0–2) but very satisfied (CSAT 5)."),
        lambda s: _is(s.get("nps"), 0, 2) and s.get("csat") == 5,
    ),
)

_REASONS = {
    SPEEDER: _("Finished in %(seconds)d s, faster than the %(threshold)d s threshold."),
    STRAIGHT_LINING: _("Gave every row of %(question)s the same rating."),
    DUPLICATE: _("The same person already answered this survey."),
}


def speeder_threshold(*, survey_seconds: int | None, answered_items: int) -> int:
    if survey_seconds is not None:
        return survey_seconds
    return max(MIN_SPEEDER_SECONDS, SECONDS_PER_ITEM * answered_items)


def check_speeder(
    *, duration_seconds: int, survey_seconds: int | None, answered_items: int
) -> list[dict]:
    threshold = speeder_threshold(survey_seconds=survey_seconds, answered_items=answered_items)
    if duration_seconds >= threshold:
        return []
    return [_flag(SPEEDER, seconds=duration_seconds, threshold=threshold)]


def check_straight_lining(matrices: Iterable[tuple[str, Mapping[str, Any]]]) -> list[dict]:
    """``matrices``: (question key, row ratings) for each answered matrix question."""
    flags = []
    for key, rows in matrices:
        values = list(rows.values())
        if len(values) >= STRAIGHT_LINE_MIN_ROWS and len(set(values)) == 1:
            flags.append(_flag(STRAIGHT_LINING, question=key, value=values[0]))
    return flags


def check_contradictions(scores: Mapping[str, Any]) -> list[dict]:
    return [
        _flag(CONTRADICTION, rule=rule.name) for rule in CONTRADICTION_RULES if rule.holds(scores)
    ]


def check_duplicate(*, response: Response, now: dt.datetime) -> list[dict]:
    if response.customer_id is not None:  # every invitation submit asks: hand-written SQL
        found = submit_sql.submitted_exists(
            survey_id=response.survey_id,
            exclude_id=response.pk,
            customer_id=response.customer_id,
            since=now - DUPLICATE_WINDOW,
        )
        return [_flag(DUPLICATE)] if found else []
    others = Response.objects.filter(
        survey_id=response.survey_id, submitted_at__isnull=False
    ).exclude(pk=response.pk)
    if response.respondent_key:
        others = others.filter(respondent_key=response.respondent_key)
    else:
        return []
    return [_flag(DUPLICATE)] if others.exists() else []


def describe_flag(flag: Mapping[str, Any]) -> str:
    """The flag's reason in the active language (falls back to the stored English sentence)."""
    code, params = flag.get("code"), flag.get("params") or {}
    try:
        if code == CONTRADICTION:
            rule = next(r for r in CONTRADICTION_RULES if r.name == params.get("rule"))
            return str(rule.reason)
        return str(_REASONS[code] % params)
    except (KeyError, StopIteration, TypeError, ValueError):
        return str(flag.get("reason", code))


def _flag(code: str, **params: Any) -> dict:
    flag = {"code": code, "reason": "", "params": params}
    with translation.override("en"):
        flag["reason"] = describe_flag(flag)
    return flag
