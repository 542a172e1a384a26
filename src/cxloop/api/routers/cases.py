"""/api/v1/cases: create (idempotent by external_ref), list, read, update, status actions, the
timeline and the attachments (list, upload, download, remove). (``/cases/metrics`` is its own
router, registered first.)

Every write goes through ``cases.services`` / ``cases.lifecycle``, exactly as the console does,
so events, SLA clocks and notifications cannot be skipped. A case the caller may not see
(``access.visible_cases``: a department handler sees their departments' cases) is a 404.
``CaseError`` becomes a 422 with its messages per field, or a 409 when the case's state does
not allow the move. Phone numbers and emails are masked without ``customers.view_pii``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import File, Query, Router, Status, UploadedFile
from ninja.decorators import decorate_view
from ninja.errors import HttpError

from cxloop.api import queries
from cxloop.api.case_schemas import (
    MAX_TEXT,
    ActionIn,
    AttachmentList,
    AttachmentOut,
    CaseDetailOut,
    CaseEventPage,
    CaseFilters,
    CaseIn,
    CasePage,
    CaseUpdateIn,
    EventFilters,
)
from cxloop.api.errors import InvalidInput
from cxloop.api.schemas import ErrorOut, ValidationErrorOut
from cxloop.cases import attachments, lifecycle, services, tokens
from cxloop.cases.access import visible_cases
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.attachment_views import file_response
from cxloop.cases.models import Case, CaseEvent, Category, Channel, Department, Severity, Tier
from cxloop.cases.queues import text_filtered
from cxloop.cases.services import CaseError
from cxloop.core.pii import can_see_pii, mask_email, mask_phone, mask_phones_in_text
from cxloop.core.roles import require
from cxloop.customers.models import Customer

router = Router(tags=["cases"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}
NOT_FOUND = _("No case with this number.")
TEXT_LIMITS = {
    "subject": 200, "description": MAX_TEXT, "contact_name": 100, "contact_phone": 64,
    "contact_email": 254, "region": 64, "store": 64, "order_ref": 64, "external_ref": 100,
}  # fmt: skip
CHOICES = {"channel": Channel.values, "severity": Severity.values, "tier": Tier.values}
RELATED = ("customer", "category", "department", "owner", "merged_into", "repeat_of")


# --- reading --------------------------------------------------------------------------------


def _case_or_404(user, number: str) -> Case:
    require(user, "cases.view_case")
    if len(number) > 20:
        raise Http404(NOT_FOUND)
    return queries.get_or_404(
        visible_cases(user).select_related(*RELATED), NOT_FOUND, number=number
    )


def _masked_text(text: str, pii: bool) -> str:
    """Mobile numbers typed into free text are masked too, as in the survey answers."""
    return text if pii else mask_phones_in_text(text)


def _number(case: Case | None) -> str | None:
    return case.number if case is not None else None


def case_out(case: Case, *, pii: bool) -> dict:
    return {
        "number": case.number, "status": case.status, "channel": case.channel,
        "subject": _masked_text(case.subject, pii),
        "description": _masked_text(case.description, pii),
        "category": case.category.code if case.category_id else None,
        "severity": case.severity, "tier": case.tier, "amount_fen": case.amount_fen,
        "media_risk": case.media_risk, "is_major": case.is_major,
        "customer": case.customer.external_id if case.customer_id else None,
        "contact_name": case.contact_name,
        "contact_phone": case.contact_phone if pii else mask_phone(case.contact_phone),
        "contact_email": case.contact_email if pii else mask_email(case.contact_email),
        "region": case.region, "store": case.store, "order_ref": case.order_ref,
        "external_ref": case.external_ref,
        "department": case.department.code if case.department_id else None,
        "owner": case.owner.get_username() if case.owner_id else None,
        "escalation_level": case.escalation_level, "reopen_count": case.reopen_count,
        "resolution": _masked_text(case.resolution, pii),
        "merged_into": _number(case.merged_into), "repeat_of": _number(case.repeat_of),
        "next_due_at": case.next_due_at, "created_at": case.created_at,
        "updated_at": case.updated_at, "first_response_at": case.first_response_at,
        "resolved_at": case.resolved_at, "callback_at": case.callback_at,
        "closed_at": case.closed_at, "sentiment": case.sentiment, "aspects": case.aspects or [],
    }  # fmt: skip


def _may_share_link(user) -> bool:
    """The progress link lets its holder write as the customer: only for those who open
    cases or work them (and hand the link on), not for read-only roles."""
    return user.has_perm("cases.add_case") or user.has_perm("cases.work_case")


def case_detail(case: Case, *, pii: bool, link: bool, request: HttpRequest) -> dict:
    targets = case.targets.order_by("started_at", "id")
    files = case.attachments.select_related("uploaded_by")
    return {
        **case_out(case, pii=pii),
        "targets": [
            {
                "kind": t.kind,
                "cycle": t.cycle,
                "started_at": t.started_at,
                "due_at": t.due_at,
                "met_at": t.met_at,
                "breached_at": t.breached_at,
            }
            for t in targets
        ],  # fmt: skip
        "progress_url": tokens.progress_url(case) if link else None,
        "attachments": [attachment_out(row, case, request, pii=pii) for row in files],
    }


def attachment_out(row: CaseAttachment, case: Case, request: HttpRequest, *, pii: bool) -> dict:
    path = reverse("api_v1:case_attachment_file", args=[case.number, row.pk])
    return {
        "id": row.pk, "name": _masked_text(row.original_name, pii),
        "content_type": row.content_type, "size_bytes": row.size_bytes, "sha256": row.sha256,
        "uploaded_via": row.uploaded_via, "created_at": row.created_at,
        "uploaded_by": row.uploaded_by.get_username() if row.uploaded_by_id else None,
        "download_url": request.build_absolute_uri(path),
    }  # fmt: skip


def _detail_of(request: HttpRequest, case: Case) -> dict:
    fresh = Case.objects.select_related(*RELATED).get(pk=case.pk)
    user = request.auth
    return case_detail(fresh, pii=can_see_pii(user), link=_may_share_link(user), request=request)


def _masked_data(value: Any) -> Any:
    """Phones and emails inside an event's data (the before/after of a details change)."""
    if isinstance(value, dict):
        masked = {}
        for key, item in value.items():
            if key in ("contact_phone", "phone") and isinstance(item, str):
                masked[key] = mask_phone(item)
            elif key in ("contact_email", "email") and isinstance(item, str):
                masked[key] = mask_email(item)
            else:
                masked[key] = _masked_data(item)
        return masked
    if isinstance(value, list):
        return [_masked_data(item) for item in value]
    return _masked_text(value, False) if isinstance(value, str) else value


