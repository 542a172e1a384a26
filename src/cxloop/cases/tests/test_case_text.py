"""Sentiment and aspects of cases (cases/text.py): scored through the (immediate) queue after
the commit, the negative-text flag once per cycle with its messages, re-scoring after an edit
or a customer message, the queue and API filters, the backfill command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.cases import lifecycle, queues, services, text
from cxloop.cases.models import Case, CaseEvent
from cxloop.core.models import OutboxMessage
from cxloop.core.services import set_setting

pytestmark = pytest.mark.django_db
ANGRY = "客服态度太差了，非常不满意，快递一直不送，气死了"
HAPPY = "快递很快，包装很好，非常满意"


@pytest.fixture
def make(make_case, django_capture_on_commit_callbacks):
    """A case made through the service with its on-commit work (the queued analysis) run."""

    def run(**fields):
        with django_capture_on_commit_callbacks(execute=True):
            case = make_case(**fields)
        case.refresh_from_db()
        return case

    return run


def _flags(case):
    return CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.NEGATIVE_TEXT)


def test_new_case_gets_sentiment_and_aspects_through_the_queue(make):
    case = make(description=ANGRY)
    assert case.text_analysed_at is not None
    assert case.sentiment < -0.3 and case.text_negative
    assert case.aspects == ["attitude", "logistics"]
    assert "Attitude" in [str(label) for label in case.aspect_labels]
    happy = make(description=HAPPY)
    assert happy.sentiment > 0.1 and not happy.text_negative and "logistics" in happy.aspects


def test_without_the_commit_nothing_is_analysed_yet(make_case):
    case = make_case(description=ANGRY)  # on_commit never ran: the worker has not seen it
    case.refresh_from_db()
    assert case.text_analysed_at is None and case.sentiment is None
    assert text.analyse_pending() == 1
    case.refresh_from_db()
    assert case.sentiment < 0 and text.analyse_pending() == 0


def test_negative_case_is_flagged_once_and_owner_and_supervisor_told(make, supervisor):
    case = make(description=ANGRY)
    flag = _flags(case).get()
    assert flag.data["cycle"] == 1 and flag.body == ANGRY and flag.data["sentiment"] < -0.3
    told = set(OutboxMessage.objects.filter(subject__contains=case.number).values_list(
        "recipient", flat=True
    ))  # fmt: skip
    assert supervisor.email in told
    if case.owner_id:
        assert case.owner.email in told
    before = OutboxMessage.objects.count()
    Case.objects.filter(pk=case.pk).update(text_analysed_at=None)
    text.analyse_pending()  # analysed again in the same cycle: no second flag, no new message
    assert _flags(case).count() == 1 and OutboxMessage.objects.count() == before


def test_happy_case_is_not_flagged_and_threshold_is_a_setting(make, owner):
    assert not _flags(make(description=HAPPY)).exists()
    set_setting(key="negative_text_threshold", value="-0.99", actor=owner)
    assert not _flags(make(description=ANGRY)).exists()


def test_negative_customer_message_rescores_and_flags(make, django_capture_on_commit_callbacks):
    case = make(description=HAPPY)
    assert not _flags(case).exists()
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.customer_message(case=case, body="你们太敷衍了，问题还没解决，非常失望")
    case.refresh_from_db()
    assert case.sentiment < -0.3 and "resolution" in case.aspects and "logistics" in case.aspects
    assert _flags(case).get().body.startswith("你们太敷衍了")


def test_description_edit_resets_and_rescores(make, owner, django_capture_on_commit_callbacks):
    case = make(description=HAPPY)
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not run yet
        services.update_case(case=case, actor=owner, description=ANGRY)
    case.refresh_from_db()
    assert case.text_analysed_at is None
    text.analyse_pending()
    case.refresh_from_db()
    assert case.sentiment < -0.3 and "attitude" in case.aspects
    services.update_case(case=case, actor=owner, severity="urgent")  # not a text change
    case.refresh_from_db()
    assert case.text_analysed_at is not None


def test_queue_filters_by_sentiment_and_aspect(make, owner, owner_client):
    angry, happy = make(description=ANGRY), make(description=HAPPY, subject="好评")
    make(description="请问发票怎么开")  # no aspect of these two, near neutral

    def found(**params):
        filters = queues.filters_from(params)
        return set(queues.queue_cases(user=owner, queue="all", filters=filters))

    assert angry in found(sentiment="negative") and happy not in found(sentiment="negative")
    assert found(sentiment="positive") == {happy}
    assert found(aspect="attitude") == {angry}
    assert found(sentiment="nope", aspect="nope") == found()
    page = owner_client.get(reverse("cases:queue", args=["all"]), {"sentiment": "negative"})
    assert page.status_code == 200
    body = page.content.decode()
    assert angry.number in body and happy.number not in body and "case-negative" in body
    detail = owner_client.get(reverse("cases:detail", args=[angry.pk])).content.decode()
    assert "case-negative" in detail and "case-aspect" in detail


def test_api_lists_by_sentiment_and_aspect_and_shows_them(make, owner, outsider):
    angry, happy = make(description=ANGRY), make(description=HAPPY)
    api = ApiClient(make_token(owner))
    items = api.get("/cases", {"sentiment": "negative", "aspect": "logistics"}).json()["items"]
    assert [item["number"] for item in items] == [angry.number]
    detail = api.get(f"/cases/{happy.number}").json()
    assert detail["sentiment"] > 0.1 and "logistics" in detail["aspects"]
    bad = api.get("/cases", {"sentiment": "furious"})
    assert bad.status_code in (400, 422) and "sentiment" in bad.content.decode()
    assert ApiClient(make_token(outsider)).get("/cases").status_code == 403


def test_backfill_command_analyses_everything(make_case, owner):
    cases = [make_case(description=ANGRY if i % 2 else HAPPY) for i in range(5)]
    out = StringIO()
    call_command("analyse_texts", "--batch", "2", stdout=out)
    assert "cases: 4 of 5 analysed" in out.getvalue() and "cases: 5 analysed" in out.getvalue()
    assert not Case.objects.filter(pk__in=[c.pk for c in cases], sentiment__isnull=True).exists()
    call_command("analyse_texts", stdout=StringIO())  # nothing left: nothing done twice
    assert _flags(cases[1]).count() == 1
