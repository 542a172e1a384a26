"""/api/v1/alerts: the anomaly alerts of the daily KPI scan, their rules and the caller's
subscriptions (docs/alerts.md, "API").

Reads and writes go through ``alerts.selectors`` and ``alerts.services`` like the console, with
the console's permissions: ``alerts.view_alert`` to read alerts and manage one's own
subscriptions, ``alerts.acknowledge_alert`` to acknowledge, ``alerts.view_alertrule`` /
``alerts.change_alertrule`` for the rules. Alerts hold no personal data. The list is newest day
first, keyset-paginated on (day, id).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from cxloop.alerts import selectors, services
from cxloop.alerts.models import Alert, AlertRule, Subscription
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

router = Router(tags=["alerts"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}
NO_ALERT = _("No alert with this id.")
NO_RULE = _("No alert rule with this id.")
NO_SUBSCRIPTION = _("No subscription of yours with this id.")
BAD_CURSOR = _("Not a cursor from a previous page.")
MAX_ID = 2**63 - 1

# The model's choices, spelled out for the OpenAPI document (a test keeps them in step).
MetricName = Literal["complaint_rate", "csat", "nps", "first_response_minutes"]
DimensionName = Literal["region", "store", "channel"]
StatusName = Literal["open", "acknowledged", "recovered"]
DirectionName = Literal["worse", "both"]
ChannelName = Literal["email", "webhook"]
AnyMetric = Literal["", "complaint_rate", "csat", "nps", "first_response_minutes"]  # "": all
AnyDimension = Literal["", "region", "store", "channel"]


# --- shapes ------------------------------------------------------------------------------------


class AlertOut(Schema):
    id: int
    metric: MetricName
    dimension: DimensionName
    place: str = Field(description="The store, region or channel whose series jumped.")
    day: dt.date = Field(description="The local day the alert opened on.")
    value: float = Field(description="The day's value, in the unit shown (per 1,000 orders, %, …).")
    expected: float = Field(description="The baseline the chart expected that day.")
    jump: float = Field(description="value − expected.")
    relative_jump: float | None = Field(description="jump ÷ expected; null when expected is 0.")
    z: float = Field(description="The EWMA chart statistic in standard deviations (signed).")
    p_value: float
    direction: Literal["up", "down"]
    sample: int = Field(description="Orders, answers or responded cases behind the day's value.")
    status: StatusName
    opened_at: dt.datetime
    recovered_day: dt.date | None
    recovered_at: dt.datetime | None
    acknowledged_by: str | None = Field(description="Username of who acknowledged it.")
    acknowledged_at: dt.datetime | None
    acknowledge_note: str
    url: str = Field(description="The alert's page in the console, with its evidence.")


class AlertPage(Schema):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at end.")


class EvidencePoint(Schema):
    day: dt.date
    value: float | None = Field(description="Null on a day without data.")
    expected: float | None = Field(description="Null on a day the chart did not judge.")
    lower: float | None
    upper: float | None


class EvidenceLink(Schema):
    label: str
    url: str


class AlertDetailOut(AlertOut):
    evidence: list[EvidencePoint] = Field(
        description="The place's daily series around the alert day, with the expected value and "
        "its band (expected ± limit × SD): the data the console's chart shows."
    )
    links: list[EvidenceLink] = Field(description="Console pages with the raw evidence.")
    cases: list[str] = Field(
        description="Numbers of the day's cases behind a complaint-rate or response-time alert "
        "that the caller may see (at most 50)."
    )


class AlertFilters(Schema):
    metric: MetricName | None = None
    status: StatusName | None = None
    dimension: DimensionName | None = None
    place: str | None = Field(None, max_length=64, description="Exact store, region or channel.")
    since: dt.date | None = Field(None, description="Alerts opened on this day or later.")
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


class AcknowledgeIn(InputSchema):
    note: str = Field("", max_length=2000, description="What is being done about it.")


class RuleOut(Schema):
    id: int
    metric: MetricName
    dimension: DimensionName
    min_sample: int
    lam: float
    limit: float
    direction: DirectionName
    active: bool
    last_scanned_day: dt.date | None
    updated_at: dt.datetime


class RuleIn(InputSchema):
    """The thresholds to change; fields left out keep their value."""

    min_sample: int = Field(None, ge=1, le=1_000_000, description="Minimum sample per day.")
    lam: float = Field(None, gt=0, le=1, description="EWMA weight λ: more than 0, at most 1.")
    limit: float = Field(None, ge=0.5, le=10, description="Control limit in SDs: 0.5 to 10.")
    direction: DirectionName = Field(None, description="worse: only bad news; both: any jump.")
    active: bool = Field(None)


class SubscriptionOut(Schema):
    id: int
    metric: AnyMetric = Field(description="Blank: every metric.")
    dimension: AnyDimension = Field(description="Blank: every dimension.")
    place: str = Field(description="Blank: every place.")
    channel: ChannelName
    created_at: dt.datetime


class SubscriptionIn(InputSchema):
    metric: AnyMetric = Field("", description="Blank: every metric.")
    dimension: AnyDimension = Field("", description="Blank: every dimension.")
    place: str = Field("", max_length=64, description="Blank: every place.")
    channel: ChannelName = "email"


# --- helpers -----------------------------------------------------------------------------------


def alert_out(alert: Alert, request: HttpRequest) -> dict:
    return {
        "id": alert.pk, "metric": alert.metric, "dimension": alert.dimension,
        "place": alert.place, "day": alert.day, "value": alert.value,
        "expected": alert.expected, "jump": alert.jump_abs, "relative_jump": alert.jump_rel,
        "z": alert.z, "p_value": alert.p_value, "direction": alert.direction,
        "sample": alert.sample, "status": alert.status, "opened_at": alert.opened_at,
        "recovered_day": alert.recovered_day, "recovered_at": alert.recovered_at,
        "acknowledged_by": (
            alert.acknowledged_by.get_username() if alert.acknowledged_by_id else None
        ),
        "acknowledged_at": alert.acknowledged_at, "acknowledge_note": alert.acknowledge_note,
        "url": request.build_absolute_uri(reverse("alerts:detail", args=[alert.pk])),
    }  # fmt: skip


def _number(value) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def evidence_out(alert: Alert) -> list[dict]:
    found = selectors.evidence_for(alert)
    if found is None:
        return []
    rows = zip(found.days, found.values, found.expected, found.lower, found.upper, strict=True)
    return [
        {"day": day, "value": _number(value), "expected": _number(expected),
         "lower": _number(lower), "upper": _number(upper)}
        for day, value, expected, lower, upper in rows
    ]  # fmt: skip


def _by_id(qs, pk: int, message):
    if not 0 < pk <= MAX_ID:
        raise Http404(message)
    return queries.get_or_404(qs, message, pk=pk)


def _decode(cursor: str) -> tuple[dt.date, int]:
    """A cursor is "<day as ordinal>.<id>" of the last alert of the previous page."""
    day, _dot, pk = cursor.partition(".")
    if not (day.isdigit() and pk.isdigit() and len(day) <= 7 and len(pk) <= 18):
        raise InvalidInput({"cursor": [BAD_CURSOR]})
    try:
        return dt.date.fromordinal(int(day)), int(pk)
    except ValueError:
        raise InvalidInput({"cursor": [BAD_CURSOR]}) from None


def _page(qs, filters: AlertFilters) -> tuple[list[Alert], str | None]:
    if filters.cursor:
        day, pk = _decode(filters.cursor)
        qs = qs.filter(Q(day__lt=day) | Q(day=day, pk__lt=pk))
    rows = list(qs.order_by("-day", "-pk")[: filters.limit + 1])
    if len(rows) <= filters.limit:
        return rows, None
    last = rows[filters.limit - 1]
    return rows[: filters.limit], f"{last.day.toordinal()}.{last.pk}"


# --- alerts ------------------------------------------------------------------------------------


@router.get("", response={200: AlertPage, **ERRORS}, summary="List alerts, newest first")
def list_alerts(request: HttpRequest, filters: Query[AlertFilters]):
    require(request.auth, "alerts.view_alert")
    queries.no_nul(place=filters.place)
    exact = {"metric": filters.metric, "status": filters.status,
             "dimension": filters.dimension, "place": filters.place}  # fmt: skip
    qs = Alert.objects.select_related("acknowledged_by").filter(
        **{name: value for name, value in exact.items() if value is not None}
    )
    if filters.since:
        qs = qs.filter(day__gte=filters.since)
    rows, next_cursor = _page(qs, filters)
    return {"items": [alert_out(row, request) for row in rows], "next_cursor": next_cursor}


@router.get("/rules", response={200: list[RuleOut], **ERRORS}, summary="The alert rules")
def list_rules(request: HttpRequest):
    require(request.auth, "alerts.view_alertrule")
    return list(AlertRule.objects.all())


@router.patch("/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Change a rule")
def change_rule(request: HttpRequest, rule_id: int, payload: RuleIn):
    """Thresholds of one (metric, dimension) rule; the change is audited."""
    require(request.auth, "alerts.change_alertrule")
    rule = _by_id(AlertRule.objects.all(), rule_id, NO_RULE)
    changes = payload.model_dump(exclude_unset=True)  # pydantic refused nulls and ranges
    if not changes:
        return rule  # nothing to change: no audit row
    try:
        return services.update_rule(rule=rule, actor=request.auth, changes=changes)
    except ValidationError as error:
        raise InvalidInput(error.message_dict) from None


@router.get(
    "/subscriptions", response={200: list[SubscriptionOut], **ERRORS},
    summary="Your alert subscriptions",
)  # fmt: skip
def list_subscriptions(request: HttpRequest):
    require(request.auth, "alerts.view_alert")
    return list(Subscription.objects.filter(user=request.auth, active=True))


@router.post(
    "/subscriptions", response={200: SubscriptionOut, 201: SubscriptionOut, **ERRORS},
    summary="Subscribe to new alerts",
)  # fmt: skip
def add_subscription(request: HttpRequest, payload: SubscriptionIn):
    """201 with the new subscription; 200 when you already had this one."""
    require(request.auth, "alerts.view_alert")
    queries.no_nul(place=payload.place)
    data = {**payload.model_dump(), "place": payload.place.strip()}
    had = Subscription.objects.filter(user=request.auth, active=True, **data).exists()
    subscription = services.subscribe(user=request.auth, **data)
    return Status(200 if had else 201, subscription)


@router.delete(
    "/subscriptions/{subscription_id}", response={204: None, **ERRORS},
    summary="Remove one of your subscriptions",
)  # fmt: skip
def remove_subscription(request: HttpRequest, subscription_id: int):
    require(request.auth, "alerts.view_alert")
    mine = Subscription.objects.filter(user=request.auth)
    subscription = _by_id(mine, subscription_id, NO_SUBSCRIPTION)
    services.unsubscribe(subscription=subscription, actor=request.auth)
    return Status(204, None)


@router.get("/{alert_id}", response={200: AlertDetailOut, **ERRORS}, summary="Read an alert")
def get_alert(request: HttpRequest, alert_id: int):
    """The alert with its evidence: the series the console charts, links and cases."""
    require(request.auth, "alerts.view_alert")
    alert = _by_id(Alert.objects.select_related("rule", "acknowledged_by"), alert_id, NO_ALERT)
    links = [{"label": str(label), "url": request.build_absolute_uri(url)}
             for label, url in selectors.evidence_links(alert)]  # fmt: skip
    cases = [case.number for case in selectors.evidence_cases(alert, request.auth)]
    return {**alert_out(alert, request), "evidence": evidence_out(alert), "links": links,
            "cases": cases}  # fmt: skip


@router.post(
    "/{alert_id}/acknowledge", response={200: AlertOut, **ERRORS}, summary="Acknowledge an alert"
)
def acknowledge(request: HttpRequest, alert_id: int, payload: AcknowledgeIn):
    """Seen and being handled: the alert stays active (no second alert) until it recovers.
    409 when it is not open (already acknowledged or recovered)."""
    require(request.auth, "alerts.acknowledge_alert")
    alert = _by_id(Alert.objects.all(), alert_id, NO_ALERT)
    queries.no_nul(note=payload.note)
    try:
        alert = services.acknowledge_alert(alert=alert, actor=request.auth, note=payload.note)
    except services.AlertError:
        raise HttpError(409, str(_("Only an open alert can be acknowledged."))) from None
    return alert_out(Alert.objects.select_related("acknowledged_by").get(pk=alert.pk), request)
