"""/api/v1/surveys: list, read, definition import and export, invitations, responses."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Body, Field, Query, Router, Schema, Status
from pydantic import WithJsonSchema

from cxloop.api import queries
from cxloop.api.cluster_schemas import ClusterReportOut, report_out
from cxloop.api.errors import InvalidInput, PayloadTooLarge
from cxloop.api.schemas import (
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    ErrorOut,
    InputSchema,
    ValidationErrorOut,
)
from cxloop.core.pii import can_see_pii, mask_phones_in_text
from cxloop.core.roles import require
from cxloop.customers.models import Customer
from cxloop.surveys import analysis, clusters, exporting, interchange, invitations, services
from cxloop.surveys.definition import DefinitionError
from cxloop.surveys.models import Invitation, Response, Survey

router = Router(tags=["surveys"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
NOT_FOUND = _("No survey with this key.")
NO_VERSION = _("This survey has no version with this number.")
VERSION_MAX = 2**31 - 1  # PostgreSQL integer: a larger number is simply unknown


class SurveyOut(Schema):
    key: str
    title: str
    status: str
    version: int | None = Field(description="Number of the published version answered now.")
    created_at: dt.datetime
    updated_at: dt.datetime


class SurveyDetailOut(SurveyOut):
    definition: dict[str, Any] = Field(description="The published definition, else the draft.")


class SurveyPage(Schema):
    items: list[SurveyOut]
    next_cursor: str | None


class PageFilters(Schema):
    limit: int = Field(PAGE_SIZE_DEFAULT, ge=1, le=PAGE_SIZE_MAX)
    cursor: str | None = Field(None, description="next_cursor of the previous page.")


def _survey_or_404(key: str) -> Survey:
    return queries.get_or_404(Survey.objects.select_related("current_version"), NOT_FOUND, key=key)


def _survey_out(survey: Survey) -> dict:
    version = survey.current_version
    return {
        "key": survey.key,
        "title": survey.title,
        "status": survey.status,
        "version": version.number if version else None,
        "created_at": survey.created_at,
        "updated_at": survey.updated_at,
    }


def _definition(survey: Survey) -> dict:
    return survey.current_version.definition if survey.current_version else survey.draft


@router.get("", response={200: SurveyPage, **ERRORS}, summary="List surveys")
def list_surveys(request: HttpRequest, filters: Query[PageFilters]):
    require(request.auth, "surveys.view_survey")
    qs = Survey.objects.select_related("current_version")
    rows, next_cursor = queries.page(qs, cursor=filters.cursor, limit=filters.limit)
    return {"items": [_survey_out(s) for s in rows], "next_cursor": next_cursor}


# --- import (declared before /{key} so that "import" is never read as a survey key) ---------

DefinitionBody = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "description": "A survey definition in the cxloop.survey/1 format "
            "(docs/survey-format.md) or SurveyJS JSON.",
        }
    ),
]


class ImportFilters(Schema):
    key: str | None = Field(
        None, description="Key of the new survey; default: from the title.", max_length=64
    )


class SurveyImportOut(SurveyOut):
    warnings: list[str] = Field(description="What could not be converted (SurveyJS) and why.")


@router.post(
    "/import",
    response={201: SurveyImportOut, 413: ErrorOut, **ERRORS},
    summary="Create a draft survey from a definition (ours or SurveyJS JSON)",
)
def import_survey(request: HttpRequest, data: Body[DefinitionBody], filters: Query[ImportFilters]):
    require(request.auth, "surveys.add_survey")
    _check_import_body(request.body)
    try:
        survey = services.import_survey(data=data, key=filters.key, actor=request.auth)
    except DefinitionError as error:
        errors = {path or "body": messages for path, messages in error.errors.items()}
        raise InvalidInput(errors, detail=_("The survey definition is invalid.")) from None
    return Status(201, {**_survey_out(survey), "warnings": survey.import_warnings})


def _check_import_body(body: bytes) -> None:
    if len(body) > interchange.MAX_IMPORT_BYTES:
        limit = interchange.MAX_IMPORT_BYTES // 1_000_000
        raise PayloadTooLarge(_("A survey definition may be at most %(mb)d MB.") % {"mb": limit})
    if b"\\u0000" in body:  # PostgreSQL's jsonb cannot store U+0000
        raise InvalidInput({"body": [_("Contains a NUL character.")]})


# --- one survey ----------------------------------------------------------------------------


class ExportVersion(Schema):
    version: int | None = Field(
        None, ge=1, le=VERSION_MAX, description="A published version; default: the draft."
    )


@router.get("/{key}", response={200: SurveyDetailOut, **ERRORS}, summary="Read a survey")
def get_survey(request: HttpRequest, key: str):
    require(request.auth, "surveys.view_survey")
    survey = _survey_or_404(key)
    return {**_survey_out(survey), "definition": _definition(survey)}


@router.get(
    "/{key}/export",
    response={200: dict[str, Any], **ERRORS},
    summary="The draft (or a published version) as JSON (docs/survey-format.md)",
)
def export_survey(request: HttpRequest, key: str, filters: Query[ExportVersion]):
    require(request.auth, "surveys.view_survey")
    survey = _survey_or_404(key)
    if filters.version is None:
        return interchange.export_definition(survey.draft)
    version = queries.get_or_404(survey.versions.all(), NO_VERSION, number=filters.version)
    return interchange.export_definition(version)


# --- invitations ---------------------------------------------------------------------------


class InvitationIn(InputSchema):
    customer: str = Field(description="The customer's external id.", max_length=64)
    channel: Literal["email", "sms", "wechat", "link"] = "sms"
    send_at: dt.datetime | None = Field(None, description="Default: now.")
    expires_in_hours: int = Field(168, ge=1, le=24 * 90)


class InvitationOut(Schema):
    id: int
    customer: str | None
    channel: str
    status: str
    suppressed_reason: str = Field(description="Why it was not sent (a code), else empty.")
    scheduled_for: dt.datetime
    sent_at: dt.datetime | None
    answered_at: dt.datetime | None
    expires_at: dt.datetime | None


class InvitationCreatedOut(InvitationOut):
    link: str | None = Field(
        description="The customer's personal signed answer link (pass it on yourself for the "
        "link channel); null when suppressed."
    )


class InvitationPage(Schema):
    items: list[InvitationOut]
    next_cursor: str | None


def _invitation_out(invitation: Invitation) -> dict:
    customer = invitation.customer
    return {
        "id": invitation.pk,
        "customer": customer.external_id if customer else None,
        "channel": invitation.channel,
        "status": invitation.status,
        "suppressed_reason": invitation.suppressed_reason,
        "scheduled_for": invitation.scheduled_for,
        "sent_at": invitation.sent_at,
        "answered_at": invitation.answered_at,
        "expires_at": invitation.expires_at,
    }


@router.post(
    "/{key}/invitations",
    response={201: InvitationCreatedOut, **ERRORS},
    summary="Invite a customer (or record why not)",
)
def create_invitation(request: HttpRequest, key: str, payload: InvitationIn):
    require(request.auth, "surveys.add_invitation")
    survey = _survey_or_404(key)
    customer = Customer.objects.filter(external_id=payload.customer.replace("\x00", "")).first()
    if customer is None:
        raise InvalidInput({"customer": [_("No customer with this external id.")]})
    invitation = invitations.invite(
        survey=survey,
        customer=customer,
        channel=payload.channel,
        actor=request.auth,
        send_at=queries.utc(payload.send_at, "send_at"),
        expires_in=dt.timedelta(hours=payload.expires_in_hours),
    )
    suppressed = invitation.status == Invitation.Status.SUPPRESSED
    link = None if suppressed else invitations.invitation_link(invitation)
    return Status(201, {**_invitation_out(invitation), "link": link})


@router.get(
    "/{key}/invitations", response={200: InvitationPage, **ERRORS}, summary="List invitations"
)
def list_invitations(request: HttpRequest, key: str, filters: Query[PageFilters]):
    require(request.auth, "surveys.view_invitation")
    survey = _survey_or_404(key)
    qs = Invitation.objects.filter(survey=survey).select_related("customer")
    rows, next_cursor = queries.page(qs, cursor=filters.cursor, limit=filters.limit)
    return {"items": [_invitation_out(i) for i in rows], "next_cursor": next_cursor}


# --- responses -----------------------------------------------------------------------------


class ResponseOut(Schema):
    id: int
    version: int
    customer: str | None
    submitted_at: dt.datetime
    channel: str
    region: str
    store: str
    age_band: str
    segment: str
    nps: int | None
    csat: int | None
    ces: int | None
    csi: float | None
    excluded: bool
    flags: list[Any]
    comment_sentiment: float | None = Field(
        description="-1…1 of the open-text answers; null without a comment or until analysed."
    )
    comment_aspects: list[str] = Field(description="Aspect keys the comment names.")
    answers: dict[str, Any]


class ResponsePage(Schema):
    items: list[ResponseOut]
    next_cursor: str | None


class ExportFilters(Schema):
    format: Literal["csv", "xlsx"] = "csv"


def _response_out(response: Response, *, pii: bool) -> dict:
    return {
        "id": response.pk,
        "version": response.version.number,
        "customer": response.customer.external_id if response.customer else None,
        **{
            name: getattr(response, name)
            for name in ResponseOut.model_fields
            if name not in {"id", "version", "customer", "answers"}
        },
        "answers": response.answers if pii else _masked(response.answers),
    }


def _masked(value: Any) -> Any:
    """Mobile numbers typed into answers, masked as in the CSV export."""
    if isinstance(value, str):
        return mask_phones_in_text(value)
    if isinstance(value, list):
        return [_masked(item) for item in value]
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    return value


@router.get(
    "/{key}/responses",
    response={200: ResponsePage, **ERRORS},
    summary="List submitted responses, newest first (PII masked without view_pii)",
)
def list_responses(request: HttpRequest, key: str, filters: Query[PageFilters]):
    require(request.auth, "surveys.view_response")
    survey = _survey_or_404(key)
    qs = Response.objects.filter(survey=survey, submitted_at__isnull=False).select_related(
        "version", "customer"
    )
    rows, next_cursor = queries.page(
        qs, cursor=filters.cursor, limit=filters.limit, newest_first=True
    )
    pii = can_see_pii(request.auth)
    return {"items": [_response_out(r, pii=pii) for r in rows], "next_cursor": next_cursor}


@router.get(
    "/{key}/responses/export",
    response={200: None, **ERRORS},
    summary="All submitted responses as CSV or XLSX (PII masked without view_pii)",
)
def export_responses(request: HttpRequest, key: str, filters: Query[ExportFilters]):
    require(request.auth, "surveys.view_response")
    survey = _survey_or_404(key)
    return exporting.export_response(survey=survey, fmt=filters.format, user=request.auth)


# --- analysis: KANO, key drivers and low-score clusters ---------------------------------------


class AnalysisFilters(Schema):
    from_: dt.date | None = Field(None, alias="from", description="First day, Asia/Shanghai.")
    to: dt.date | None = Field(None, description="Last day (inclusive).")
    region: str | None = Field(None, max_length=64)
    store: str | None = Field(None, max_length=64)
    channel: str | None = Field(None, max_length=20)


class DriverFilters(AnalysisFilters):
    target: str | None = Field(
        None, max_length=100, description="Key of the NPS or rating question; default: the NPS."
    )
    method: str = Field("shapley", max_length=40, description="shapley or relative_weights.")
    dimensions: list[str] | None = Field(
        None,
        description="Question keys or matrix rows (dims.speed); default: the service ratings.",
    )


class KanoFeatureOut(Schema):
    key: str
    feature: str
    n: int = Field(description="Respondents who answered both parts.")
    counts: dict[str, int] = Field(description="Respondents per category A, O, M, I, R, Q.")
    category: str | None = Field(description="A, O, M, I, R or Q; null without answers.")
    better: float | None = Field(description="(A + O) / (A + O + M + I), 0..1.")
    worse: float | None = Field(description="-(O + M) / (A + O + M + I), -1..0.")
    total_strength: float | None
    category_strength: float | None


class KanoOut(Schema):
    survey: str
    features: list[KanoFeatureOut] = Field(description="In priority order: M, O, A, I, R, Q.")


class DriverRowOut(Schema):
    key: str
    label: str
    importance: float = Field(description="Share of R² in %; the rows add up to 100.")
    share: float = Field(description="Share of R² itself; the rows add up to r_squared.")
    mean: float = Field(description="Mean rating on the question's scale.")
    performance: float = Field(description="The mean rescaled to 0–100.")
    quadrant: str = Field(description="fix_first, keep_up, low_priority or possible_overkill.")
    beta: float = Field(description="Standardised regression weight, for reference.")
    correlation: float


class DriversOut(Schema):
    survey: str
    method: str
    target: str
    dimensions: list[str]
    n: int = Field(description="Complete answers used.")
    n_dropped: int = Field(description="Responses left out for a missing rating (listwise).")
    min_n: int
    r_squared: float | None
    importance_split: float | None
    performance_split: float | None
    message: str | None = Field(description="Why there are no rows (e.g. too few answers).")
    rows: list[DriverRowOut] = Field(description="Fix first on top, then by importance.")


def _analysis_filters(filters: AnalysisFilters) -> analysis.Filters:
    groups = {name: getattr(filters, name) or "" for name in ("region", "store", "channel")}
    errors = {name: [_("Contains a NUL character.")] for name, v in groups.items() if "\x00" in v}
    if filters.from_ and filters.to and filters.from_ > filters.to:
        errors["to"] = [_("Must not be before from.")]
    if errors:
        raise InvalidInput(errors)
    try:
        return analysis.Filters.from_days(start=filters.from_, end=filters.to, **groups)
    except analysis.AnalysisInputError as error:
        names = {"start": "from", "end": "to"}
        raise InvalidInput({names[k]: v for k, v in error.errors.items()}) from None


@router.get(
    "/{key}/kano",
    response={200: KanoOut, **ERRORS},
    summary="KANO category, Better and Worse of each KANO pair question, in priority order",
)
def survey_kano(request: HttpRequest, key: str, filters: Query[AnalysisFilters]):
    require(request.auth, "surveys.view_results")
    survey = _survey_or_404(key)
    features = analysis.kano_results(survey=survey, filters=_analysis_filters(filters))
    rows = [{**vars(f), "category": f.category or None} for f in features]
    return {"survey": survey.key, "features": rows}


@router.get(
    "/{key}/drivers",
    response={200: DriversOut, **ERRORS},
    summary="Key drivers of NPS or overall satisfaction, with importance-performance quadrants",
)
def survey_drivers(request: HttpRequest, key: str, filters: Query[DriverFilters]):
    require(request.auth, "surveys.view_results")
    survey = _survey_or_404(key)
    try:
        report = analysis.driver_analysis(
            survey=survey,
            target_key=filters.target,
            dimension_keys=filters.dimensions,
            filters=_analysis_filters(filters),
            method=filters.method,
        )
    except analysis.AnalysisInputError as error:
        raise InvalidInput(error.errors) from None
    return {
        "survey": survey.key,
        **{name: getattr(report, name) for name in ("method", "n", "n_dropped", "min_n")},
        **{name: getattr(report, name) for name in ("r_squared", "rows")},
        "importance_split": report.importance_split,
        "performance_split": report.performance_split,
        "target": report.target.key,
        "dimensions": [item.key for item in report.dimensions],
        "message": str(report.message) or None,
    }


class ClusterFilters(AnalysisFilters):
    by: Literal["region", "store", "channel", "segment"] = "region"
    low: Literal["nps", "csat", "negative"] | None = Field(
        None,
        description="nps: detractors 0-6; csat: 1-2 of 5; negative: negative comments. "
        "Default: nps when the survey has NPS answers, else csat, else negative.",
    )


@router.get(
    "/{key}/clusters",
    response={200: ClusterReportOut, **ERRORS},
    summary="Aspects and words over-represented among low scores, overall and by place",
)
def survey_clusters(request: HttpRequest, key: str, filters: Query[ClusterFilters]):
    require(request.auth, "surveys.view_results")
    survey = _survey_or_404(key)
    low = filters.low or clusters.default_low_rule(survey)
    report = clusters.survey_clusters(
        survey=survey, filters=_analysis_filters(filters), by=filters.by, low=low,
        show_pii=can_see_pii(request.auth),
        show_text=request.auth.has_perm("surveys.view_response"),
    )  # fmt: skip
    return report_out(report, low=low)
