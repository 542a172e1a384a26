"""Services for answering a survey: start or resume, save a page, submit, and clean-up decisions.

Partial answers are saved after every page, so a respondent can close the phone and come back
through the same link (invitation) or the same browser (public link cookie). Submitting is
idempotent: the submit is claimed by a conditional UPDATE, and a second submit finds the row
submitted and changes nothing. One response per invitation is also enforced by the OneToOne column.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from cxloop.core.audit import record_audit, snapshot
from cxloop.core.roles import require
from cxloop.core.settings_registry import VIP_ANNUAL_SPEND_FEN, get_setting
from cxloop.customers.models import Customer
from cxloop.customers.selectors import NOT_SPENT, VIP_WINDOW
from cxloop.surveys import answering, cleaning, rollups, signals, submit_sql
from cxloop.surveys.answering import PageResult
from cxloop.surveys.models import Invitation, Response, Survey, SurveyVersion

NEW_CUSTOMER_DAYS = 90
AGE_BANDS = ((18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54"))
OLDEST_BAND = (55, "55+")
SEGMENT_VIP, SEGMENT_NEW, SEGMENT_EXISTING = "vip", "new", "existing"
CLEANING_FIELDS = ("excluded", "flags")
SUBMIT_FIELDS = (
    "answers", "submitted_at", "current_page", "duration_seconds", "nps", "csat", "ces", "csi",
    "dimension_scores", "region", "store", "age_band", "segment", "flags", "excluded",
)  # fmt: skip


class ResponseError(Exception):
    pass


class AlreadySubmitted(ResponseError):
    """The response was submitted; its answers can no longer change."""


class IncompleteResponse(ResponseError):
    """A required question is unanswered; ``page_index`` is the page to show again."""

    def __init__(self, page_index: int):
        super().__init__(f"required question unanswered on page {page_index}")
        self.page_index = page_index


def open_invitation(*, invitation: Invitation) -> None:
    """Mark a scheduled or sent invitation opened (the first time its link is followed)."""
    if invitation.status not in (Invitation.Status.SCHEDULED, Invitation.Status.SENT):
        return
    invitation.status = Invitation.Status.OPENED
    invitation.opened_at = invitation.opened_at or timezone.now()
    Invitation.objects.filter(
        pk=invitation.pk, status__in=(Invitation.Status.SCHEDULED, Invitation.Status.SENT)
    ).update(status=invitation.status, opened_at=invitation.opened_at)


def start_or_resume(
    *,
    survey: Survey,
    version: SurveyVersion,
    invitation: Invitation | None = None,
    respondent_key: str = "",
    language: str,
    channel: str,
) -> Response:
    """The respondent's response: the existing one for this invitation / browser, or a new one.

    A resumed response keeps the version it started on, even if a newer one was published since.
    """
    if invitation is None and not respondent_key:
        raise ValueError("a public response needs a respondent key")
    existing = find_response(survey=survey, invitation=invitation, respondent_key=respondent_key)
    if existing is not None:  # submitted ones too: the caller shows "already answered"
        return existing
    fields = {
        "survey": survey,
        "version": version,
        "invitation": invitation,
        "customer_id": invitation.customer_id if invitation else None,
        "respondent_key": respondent_key,
        "language": language,
        "channel": channel,
    }
    try:
        with transaction.atomic():
            created = Response.objects.create(**fields)
        if invitation is not None:
            invitation.response = created  # a later find() in this request must see it
        return created
    except IntegrityError:  # the same invitation started twice at once: take the winner
        return Response.objects.select_related("version").get(invitation=invitation)


def find_response(
    *, survey: Survey, invitation: Invitation | None = None, respondent_key: str = ""
) -> Response | None:
    """The invitation's response, or the latest response of this browser on a public link."""
    if invitation is not None:
        found = _invitation_response(invitation)
        if found is None:
            return None
    elif respondent_key:
        found = (
            Response.objects.filter(
                survey=survey, invitation__isnull=True, respondent_key=respondent_key
            )
            .order_by("-id")
            .first()
        )
    else:
        return None
    if found is not None:
        _reuse_loaded(found, survey=survey)
    return found


