"""Request and response shapes of the API.

Write bodies are checked field by field by ``cxloop.customers.validation`` (the one validator
shared with imports), so the *input* models below only describe the fields for the OpenAPI
document and refuse unknown fields; their values reach the validator untouched.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import ConfigDict, WithJsonSchema

from cxloop.core.events import EVENT_TYPE_PATTERN
from cxloop.customers.models import Customer, Order

BULK_CUSTOMERS_MAX = 1000
BULK_ORDERS_MAX = 1000
BULK_EVENTS_MAX = 500
PAGE_SIZE_DEFAULT = 50
PAGE_SIZE_MAX = 500


def doc(schema_type: str, description: str = "", **extra) -> Any:
    """A field whose value goes to the shared validator as sent, documented as ``schema``."""
    schema = {"type": schema_type, **extra}
    if description:
        schema["description"] = description
    return Annotated[Any, WithJsonSchema(schema)]


def _max(model, field: str) -> int:
    return model._meta.get_field(field).max_length


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid")


# --- customers -----------------------------------------------------------------------------


class CustomerIn(InputSchema):
    """A customer. Empty or missing fields keep the stored value."""

    external_id: doc("string", "Your id; if given it must match the URL.") = None
    name: doc("string", maxLength=_max(Customer, "name")) = None
    phone: doc("string", "Chinese mobile number, 11 digits; +86 and dashes are removed.") = None
    email: doc("string", format="email") = None
    birthday: doc("string", "YYYY-MM-DD, not in the future.", format="date") = None
    registered_at: doc("string", "YYYY-MM-DD.", format="date") = None
    region: doc("string", maxLength=_max(Customer, "region")) = None
    store: doc("string", maxLength=_max(Customer, "store")) = None
    consent_survey: doc("boolean", "May receive satisfaction surveys.") = None
    consent_marketing: doc("boolean", "May receive marketing.") = None
    tags: doc("array", "Demand tags, at most 50 of 50 characters.", items={"type": "string"}) = None


class CustomerRow(CustomerIn):
    external_id: doc("string", "Your id for the customer.", maxLength=64)


class CustomerOut(Schema):
    external_id: str
    name: str
    phone: str = Field(description="Masked (138****1234) without the view_pii permission.")
    email: str = Field(description="Masked (w***@example.com) without the view_pii permission.")
    birthday: dt.date | None = Field(description="Null without the view_pii permission.")
    registered_at: dt.date | None
    region: str
    store: str
    consent_survey: bool
    consent_marketing: bool
    tags: list[str]
    created_at: dt.datetime
    updated_at: dt.datetime


class CustomerPage(Schema):
    items: list[CustomerOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


UpsertResult = Literal["created", "updated", "unchanged"]


class CustomerUpsertOut(Schema):
    result: UpsertResult
    customer: CustomerOut


# --- orders ----------------------------------------------------------------------------------


class OrderIn(InputSchema):
    """An order. Amounts are integer fen: ¥128.50 is 12850."""

    external_id: doc("string", "Your id; if given it must match the URL.") = None
    customer_external_id: doc("string", "The customer's external id (must exist).") = None
    amount_fen: doc("integer", "Amount in fen (1/100 yuan), not negative.", minimum=0) = None
    placed_at: doc("string", "ISO 8601; no offset means Asia/Shanghai.", format="date-time") = None
    delivered_at: doc("string", "ISO 8601.", format="date-time") = None
    channel: doc("string", enum=list(Order.Channel.values)) = None
    store: doc("string", maxLength=_max(Order, "store")) = None
    status: doc("string", enum=list(Order.Status.values)) = None


class OrderRow(OrderIn):
    external_id: doc("string", "Your id for the order.", maxLength=64)


class OrderOut(Schema):
    external_id: str
    customer_external_id: str
    amount_fen: int = Field(description="Integer fen: 12850 is ¥128.50.")
    placed_at: dt.datetime
    delivered_at: dt.datetime | None
    channel: str
    store: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime


class OrderPage(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class OrderUpsertOut(Schema):
    result: UpsertResult
    order: OrderOut


# --- bulk --------------------------------------------------------------------------------------


def rows_of(row_model: type[Schema], maximum: int) -> Any:
    # Rows stay untyped so one bad row is reported on its own instead of failing them all.
    return Annotated[
        list[Any],
        WithJsonSchema({"type": "array", "maxItems": maximum, "items": row_model.json_schema()}),
    ]


class CustomerBulkIn(InputSchema):
    rows: rows_of(CustomerRow, BULK_CUSTOMERS_MAX)


class OrderBulkIn(InputSchema):
    rows: rows_of(OrderRow, BULK_ORDERS_MAX)


class RowReport(Schema):
    row: int = Field(description="Index of the row in the request (0-based).")
    external_id: str
    result: Literal["created", "updated", "unchanged", "error"]
    errors: dict[str, list[str]] = Field(default_factory=dict)


class BulkSummary(Schema):
    created: int
    updated: int
    unchanged: int
    failed: int


class BulkOut(Schema):
    summary: BulkSummary
    rows: list[RowReport]


# --- events ------------------------------------------------------------------------------------


class EventIn(InputSchema):
    event_id: str = Field(
        min_length=1, max_length=100, description="Unique per event; resend safely."
    )
    type: str = Field(max_length=64, pattern=EVENT_TYPE_PATTERN, examples=["order.delivered"])
    occurred_at: dt.datetime = Field(description="ISO 8601; no offset means Asia/Shanghai.")
    payload: dict[str, Any] = Field(default_factory=dict)
    source: str = Field("", max_length=64, description="Which system sent it, e.g. erp.")


class EventOut(Schema):
    event_id: str
    type: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    source: str
    customer_external_id: str | None
    order_external_id: str | None
    payload: dict[str, Any]


class EventBulkIn(InputSchema):
    events: Annotated[
        list[Any],
        WithJsonSchema(
            {"type": "array", "maxItems": BULK_EVENTS_MAX, "items": EventIn.json_schema()}
        ),
    ]


class EventReport(Schema):
    index: int
    event_id: str
    result: Literal["created", "duplicate", "conflict", "error"]
    errors: dict[str, list[str]] = Field(default_factory=dict)


class EventBulkOut(Schema):
    summary: dict[str, int]
    events: list[EventReport]


class EventPage(Schema):
    items: list[EventOut]
    next_cursor: str | None


class Health(Schema):
    status: Literal["ok", "degraded"]
    database: bool
    version: str


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]]