def event_out(event: CaseEvent, *, pii: bool) -> dict:
    from_customer = event.kind == CaseEvent.Kind.CUSTOMER_MESSAGE or (
        event.actor_id is None and (event.data or {}).get("via") == CaseAttachment.Via.PUBLIC
    )  # a message from the progress page, a file sent with the feedback form
    actor = "customer" if from_customer else event.actor_label
    return {
        "id": event.pk, "at": event.at, "kind": event.kind, "actor": actor or "system",
        "public": event.public, "from_status": event.from_status, "to_status": event.to_status,
        "body": _masked_text(event.body, pii),
        "data": event.data if pii else _masked_data(event.data or {}),
    }  # fmt: skip


# --- the list: filters and a keyset page in the chosen order ---------------------------------

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ORDERINGS = {
    "created_at": ("created_at", False),
    "-created_at": ("created_at", True),
    "next_due_at": ("next_due_at", False),
}


def _filtered(qs: QuerySet, filters: CaseFilters) -> QuerySet:
    queries.no_nul(
        department=filters.department, owner=filters.owner, category=filters.category,
        external_ref=filters.external_ref,
    )  # fmt: skip
    exact = {
        "status": filters.status, "severity": filters.severity, "channel": filters.channel,
        "department__code": filters.department, "category__code": filters.category,
        "external_ref": filters.external_ref,
    }  # fmt: skip
    qs = qs.filter(**{name: value for name, value in exact.items() if value is not None})
    if filters.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif filters.owner:
        qs = qs.filter(owner__username=filters.owner)
    if filters.created_after:
        qs = qs.filter(created_at__gte=queries.utc(filters.created_after, "created_after"))
    if filters.created_before:
        qs = qs.filter(created_at__lt=queries.utc(filters.created_before, "created_before"))
    return text_filtered(qs, sentiment=filters.sentiment or "", aspect=filters.aspect or "")


def _encode(moment: dt.datetime | None, pk: int) -> str:
    if moment is None:
        return f"n.{pk}"
    delta = moment - EPOCH
    return f"{(delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds}.{pk}"


