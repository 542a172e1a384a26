"""Closing the loop (R3.8, issue 4 §7): what happens after a case is resolved and after a
customer answers a survey.

On resolution (``on_case_resolved``, inside the transaction of the resolve):

- a satisfaction survey invitation to the customer, sent right away (within 24 h; an SMS in
  quiet hours waits until they end), once per resolution cycle: the invitation's dedupe key is
  ``case-survey:<case id>:<cycle>``, which is also the link from the answer back to the case. It
  goes through the surveys machinery, so consent, the address and the frequency cap apply; a
  suppressed invitation, a case without a customer record or no survey to send each leave a
  SURVEY event saying why. The survey: the one whose key the setting ``case_survey_key`` names
  (organisation setting when registered, else ``settings.CXLOOP_CASE_SURVEY_KEY``), else the
  oldest active survey made from the post-service CES template, else from the post-delivery
  CSAT template (recognised by its title). A survey failure never blocks the resolve.
- a callback task (定效) for the owner, due when the ``callback`` SLA clock is (default rule:
  3 working days), also once per cycle.

On a submitted response (``on_response_submitted``, after the commit of the submit; errors are
logged and never reach the respondent), once per response:

- the answer to a case's post-resolution survey with a low score — CSAT ≤ 2, NPS ≤ 6, or high
  effort (CES ≥ 5 of 7 on an effort scale; on the built-in template's scale, where 1 is "very
  difficult" and 7 "very easy", that is CES ≤ 3) — reopens the case when that resolution still
  stands (resolved, callback done or closed), else creates a callback task;
- any other answer with NPS 0–6 opens a follow-up case (channel "survey") when the setting
  ``detractor_opens_case`` is on and the response belongs to a known customer (an anonymous
  public-link answer has nobody to call back).
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases import lifecycle, services, sla
from cxloop.cases.compensation import ensure_task
from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent, CaseTarget, CaseTask, Channel, SlaRule
from cxloop.core import settings_registry

logger = logging.getLogger(__name__)

S = Case.Status
KEY_PREFIX = "case-survey"
SURVEY_SETTING = "case_survey_key"
TEMPLATE_ORDER = ("post_service_ces", "post_delivery_csat")
CALLBACK_WORKING_DAYS = 3  # when no ``callback`` SLA rule is active
LOW_SCORE_CALLBACK_WORKING_DAYS = 1
AFTER_RESOLUTION = (S.RESOLVED, S.CALLBACK_DONE, S.CLOSED)
# The first label of the built-in effort scale: on it 1 is the most effort (see builtin.py).
EFFORT_FIRST_LABELS = {"非常费力", "Very difficult"}


# --- after resolution ----------------------------------------------------------------------


def on_case_resolved(sender, *, case: Case, actor=None, cycle: int, **kwargs) -> None:
    now = case.resolved_at or timezone.now()
    try:
        with transaction.atomic():  # savepoint: a survey problem must not undo the resolve
            send_case_survey(case=case, cycle=cycle, now=now)
    except Exception:
        logger.exception("case %s: the satisfaction survey could not be scheduled", case.pk)
    schedule_callback(case=case, cycle=cycle, now=now)


def survey_key(case: Case, cycle: int) -> str:
    return f"{KEY_PREFIX}:{case.pk}:{cycle}"


def parse_survey_key(key: str | None) -> tuple[int, int] | None:
    """``(case id, cycle)`` of a post-resolution invitation's dedupe key, else None."""
    parts = (key or "").split(":")
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not all(p.isdigit() for p in parts[1:]):
        return None
    return int(parts[1]), int(parts[2])


