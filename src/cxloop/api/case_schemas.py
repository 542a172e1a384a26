"""Request and response shapes of /api/v1/cases.

Create and update bodies describe their fields for the OpenAPI document and refuse unknown
fields; their values reach ``routers/cases.py``'s checks and ``cases.services`` untouched, so
every bad value is reported by field in the API's one error format.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from ninja import Field, Schema
from pydantic import StrictBool

from cxloop.api.schemas import PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, InputSchema, doc
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.models import Case, CaseEvent, Channel, Severity, Tier
from cxloop.cases.services import MAX_AMOUNT_FEN

MAX_TEXT = 10_000
ChannelName = Literal[tuple(Channel.values)]
SeverityName = Literal[tuple(Severity.values)]
StatusName = Literal[tuple(Case.Status.values)]
ActionName = Literal[
    "reply", "note", "wait", "resume", "resolve", "callback", "close", "reopen", "escalate",
    "assign",
]  # fmt: skip


def _text(max_length: int, description: str = "") -> object:
    return doc("string", description, maxLength=max_length)


SentimentBand = Literal["negative", "neutral", "positive"]
AspectName = Literal[
    "response_speed", "resolution", "attitude", "logistics", "product_quality", "price",
    "process_clarity", "environment", "personalisation",
]  # fmt: skip


class CaseDetailsIn(InputSchema):
    """The fields a case's details are made of; PATCH changes the ones it sends."""

    subject: _text(200, "A few words; default: the start of the description.") = None
    description: _text(MAX_TEXT) = None
    channel: doc("string", enum=list(Channel.values)) = None
    severity: doc("string", "Default general.", enum=list(Severity.values)) = None
    category: doc("string", "Code of an active category (see the console's taxonomy).") = None
    amount_fen: doc(
        "integer", "Amount involved in fen (1/100 yuan); ≥ ¥10,000 is a major complaint.",
        minimum=0, maximum=MAX_AMOUNT_FEN,
    ) = None  # fmt: skip
    media_risk: doc("boolean", "Risk of media exposure (a major complaint).") = None
    contact_name: _text(100) = None
    contact_phone: doc("string", "Chinese mobile number, 11 digits; +86 and dashes removed.") = None
    contact_email: doc("string", format="email") = None
    region: _text(64, "Default: the customer's.") = None
    store: _text(64, "Default: the customer's.") = None
    order_ref: _text(64, "Order number the case is about.") = None


class CaseIn(CaseDetailsIn):
    """A new case. ``channel`` is required, and a customer or some contact detail."""

    channel: doc("string", enum=list(Channel.values))
    customer: doc("string", "External id of a known customer.") = None
    external_ref: _text(
        100, "Your id for the case (ticket number). Sent again with the same channel, the "
        "first case is returned (200) instead of a new one (201)."
    ) = None  # fmt: skip


class CaseUpdateIn(CaseDetailsIn):
    tier: doc("string", "Customer tier for the SLA rules.", enum=list(Tier.values)) = None


class ActionIn(InputSchema):
    """One status action. Each action reads only its own fields; others are refused."""

    action: ActionName = Field(
        description="reply (body), note (body), wait (body?), resume (body?), resolve "
        "(resolution), callback (satisfied, note?), close, reopen (reason), escalate (reason), "
        "assign (owner? department? reason?)."
    )
    body: str | None = Field(None, max_length=MAX_TEXT)
    resolution: str | None = Field(None, max_length=MAX_TEXT)
    reason: str | None = Field(None, max_length=1000)
    note: str | None = Field(None, max_length=300)
    satisfied: StrictBool | None = Field(None, description="callback: is the customer satisfied?")
    owner: str | None = Field(None, max_length=150, description="assign: the owner's username.")
    department: str | None = Field(None, max_length=40, description="assign: department code.")


class CaseFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")
    order: Literal["created_at", "-created_at", "next_due_at"] = Field(
        "created_at", description="next_due_at: nearest deadline first, cases without last."
    )
    status: StatusName | None = None
    department: str | None = Field(None, description="Department code.")
    owner: str | None = Field(None, description='Username, or "none" for unassigned cases.')
    category: str | None = Field(None, description="Category code.")
    severity: SeverityName | None = None
    channel: ChannelName | None = None
    external_ref: str | None = None
    created_after: dt.datetime | None = Field(None, description=">=; no offset: Asia/Shanghai.")
    created_before: dt.datetime | None = Field(None, description="<")
    sentiment: SentimentBand | None = Field(
        None, description="Band of the case's sentiment: below -0.1, -0.1…0.1, above 0.1."
    )
    aspect: AspectName | None = Field(None, description="An aspect the customer's texts name.")


class EventFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")
    public: bool | None = Field(None, description="true: only what the customer sees.")


class TargetOut(Schema):
    kind: str
    cycle: int
    started_at: dt.datetime
    due_at: dt.datetime
    met_at: dt.datetime | None
    breached_at: dt.datetime | None


class CaseOut(Schema):
    number: str
    status: StatusName
    channel: str
    subject: str
    description: str
    category: str | None = Field(description="Category code.")
    severity: str
    tier: str
    amount_fen: int = Field(description="Integer fen: 12850 is ¥128.50.")
    media_risk: bool
    is_major: bool
    customer: str | None = Field(description="The customer's external id.")
    contact_name: str
    contact_phone: str = Field(description="Masked (138****1234) without the view_pii permission.")
    contact_email: str = Field(description="Masked without the view_pii permission.")
    region: str
    store: str
    order_ref: str
    external_ref: str
    department: str | None = Field(description="Department code.")
    owner: str | None = Field(description="The owner's username.")
    escalation_level: int
    reopen_count: int
    resolution: str
    merged_into: str | None = Field(description="Number of the case this one was merged into.")
    repeat_of: str | None = Field(description="Number of the earlier case this one repeats.")
    next_due_at: dt.datetime | None = Field(description="Nearest open SLA deadline.")
    created_at: dt.datetime
    updated_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    callback_at: dt.datetime | None
    closed_at: dt.datetime | None
    sentiment: float | None = Field(
        description="-1…1, the most negative of the description and the customer's messages; "
        "null until the worker has analysed them."
    )
    aspects: list[str] = Field(description="Aspect keys (docs/text-analytics.md) they name.")


class AttachmentOut(Schema):
    id: int
    name: str = Field(description="The file name as uploaded (never used on disk).")
    content_type: str = Field(description="Sniffed from the file's first bytes.")
    size_bytes: int
    sha256: str
    uploaded_via: Literal[tuple(CaseAttachment.Via.values)]
    uploaded_by: str | None = Field(description="The uploader's username; null for the customer.")
    created_at: dt.datetime
    download_url: str = Field(description="GET it with the same token (or console session).")


class AttachmentList(Schema):
    items: list[AttachmentOut]


class CaseDetailOut(CaseOut):
    targets: list[TargetOut] = Field(description="The SLA clocks, oldest first.")
    attachments: list[AttachmentOut] = Field(description="The case's files, oldest first.")
    progress_url: str | None = Field(
        description="The customer's signed link to the progress page (it lets its holder "
        "write as the customer); null for users who may neither add nor work cases."
    )


class CasePage(Schema):
    items: list[CaseOut]
    next_cursor: str | None


class CaseEventOut(Schema):
    id: int
    at: dt.datetime
    kind: Literal[tuple(CaseEvent.Kind.values)]
    actor: str = Field(description='Who: a staff name, "system" or "customer".')
    public: bool = Field(description="Shown on the customer's progress page.")
    from_status: str
    to_status: str
    body: str
    data: dict


class CaseEventPage(Schema):
    items: list[CaseEventOut]
    next_cursor: str | None