def _decode(cursor: str) -> tuple[dt.datetime | None, int]:
    bad = InvalidInput({"cursor": [_("Not a cursor from a previous page.")]})
    value, _dot, pk = cursor.partition(".")
    if not (pk.isdigit() and len(pk) <= 18 and (value == "n" or value.isdigit())):
        raise bad
    if value == "n":
        return None, int(pk)
    if len(value) > 17:
        raise bad
    try:
        return EPOCH + dt.timedelta(microseconds=int(value)), int(pk)
    except OverflowError:
        raise bad from None


def _after(field: str, descending: bool, moment: dt.datetime | None, pk: int) -> Q:
    if moment is None:  # only next_due_at has NULLs, and they come last
        return Q(**{f"{field}__isnull": True, "pk__gt": pk})
    beyond, ties = ("lt", "lt") if descending else ("gt", "gt")
    after = Q(**{f"{field}__{beyond}": moment}) | Q(**{field: moment, f"pk__{ties}": pk})
    return after | Q(**{f"{field}__isnull": True}) if field == "next_due_at" else after


def _page(qs: QuerySet, filters: CaseFilters) -> tuple[list[Case], str | None]:
    field, descending = ORDERINGS[filters.order]
    if filters.cursor:
        qs = qs.filter(_after(field, descending, *_decode(filters.cursor)))
    if descending:
        qs = qs.order_by(F(field).desc(), "-pk")
    else:
        qs = qs.order_by(F(field).asc(nulls_last=True), "pk")
    rows = list(qs[: filters.limit + 1])
    if len(rows) <= filters.limit:
        return rows, None
    last = rows[filters.limit - 1]
    return rows[: filters.limit], _encode(getattr(last, field), last.pk)


@router.get("", response={200: CasePage, **ERRORS}, summary="List cases")
def list_cases(request: HttpRequest, filters: Query[CaseFilters]):
    require(request.auth, "cases.view_case")
    qs = _filtered(visible_cases(request.auth).select_related(*RELATED), filters)
    rows, next_cursor = _page(qs, filters)
    pii = can_see_pii(request.auth)
    return {"items": [case_out(case, pii=pii) for case in rows], "next_cursor": next_cursor}


@router.get("/{number}", response={200: CaseDetailOut, **ERRORS}, summary="Read a case")
def get_case(request: HttpRequest, number: str):
    case = _case_or_404(request.auth, number)
    user = request.auth
    return case_detail(case, pii=can_see_pii(user), link=_may_share_link(user), request=request)


@router.get(
    "/{number}/events", response={200: CaseEventPage, **ERRORS}, summary="A case's timeline"
)
def case_events(request: HttpRequest, number: str, filters: Query[EventFilters]):
    case = _case_or_404(request.auth, number)
    qs = case.events.all()
    if filters.public is not None:
        qs = qs.filter(public=filters.public)
    rows, next_cursor = queries.page(qs, cursor=filters.cursor, limit=filters.limit)
    pii = can_see_pii(request.auth)
    return {"items": [event_out(e, pii=pii) for e in rows], "next_cursor": next_cursor}


# --- writing ----------------------------------------------------------------------------------


def _run(function, **kwargs):
    """Call a case service; its ``CaseError`` becomes the API's 422 (per field) or 409."""
    try:
        return function(**kwargs)
    except CaseError as error:
        if error.field_errors:
            raise InvalidInput(error.field_errors, detail=error.message) from None
        raise HttpError(409, error.message) from None