def send_case_survey(*, case: Case, cycle: int, now: dt.datetime):
    """Invite the customer to the post-resolution survey once per cycle; returns the invitation
    (possibly suppressed), or None when there was nothing to send, with a SURVEY event."""
    from cxloop.surveys import invitations

    event_key = f"survey:{case.pk}:{cycle}"
    if case.customer_id is None:
        _survey_event(case, event_key, now, _("Satisfaction survey not sent: no customer record"),
                      {"cycle": cycle, "reason": "no_customer"})  # fmt: skip
        return None
    survey = post_resolution_survey()
    if survey is None:
        _survey_event(case, event_key, now, _("Satisfaction survey not sent: no active survey"),
                      {"cycle": cycle, "reason": "no_survey"})  # fmt: skip
        return None
    invitation = invitations.invite(
        survey=survey, customer=case.customer, channel=_channel_for(case.customer),
        send_at=now, dedupe_key=survey_key(case, cycle),
    )  # fmt: skip
    data = {"cycle": cycle, "invitation": invitation.pk, "survey": survey.pk,
            "status": invitation.status, "reason": invitation.suppressed_reason}  # fmt: skip
    if invitation.suppressed_reason and invitation.status == invitation.Status.SUPPRESSED:
        label = invitations.suppression_label(invitation.suppressed_reason)
        body = _("Satisfaction survey not sent: %(reason)s") % {"reason": label}
    else:
        body = _("Satisfaction survey “%(survey)s” goes out by %(channel)s") % {
            "survey": survey.title, "channel": invitation.get_channel_display()}  # fmt: skip
    _survey_event(case, event_key, now, body, data)
    return invitation


def _survey_event(case: Case, key: str, now: dt.datetime, body: str, data: dict) -> None:
    record_event(case=case, kind=CaseEvent.Kind.SURVEY, at=now, body=body, data=data,
                 dedupe_key=key)  # fmt: skip


def _channel_for(customer) -> str:
    from cxloop.surveys.models import Invitation

    if customer.phone:
        return Invitation.Channel.SMS
    if customer.email:
        return Invitation.Channel.EMAIL
    return Invitation.Channel.SMS  # suppressed with "no address", visibly


def configured_survey_key() -> str:
    if SURVEY_SETTING in settings_registry.REGISTRY:
        return str(settings_registry.get_setting(SURVEY_SETTING) or "").strip()
    return str(getattr(settings, "CXLOOP_CASE_SURVEY_KEY", "") or "").strip()


def post_resolution_survey():
    """The active survey cases send after resolution (see the module docstring), or None."""
    from cxloop.surveys import builtin
    from cxloop.surveys.definition import text_for
    from cxloop.surveys.models import Survey

    active = Survey.objects.filter(status=Survey.Status.ACTIVE, current_version__isnull=False)
    key = configured_survey_key()
    if key:
        return active.filter(key=key).first()
    for template in TEMPLATE_ORDER:
        title = builtin.get_template(template)["title"]
        titles = {text_for(title, language) for language in ("zh-hans", "en")}
        found = active.filter(title__in=titles).order_by("created_at", "id").first()
        if found is not None:
            return found
    return None


def schedule_callback(*, case: Case, cycle: int, now: dt.datetime) -> CaseTask:
    """The callback task of the cycle, for the owner, due with the ``callback`` clock."""
    sla.start_clocks(case=case, now=now, kinds=[SlaRule.Target.CALLBACK])
    clock = CaseTarget.objects.filter(case=case, kind=SlaRule.Target.CALLBACK, cycle=cycle).first()
    due = clock.due_at if clock else _working_days_from(case, now, CALLBACK_WORKING_DAYS)
    task, _created = ensure_task(
        case=case, kind=CaseTask.Kind.CALLBACK, due_at=due, assignee=case.owner, now=now,
        cycle=cycle,
    )  # fmt: skip
    return task


def _working_days_from(case: Case, now: dt.datetime, days: int) -> dt.datetime:
    from cxloop.core.business_time import add_working_days

    return add_working_days(sla.calendar_for(case=case, rule=None), now, days)


# --- after a survey answer -----------------------------------------------------------------


def on_response_submitted(sender, *, response, **kwargs) -> None:
    """Never raises: the respondent's submit is done whatever happens here."""
    try:
        with transaction.atomic():
            handle_response(response=response)
    except Exception:
        logger.exception("response %s: follow-up of the survey answer failed", response.pk)


def handle_response(*, response, now: dt.datetime | None = None) -> Case | None:
    """Act on one submitted response (idempotent); returns the case acted on, if any."""
    now = now or timezone.now()
    link = _case_link(response)
    if link is not None:
        return _after_case_survey(response, *link, now=now)
    if is_detractor(response) and settings_registry.get_setting(
        settings_registry.DETRACTOR_OPENS_CASE
    ):
        return open_detractor_case(response=response, now=now)
    return None


