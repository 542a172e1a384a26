"""Closing the loop: the survey after resolution (once per cycle), the callback task in 3
working days, low scores reopen, detractors open a follow-up case — through the real services."""

from __future__ import annotations

import datetime as dt
import logging
from types import SimpleNamespace

import pytest
from django.utils import timezone

from cxloop.cases import lifecycle, loop, services
from cxloop.cases.models import Case, CaseEvent, CaseTarget, CaseTask
from cxloop.cases.tests.sla_helpers import at
from cxloop.core.services import set_setting
from cxloop.surveys import responses
from cxloop.surveys import services as survey_services
from cxloop.surveys.models import Invitation
from cxloop.surveys.tests.answer_helpers import make_customer, make_invitation

pytestmark = pytest.mark.django_db
S = Case.Status
NPS_SURVEY = {
    "format": "cxloop.survey/1",
    "title": {"zh-hans": "门店体验", "en": "Store visit"},
    "language": "zh-hans",
    "pages": [
        {
            "key": "p1",
            "questions": [
                {"key": "nps", "type": "nps", "text": "推荐的可能性？", "required": True,
                 "role": "nps"},
                {"key": "comment", "type": "text", "text": "还有什么想说的？"},
            ],
        }
    ],
}  # fmt: skip


def published(template_key: str):
    survey = survey_services.create_from_template(template_key=template_key, actor=None)
    survey_services.publish_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    return survey


@pytest.fixture
def ces_survey(db):
    return published("post_service_ces")


@pytest.fixture
def customer(db):
    return make_customer(phone="13900001111", consent_survey=True)


@pytest.fixture
def resolved(make_case, customer, teammate, ces_survey):
    """A case of ``customer``, answered by the agent and resolved: the survey went out."""
    case = make_case(customer=customer)
    lifecycle.reply(case=case, actor=teammate, body="您好，已安排")
    return lifecycle.resolve(case=case, actor=teammate, resolution="已补发")


def invitation_of(case, cycle=1):
    return Invitation.objects.get(dedupe_key=loop.survey_key(case, cycle))


def answer(invitation, data, capture):
    """Answer and submit the one page of ``invitation``'s survey, running the on-commit work."""
    survey = invitation.survey
    response = responses.start_or_resume(
        survey=survey, version=survey.current_version, invitation=invitation,
        language="zh-hans", channel="sms",
    )  # fmt: skip
    with capture(execute=True):
        responses.save_page(response=response, page_index=0, data=data, submit_when_done=True)
    response.refresh_from_db()
    assert response.submitted_at is not None
    return response


def effort(score: int, comment: str = "") -> dict:
    return {"q-effort": str(score), "q-resolution": "未解决", "q-comment": comment}


def survey_events(case):
    return list(case.events.filter(kind=CaseEvent.Kind.SURVEY).order_by("id"))


# --- the survey after resolution -------------------------------------------------------------


def test_resolution_invites_the_customer_linked_to_the_case(resolved, ces_survey, customer):
    invitation = invitation_of(resolved)
    assert invitation.survey == ces_survey and invitation.customer == customer
    assert invitation.status == Invitation.Status.SCHEDULED and invitation.channel == "sms"
    assert invitation.scheduled_for <= timezone.now() + dt.timedelta(hours=24)
    (event,) = survey_events(resolved)
    assert event.data["invitation"] == invitation.pk and event.data["cycle"] == 1
    assert loop.parse_survey_key(invitation.dedupe_key) == (resolved.pk, 1)


def test_once_per_cycle_and_again_after_a_reopen(resolved, teammate, owner):
    loop.send_case_survey(case=resolved, cycle=1, now=timezone.now())  # a repeated signal
    assert Invitation.objects.count() == 1 and len(survey_events(resolved)) == 1
    set_setting(key="survey_frequency_cap_days", value=0, actor=owner)
    lifecycle.reopen(case=resolved, actor=teammate, reason="又坏了")
    lifecycle.resolve(case=resolved, actor=teammate, resolution="换新")
    second = invitation_of(resolved, cycle=2)
    assert second.pk != invitation_of(resolved).pk
    assert second.status == Invitation.Status.SCHEDULED
    assert Invitation.objects.count() == 2 and len(survey_events(resolved)) == 2


def test_the_frequency_cap_holds_the_second_survey_and_the_case_says_why(resolved, teammate):
    lifecycle.reopen(case=resolved, actor=teammate, reason="又坏了")
    lifecycle.resolve(case=resolved, actor=teammate, resolution="换新")
    second = invitation_of(resolved, cycle=2)
    assert second.status == Invitation.Status.SUPPRESSED
    assert "frequency cap" in survey_events(resolved)[-1].body


