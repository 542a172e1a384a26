"""/api/v1/customers: list, read, upsert one, upsert many."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from cxloop.api import queries, writes
from cxloop.api.schemas import (
    BULK_CUSTOMERS_MAX,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    BulkOut,
    CustomerBulkIn,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerUpsertOut,
    ErrorOut,
    ValidationErrorOut,
)
from cxloop.core.pii import can_see_pii
from cxloop.core.roles import require
from cxloop.customers.models import Customer

router = Router(tags=["customers"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
NOT_FOUND = _("No customer with this external id.")


class CustomerFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")
    region: str | None = None
    store: str | None = None
    q: str | None = Field(None, description="External id, part of the name; phone/email: PII.")
    updated_since: dt.datetime | None = None


@router.get("", response={200: CustomerPage, **ERRORS}, summary="List customers")
def list_customers(request: HttpRequest, filters: Query[CustomerFilters]):
    require(request.auth, "customers.view_customer")
    qs = queries.customers(
        user=request.auth,
        region=filters.region,
        store=filters.store,
        q=filters.q,
        updated_since=filters.updated_since,
    )
    rows, next_cursor = queries.page(qs, cursor=filters.cursor, limit=filters.limit)
    pii = can_see_pii(request.auth)
    return {"items": [queries.customer_out(c, pii=pii) for c in rows], "next_cursor": next_cursor}


@router.post(
    "/bulk",
    response={200: BulkOut, 413: ErrorOut, **ERRORS},
    summary=f"Create or update up to {BULK_CUSTOMERS_MAX} customers",
)
def bulk_customers(request: HttpRequest, payload: CustomerBulkIn):
    require(request.auth, "customers.add_customer", "customers.change_customer")
    return writes.run_bulk(
        "customers", rows=payload.rows, limit=BULK_CUSTOMERS_MAX, actor=request.auth
    )


@router.get("/{external_id}", response={200: CustomerOut, **ERRORS}, summary="Read a customer")
def get_customer(request: HttpRequest, external_id: str):
    require(request.auth, "customers.view_customer")
    customer = queries.get_or_404(Customer.objects, NOT_FOUND, external_id=external_id)
    return queries.customer_out(customer, pii=can_see_pii(request.auth))


@router.put(
    "/{external_id}",
    response={200: CustomerUpsertOut, 201: CustomerUpsertOut, **ERRORS},
    summary="Create or update a customer",
)
def put_customer(request: HttpRequest, external_id: str, payload: CustomerIn):
    exists = queries.customer_exists(external_id)
    require(request.auth, "customers.change_customer" if exists else "customers.add_customer")
    data = payload.model_dump(exclude_unset=True)
    customer, result = writes.upsert_one(
        "customers", external_id=external_id, data=data, actor=request.auth
    )
    out = queries.customer_out(customer, pii=can_see_pii(request.auth))
    return Status(201 if result == "created" else 200, {"result": result, "customer": out})
