"""Train and score the churn model on the demo company (after the demo's customer scoring).

Returns the record, so the caller can print what the model says: on a history without a churn
pattern it says "no reliable signal" and nobody is flagged, which is the honest answer.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cxloop.retention import churn
from cxloop.retention.churn_models import ChurnModelRecord


def load_churn_demo(*, now: dt.datetime | None = None) -> ChurnModelRecord:
    now = now or timezone.now()
    record = churn.train_churn_model(now=now, kind=ChurnModelRecord.Kind.DEMO)
    record.scored_customers = churn.score_churn(now=now)
    return record
