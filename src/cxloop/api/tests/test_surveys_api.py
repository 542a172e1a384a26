"""/api/v1/surveys: read, import, export, invitations, responses; permissions and bad input."""

from __future__ import annotations

import csv
import io

import pytest

from cxloop.core.models import AuditLog
from cxloop.customers.models import Customer
from cxloop.surveys.interchange import MAX_IMPORT_BYTES, export_definition
from cxloop.surveys.models import Invitation, Survey, SurveyVersion
from cxloop.surveys.tests.results_helpers import DEFINITION, make_response, make_survey
from cxloop.surveys.tokens import read_invitation_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    return make_survey("delivery")


@pytest.fixture
def customer():
    return Customer.objects.create(
        external_id="C1", name="王伟", phone="13812345678", consent_survey=True
    )


def test_list_and_get(teammate_api, survey):
    make_survey("other", title="Other")
    body = teammate_api.get("/surveys", {"limit": 1}).json()
    assert len(body["items"]) == 1 and body["next_cursor"]
    rest = teammate_api.get("/surveys", {"cursor": body["next_cursor"]}).json()
    assert {body["items"][0]["key"], rest["items"][0]["key"]} == {"delivery", "other"}
    detail = teammate_api.get("/surveys/delivery").json()
    assert detail["version"] == 1 and detail["definition"] == DEFINITION


def test_export_gives_the_draft_or_a_version(owner_api, survey):
    survey.draft = {**DEFINITION, "title": "新草稿"}
    survey.save(update_fields=["draft"])
    draft = owner_api.get("/surveys/delivery/export")
    assert draft.status_code == 200 and draft.json() == export_definition(survey.draft)
    assert draft.json()["title"] == "新草稿" and draft.json()["intro"]["minutes"] == 3
    published = owner_api.get("/surveys/delivery/export", {"version": 1})
    assert published.status_code == 200 and published.json() == export_definition(DEFINITION)


def test_export_unknown_or_bad_version(owner_api, survey):
    response = owner_api.get("/surveys/delivery/export", {"version": 2})
    assert response.status_code == 404 and "version" in response.json()["detail"]
    for bad in ("0", "one", str(2**40)):
        response = owner_api.get("/surveys/delivery/export", {"version": bad})
        assert response.status_code == 422 and "version" in response.json()["errors"]


def test_unknown_survey_is_404(owner_api):
    for path in ("/surveys/nope", "/surveys/nope/export", "/surveys/nope/responses"):
        response = owner_api.get(path)
        assert response.status_code == 404 and response.json()["detail"]


def test_responses_are_cursor_paginated_newest_first(owner_api, survey):
    made = [make_response(survey, nps=n) for n in range(5)]
    partial = make_response(survey, nps=1)
    partial.submitted_at = None
    partial.save()
    first = owner_api.get("/surveys/delivery/responses", {"limit": 3}).json()
    second = owner_api.get("/surveys/delivery/responses", {"cursor": first["next_cursor"]}).json()
    ids = [r["id"] for r in first["items"] + second["items"]]
    assert ids == [r.pk for r in reversed(made)] and second["next_cursor"] is None
    assert first["items"][0]["nps"] == 4 and first["items"][0]["version"] == 1


def test_responses_list_masks_typed_mobiles_for_analyst(analyst_api, owner_api, survey):
    make_response(survey, nps=3, comment="请打 13912345678 联系我")
    item = analyst_api.get("/surveys/delivery/responses").json()["items"][0]
    assert item["answers"]["comment"] == "请打 139****5678 联系我" and item["answers"]["nps"] == 3
    item = owner_api.get("/surveys/delivery/responses").json()["items"][0]
    assert item["answers"]["comment"] == "请打 13912345678 联系我"


def test_bad_cursor_and_limit(owner_api, survey):
    response = owner_api.get("/surveys/delivery/responses", {"cursor": "abc"})
    assert response.status_code == 422 and "cursor" in response.json()["errors"]
    response = owner_api.get("/surveys", {"limit": 0})
    assert response.status_code == 422 and "limit" in response.json()["errors"]


