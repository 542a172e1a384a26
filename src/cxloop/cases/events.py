"""Writing ``CaseEvent`` rows: the one source of truth of a case's history.

Every service that changes a case calls ``record_event`` in the same transaction as the change,
so the timeline, the SLA clocks, the audit trail and the analytics can never disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from cxloop.cases.models import Case, CaseEvent
from cxloop.core.audit import to_jsonable


def actor_label(actor) -> str:
    if actor is None:
        return "system"
    return actor.get_full_name() or actor.get_username()


def record_event(
    *,
    case: Case,
    kind: str,
    actor=None,
    at: dt.datetime | None = None,
    body: str = "",
    data: dict[str, Any] | None = None,
    public: bool = False,
    from_status: str = "",
    to_status: str = "",
    dedupe_key: str | None = None,
) -> CaseEvent | None:
    """Append one event; with ``dedupe_key`` a second event with that key is refused (None)."""
    event = CaseEvent(
        case=case,
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=actor_label(actor),
        at=at or timezone.now(),
        body=body,
        data=to_jsonable(data or {}),
        public=public,
        from_status=from_status,
        to_status=to_status,
        dedupe_key=dedupe_key,
    )
    if dedupe_key is None:
        event.save()
        return event
    try:
        with transaction.atomic():  # savepoint: a lost race must not spoil the caller
            event.save()
    except IntegrityError:
        return None
    return event