def _invitation_response(invitation: Invitation) -> Response | None:
    """The invitation's response: the one its token lookup joined, else one query."""
    if not Invitation.response.related.is_cached(invitation):
        try:  # one-to-one: get() spares compiling an ORDER BY per request
            return Response.objects.get(invitation=invitation)
        except Response.DoesNotExist:
            return None
    try:
        return invitation.response
    except Response.DoesNotExist:
        return None


def _reuse_loaded(response: Response, *, survey: Survey) -> None:
    """Attach the survey and (versions never change) its current version the caller already
    loaded, instead of joining them again with their definition JSON on every request."""
    if response.survey_id != survey.pk:
        return
    response.survey = survey
    loaded = Survey._meta.get_field("current_version").is_cached(survey)
    if loaded and response.version_id == survey.current_version_id:
        response.version = survey.current_version


def save_page(
    *, response: Response, page_index: int, data, submit_when_done: bool = False
) -> PageResult:
    """Validate and keep one page's answers; moves ``current_page`` on when the page is complete.

    Valid answers are saved even when another question on the page has an error, so nothing
    typed is lost. ``current_page == len(pages)`` means every page is done: ready to submit;
    with ``submit_when_done`` that page is submitted right away (``response.submitted_at`` set,
    or ``IncompleteResponse`` raised with the answers saved).
    """
    if response.submitted_at is not None:
        raise AlreadySubmitted
    definition = answering.definition_for(response.version)
    result = answering.read_page(definition, page_index, data, response.answers)
    current = page_index
    if result.complete:
        following = answering.next_page(definition, page_index, result.answers)
        current = len(definition.pages) if following is None else following
    if submit_when_done and current == len(definition.pages):
        # The last page: save its answers and submit in one locked transaction and one write.
        _save_and_submit(response, result.answers)
        return result
    response.answers = result.answers
    response.current_page = current
    response.save(update_fields=["answers", "current_page"])
    return result


def _save_and_submit(response: Response, answers: dict) -> None:
    """Submit with the last page's ``answers``; they are kept even when the submit is refused."""
    response.answers = answers
    _submit(response)


def go_back(*, response: Response, page_index: int) -> int:
    """Move to the page before ``page_index`` (answers stay saved); returns that page."""
    definition = answering.definition_for(response.version)
    earlier = answering.previous_page(definition, page_index, response.answers)
    response.current_page = page_index if earlier is None else earlier
    response.save(update_fields=["current_page"])
    return response.current_page


def submit_response(*, response: Response) -> Response:
    """Finish the response: headline scores, duration, segment snapshot, cleaning flags.

    Idempotent; raises ``IncompleteResponse`` when a visible required question is unanswered.
    """
    _submit(response)
    return response


def _submit(response: Response) -> None:
    """Claim the submit with a conditional UPDATE (``WHERE submitted_at IS NULL``): of two tabs
    or two retries only one changes the row; the other reloads what the winner stored."""
    definition = answering.definition_for(response.version)
    answers = answering.visible_answers(definition, response.answers)
    missing = answering.first_incomplete_page(definition, answers)
    unsubmitted = Response.objects.filter(pk=response.pk, submitted_at__isnull=True)
    if missing is not None:
        response.current_page = missing
        unsubmitted.update(answers=response.answers, current_page=missing)
        raise IncompleteResponse(missing)
    now = timezone.now()
    with transaction.atomic():
        fields = _finish(response, definition, answers, now)
        claimed = submit_sql.claim_submit(response_id=response.pk, fields=fields)
        if claimed and response.invitation_id is not None:
            submit_sql.mark_invitation_answered(invitation_id=response.invitation_id, at=now)
        if claimed:
            day = rollups.local_day(now)
            submit_sql.mark_day_dirty(survey_id=response.survey_id, day=day, at=now)
            transaction.on_commit(
                lambda: signals.response_submitted.send(Response, response=response)
            )
    if not claimed:
        response.refresh_from_db()