def test_responses_export_masks_pii_for_analyst(analyst_api, owner_api, survey, customer):
    make_response(survey, nps=9, comment="请打 13912345678 联系我", customer=customer)
    response = analyst_api.get("/surveys/delivery/responses/export")
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["customer_phone"] == "138****5678" and row["comment"] == "请打 139****5678 联系我"
    full = b"".join(owner_api.get("/surveys/delivery/responses/export").streaming_content)
    assert "13812345678" in full.decode("utf-8-sig")
    assert AuditLog.objects.filter(action="data.exported").count() == 2


def test_export_bad_format(owner_api, survey):
    response = owner_api.get("/surveys/delivery/responses/export", {"format": "pdf"})
    assert response.status_code == 422 and "format" in response.json()["errors"]


def test_create_and_list_invitations(owner_api, survey, customer):
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "C1", "channel": "sms"})
    assert response.status_code == 201, response.content
    invitation = Invitation.objects.get()
    assert response.json()["id"] == invitation.pk and invitation.customer == customer
    assert read_invitation_token(response.json()["link"].rsplit("/", 2)[-2]) == invitation
    again = owner_api.post("/surveys/delivery/invitations", {"customer": "C1", "channel": "link"})
    assert again.json()["status"] == "suppressed" and again.json()["link"] is None
    assert again.json()["suppressed_reason"] == "frequency_cap"
    listed = owner_api.get("/surveys/delivery/invitations").json()
    assert [i["customer"] for i in listed["items"]] == ["C1", "C1"]
    assert "link" not in listed["items"][0]


def test_invitation_bad_input(owner_api, survey, customer):
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "nobody"})
    assert response.status_code == 422 and "customer" in response.json()["errors"]
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "C1", "channel": "fax"})
    assert response.status_code == 422 and "channel" in response.json()["errors"]
    response = owner_api.post("/surveys/delivery/invitations", {"customer": "C1", "extra": 1})
    assert response.status_code == 422 and "extra" in response.json()["errors"]
    assert not Invitation.objects.exists()


def test_permissions(outsider_api, teammate_api, anonymous_api, survey, customer):
    for path in ("/surveys", "/surveys/delivery", "/surveys/delivery/responses"):
        assert outsider_api.get(path).status_code == 403
        assert anonymous_api.get(path).status_code == 401
    # Agents read invitations but do not create them.
    assert teammate_api.get("/surveys/delivery/invitations").status_code == 200
    response = teammate_api.post("/surveys/delivery/invitations", {"customer": "C1"})
    assert response.status_code == 403 and not Invitation.objects.exists()


# --- import --------------------------------------------------------------------------------

SURVEYJS = {
    "title": "Delivery feedback",
    "locale": "en",
    "pages": [
        {
            "elements": [
                {
                    "type": "rating",
                    "name": "nps",
                    "title": "Recommend?",
                    "rateMin": 0,
                    "rateMax": 10,
                },
                {
                    "type": "checkbox",
                    "name": "reasons",
                    "title": "What went wrong?",
                    "choices": ["late", "damaged"],
                    "visibleIf": "{nps} <= 6",
                },
                {"type": "comment", "name": "why", "visibleIf": "age({nps}) > 1"},
                {"type": "html", "name": "banner"},
            ]
        }
    ],
}


def _definition(*questions: dict) -> dict:
    pages = [{"key": "p1", "questions": list(questions)}]
    return {
        "format": "cxloop.survey/1",
        "title": "导入的问卷",
        "language": "zh-hans",
        "pages": pages,
    }


def test_import_our_format(owner_api, owner):
    response = owner_api.post("/surveys/import?key=imported", DEFINITION)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["key"] == "imported" and body["status"] == "draft" and body["version"] is None
    assert body["title"] == "配送满意度调查" and body["warnings"] == []
    survey = Survey.objects.get(key="imported")
    assert survey.draft == export_definition(DEFINITION) and survey.created_by == owner
    assert AuditLog.objects.filter(action="survey.create", actor=owner).count() == 1


