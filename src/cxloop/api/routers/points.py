"""/api/v1/points: earn, redeem, a customer's balance and ledger history, the rewards.

Writes need ``idempotency_key``: the first call books the entry (201), the same key again
returns that same entry (200) and books nothing; the same key with other values is a 422.
Every write goes through ``cxloop.loyalty.services``, as the console does. ``LoyaltyError``
becomes a 422 with its messages per field ("not enough points" is on ``points``), or a 409
when it names no field.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import StrictInt

from cxloop.api import queries
from cxloop.api.errors import InvalidInput
from cxloop.api.schemas import (
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    ErrorOut,
    InputSchema,
    ValidationErrorOut,
)
from cxloop.core.roles import require
from cxloop.customers.models import Customer, Order
from cxloop.loyalty import selectors, services
from cxloop.loyalty.ledger import KEY_MAX, MAX_POINTS, REASON_MAX, SOURCE_MAX
from cxloop.loyalty.models import PointsEntry, Reward

router = Router(tags=["points"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}
NOT_FOUND = _("No customer with this external id.")
VIEW, CHANGE = "loyalty.view_points", "loyalty.change_points"


class EarnIn(InputSchema):
    customer: str = Field(..., max_length=64, description="The customer's external id.")
    points: StrictInt = Field(..., gt=0, le=MAX_POINTS)
    idempotency_key: str = Field(..., min_length=1, max_length=KEY_MAX)
    reason: str = Field(..., min_length=1, max_length=REASON_MAX)
    source: str = Field("api", max_length=SOURCE_MAX)
    order: str | None = Field(None, max_length=64, description="An order's external id.")
    expires_at: dt.datetime | None = Field(
        None, description="Default: the points_expiry_months setting from now."
    )


class RedeemIn(InputSchema):
    customer: str = Field(..., max_length=64, description="The customer's external id.")
    idempotency_key: str = Field(..., min_length=1, max_length=KEY_MAX)
    reward: StrictInt | None = Field(None, description="A reward id: its cost is redeemed.")
    points: StrictInt | None = Field(None, gt=0, le=MAX_POINTS, description="Without reward.")
    reason: str | None = Field(None, max_length=REASON_MAX, description="Without reward.")


class EntryOut(Schema):
    id: int
    customer: str
    kind: str
    points: int
    balance_after: int
    owed_change: int
    idempotency_key: str
    reason: str
    source: str
    order: str | None
    reward: int | None
    redemption: int | None
    expires_at: dt.datetime | None
    created_at: dt.datetime


class BalanceOut(Schema):
    customer: str
    balance: int
    points_owed: int
    expiring_within_30_days: int
    next_expiry: dt.datetime | None


class EntryPage(Schema):
    items: list[EntryOut]
    next_cursor: str | None


class RewardOut(Schema):
    id: int
    name: str
    kind: str
    description: str
    cost_points: int
    stock: int | None


class PageFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


def entry_out(entry: PointsEntry) -> dict:
    lot = getattr(entry, "lot", None) if entry.points > 0 else None
    redemption = getattr(entry, "redemption", None) if entry.kind == "redeem" else None
    return {
        "id": entry.pk, "customer": entry.account.customer.external_id, "kind": entry.kind,
        "points": entry.points, "balance_after": entry.balance_after,
        "owed_change": entry.owed_change, "idempotency_key": entry.idempotency_key,
        "reason": entry.reason, "source": entry.source,
        "order": entry.order.external_id if entry.order_id else None, "reward": entry.reward_id,
        "redemption": redemption.pk if redemption else None,
        "expires_at": lot.expires_at if lot else None, "created_at": entry.created_at,
    }  # fmt: skip


def _customer(external_id: str, *, field: str | None = None) -> Customer:
    """The customer, a 404 for a path, a 422 on ``field`` for a body."""
    found = Customer.objects.filter(external_id=external_id.replace("\x00", "")).first()
    if found is None:
        if field:
            raise InvalidInput({field: [NOT_FOUND]})
        raise Http404(NOT_FOUND)
    return found


def _run(function, **kwargs):
    try:
        return function(**kwargs)
    except services.LoyaltyError as error:
        if error.errors:
            raise InvalidInput(error.errors, detail=error.message) from None
        raise HttpError(409, error.message) from None


def _answer(entry: PointsEntry, replayed: bool):
    """201 for a new entry, 200 for a replay, with the entry as stored."""
    fresh = PointsEntry.objects.select_related("account__customer", "order", "lot").get(pk=entry.pk)
    return Status(200 if replayed else 201, entry_out(fresh))


@router.post("/earn", response={200: EntryOut, 201: EntryOut, **ERRORS}, summary="Earn points")
def earn(request: HttpRequest, payload: EarnIn):
    require(request.auth, CHANGE)
    customer = _customer(payload.customer, field="customer")
    order = None
    if payload.order:
        order = Order.objects.filter(external_id=payload.order, customer=customer).first()
        if order is None:
            raise InvalidInput({"order": [_("No order with this external id of this customer.")]})
    expires_at = queries.utc(payload.expires_at, "expires_at")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput({"expires_at": [_("Enter a time in the future.")]})
    entry = _run(
        services.earn_points, customer=customer, points=payload.points,
        idempotency_key=payload.idempotency_key, reason=payload.reason, source=payload.source,
        actor=request.auth, order=order, expires_at=expires_at,
    )  # fmt: skip
    return _answer(entry, entry.replayed)


@router.post(
    "/redeem", response={200: EntryOut, 201: EntryOut, **ERRORS},
    summary="Redeem points (for a reward, or a number of points)",
)  # fmt: skip
def redeem(request: HttpRequest, payload: RedeemIn):
    require(request.auth, CHANGE)
    customer = _customer(payload.customer, field="customer")
    if payload.reward is not None and payload.points is not None:
        raise InvalidInput({"points": [_("Give a reward or points, not both.")]})
    if payload.reward is not None:
        reward = Reward.objects.filter(pk=payload.reward).first()
        if reward is None:
            raise InvalidInput({"reward": [_("No reward with this id.")]})
        redemption = _run(
            services.redeem_reward, customer=customer, reward=reward,
            idempotency_key=payload.idempotency_key, actor=request.auth,
        )  # fmt: skip
        entry, replayed = redemption.entry, redemption.replayed
    else:
        missing = {
            name: [_("Give a reward, or points and a reason.")]
            for name in ("points", "reason") if not getattr(payload, name)
        }  # fmt: skip
        if missing:
            raise InvalidInput(missing)
        entry = _run(
            services.redeem_points, customer=customer, points=payload.points,
            idempotency_key=payload.idempotency_key, reason=payload.reason, actor=request.auth,
            source="api",
        )  # fmt: skip
        replayed = entry.replayed
    return _answer(entry, replayed)


@router.get("/rewards", response={200: list[RewardOut], **ERRORS}, summary="The rewards offered")
def rewards(request: HttpRequest):
    require(request.auth, VIEW)
    return list(selectors.rewards())


@router.get(
    "/{customer_external_id}/balance", response={200: BalanceOut, **ERRORS},
    summary="A customer's points balance",
)  # fmt: skip
def balance(request: HttpRequest, customer_external_id: str):
    require(request.auth, VIEW)
    customer = _customer(customer_external_id)
    summary = selectors.points_summary(customer=customer)
    return {
        "customer": customer.external_id, "balance": summary.balance,
        "points_owed": summary.owed, "expiring_within_30_days": summary.expiring_soon,
        "next_expiry": summary.next_expiry,
    }  # fmt: skip


@router.get(
    "/{customer_external_id}/history", response={200: EntryPage, **ERRORS},
    summary="A customer's points ledger, newest first",
)  # fmt: skip
def history(request: HttpRequest, customer_external_id: str, filters: Query[PageFilters]):
    require(request.auth, VIEW)
    customer = _customer(customer_external_id)
    qs = selectors.history(customer=customer).select_related("account__customer", "lot")
    rows, next_cursor = queries.page(
        qs, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    return {"items": [entry_out(row) for row in rows], "next_cursor": next_cursor}