def test_no_consent_no_customer_no_survey_each_leave_a_reason(make_case, teammate, ces_survey):
    shy = make_customer(phone="13900002222", consent_survey=False)
    case = make_case(customer=shy)
    lifecycle.resolve(case=case, actor=teammate, resolution="已处理")
    assert invitation_of(case).suppressed_reason == "no_consent"
    assert "No consent" in survey_events(case)[0].body
    anonymous = make_case()
    lifecycle.resolve(case=anonymous, actor=teammate, resolution="已处理")
    assert survey_events(anonymous)[0].data["reason"] == "no_customer"
    survey_services.close_survey(survey=ces_survey, actor=None)
    case = make_case(customer=make_customer(phone="13900003333", consent_survey=True))
    lifecycle.resolve(case=case, actor=teammate, resolution="已处理")
    assert survey_events(case)[0].data["reason"] == "no_survey"


def test_the_configured_survey_wins(make_case, customer, teammate, ces_survey, settings):
    csat = published("post_delivery_csat")
    settings.CXLOOP_CASE_SURVEY_KEY = csat.key
    case = make_case(customer=customer)
    lifecycle.resolve(case=case, actor=teammate, resolution="已处理")
    assert invitation_of(case).survey == csat


def test_a_survey_failure_does_not_stop_the_resolve(
    make_case, customer, teammate, monkeypatch, ces_survey, caplog
):
    def broken(**kwargs):
        raise RuntimeError("surveys down")

    monkeypatch.setattr("cxloop.surveys.invitations.invite", broken)
    case = make_case(customer=customer)
    with caplog.at_level(logging.ERROR, logger="cxloop.cases.loop"):
        lifecycle.resolve(case=case, actor=teammate, resolution="已处理")
    assert Case.objects.get(pk=case.pk).status == S.RESOLVED
    assert CaseTask.objects.filter(case=case, kind="callback").exists()
    assert "could not be scheduled" in caplog.text


# --- the callback task -----------------------------------------------------------------------


def test_callback_task_due_in_three_working_days_for_the_owner(make_case, teammate):
    case = make_case(now=at("2026-03-11 09:00"))  # a Wednesday
    lifecycle.reply(case=case, actor=teammate, body="您好", now=at("2026-03-11 09:30"))
    lifecycle.resolve(case=case, actor=teammate, resolution="已处理", now=at("2026-03-11 10:00"))
    task = CaseTask.objects.get(case=case, kind="callback", cycle=1)
    assert task.assignee == teammate and task.done_at is None
    assert task.due_at == at("2026-03-16 18:00")  # Thu, Fri, (weekend), Mon: end of business
    clock = CaseTarget.objects.get(case=case, kind="callback", cycle=1)
    assert clock.due_at == task.due_at and clock.met_at is None
    lifecycle.record_callback(case=case, actor=teammate, satisfied=True,
                              now=at("2026-03-12 10:00"))  # fmt: skip
    task.refresh_from_db()
    assert task.done_at is not None
    assert CaseTarget.objects.get(pk=clock.pk).met_at == at("2026-03-12 10:00")


def test_each_cycle_gets_its_callback_task(make_case, teammate):
    case = make_case()
    lifecycle.resolve(case=case, actor=teammate, resolution="已处理")
    lifecycle.reopen(case=case, actor=teammate, reason="没好")
    lifecycle.resolve(case=case, actor=teammate, resolution="再处理")
    assert list(case.tasks.filter(kind="callback").values_list("cycle", flat=True)) == [1, 2]


# --- answers to the case survey ----------------------------------------------------------------


@pytest.mark.parametrize(("score", "reopens"), [(1, True), (3, True), (4, False), (7, False)])
def test_high_effort_reopens_the_case(resolved, score, reopens, django_capture_on_commit_callbacks):
    # The built-in scale runs from 1 "very difficult" to 7 "very easy".
    answer(invitation_of(resolved), effort(score), django_capture_on_commit_callbacks)
    case = Case.objects.get(pk=resolved.pk)
    assert (case.status != S.RESOLVED) is reopens
    assert case.resolution_cycle == (2 if reopens else 1)
    assert survey_events(case)[-1].data["low"] is reopens
    if reopens:
        assert case.events.filter(kind=CaseEvent.Kind.REOPENED, actor=None).exists()


def test_low_score_after_the_callback_also_reopens(
    resolved, teammate, django_capture_on_commit_callbacks
):
    lifecycle.record_callback(case=resolved, actor=teammate, satisfied=True)
    answer(invitation_of(resolved), effort(2), django_capture_on_commit_callbacks)
    assert Case.objects.get(pk=resolved.pk).status == S.ASSIGNED


