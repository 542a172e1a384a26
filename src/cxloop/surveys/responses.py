"""Services for answering a survey: start or resume, save a page, submit, and clean-up decisions.

Partial answers are saved after every page, so a respondent can close the phone and come back
through the same link (invitation) or the same browser (public link cookie). Submitting is
idempotent: the response row is locked, and a second submit finds it submitted and changes
nothing. One response per invitation is also enforced by the OneToOne column.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from cxloop.core.audit import record_audit, snapshot
from cxloop.core.roles import require
from cxloop.core.settings_registry import VIP_ANNUAL_SPEND_FEN, get_setting
from cxloop.customers.models import Customer
from cxloop.customers.selectors import VIP_WINDOW, spent_orders
from cxloop.surveys import answering, cleaning
from cxloop.surveys.answering import PageResult
from cxloop.surveys.models import Invitation, Response, Survey, SurveyVersion

NEW_CUSTOMER_DAYS = 90
AGE_BANDS = ((18, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54"))
OLDEST_BAND = (55, "55+")
SEGMENT_VIP, SEGMENT_NEW, SEGMENT_EXISTING = "vip", "new", "existing"
CLEANING_FIELDS = ("excluded", "flags")


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
            return Response.objects.create(**fields)
    except IntegrityError:  # the same invitation started twice at once: take the winner
        return Response.objects.select_related("version").get(invitation=invitation)


def find_response(
    *, survey: Survey, invitation: Invitation | None = None, respondent_key: str = ""
) -> Response | None:
    """The invitation's response, or the latest response of this browser on a public link."""
    if invitation is not None:  # one-to-one: get() spares compiling an ORDER BY per request
        try:
            found = Response.objects.get(invitation=invitation)
        except Response.DoesNotExist:
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
    missing = None
    with transaction.atomic():
        locked = _locked(response)
        if locked.submitted_at is None:  # else another tab won: the submit is idempotent
            locked.answers = answers
            missing = _first_missing_page(locked)
            if missing is None:
                _finish(locked, timezone.now())
    for name in ("answers", "current_page", "submitted_at"):
        setattr(response, name, getattr(locked, name))
    if missing is not None:
        raise IncompleteResponse(missing)


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
    missing = None
    with transaction.atomic():
        locked = _locked(response)
        if locked.submitted_at is None:
            missing = _first_missing_page(locked)
            if missing is None:
                _finish(locked, timezone.now())
    if missing is not None:  # raised after the commit, so current_page keeps pointing at it
        raise IncompleteResponse(missing)
    return locked


def _locked(response: Response) -> Response:
    """The row re-read under lock; its version and survey reused when already loaded."""
    locked = (
        Response.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=response.pk)
    )
    for name in ("version", "survey"):
        field = Response._meta.get_field(name)
        if field.is_cached(response) and getattr(locked, field.attname) == getattr(
            response, field.attname
        ):
            setattr(locked, name, getattr(response, name))
    return locked


def _first_missing_page(response: Response) -> int | None:
    """The first page with a visible required question unanswered; saved as ``current_page``."""
    definition = answering.definition_for(response.version)
    answers = answering.visible_answers(definition, response.answers)
    missing = answering.first_incomplete_page(definition, answers)
    if missing is not None:
        response.current_page = missing
        response.save(update_fields=["answers", "current_page"])
    return missing


def _finish(response: Response, now: dt.datetime) -> None:
    definition = answering.definition_for(response.version)
    answers = answering.visible_answers(definition, response.answers)
    scores = answering.headline_scores(definition, answers)
    response.answers = answers
    response.submitted_at = now
    response.current_page = len(definition.pages)
    response.duration_seconds = max(0, int((now - response.started_at).total_seconds()))
    for name in ("nps", "csat", "ces", "csi", "dimension_scores"):
        setattr(response, name, scores[name])
    if response.customer is not None:
        _snapshot_segment(response, response.customer, now)
    response.flags = _cleaning_flags(response, definition, answers, scores, now)
    response.excluded = bool(response.flags)
    response.save()
    if response.invitation_id is not None:
        Invitation.objects.filter(pk=response.invitation_id).update(
            status=Invitation.Status.ANSWERED, answered_at=now
        )


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


def _snapshot_segment(response: Response, customer: Customer, now: dt.datetime) -> None:
    """Copy region, store, age band and segment, so results by group do not move later."""
    today = timezone.localdate(now)
    response.region = customer.region
    response.store = customer.store
    response.age_band = age_band(customer.birthday, today)
    response.segment = customer_segment(customer, now)


def age_band(birthday: dt.date | None, today: dt.date) -> str:
    if birthday is None:
        return ""
    age = today.year - birthday.year - ((today.month, today.day) < (birthday.month, birthday.day))
    if age >= OLDEST_BAND[0]:
        return OLDEST_BAND[1]
    return next((label for low, high, label in AGE_BANDS if low <= age <= high), "")


def customer_segment(customer: Customer, now: dt.datetime) -> str:
    """vip (12-month spend ≥ the VIP setting), new (registered < 90 days ago), else existing."""
    spend = spent_orders().filter(customer=customer, placed_at__gte=now - VIP_WINDOW)
    total = spend.aggregate(total=Sum("amount_fen"))["total"] or 0
    if total >= get_setting(VIP_ANNUAL_SPEND_FEN):
        return SEGMENT_VIP
    registered = customer.registered_at
    if registered is not None and (timezone.localdate(now) - registered).days < NEW_CUSTOMER_DAYS:
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
