"""Survey writes: create, draft edits, versioned publishing, closing, import — all audited."""

from __future__ import annotations

import copy
import re

import pytest

from cxloop.core.models import AuditLog
from cxloop.surveys import builtin, services
from cxloop.surveys.definition import DefinitionError, parse_definition
from cxloop.surveys.models import Survey, SurveyVersion

pytestmark = pytest.mark.django_db


def _audits(survey, action):
    return AuditLog.objects.filter(
        object_type="surveys.survey", object_id=str(survey.pk), action=action
    )


@pytest.fixture
def csat(owner):
    return services.create_from_template(template_key="post_delivery_csat", actor=owner)


def test_create_survey_with_english_title_slugifies(owner):
    survey = services.create_survey(title="  Delivery   feedback ", actor=owner)
    survey.refresh_from_db()
    assert survey.key == "delivery-feedback"
    assert survey.title == "Delivery feedback"
    assert survey.status == Survey.Status.DRAFT
    assert survey.created_by == owner
    assert survey.draft["pages"] == [{"key": "p1", "questions": []}]
    entry = _audits(survey, "survey.create").get()
    assert entry.actor == owner
    assert entry.after["key"] == "delivery-feedback"


def test_chinese_title_and_taken_slug_get_generated_keys(owner):
    chinese = services.create_survey(title="配送满意度", actor=owner)
    assert re.fullmatch(r"s-[0-9a-f]{8}", chinese.key)
    services.create_survey(title="Feedback", actor=owner)
    again = services.create_survey(title="Feedback", actor=owner)
    assert re.fullmatch(r"feedback-[0-9a-f]{8}", again.key)


def test_explicit_key_is_checked(owner):
    services.create_survey(title="A", key="nps-2025", actor=owner)
    with pytest.raises(DefinitionError) as info:
        services.create_survey(title="B", key="nps-2025", actor=owner)
    assert "key" in info.value.errors
    with pytest.raises(DefinitionError):
        services.create_survey(title="B", key="Bad Key!", actor=owner)
    with pytest.raises(DefinitionError) as info:
        services.create_survey(title="   ", actor=owner)
    assert "title" in info.value.errors
    assert Survey.objects.count() == 1


def test_create_with_invalid_definition_saves_nothing(owner):
    with pytest.raises(DefinitionError):
        services.create_survey(title="T", definition={"title": "T", "pages": 3}, actor=owner)
    assert not Survey.objects.exists()
    assert not AuditLog.objects.filter(action="survey.create").exists()


def test_create_from_template(owner, csat):
    assert csat.title == "配送后满意度"
    assert csat.key.startswith("s-")
    assert csat.draft == parse_definition(builtin.get_template("post_delivery_csat")).to_json()
    with pytest.raises(DefinitionError) as info:
        services.create_from_template(template_key="nope", actor=owner)
    assert "template_key" in info.value.errors


def test_update_draft_stores_normalised_and_audits(owner, csat):
    changed = copy.deepcopy(csat.draft)
    changed["title"] = {"zh-hans": "配送体验", "en": "Delivery experience"}
    changed["pages"][0]["questions"][2]["text"] = "还有建议吗？"
    survey = services.update_draft(survey=csat, definition=changed, actor=owner)
    survey.refresh_from_db()
    assert survey.title == "配送体验"
    assert survey.draft["pages"][0]["questions"][2]["text"] == "还有建议吗？"
    entry = _audits(survey, "survey.update_draft").get()
    assert entry.before["title"] == "配送后满意度"
    assert entry.after["draft"]["pages"][0]["questions"][2]["text"] == "还有建议吗？"


def test_update_draft_without_change_writes_no_audit(owner, csat):
    services.update_draft(survey=csat, definition=copy.deepcopy(csat.draft), actor=owner)
    assert not _audits(csat, "survey.update_draft").exists()


