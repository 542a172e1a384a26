"""/api/v1/referrals: an inviter's code and link, accepting an invitation, listing referrals.

Writes go through ``loyalty.referrals`` exactly as the console does. A fraud guard's refusal is
a 422 naming the reason (``reason``: self_referral, same_phone, same_device, same_address,
not_new, monthly_limit) and the stored rejected referral (``referral_id``); a customer who
already accepted another invitation is a 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

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
from cxloop.customers.models import Customer
from cxloop.loyalty import referrals
from cxloop.loyalty.referral_models import Referral
from cxloop.loyalty.services import LoyaltyError

router = Router(tags=["referrals"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}
NO_CUSTOMER = _("No customer with this external id.")
TEXT_MAX = referrals.FIELD_MAX


class CodeIn(InputSchema):
    inviter: str = Field(description="The inviter's customer external id.", max_length=64)
    device_id: str = Field("", description="The inviter's device, if asked from an app.",
                           max_length=TEXT_MAX)  # fmt: skip
    address: str = Field("", description="The inviter's delivery address.", max_length=TEXT_MAX)


class CodeOut(Schema):
    inviter: str
    code: str
    link: str
    created_at: dt.datetime


class AcceptIn(InputSchema):
    invitee: str = Field(description="The invitee's customer external id.", max_length=64)
    code: str = Field(description="The invite code (case does not matter).", max_length=32)
    device_id: str = Field("", description="The invitee's device id.", max_length=TEXT_MAX)
    address: str = Field("", description="The invitee's delivery address.", max_length=TEXT_MAX)


class ReferralOut(Schema):
    id: int
    inviter: str
    invitee: str
    code: str
    status: Literal["pending", "qualified", "rejected"]
    reject_reason: str = Field(description="Empty unless rejected.")
    reject_detail: str
    accepted_at: dt.datetime
    qualified_at: dt.datetime | None
    awarded_at: dt.datetime | None
    first_order: str | None = Field(description="External id of the qualifying order.")


class ReferralPage(Schema):
    items: list[ReferralOut]
    next_cursor: str | None


class ReferralFilters(Schema):
    inviter: str | None = Field(None, description="Only this inviter's (customer external id).")
    status: Literal["pending", "qualified", "rejected"] | None = None
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


def referral_out(row: Referral) -> dict:
    return {
        "id": row.pk, "inviter": row.inviter.external_id, "invitee": row.invitee.external_id,
        "code": row.code.code, "status": row.status, "reject_reason": row.reject_reason,
        "reject_detail": row.reject_detail, "accepted_at": row.accepted_at,
        "qualified_at": row.qualified_at, "awarded_at": row.awarded_at,
        "first_order": row.order.external_id if row.order_id else None,
    }  # fmt: skip


def _no_nul(data: dict) -> None:
    bad = {k: [str(_("Contains a NUL character."))] for k, v in data.items() if "\x00" in v}
    if bad:
        raise InvalidInput(bad)


def _customer(field: str, external_id: str) -> Customer:
    found = Customer.objects.filter(external_id=external_id).first()
    if found is None:
        raise InvalidInput({field: [str(NO_CUSTOMER)]})
    return found


@router.post("", response={200: CodeOut, 201: CodeOut, **ERRORS}, summary="An inviter's code")
def create_code(request: HttpRequest, payload: CodeIn):
    """201 with a new code and link; 200 with the customer's existing one."""
    require(request.auth, "loyalty.add_referral")
    data = payload.model_dump()
    _no_nul(data)
    inviter = _customer("inviter", data["inviter"])
    code, created = referrals.get_or_create_code(
        customer=inviter, actor=request.auth, device_id=data["device_id"], address=data["address"]
    )
    body = {"inviter": inviter.external_id, "code": code.code,
            "link": referrals.referral_link(code), "created_at": code.created_at}  # fmt: skip
    return Status(201 if created else 200, body)


@router.post(
    "/accept", response={200: ReferralOut, 201: ReferralOut, **ERRORS}, summary="Accept a code"
)
def accept(request: HttpRequest, payload: AcceptIn):
    """201 with the pending referral; 200 when the same code was accepted before; 422 with
    ``reason`` when a fraud guard refused it (the refusal is stored and listed)."""
    require(request.auth, "loyalty.add_referral")
    data = payload.model_dump()
    _no_nul(data)
    invitee = _customer("invitee", data["invitee"])
    before = Referral.objects.filter(invitee=invitee).exclude(status="rejected").exists()
    try:
        row = referrals.accept_referral(
            invitee=invitee, code=data["code"], device_id=data["device_id"],
            address=data["address"], actor=request.auth,
        )  # fmt: skip
    except referrals.ReferralRejected as refused:
        extra = {"reason": refused.referral.reject_reason, "referral_id": refused.referral.pk}
        raise InvalidInput(refused.errors, detail=refused.message, extra=extra) from None
    except LoyaltyError as error:
        if "invitee" in error.errors:
            raise HttpError(409, error.message) from None
        raise InvalidInput(error.errors, detail=error.message) from None
    row = referrals.referrals_of().get(pk=row.pk)
    return Status(200 if before else 201, referral_out(row))


@router.get("", response={200: ReferralPage, **ERRORS}, summary="List referrals")
def list_referrals(request: HttpRequest, filters: Query[ReferralFilters]):
    require(request.auth, "loyalty.view_referral")
    queries.no_nul(inviter=filters.inviter)
    inviter = None
    if filters.inviter:
        inviter = queries.get_or_404(Customer.objects, NO_CUSTOMER, external_id=filters.inviter)
    qs = referrals.referrals_of(inviter=inviter, status=filters.status)
    rows, next_cursor = queries.page(
        qs, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    return {"items": [referral_out(r) for r in rows], "next_cursor": next_cursor}