def _text_error(name: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return _("Must be a string.")
    if "\x00" in value:
        return _("Contains a NUL character.")
    if len(value) > TEXT_LIMITS[name]:
        return _("At most %(n)s characters.") % {"n": TEXT_LIMITS[name]}
    return None


def _clean_one(name: str, value: Any) -> tuple[Any, str | None]:
    """One field of a create/update body: (value for the service, error or None)."""
    if name in TEXT_LIMITS:
        value = "" if value is None else value
        return value, _text_error(name, value)
    if name in CHOICES:
        ok = isinstance(value, str) and value in CHOICES[name]
        return value, None if ok else _("Choose one of: %s.") % ", ".join(CHOICES[name])
    if name == "media_risk":
        return value, None if isinstance(value, bool) else _("Must be true or false.")
    if name == "category":
        return _related(Category.objects.filter(is_active=True), "code", value,
                        _("No active category with this code."))  # fmt: skip
    if name == "customer":
        return _related(Customer.objects, "external_id", value, _("No customer with this id."))
    return value, None  # amount_fen: the service checks it (whole fen, 0 or more, bounded)


def _related(qs: QuerySet, field: str, value: Any, missing) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    if not isinstance(value, str) or "\x00" in value or len(value) > 100:
        return None, str(missing)
    found = qs.filter(**{field: value}).first()
    return found, None if found is not None else str(missing)


def _clean(data: dict) -> dict:
    fields, errors = {}, {}
    for name, value in data.items():
        fields[name], error = _clean_one(name, value)
        if error:
            errors[name] = [str(error)]
    if errors:
        raise InvalidInput(errors)
    return fields


def _lock_reference(channel: str, ref: str) -> None:
    """Two requests with the same reference at once: the second waits, then finds the first."""
    if connection.vendor != "postgresql":
        return  # SQLite has one writer at a time
    digest = hashlib.sha256(f"cxloop.case:{channel}:{ref}".encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )


@router.post("", response={200: CaseDetailOut, 201: CaseDetailOut, **ERRORS}, summary="Open a case")
def create_case(request: HttpRequest, payload: CaseIn):
    """201 with the new case; 200 with the first one when ``external_ref`` was sent before."""
    require(request.auth, "cases.add_case")
    fields = {"subject": "", **_clean(payload.model_dump(exclude_unset=True))}
    ref = fields.get("external_ref", "")
    with transaction.atomic():
        if ref:
            _lock_reference(fields["channel"], ref)
            first = Case.objects.filter(channel=fields["channel"], external_ref=ref)
            first = first.order_by("pk").first()
            if first is not None:
                if not visible_cases(request.auth).filter(pk=first.pk).exists():
                    raise HttpError(409, str(_("This external_ref is used by another case.")))
                return Status(200, _detail_of(request, first))
        case = _run(services.create_case, actor=request.auth, **fields)
    return Status(201, _detail_of(request, case))


@router.patch("/{number}", response={200: CaseDetailOut, **ERRORS}, summary="Change details")
def update_case(request: HttpRequest, number: str, payload: CaseUpdateIn):
    """Deadlines are recomputed when severity, tier, channel or category change."""
    case = _case_or_404(request.auth, number)
    require(request.auth, "cases.change_case")
    fields = _clean(payload.model_dump(exclude_unset=True))
    _run(services.update_case, case=case, actor=request.auth, **fields)
    return _detail_of(request, case)


# --- status actions ---------------------------------------------------------------------------

ACTION_FIELDS = {
    "reply": {"body"}, "note": {"body"}, "wait": {"body"}, "resume": {"body"},
    "resolve": {"resolution"}, "callback": {"satisfied", "note"}, "close": set(),
    "reopen": {"reason"}, "escalate": {"reason"}, "assign": {"owner", "department", "reason"},
}  # fmt: skip


def _assignment(data: dict) -> dict:
    errors, found = {}, {"owner": None, "department": None}
    if data.get("owner"):
        users = get_user_model().objects.filter(is_active=True)
        found["owner"] = users.filter(username=data["owner"]).first()
        if found["owner"] is None:
            errors["owner"] = [str(_("No active user with this username."))]
    if data.get("department"):
        departments = Department.objects.filter(is_active=True)
        found["department"] = departments.filter(code=data["department"]).first()
        if found["department"] is None:
            errors["department"] = [str(_("No active department with this code."))]
    if not (data.get("owner") or data.get("department")):
        errors["owner"] = [str(_("Give an owner, a department or both."))]
    if errors:
        raise InvalidInput(errors)
    return found


def _act(case: Case, actor, action: str, data: dict) -> None:
    text = data.get("body") or ""
    calls = {
        "reply": lambda: lifecycle.reply(case=case, actor=actor, body=data.get("body")),
        "note": lambda: lifecycle.add_note(case=case, actor=actor, body=data.get("body")),
        "wait": lambda: lifecycle.wait_on_customer(case=case, actor=actor, body=text),
        "resume": lambda: lifecycle.resume(case=case, actor=actor, body=text),
        "resolve": lambda: lifecycle.resolve(
            case=case, actor=actor, resolution=data.get("resolution")
        ),
        "callback": lambda: lifecycle.record_callback(
            case=case, actor=actor, satisfied=data["satisfied"], note=data.get("note") or ""
        ),
        "close": lambda: lifecycle.close(case=case, actor=actor),
        "reopen": lambda: lifecycle.reopen(case=case, actor=actor, reason=data["reason"]),
        "escalate": lambda: services.escalate_case(
            case=case, actor=actor, reason=data.get("reason")
        ),
        "assign": lambda: services.assign_case(
            case=case, actor=actor, reason=data.get("reason") or "", **_assignment(data)
        ),
    }
    _run(calls[action])


def _check_action(payload: ActionIn) -> dict:
    data = payload.model_dump(exclude_unset=True, exclude={"action"})
    allowed = ACTION_FIELDS[payload.action]
    message = _("Not used by the action %(action)s.") % {"action": payload.action}
    errors = {name: [str(message)] for name in data if name not in allowed}
    for name, value in data.items():
        if isinstance(value, str) and "\x00" in value:
            errors.setdefault(name, []).append(str(_("Contains a NUL character.")))
    if payload.action == "callback" and data.get("satisfied") is None:
        errors["satisfied"] = [str(_("Say whether the customer is satisfied (true or false)."))]
    if payload.action == "reopen" and not (data.get("reason") or "").strip():
        errors["reason"] = [str(_("Say why the case is reopened."))]
    if errors:
        raise InvalidInput(errors)
    return data


@router.post(
    "/{number}/actions",
    response={200: CaseDetailOut, **ERRORS},
    summary="Move a case: reply, note, wait, resume, resolve, callback, close, reopen, …",
)
def case_action(request: HttpRequest, number: str, payload: ActionIn):
    case = _case_or_404(request.auth, number)
    data = _check_action(payload)
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        _act(case, request.auth, payload.action, data)
    return _detail_of(request, case)


# --- attachments ------------------------------------------------------------------------------

FILE_NOT_FOUND = _("No attachment with this id on this case.")
FILE_RESPONSE = {
    "200": {
        "description": "The file, with its sniffed content type.",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _attachment_or_404(case: Case, attachment_id: int) -> CaseAttachment:
    if not 0 < attachment_id < 2**63:
        raise Http404(FILE_NOT_FOUND)
    return queries.get_or_404(case.attachments.select_related("uploaded_by"), FILE_NOT_FOUND,
                              pk=attachment_id)  # fmt: skip


def _capped(run):
    """``CapUploadSize`` first, before ninja reads the multipart body (see cases.attachments)."""

    @functools.wraps(run)
    def wrapper(request, *args, **kwargs):
        request.upload_handlers.insert(0, attachments.CapUploadSize(request))
        return run(request, *args, **kwargs)

    return wrapper


@router.get(
    "/{number}/attachments", response={200: AttachmentList, **ERRORS}, summary="List attachments"
)
def list_attachments(request: HttpRequest, number: str):
    case = _case_or_404(request.auth, number)
    pii = can_see_pii(request.auth)
    rows = case.attachments.select_related("uploaded_by")
    return {"items": [attachment_out(row, case, request, pii=pii) for row in rows]}


@router.post(
    "/{number}/attachments",
    response={201: AttachmentOut, 413: ErrorOut, **ERRORS},
    summary="Attach a file (multipart, field file)",
)
@decorate_view(_capped)
def add_attachment(request: HttpRequest, number: str, file: File[UploadedFile]):
    """JPEG, PNG, GIF, WebP, HEIC, PDF or plain text, told by the file's first bytes; at most
    ``CXLOOP_ATTACHMENT_MAX_MB`` (10) MB and ``CXLOOP_ATTACHMENT_MAX_PER_CASE`` (10) files per
    case. A refused file is a 422 with the message under ``file``; a full case (or a merged
    one) is a 409."""
    case = _case_or_404(request.auth, number)
    require(request.auth, "cases.work_case")
    try:
        row = attachments.add_attachment(
            case=case, uploaded_file=file, actor=request.auth, via=CaseAttachment.Via.API
        )
    except ValidationError as error:
        if error.code in ("too_many", "merged"):
            raise HttpError(409, " ".join(error.messages)) from None
        raise InvalidInput({"file": error.messages}) from None
    return Status(201, attachment_out(row, case, request, pii=can_see_pii(request.auth)))


@router.get(
    "/{number}/attachments/{attachment_id}/file",
    response=ERRORS,
    url_name="case_attachment_file",
    summary="Download an attachment",
    openapi_extra={"responses": FILE_RESPONSE},
)
def download_attachment(request: HttpRequest, number: str, attachment_id: int):
    case = _case_or_404(request.auth, number)
    return file_response(_attachment_or_404(case, attachment_id), cache="private, no-store")


@router.delete(
    "/{number}/attachments/{attachment_id}",
    response={204: None, **ERRORS},
    summary="Remove an attachment (and its file)",
)
def delete_attachment(request: HttpRequest, number: str, attachment_id: int):
    case = _case_or_404(request.auth, number)
    require(request.auth, "cases.work_case")
    row = _attachment_or_404(case, attachment_id)
    attachments.remove_attachment(attachment=row, actor=request.auth)
    return Status(204, None)
