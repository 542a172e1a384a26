"""/api/v1/ideas: submit an idea to the suggestion scheme 服务金点子 (idempotent by
``external_ref``) and list ideas with filters, newest first, keyset-paginated.

Writes go through ``programs.services.submit_idea`` like the public form and the console, so
sentiment and aspects are set at once. A refused field is a 422 with its message; phone
numbers and emails are masked without ``customers.view_pii``.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status

from cxloop.api import queries
from cxloop.api.errors import InvalidInput
from cxloop.api.schemas import (
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    ErrorOut,
    InputSchema,
    ValidationErrorOut,
)
from cxloop.core.pii import can_see_pii, mask_email, mask_phone
from cxloop.core.roles import require
from cxloop.customers.models import Customer
from cxloop.programs import selectors, services
from cxloop.programs.models import Idea

router = Router(tags=["ideas"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 422: ValidationErrorOut}
NO_CUSTOMER = _("No customer with this external id.")
Status_ = Literal["submitted", "shortlisted", "chosen", "adopted", "rejected"]


class IdeaIn(InputSchema):
    title: str = Field(max_length=200, description="The idea in one line.")
    body: str = Field(max_length=2000, description="The idea (at least 5 characters).")
    customer: str | None = Field(None, max_length=64, description="Author's customer external id.")
    store: str = Field("", max_length=64)
    contact_name: str = Field("", max_length=100)
    contact_phone: str = Field("", max_length=32)
    contact_email: str = Field("", max_length=254)
    external_ref: str | None = Field(
        None, max_length=100, description="Your id of the idea: sending it again returns it (200)."
    )


class IdeaOut(Schema):
    id: int
    title: str
    body: str
    status: Status_
    channel: Literal["public", "console", "api"]
    customer: str | None
    author: str | None = Field(description="Username of a staff author.")
    contact_name: str
    contact_phone: str
    contact_email: str
    store: str
    sentiment: float | None = Field(description="-1 very negative … 1 very positive.")
    aspects: list[str]
    week: str | None = Field(description="ISO week it was chosen as the best, e.g. 2026-W49.")
    reward_points: int | None
    external_ref: str | None
    created_at: dt.datetime


class IdeaPage(Schema):
    items: list[IdeaOut]
    next_cursor: str | None


class IdeaFilters(Schema):
    status: Status_ | None = None
    sentiment: Literal["negative", "neutral", "positive"] | None = None
    aspect: str | None = Field(None, max_length=64, description="An aspect key, e.g. attitude.")
    store: str | None = Field(None, max_length=64)
    week: str | None = Field(None, pattern=r"^\d{4}-W\d{2}$", description="e.g. 2026-W49")
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


def idea_out(idea: Idea, *, pii: bool) -> dict:
    return {
        "id": idea.pk,
        "title": idea.title,
        "body": idea.body,
        "status": idea.status,
        "channel": idea.channel,
        "customer": idea.customer.external_id if idea.customer_id else None,
        "author": idea.author_user.get_username() if idea.author_user_id else None,
        "contact_name": idea.contact_name,
        "contact_phone": idea.contact_phone if pii else mask_phone(idea.contact_phone),
        "contact_email": idea.contact_email if pii else mask_email(idea.contact_email),
        "store": idea.store,
        "sentiment": idea.sentiment,
        "aspects": idea.aspects,
        "week": idea.week,
        "reward_points": idea.reward_entry.points if idea.reward_entry_id else None,
        "external_ref": idea.external_ref,
        "created_at": idea.created_at,
    }


@router.post("", response={200: IdeaOut, 201: IdeaOut, **ERRORS}, summary="Submit an idea")
def submit_idea(request: HttpRequest, payload: IdeaIn):
    """201 with the new idea; 200 with the earlier one when ``external_ref`` was sent before."""
    require(request.auth, "programs.add_idea")
    data = payload.model_dump()
    queries.no_nul(**{k: v for k, v in data.items() if isinstance(v, str)})
    customer = None
    if data.pop("customer"):
        customer = Customer.objects.filter(external_id=payload.customer).first()
        if customer is None:
            raise InvalidInput({"customer": [str(NO_CUSTOMER)]})
    try:
        idea, created = services.submit_idea(
            **data, customer=customer, channel=Idea.Channel.API, actor=request.auth
        )
    except services.ProgramError as error:
        raise InvalidInput(error.field_errors or {"": [error.message]}) from None
    idea = Idea.objects.select_related("customer", "author_user", "reward_entry").get(pk=idea.pk)
    return Status(201 if created else 200, idea_out(idea, pii=can_see_pii(request.auth)))


@router.get("", response={200: IdeaPage, **ERRORS}, summary="List ideas")
def list_ideas(request: HttpRequest, filters: Query[IdeaFilters]):
    require(request.auth, "programs.view_idea")
    queries.no_nul(aspect=filters.aspect, store=filters.store)
    wanted = filters.model_dump(exclude={"limit", "cursor"})
    qs = selectors.idea_list(**{k: v for k, v in wanted.items() if v}).select_related(
        "reward_entry"
    )
    rows, next_cursor = queries.page(
        qs, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    pii = can_see_pii(request.auth)
    return {"items": [idea_out(row, pii=pii) for row in rows], "next_cursor": next_cursor}