def _finish(response: Response, definition, answers: dict, now: dt.datetime) -> dict:
    """Sets the submitted state on ``response``; returns the changed fields and their values."""
    scores = answering.headline_scores(definition, answers)
    response.answers = answers
    response.submitted_at = now
    response.current_page = len(definition.pages)
    response.duration_seconds = max(0, int((now - response.started_at).total_seconds()))
    for name in ("nps", "csat", "ces", "csi", "dimension_scores"):
        setattr(response, name, scores[name])
    if response.customer_id is not None:
        _snapshot_segment(response, now)
    response.flags = _cleaning_flags(response, definition, answers, scores, now)
    response.excluded = bool(response.flags)
    return {name: getattr(response, name) for name in SUBMIT_FIELDS}


def _cleaning_flags(response, definition, answers, scores, now) -> list[dict]:
    return [
        *cleaning.check_speeder(
            duration_seconds=response.duration_seconds,
            survey_seconds=response.survey.speeder_seconds,
            answered_items=answering.answered_items(definition, answers),
        ),
        *cleaning.check_straight_lining(answering.matrix_answers(definition, answers)),
        *cleaning.check_contradictions(scores),
        *cleaning.check_duplicate(response=response, now=now),
    ]


def _snapshot_segment(response: Response, now: dt.datetime) -> None:
    """Copy region, store, age band and segment, so results by group do not move later."""
    customer = _customer_with_spend(response.customer_id, now)
    if customer is None:
        return
    response.region = customer["region"]
    response.store = customer["store"]
    response.age_band = age_band(customer["birthday"], timezone.localdate(now))
    response.segment = segment_for(
        spend_fen=customer["spend"] or 0, registered_at=customer["registered_at"], now=now
    )


def _customer_with_spend(customer_id: int, now: dt.datetime) -> dict | None:
    """The customer's segment inputs and 12-month spend, in one query."""
    not_spent = tuple(str(status) for status in NOT_SPENT)
    return submit_sql.customer_with_spend(customer_id, since=now - VIP_WINDOW, not_spent=not_spent)


def age_band(birthday: dt.date | None, today: dt.date) -> str:
    if birthday is None:
        return ""
    age = today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))
    if age >= OLDEST_BAND[0]:
        return OLDEST_BAND[1]
    return next((label for low, high, label in AGE_BANDS if low <= age <= high), "")


def customer_segment(customer: Customer, now: dt.datetime) -> str:
    """vip (12-month spend ≥ the VIP setting), new (registered < 90 days ago), else existing."""
    row = _customer_with_spend(customer.pk, now) or {"spend": 0}
    return segment_for(spend_fen=row["spend"] or 0, registered_at=customer.registered_at, now=now)


def segment_for(*, spend_fen: int, registered_at: dt.date | None, now: dt.datetime) -> str:
    if spend_fen >= get_setting(VIP_ANNUAL_SPEND_FEN):
        return SEGMENT_VIP
    if (
        registered_at is not None
        and (timezone.localdate(now) - registered_at).days < NEW_CUSTOMER_DAYS
    ):
        return SEGMENT_NEW
    return SEGMENT_EXISTING


@transaction.atomic  # the change, its audit row and its rollup mark together
def restore_response(*, response: Response, actor) -> Response:
    """An analyst counts a flagged response again; its flags stay so the reason remains shown."""
    require(actor, "surveys.clean_responses")
    before = snapshot(response, CLEANING_FIELDS)
    response.excluded = False
    response.restored_by = actor
    response.restored_at = timezone.now()
    response.save(update_fields=["excluded", "restored_by", "restored_at"])
    record_audit(
        actor=actor,
        action="response.restored",
        target=response,
        before=before,
        after=snapshot(response, CLEANING_FIELDS),
    )
    return response


@transaction.atomic  # the change, its audit row and its rollup mark together
def exclude_response(*, response: Response, actor, reason: str = "") -> Response:
    """Leave a response out of metrics by hand; the reason is kept as a ``manual`` flag."""
    require(actor, "surveys.clean_responses")
    before = snapshot(response, CLEANING_FIELDS)
    response.excluded = True
    response.flags = [*response.flags, {"code": "manual", "reason": reason[:500], "params": {}}]
    response.save(update_fields=["excluded", "flags"])
    record_audit(
        actor=actor,
        action="response.excluded",
        target=response,
        before=before,
        after=snapshot(response, CLEANING_FIELDS),
    )
    return response
