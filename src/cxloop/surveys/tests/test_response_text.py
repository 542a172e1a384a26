"""Comment sentiment and aspects (surveys/text.py): a submit queues the analysis after its
commit; the comments page filters by them and shows them; the responses API carries them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.surveys import responses, text
from cxloop.surveys.models import Response
from cxloop.surveys.tests import answer_helpers, results_helpers
from cxloop.surveys.tests.test_responses import answer_all, backdate, start

pytestmark = pytest.mark.django_db


def test_submit_queues_the_analysis_after_the_commit(django_capture_on_commit_callbacks):
    survey = answer_helpers.make_survey()
    response = start(survey, answer_helpers.make_invitation(survey))
    answer_all(response)
    responses.save_page(
        response=response, page_index=3, data={"q-comment": "快递太慢了，非常不满意"}
    )
    backdate(response)
    response.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        responses.submit_response(response=response)
    response.refresh_from_db()
    assert response.text_analysed_at is not None
    assert response.comment_sentiment < -0.1 and response.comment_aspects == ["logistics"]


def test_comment_is_the_open_answers_joined_and_none_without_one():
    definition = {"pages": [{"questions": [
        {"key": "a", "type": "text"}, {"key": "n", "type": "nps"}, {"key": "b", "type": "text"},
    ]}]}  # fmt: skip
    keys = text.open_text_keys(definition)
    assert keys == ["a", "b"]
    assert text.comment_of({"a": " 很好 ", "n": 9, "b": "价格太贵"}, keys) == "很好\n价格太贵"
    assert text.comment_of({"n": 3, "b": "  "}, keys) == ""
    survey = results_helpers.make_survey()
    silent = results_helpers.make_response(survey, nps=5)
    assert text.analyse_pending() >= 1
    silent.refresh_from_db()
    assert silent.comment_sentiment is None and silent.text_analysed_at is not None


@pytest.fixture
def survey():
    survey = results_helpers.make_survey()
    results_helpers.make_response(survey, nps=1, comment="物流太慢了，非常不满意", region="华南")
    results_helpers.make_response(survey, nps=10, comment="客服态度很好，非常满意", region="华东")
    text.analyse_pending()
    return survey


def test_comments_page_filters_by_sentiment_and_aspect(owner_client, outsider_client, survey):
    url = reverse("surveys:results_comments", args=[survey.pk])
    page = owner_client.get(url, {"sentiment": "negative"}).content.decode()
    assert "物流太慢了" in page and "客服态度很好" not in page and "comment-negative" in page
    page = owner_client.get(url, {"aspect": "attitude"}).content.decode()
    assert "客服态度很好" in page and "物流太慢了" not in page and "comment-positive" in page
    page = owner_client.get(url, {"sentiment": "furious"})  # not a choice: re-rendered, unfiltered
    assert page.status_code == 200 and "物流太慢了" in page.content.decode()
    assert outsider_client.get(url, {"sentiment": "negative"}).status_code in (302, 403)


def test_responses_api_carries_them(owner, survey):
    items = ApiClient(make_token(owner)).get(f"/surveys/{survey.key}/responses").json()["items"]
    by_sentiment = sorted(items, key=lambda item: item["comment_sentiment"])
    assert by_sentiment[0]["comment_sentiment"] < -0.1
    assert by_sentiment[0]["comment_aspects"] == ["logistics"]
    assert Response.objects.filter(text_analysed_at__isnull=True).count() == 0
