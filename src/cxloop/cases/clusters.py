"""Low-score clusters of a case set: what the negative (or reopened, or major) cases name more
than all cases, overall and by region, store, channel or customer tier.

The engine is ``surveys.clusters`` (SQL counts of the stored aspects, sampled words); the text
of a case is its subject and description. The set is what the user may count
(``selectors.metric_scope``); examples need ``cases.view_case`` and are masked without the PII
right.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from cxloop.cases.models import Channel, Tier
from cxloop.cases.selectors import _scope, metric_scope
from cxloop.core.pii import can_see_pii
from cxloop.surveys.clusters import ClusterReport, TextSet, cached_report
from cxloop.surveys.text import band_q

CASE_DIMENSIONS = {
    "region": _("Region"),
    "store": _("Store"),
    "channel": _("Channel"),
    "tier": _("Customer tier"),
}
PLACE_CHOICES = {"channel": Channel.choices, "tier": Tier.choices}
CASE_LOW_RULES = {  # the first is the default: most complaints read negative anyway
    "reopened": _("Reopened (not solved the first time)"),
    "negative": _("Negative description"),
    "major": _("Major complaints"),
}


def _low_q(rule: str) -> Q:
    if rule == "negative":
        return band_q("sentiment", "negative")
    if rule == "reopened":
        return Q(reopen_count__gt=0)
    if rule == "major":
        return Q(is_major=True)
    raise ValueError(f"unknown low-score rule {rule!r}")


def _text_of(row: dict) -> str:
    return "\n".join(part for part in (row["subject"], row["description"]) if part)


def case_text_set(
    *, user, low: str, start: dt.datetime | None = None, end: dt.datetime | None = None,
    category_id: int | None = None, channel: str = "",
) -> TextSet:  # fmt: skip
    """The analysed cases ``user`` may count, created in [start, end), by category/channel."""
    # The case metrics' own scope: the user's cases, merged ones out, created in [start, end).
    rows = _scope(metric_scope(user), start, end).filter(text_analysed_at__isnull=False)
    if category_id:
        rows = rows.filter(Q(category_id=category_id) | Q(category__parent_id=category_id))
    if channel:
        rows = rows.filter(channel=channel)
    return TextSet(
        rows=rows,
        low=_low_q(low),
        aspect_field="aspects",
        text_fields=("subject", "description"),
        text_of=_text_of,
        show_text=user.has_perm("cases.view_case"),
        show_pii=can_see_pii(user),
        # The set depends on who asks (a handler counts only their departments).
        cache_key=f"cases:{user.pk}:{low}:{start}:{end}:{category_id}:{channel}",
    )


def case_clusters(*, user, by: str, low: str, **filters) -> ClusterReport:
    """The low-score clusters of the cases ``user`` may count, broken down by ``by``."""
    if by not in CASE_DIMENSIONS:
        raise ValueError(f"unknown dimension {by!r}")
    report = cached_report(case_text_set(user=user, low=low, **filters), by=by)
    labels = dict(PLACE_CHOICES.get(by, []))
    for block in report.places:
        block.label = str(labels.get(block.place, block.place))
    return report
