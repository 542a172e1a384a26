"""Demo scores: tiers, CLV and demand tags of the demo company, with a tier history.

``load_retention_demo`` runs after the customers and orders are loaded. The first time it
scores the book as of 60 and 30 days ago and then as of now, so the tier history and the
movement report of this month have something to show; later calls only score as of now
(idempotent: the same data changes nothing).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cxloop.retention.models import ScoringRun, Tier
from cxloop.retention.scoring import score_customers

HISTORY_DAYS = (60, 30)


def load_retention_demo(*, now: dt.datetime | None = None) -> str:
    """Score the demo customers; returns a one-line summary with the customers per tier."""
    now = now or timezone.now()
    first_time = not ScoringRun.objects.filter(kind=ScoringRun.Kind.DEMO).exists()
    if first_time:
        for days in HISTORY_DAYS:
            score_customers(now=now - dt.timedelta(days=days), kind=ScoringRun.Kind.DEMO)
    run = score_customers(now=now, kind=ScoringRun.Kind.DEMO)
    tiers = run.parameters["counts"]["tier"]
    labels = dict(Tier.choices)
    counts = ", ".join(f"{labels[value]} {tiers.get(value, 0):,}" for value in Tier.values)
    return f"Scored {run.customers:,} customers ({counts}); {run.changed:,} tier changes."
