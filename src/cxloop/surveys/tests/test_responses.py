"""Response services: start/resume, partial saves, submit (idempotent), segment, restore."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from cxloop.core.models import AuditLog, Setting
from cxloop.customers.models import Order
from cxloop.surveys import responses
from cxloop.surveys.models import Invitation, Response
from cxloop.surveys.tests.answer_helpers import (
    HAPPY_PAGES,
    make_customer,
    make_invitation,
    make_survey,
)

pytestmark = pytest.mark.django_db


def start(survey, invitation=None, key=""):
    return responses.start_or_resume(
        survey=survey,
        version=survey.current_version,
        invitation=invitation,
        respondent_key=key,
        language="zh-hans",
        channel="sms",
    )


def answer_all(response):
    for page, data in HAPPY_PAGES.items():
        result = responses.save_page(response=response, page_index=page, data=data)
        assert result.errors == {}, (page, result.errors)


def backdate(response, seconds=600):
    Response.objects.filter(pk=response.pk).update(
        started_at=timezone.now() - dt.timedelta(seconds=seconds)
    )
    response.refresh_from_db()


def test_open_invitation_marks_it_once():
    invitation = make_invitation(make_survey())
    responses.open_invitation(invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.OPENED
    first_opened = invitation.opened_at
    assert first_opened is not None
    responses.open_invitation(invitation=invitation)
    invitation.refresh_from_db()
    assert invitation.opened_at == first_opened


def test_same_invitation_resumes_the_same_response():
    survey = make_survey()
    invitation = make_invitation(survey)
    first = start(survey, invitation)
    assert first.customer_id == invitation.customer_id
    responses.save_page(response=first, page_index=0, data=HAPPY_PAGES[0])
    again = start(survey, invitation)
    assert again.pk == first.pk
    assert again.answers == {"nps": 9, "overall": 4}
    assert again.current_page == 1
    assert Response.objects.count() == 1


def test_public_link_resumes_by_respondent_key():
    survey = make_survey(public=True)
    mine = start(survey, key="a" * 64)
    assert start(survey, key="a" * 64).pk == mine.pk
    assert start(survey, key="b" * 64).pk != mine.pk
    with pytest.raises(ValueError):
        start(survey)


def test_resumed_response_keeps_its_version():
    from cxloop.surveys import services

    survey = make_survey()
    invitation = make_invitation(survey)
    response = start(survey, invitation)
    draft = {**survey.draft, "title": "新版本"}
    services.update_draft(survey=survey, definition=draft, actor=None)
    services.publish_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    assert survey.current_version_id != response.version_id
    assert start(survey, invitation).version_id == response.version_id


def test_errors_keep_the_page_and_save_valid_answers():
    survey = make_survey()
    response = start(survey, make_invitation(survey))
    result = responses.save_page(response=response, page_index=0, data={"q-nps": "8"})
    assert result.errors == {"overall": ["This question needs an answer."]}
    response.refresh_from_db()
    assert response.answers == {"nps": 8}
    assert response.current_page == 0


def test_submit_fills_scores_duration_and_segment():
    Setting.objects.create(key="vip_annual_spend_fen", value=100_000)
    today = timezone.localdate()
    customer = make_customer(
        region="华南",
        store="深圳一店",
        birthday=today.replace(year=today.year - 30) - dt.timedelta(days=1),
        registered_at=today - dt.timedelta(days=400),
    )
    Order.objects.create(
        customer=customer, external_id="O1", amount_fen=150_000, placed_at=timezone.now()
    )
    survey = make_survey()
    invitation = make_invitation(survey, customer)
    response = start(survey, invitation)
    answer_all(response)
    backdate(response, 300)
    submitted = responses.submit_response(response=response)
    submitted.refresh_from_db()
    assert submitted.submitted_at is not None
    assert (submitted.nps, submitted.csat, submitted.ces) == (9, 4, 2)
    assert submitted.csi == 75.0  # ratings 4,5,3,4 → mean 4 → 75
    assert submitted.dimension_scores["attitude"] == 5
    assert 299 <= submitted.duration_seconds <= 302
    assert (submitted.region, submitted.store) == ("华南", "深圳一店")
    assert submitted.age_band == "25-34" and submitted.segment == "vip"
    assert submitted.flags == [] and submitted.excluded is False
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.ANSWERED and invitation.answered_at


def test_submit_is_idempotent():
    survey = make_survey()
    response = start(survey, make_invitation(survey))
    answer_all(response)
    backdate(response)
    first = responses.submit_response(response=response)
    Response.objects.filter(pk=response.pk).update(nps=3)  # a marker the second submit would undo
    second = responses.submit_response(response=response)
    assert second.submitted_at == first.submitted_at
    assert Response.objects.get(pk=response.pk).nps == 3
    with pytest.raises(responses.AlreadySubmitted):
        responses.save_page(response=second, page_index=0, data=HAPPY_PAGES[0])


def test_submit_refuses_missing_required_answers_and_points_to_the_page():
    survey = make_survey()
    response = start(survey, make_invitation(survey))
    responses.save_page(response=response, page_index=0, data=HAPPY_PAGES[0])
    with pytest.raises(responses.IncompleteResponse) as caught:
        responses.submit_response(response=response)
    assert caught.value.page_index == 1
    response.refresh_from_db()
    assert response.submitted_at is None and response.current_page == 1


def test_last_page_moves_past_the_end():
    survey = make_survey()
    response = start(survey, make_invitation(survey))
    answer_all(response)
    response.refresh_from_db()
    assert response.current_page == 4  # len(pages): ready to submit


@pytest.mark.parametrize(
    ("birthday_years", "band"),
    [
        (17, ""),
        (18, "18-24"),
        (24, "18-24"),
        (25, "25-34"),
        (44, "35-44"),
        (54, "45-54"),
        (80, "55+"),
    ],
)
def test_age_bands(birthday_years, band):
    today = dt.date(2025, 6, 15)
    assert responses.age_band(dt.date(2025 - birthday_years, 6, 15), today) == band
    assert responses.age_band(None, today) == ""


def test_segments_new_and_existing():
    now = timezone.now()
    today = timezone.localdate(now)
    fresh = make_customer(registered_at=today - dt.timedelta(days=10))
    old = make_customer(registered_at=today - dt.timedelta(days=200))
    unknown = make_customer(registered_at=None)
    assert responses.customer_segment(fresh, now) == "new"
    assert responses.customer_segment(old, now) == "existing"
    assert responses.customer_segment(unknown, now) == "existing"
    # A year-old order of ¥6,000 no longer makes a VIP (default threshold ¥5,000).
    Order.objects.create(
        customer=old, external_id="O2", amount_fen=600_000, placed_at=now - dt.timedelta(days=400)
    )
    assert responses.customer_segment(old, now) == "existing"
    Order.objects.create(
        customer=old, external_id="O3", amount_fen=600_000, placed_at=now - dt.timedelta(days=5)
    )
    assert responses.customer_segment(old, now) == "vip"


def submitted_speeder():
    survey = make_survey()
    response = start(survey, make_invitation(survey))
    answer_all(response)
    return responses.submit_response(response=response)  # seconds after start: a speeder


def test_restore_and_exclude_are_audited_and_need_the_permission(analyst, teammate):
    response = submitted_speeder()
    assert response.excluded is True
    with pytest.raises(PermissionDenied):
        responses.restore_response(response=response, actor=teammate)
    responses.restore_response(response=response, actor=analyst)
    response.refresh_from_db()
    assert response.excluded is False and response.restored_by == analyst
    assert response.flags[0]["code"] == "speeder"  # the reason stays visible
    audit = AuditLog.objects.get(action="response.restored")
    assert audit.before == {"excluded": True, "flags": response.flags}
    assert audit.after["excluded"] is False
    responses.exclude_response(response=response, actor=analyst, reason="测试数据")
    response.refresh_from_db()
    assert response.excluded is True and response.flags[-1]["reason"] == "测试数据"
    assert AuditLog.objects.filter(action="response.excluded", actor=analyst).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_finish_once():
    """Two submits racing (double tap, two tabs): the row lock lets exactly one do the work."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite serialises writers anyway")
    survey = make_survey()
    response = start(survey, make_invitation(survey))
    answer_all(response)
    backdate(response)
    barrier = threading.Barrier(2)
    finished = []

    def submit():
        try:
            barrier.wait()
            finished.append(responses.submit_response(response=response).submitted_at)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(finished) == 2 and finished[0] == finished[1]
    assert Response.objects.get().flags == []  # the second did not see the first as a duplicate


def test_refused_submit_points_current_page_at_the_missing_page():
    """Else the answer page would find "all done", submit again and redirect to itself."""
    survey = make_survey()
    response = start(survey, make_invitation(survey))
    responses.save_page(response=response, page_index=0, data=HAPPY_PAGES[0])
    Response.objects.filter(pk=response.pk).update(current_page=4)  # e.g. a forged last page
    with pytest.raises(responses.IncompleteResponse):
        responses.submit_response(response=response)
    response.refresh_from_db()
    assert response.submitted_at is None and response.current_page == 1
