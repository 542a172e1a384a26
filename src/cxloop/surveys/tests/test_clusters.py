"""Low-score clusters of a survey: the planted cause is found where it is, with its lift and
examples (masked); the page, its filters and permissions; the API; a finding starts an action."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from cxloop.api.tests.conftest import ApiClient, make_token
from cxloop.core import roles
from cxloop.programs.models import ImprovementAction
from cxloop.surveys import analysis, clusters, text
from cxloop.surveys.tests import results_helpers

pytestmark = pytest.mark.django_db
LATE = "快递太慢了，等了一个星期才到，不满意"
PRICEY = "价格太贵了，不划算"
HAPPY = "客服态度很好，非常满意"
OK = "还可以吧，下次再来"


@pytest.fixture
def survey():
    """East: detractors complain about delivery; South: about price; everyone else is fine."""
    survey = results_helpers.make_survey()
    plan = [
        ("华东", 30, 1, LATE), ("华东", 30, 10, HAPPY), ("华东", 10, 8, OK),
        ("华南", 20, 2, PRICEY), ("华南", 30, 9, HAPPY), ("华南", 10, 6, OK),
        ("华北", 60, 9, HAPPY), ("华北", 20, 7, OK),
    ]  # fmt: skip
    for region, count, nps, comment in plan:
        for i in range(count):
            results_helpers.make_response(
                survey, nps=nps, comment=comment, region=region, store=f"{region}{i % 2}店"
            )
    results_helpers.make_response(survey, nps=0, comment=LATE + " 电话13812345678", region="华东")
    results_helpers.make_response(survey, nps=3, region="华东")  # no comment: not a text
    text.analyse_pending()
    return survey


def _report(survey, **kwargs):
    options = {"filters": analysis.Filters(), "by": "region", "low": "nps", **kwargs}
    return clusters.survey_clusters(survey=survey, **options)


def _terms(rows):
    return {(row.kind, row.term) for row in rows}


def test_the_planted_causes_are_found_where_they_are(survey):
    report = _report(survey)
    assert (report.texts, report.low_texts) == (211, 31 + 30)  # nps 0-6: "OK" in South too
    places = {block.place: block for block in report.places}
    assert ("aspect", "logistics") in _terms(places["华东"].rows)
    assert ("aspect", "price") in _terms(places["华南"].rows)
    assert ("aspect", "logistics") not in _terms(places["华南"].rows)
    assert places["华北"].low_texts == 0 and places["华北"].rows == []
    east = next(row for row in places["华东"].rows if row.term == "logistics")
    # 31 of 31 East detractors name delivery, against 31 of 211 texts of the whole set.
    assert (east.low_hits, east.low_texts) == (31, 31)
    assert east.lift == pytest.approx(1 / ((31 + 0.5) / 212), rel=1e-6)
    assert east.q_value <= 0.05 and east.label == "Logistics"


def test_words_and_examples_with_the_phone_masked(survey):
    report = _report(survey)
    east = next(block for block in report.places if block.place == "华东")
    assert ("word", "太慢") in _terms(east.rows)
    logistics = next(row for row in east.rows if row.term == "logistics")
    assert len(logistics.examples) == clusters.EXAMPLES
    assert any("138****5678" in example for example in logistics.examples)
    assert not any("13812345678" in example for row in east.rows for example in row.examples)
    shown = _report(survey, show_pii=True)
    east = next(block for block in shown.places if block.place == "华东")
    assert any("13812345678" in e for row in east.rows for e in row.examples)


def test_place_names_are_not_words(survey):
    words = {row.term for block in _report(survey).places for row in block.rows}
    assert not words & {"华东", "华南", "华东0店"}


def test_aggregates_only_without_the_right_to_read_comments(survey):
    report = _report(survey, show_text=False)
    assert report.places[0].rows and not any(
        row.examples for block in report.places for row in block.rows
    )


def test_other_low_rules_and_dimensions(survey):
    negative = _report(survey, low="negative")
    assert negative.low_texts == 51  # the delivery and price comments
    assert clusters.default_low_rule(survey) == "nps"
    by_store = _report(survey, by="store")
    assert {block.place for block in by_store.places} >= {"华东0店", "华东1店"}
    with pytest.raises(ValueError):
        _report(survey, by="age")
    with pytest.raises(ValueError):
        _report(survey, low="ces")


def test_an_empty_set(survey):
    filters = analysis.Filters(region="西北")
    report = clusters.survey_clusters(survey=survey, filters=filters, by="store", low="nps")
    assert (report.texts, report.low_texts, report.places, report.overall) == (0, 0, [], [])


# --- the page ---------------------------------------------------------------------------------


def _url(survey):
    return reverse("survey_analysis:clusters", args=[survey.pk])


def test_page_shows_the_findings_with_examples_and_action_links(owner_client, survey):
    page = owner_client.get(_url(survey))
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-place="华东"' in html and 'data-term="logistics"' in html
    assert "13812345678" in html  # a CX manager may read phone numbers
    assert reverse("programs:action_new") + "?title=" in html
    assert "Detractors (NPS 0–6)" in html  # the default rule is shown as chosen


def test_page_for_an_analyst_masks_phones_and_offers_no_action(analyst_client, survey):
    html = analyst_client.get(_url(survey)).content.decode()
    assert "138****5678" in html and "13812345678" not in html
    assert reverse("programs:action_new") not in html


def test_page_for_a_viewer_has_no_comments(survey, django_user_model):
    viewer = django_user_model.objects.create_user(username="viewer")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    client = Client()
    client.force_login(viewer)
    html = client.get(_url(survey)).content.decode()
    assert 'data-term="logistics"' in html and LATE not in html
    assert reverse("programs:action_new") not in html


def test_page_filters_and_bad_input(owner_client, survey):
    html = owner_client.get(_url(survey), {"by": "store", "low": "negative"}).content.decode()
    assert 'data-place="华东0店"' in html
    bad = owner_client.get(_url(survey), {"by": "age", "start": "2026-02-01", "end": "2026-01-01"})
    assert bad.status_code == 400
    assert "Select a valid choice" in bad.content.decode()
    assert "Must not be before the start date." in bad.content.decode()


def test_page_permissions(client, outsider_client, survey):
    assert outsider_client.get(_url(survey)).status_code == 403
    assert client.get(_url(survey)).status_code == 302
    assert client.get(reverse("survey_analysis:clusters", args=[99999])).status_code == 302


def test_a_finding_starts_an_improvement_action(owner_client, survey):
    report = _report(survey)
    clusters.attach_action_links(report, by_label="Region", source=survey.title)
    east = next(block for block in report.places if block.place == "华东")
    query = next(row for row in east.rows if row.term == "logistics").action_query
    form = owner_client.get(reverse("programs:action_new") + "?" + query).content.decode()
    assert "Region 华东: Logistics" in form and 'value="cluster"' in form
    posted = owner_client.post(
        reverse("programs:action_new"),
        {"title": "华东 物流", "description": "x", "status": "open", "source_kind": "cluster"},
    )
    assert posted.status_code == 302
    assert ImprovementAction.objects.get().source_kind == "cluster"


# --- the API ----------------------------------------------------------------------------------


def test_api_report(analyst, outsider, survey):
    api = ApiClient(make_token(analyst))
    body = api.get(f"/surveys/{survey.key}/clusters", {"by": "region"}).json()
    assert body["by"] == "region" and body["low"] == "nps" and body["texts"] == 211
    east = next(place for place in body["places"] if place["place"] == "华东")
    logistics = next(f for f in east["findings"] if f["term"] == "logistics")
    assert logistics["low_hits"] == 31 and logistics["lift"] > 5 and logistics["examples"]
    assert all("13812345678" not in e for f in east["findings"] for e in f["examples"])
    refused = ApiClient(make_token(outsider)).get(f"/surveys/{survey.key}/clusters")
    assert refused.status_code == 403


def test_api_bad_input(owner, survey):
    api = ApiClient(make_token(owner))
    bad = api.get(f"/surveys/{survey.key}/clusters", {"by": "age", "low": "x"})
    assert bad.status_code == 422
    assert api.get("/surveys/nope/clusters").status_code == 404
    backwards = api.get(
        f"/surveys/{survey.key}/clusters", {"from": "2026-02-01", "to": "2026-01-01"}
    )
    assert backwards.status_code == 422 and "to" in str(backwards.json())


def test_export_csv_and_xlsx(analyst_client, survey):
    csv = analyst_client.get(_url(survey), {"by": "region", "format": "csv"})
    assert csv.status_code == 200 and csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Region,Kind,Term,Lift")
    assert any(line.startswith("华东,aspect,Logistics,") for line in lines)
    assert not any("13812345678" in line for line in lines)
    xlsx = analyst_client.get(_url(survey), {"format": "xlsx"})
    assert xlsx.status_code == 200 and "spreadsheetml" in xlsx["Content-Type"]
    assert analyst_client.get(_url(survey), {"format": "pdf"}).status_code == 200  # the page
