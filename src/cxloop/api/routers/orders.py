"""/api/v1/orders: list, read, upsert one, upsert many. Amounts are integer fen."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from cxloop.api import queries, writes
from cxloop.api.schemas import (
    BULK_ORDERS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    BulkOut,
    ErrorOut,
    OrderBulkIn,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderUpsertOut,
    ValidationErrorOut,
)
from cxloop.core.roles import require
from cxloop.customers.models import Order

router = Router(tags=["orders"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
NOT_FOUND = _("No order with this external id.")
# Roles grant change_order (not add_order) to whoever maintains orders: it covers both.
WRITE_ORDERS = "customers.change_order"


class OrderFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")
    customer: str | None = Field(None, description="The customer's external id.")
    status: Order.Status | None = None
    store: str | None = None
    placed_after: dt.datetime | None = Field(None, description="placed_at >= this.")
    placed_before: dt.datetime | None = Field(None, description="placed_at < this.")


@router.get("", response={200: OrderPage, **ERRORS}, summary="List orders")
def list_orders(request: HttpRequest, filters: Query[OrderFilters]):
    require(request.auth, "customers.view_order")
    qs = queries.orders(
        customer=filters.customer,
        status=filters.status,
        store=filters.store,
        placed_after=filters.placed_after,
        placed_before=filters.placed_before,
    )
    rows, next_cursor = queries.page(qs, cursor=filters.cursor, limit=filters.limit)
    return {"items": [queries.order_out(o) for o in rows], "next_cursor": next_cursor}


@router.post(
    "/bulk",
    response={200: BulkOut, 413: ErrorOut, **ERRORS},
    summary=f"Create or update up to {BULK_ORDERS_MAX} orders",
)
def bulk_orders(request: HttpRequest, payload: OrderBulkIn):
    require(request.auth, WRITE_ORDERS)
    return writes.run_bulk("orders", rows=payload.rows, limit=BULK_ORDERS_MAX, actor=request.auth)


@router.get("/{external_id}", response={200: OrderOut, **ERRORS}, summary="Read an order")
def get_order(request: HttpRequest, external_id: str):
    require(request.auth, "customers.view_order")
    qs = Order.objects.select_related("customer")
    return queries.order_out(queries.get_or_404(qs, NOT_FOUND, external_id=external_id))


@router.put(
    "/{external_id}",
    response={200: OrderUpsertOut, 201: OrderUpsertOut, **ERRORS},
    summary="Create or update an order",
)
def put_order(request: HttpRequest, external_id: str, payload: OrderIn):
    require(request.auth, WRITE_ORDERS)
    data = payload.model_dump(exclude_unset=True)
    order, result = writes.upsert_one(
        "orders", external_id=external_id, data=data, actor=request.auth
    )
    order = Order.objects.select_related("customer").get(pk=order.pk)
    body = {"result": result, "order": queries.order_out(order)}
    return Status(201 if result == "created" else 200, body)