def test_update_draft_keeps_design_warnings_but_refuses_invalid(owner, csat):
    leading = copy.deepcopy(csat.draft)
    leading["pages"][0]["questions"][0]["text"] = "难道您不满意吗？"
    services.update_draft(survey=csat, definition=leading, actor=owner)
    csat.refresh_from_db()
    assert csat.draft["pages"][0]["questions"][0]["text"] == "难道您不满意吗？"

    broken = copy.deepcopy(csat.draft)
    broken["pages"][0]["questions"][1]["show_if"] = "comment == 'x'"  # a later question
    with pytest.raises(DefinitionError) as info:
        services.update_draft(survey=csat, definition=broken, actor=owner)
    assert "pages[0].questions[1].show_if" in info.value.errors
    csat.refresh_from_db()
    assert csat.draft["pages"][0]["questions"][1]["show_if"] == "csat <= 2"


def test_publish_freezes_numbered_versions_only_on_change(owner, csat):
    first = services.publish_survey(survey=csat, actor=owner)
    csat.refresh_from_db()
    assert (first.number, csat.status, csat.current_version) == (1, "active", first)
    assert first.published_by == owner
    assert services.publish_survey(survey=csat, actor=owner) == first  # unchanged draft
    assert SurveyVersion.objects.filter(survey=csat).count() == 1
    assert _audits(csat, "survey.publish").count() == 1

    changed = copy.deepcopy(csat.draft)
    changed["pages"][0]["questions"][2]["max_length"] = 200
    services.update_draft(survey=csat, definition=changed, actor=owner)
    second = services.publish_survey(survey=csat, actor=owner)
    assert second.number == 2
    first.refresh_from_db()
    assert first.definition["pages"][0]["questions"][2]["max_length"] == 500  # frozen
    assert second.definition["pages"][0]["questions"][2]["max_length"] == 200
    entry = _audits(csat, "survey.publish").order_by("-id").first()
    assert (entry.before, entry.after) == (
        {"version": 1, "status": "active"},
        {"version": 2, "status": "active"},
    )


def test_publish_refuses_a_survey_without_questions(owner):
    survey = services.create_survey(title="Empty", actor=owner)
    with pytest.raises(DefinitionError) as info:
        services.publish_survey(survey=survey, actor=owner)
    assert "pages" in info.value.errors
    survey.refresh_from_db()
    assert survey.status == Survey.Status.DRAFT
    assert not survey.versions.exists()


def test_publish_refuses_a_draft_that_no_longer_validates(owner, csat):
    Survey.objects.filter(pk=csat.pk).update(draft={"title": "T", "pages": "x"})
    with pytest.raises(DefinitionError):
        services.publish_survey(survey=csat, actor=owner)
    assert not csat.versions.exists()


def test_close_and_reopen(owner, csat):
    version = services.publish_survey(survey=csat, actor=owner)
    closed = services.close_survey(survey=csat, actor=owner)
    assert closed.status == Survey.Status.CLOSED
    services.close_survey(survey=csat, actor=owner)  # idempotent
    entry = _audits(csat, "survey.close").get()
    assert (entry.before, entry.after) == ({"status": "active"}, {"status": "closed"})
    assert services.publish_survey(survey=csat, actor=owner) == version  # reopens, same version
    csat.refresh_from_db()
    assert csat.status == Survey.Status.ACTIVE


def test_import_survey_our_format(owner):
    data = builtin.get_template("post_service_ces")
    survey = services.import_survey(data=data, actor=owner)
    assert survey.title == "服务后费力度"
    assert survey.import_warnings == []
    assert _audits(survey, "survey.create").exists()


def test_import_survey_surveyjs_with_warnings(owner):
    data = {
        "title": "Delivery",
        "pages": [
            {
                "elements": [
                    {"type": "rating", "name": "score", "rateMax": 5, "isRequired": True},
                    {"type": "comment", "name": "why", "visibleIf": "age({score}) > 3"},
                ]
            }
        ],
    }
    survey = services.import_survey(data=data, actor=owner)
    assert survey.key == "delivery"
    assert [q["key"] for q in survey.draft["pages"][0]["questions"]] == ["score", "why"]
    assert len(survey.import_warnings) == 1


def test_import_survey_refuses_invalid(owner):
    with pytest.raises(DefinitionError):
        services.import_survey(data="{not json", actor=owner)
    assert not Survey.objects.exists()