def _case_link(response) -> tuple[Case, int] | None:
    if response.invitation_id is None:
        return None
    from cxloop.surveys.models import Invitation

    key = Invitation.objects.filter(pk=response.invitation_id).values_list("dedupe_key", flat=True)
    parsed = parse_survey_key(key.first())
    if parsed is None:
        return None
    case = Case.objects.filter(pk=parsed[0]).select_related("owner").first()
    return (case, parsed[1]) if case is not None else None


def is_detractor(response) -> bool:
    return response.nps is not None and 0 <= response.nps <= 6


def is_low_score(response) -> bool:
    """CSAT ≤ 2, NPS ≤ 6, or high effort (see ``high_effort``)."""
    if response.csat is not None and response.csat <= 2:
        return True
    if is_detractor(response):
        return True
    return response.ces is not None and high_effort(response)


def high_effort(response) -> bool:
    """CES in the top of the effort side: ≥ 5 of 7 where a high number is more effort; mirrored
    (≤ 3 of 7) when the scale starts at "very difficult", as the built-in template's does."""
    from cxloop.surveys import answering
    from cxloop.surveys.definition import question_for_role, text_for

    question = question_for_role(answering.definition_for(response.version), "ces")
    scale = (question.scale if question else None) or 7
    effort = response.ces
    labels = (question.labels or []) if question else []
    if labels and {text_for(labels[0], "zh-hans"), text_for(labels[0], "en")} & EFFORT_FIRST_LABELS:
        effort = scale + 1 - response.ces
    return effort * 7 >= scale * 5


def _after_case_survey(response, case: Case, cycle: int, *, now: dt.datetime) -> Case | None:
    low = is_low_score(response)
    scores = {"nps": response.nps, "csat": response.csat, "ces": response.ces}
    event = record_event(
        case=case, kind=CaseEvent.Kind.SURVEY, at=now, dedupe_key=f"survey-answer:{response.pk}",
        body=_("Survey answered: low score") if low else _("Survey answered"),
        data={"response": response.pk, "cycle": cycle, "low": low, **scores},
    )  # fmt: skip
    if event is None or not low or case.status == S.MERGED:
        return None  # handled before, or nothing to do
    if cycle == case.resolution_cycle and case.status in AFTER_RESOLUTION:
        lifecycle.reopen(case=case, reason=_("Low score in the satisfaction survey"), now=now)
        return case
    due = _working_days_from(case, now, LOW_SCORE_CALLBACK_WORKING_DAYS)
    ensure_task(case=case, kind=CaseTask.Kind.CALLBACK, due_at=due, assignee=case.owner, now=now)
    return case


def open_detractor_case(*, response, now: dt.datetime | None = None) -> Case | None:
    """A follow-up case for a detractor, once per response; None without a known customer."""
    from cxloop.surveys.models import Response

    if response.customer_id is None:
        logger.info("response %s: detractor without a customer record, no case", response.pk)
        return None
    with transaction.atomic():
        # Lock the response so two deliveries of the signal open one case between them.
        Response.objects.select_for_update().filter(pk=response.pk).first()
        existing = Case.objects.filter(source_response_id=response.pk).first()
        return existing or _create_detractor_case(response, now)


def _create_detractor_case(response, now: dt.datetime | None) -> Case:
    survey = response.survey
    comment = response_comment(response)
    lines = [_("NPS %(nps)d in the survey “%(survey)s”.") % {"nps": response.nps,
                                                               "survey": survey.title}]  # fmt: skip
    if comment:
        lines.append(_("Comment: %(comment)s") % {"comment": comment})
    return services.create_case(
        channel=Channel.SURVEY, customer=response.customer, source_response=response,
        subject=_("Detractor follow-up: %(survey)s") % {"survey": survey.title},
        description="\n".join(lines), now=now,
    )  # fmt: skip


def response_comment(response) -> str:
    """The text answers of the response (free comments), in question order."""
    from cxloop.surveys import answering
    from cxloop.surveys.definition import iter_questions

    definition = answering.definition_for(response.version)
    texts = [
        str(response.answers.get(question.key) or "").strip()
        for question in iter_questions(definition)
        if question.type == "text"
    ]
    return "\n".join(text for text in texts if text)
