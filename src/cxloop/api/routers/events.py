"""/api/v1/events: push business events (idempotent by event_id) and read recent ones."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ValidationError as PydanticValidationError

from cxloop.api import queries
from cxloop.api.errors import InvalidInput, PayloadTooLarge, field_errors
from cxloop.api.schemas import (
    BULK_EVENTS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    ErrorOut,
    EventBulkIn,
    EventBulkOut,
    EventIn,
    EventOut,
    EventPage,
    ValidationErrorOut,
)
from cxloop.core.events import EventConflict, EventInvalid, record_event
from cxloop.core.pii import can_see_pii
from cxloop.core.roles import require

router = Router(tags=["events"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}
# Events can create and change customers and orders, so pushing one needs both rights.
PUSH_EVENTS = ("customers.change_customer", "customers.change_order")
READ_EVENTS = "customers.view_order"


class EventFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")
    type: str | None = Field(None, description="Only this event type, e.g. order.delivered.")
    since: dt.datetime | None = Field(None, description="Received at or after this time.")


@router.get("", response={200: EventPage, **ERRORS}, summary="Recent events, newest first")
def list_events(request: HttpRequest, filters: Query[EventFilters]):
    require(request.auth, READ_EVENTS)
    qs = queries.events(type_=filters.type, since=filters.since)
    rows, next_cursor = queries.page(
        qs, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    pii = can_see_pii(request.auth)
    return {"items": [queries.event_out(e, pii=pii) for e in rows], "next_cursor": next_cursor}


def _record(event: EventIn, actor):
    return record_event(
        event_id=event.event_id,
        type=event.type,
        occurred_at=event.occurred_at,
        payload=event.payload,
        source=event.source,
        actor=actor,
    )


@router.post(
    "",
    response={200: EventOut, 201: EventOut, 409: ErrorOut, **ERRORS},
    summary="Push one event",
    description="201 when stored, 200 when this event id was already stored with the same "
    "data, 409 when the id was used for different data.",
)
def post_event(request: HttpRequest, payload: EventIn):
    require(request.auth, *PUSH_EVENTS)
    event, created = _record(payload, request.auth)
    return Status(201 if created else 200, queries.event_out(event, pii=can_see_pii(request.auth)))


@router.post(
    "/bulk",
    response={200: EventBulkOut, 413: ErrorOut, **ERRORS},
    summary=f"Push up to {BULK_EVENTS_MAX} events",
)
def post_events(request: HttpRequest, payload: EventBulkIn):
    require(request.auth, *PUSH_EVENTS)
    items = payload.events
    if len(items) > BULK_EVENTS_MAX:
        raise PayloadTooLarge(
            _("At most %(limit)d events per request.") % {"limit": BULK_EVENTS_MAX}
        )
    if not items:
        raise InvalidInput({"events": [_("Send at least one event.")]})
    reports = [_one_of_many(index, item, request.auth) for index, item in enumerate(items)]
    summary = {r: sum(1 for x in reports if x["result"] == r) for r in _RESULTS}
    if summary["created"] + summary["duplicate"] == 0:
        raise InvalidInput(
            _errors_of(reports),
            detail=_("No event could be stored."),
            extra={"summary": summary, "events": reports},
        )
    return {"summary": summary, "events": reports}


_RESULTS = ("created", "duplicate", "conflict", "error")


def _one_of_many(index: int, item, actor) -> dict:
    event_id = str(item.get("event_id", ""))[:100] if isinstance(item, dict) else ""
    report = {"index": index, "event_id": event_id, "result": "error", "errors": {}}
    if not isinstance(item, dict):
        report["errors"] = {"": [str(_("Each event must be a JSON object."))]}
        return report
    try:
        event = EventIn.model_validate(item)
        with transaction.atomic():  # one event's failed side effects undo only that event
            _event, created = _record(event, actor)
        report["result"] = "created" if created else "duplicate"
    except PydanticValidationError as exc:
        loc_errors = [{**e, "loc": ("body", "event", *e["loc"])} for e in exc.errors()]
        report["errors"] = field_errors(loc_errors)
    except EventInvalid as exc:
        report["errors"] = exc.errors
    except EventConflict as exc:
        report["result"] = "conflict"
        report["errors"] = {"event_id": [str(exc.args[0])]}
    return report


def _errors_of(reports: list[dict]) -> dict[str, list[str]]:
    return {
        f"events.{r['index']}.{field}" if field else f"events.{r['index']}": messages
        for r in reports
        for field, messages in r["errors"].items()
    }