def test_low_score_on_a_case_in_work_again_creates_a_callback(
    resolved, teammate, django_capture_on_commit_callbacks
):
    lifecycle.reopen(case=resolved, actor=teammate, reason="客户来电")  # already back in work
    answer(invitation_of(resolved), effort(1), django_capture_on_commit_callbacks)
    case = Case.objects.get(pk=resolved.pk)
    assert case.resolution_cycle == 2 and case.reopen_count == 1  # not reopened twice
    task = CaseTask.objects.get(case=case, kind="callback", cycle=2)
    assert task.done_at is None and task.due_at > timezone.now()


def test_a_response_is_handled_once(resolved, django_capture_on_commit_callbacks):
    response = answer(invitation_of(resolved), effort(1), django_capture_on_commit_callbacks)
    loop.handle_response(response=response)  # the signal again (a retry, a second worker)
    case = Case.objects.get(pk=resolved.pk)
    assert case.reopen_count == 1
    assert case.events.filter(kind=CaseEvent.Kind.SURVEY, data__response=response.pk).count() == 1


@pytest.mark.parametrize(
    ("scores", "low"),
    [
        ({"csat": 2}, True), ({"csat": 3}, False), ({"nps": 6}, True), ({"nps": 7}, False),
        ({}, False),
    ],
)  # fmt: skip
def test_low_scores(scores, low):
    response = SimpleNamespace(**({"nps": None, "csat": None, "ces": None} | scores))
    assert loop.is_low_score(response) is low


def test_on_an_effort_scale_five_of_seven_is_high(db):
    definition = dict(NPS_SURVEY, pages=[{"key": "p1", "questions": [
        {"key": "effort", "type": "effort", "text": "您花了多少力气？", "scale": 7,
         "role": "ces", "required": True}]}])  # fmt: skip
    survey = survey_services.create_survey(title="费力", key="effort-up", definition=definition,
                                           actor=None)  # fmt: skip
    version = survey_services.publish_survey(survey=survey, actor=None)
    for ces, high in ((5, True), (4, False), (7, True), (1, False)):
        assert loop.high_effort(SimpleNamespace(ces=ces, version=version)) is high


# --- detractors in other surveys -------------------------------------------------------------


@pytest.fixture
def nps_survey(db):
    survey = survey_services.create_survey(title="门店体验", key="store-nps",
                                           definition=NPS_SURVEY, actor=None)  # fmt: skip
    survey_services.publish_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    return survey


def nps_answer(survey, customer, score, capture, comment="店员态度差"):
    invitation = make_invitation(survey, customer)
    return answer(invitation, {"q-nps": str(score), "q-comment": comment}, capture)


def test_a_detractor_opens_one_follow_up_case(
    nps_survey, customer, django_capture_on_commit_callbacks
):
    response = nps_answer(nps_survey, customer, 3, django_capture_on_commit_callbacks)
    case = Case.objects.get(source_response=response)
    assert case.channel == "survey" and case.customer == customer
    assert "门店体验" in case.subject and "店员态度差" in case.description
    assert "NPS 3" in case.description
    assert loop.handle_response(response=response) == case  # once per response
    assert Case.objects.filter(source_response=response).count() == 1


@pytest.mark.parametrize("score", [7, 10])
def test_passives_and_promoters_open_nothing(
    nps_survey, customer, score, django_capture_on_commit_callbacks
):
    nps_answer(nps_survey, customer, score, django_capture_on_commit_callbacks)
    assert not Case.objects.exists()


def test_the_detractor_rule_can_be_switched_off(
    nps_survey, customer, owner, django_capture_on_commit_callbacks
):
    set_setting(key="detractor_opens_case", value=False, actor=owner)
    nps_answer(nps_survey, customer, 0, django_capture_on_commit_callbacks)
    assert not Case.objects.exists()


def test_an_anonymous_detractor_opens_nothing(nps_survey, django_capture_on_commit_callbacks):
    response = responses.start_or_resume(
        survey=nps_survey, version=nps_survey.current_version, respondent_key="browser-1",
        language="zh-hans", channel="link",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        responses.save_page(response=response, page_index=0, data={"q-nps": "2"},
                            submit_when_done=True)  # fmt: skip
    assert not Case.objects.exists()


def test_a_failing_follow_up_never_breaks_the_submit(
    nps_survey, customer, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    def broken(**kwargs):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(services, "create_case", broken)
    with caplog.at_level(logging.ERROR, logger="cxloop.cases.loop"):
        response = nps_answer(nps_survey, customer, 1, django_capture_on_commit_callbacks)
    assert response.submitted_at is not None and not Case.objects.exists()
    assert "follow-up of the survey answer failed" in caplog.text