def test_import_surveyjs_with_warnings(owner_api):
    response = owner_api.post("/surveys/import", SURVEYJS)
    assert response.status_code == 201, response.content
    body = response.json()
    survey = Survey.objects.get(key=body["key"])
    questions = survey.draft["pages"][0]["questions"]
    assert [(q["key"], q["type"]) for q in questions] == [
        ("nps", "nps"),
        ("reasons", "multiple"),
        ("why", "text"),
    ]
    assert questions[1]["show_if"] == "nps <= 6" and "show_if" not in questions[2]
    assert len(body["warnings"]) == 2
    assert any("age({nps})" in w for w in body["warnings"])
    assert any("html" in w for w in body["warnings"])


def test_import_reports_every_problem_by_path(owner_api):
    definition = _definition(
        {"key": "q1", "type": "nps", "text": "推荐"},
        {"key": "overall", "type": "rating", "text": "满意度", "scale": 20},
        {"key": "q3", "type": "text", "text": "原因", "show_if": "later > 1"},
        {"key": "later", "type": "nps", "text": "之后"},
    )
    response = owner_api.post("/surveys/import", definition)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "The survey definition is invalid."
    assert set(body["errors"]) == {"pages[0].questions[1].scale", "pages[0].questions[2].show_if"}
    assert body["errors"]["pages[0].questions[2].show_if"] == [
        "later is not a question before this one."
    ]
    assert not Survey.objects.exists()


def test_import_refuses_malicious_condition(owner_api):
    definition = _definition(
        {"key": "q1", "type": "nps", "text": "推荐"},
        {"key": "q2", "type": "text", "text": "原因", "show_if": "__import__('os').system('id')"},
    )
    response = owner_api.post("/surveys/import", definition)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["pages[0].questions[1].show_if"]
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    ("body", "path", "field"),
    [
        ([1, 2], "/surveys/import", "body"),
        ("survey", "/surveys/import", "body"),
        ({"format": "cxloop.survey/1"}, "/surveys/import", "title"),
        (DEFINITION, "/surveys/import?key=Not%20A%20Key", "key"),
        (DEFINITION, "/surveys/import?key=import", "key"),
        (DEFINITION, "/surveys/import?key=delivery", "key"),
        ({**DEFINITION, "title": "a\x00b"}, "/surveys/import", "body"),
        ({**DEFINITION, "colour": "red"}, "/surveys/import", "colour"),
    ],
)
def test_import_bad_input(owner_api, survey, body, path, field):
    response = owner_api.post(path, body)
    assert response.status_code == 422, response.content
    assert field in response.json()["errors"]
    assert Survey.objects.count() == 1


def test_import_too_large_or_not_json(owner_api):
    huge = {**DEFINITION, "title": "长" * (MAX_IMPORT_BYTES // 3 + 1)}
    response = owner_api.post("/surveys/import", huge)
    assert response.status_code == 413 and response.json()["detail"]
    response = owner_api.post("/surveys/import", raw="{not json")
    assert response.status_code == 400 and response.json()["detail"]
    assert not Survey.objects.exists()


def test_import_path_is_not_a_survey_key(owner_api):
    response = owner_api.get("/surveys/import")
    assert response.status_code == 405 and response.json()["detail"]
    created = owner_api.post("/surveys/import", {**DEFINITION, "title": "Import"}).json()
    assert created["key"].startswith("import-")
    assert owner_api.get(f"/surveys/{created['key']}").status_code == 200


def test_import_permissions(owner_api, teammate_api, outsider_api, anonymous_api):
    assert teammate_api.post("/surveys/import", DEFINITION).status_code == 403
    assert outsider_api.post("/surveys/import", DEFINITION).status_code == 403
    assert anonymous_api.post("/surveys/import", DEFINITION).status_code == 401
    assert not Survey.objects.exists()
    assert owner_api.post("/surveys/import", DEFINITION).status_code == 201


def test_export_import_round_trip(owner_api, survey):
    SurveyVersion.objects.filter(survey=survey).delete()
    exported = owner_api.get("/surveys/delivery/export").json()
    response = owner_api.post("/surveys/import?key=copy", exported)
    assert response.status_code == 201, response.content
    assert owner_api.get("/surveys/copy/export").json() == exported
