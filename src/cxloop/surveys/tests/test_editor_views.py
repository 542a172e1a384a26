"""The survey editor pages: permissions, every edit round-tripping into the draft, publishing."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from cxloop.core import roles
from cxloop.core.models import AuditLog
from cxloop.surveys import services
from cxloop.surveys.editor_forms import QuestionForm
from cxloop.surveys.models import Survey, SurveyVersion

pytestmark = pytest.mark.django_db

LEADING_TEXT = "您是否觉得我们的配送服务非常好？"


@pytest.fixture
def csat(owner) -> Survey:
    return services.create_from_template(template_key="post_delivery_csat", actor=owner)


def _keys(survey: Survey) -> list[str]:
    survey.refresh_from_db()
    return [q["key"] for page in survey.draft["pages"] for q in page["questions"]]


def _question(survey: Survey, key: str) -> dict:
    survey.refresh_from_db()
    return next(q for p in survey.draft["pages"] for q in p["questions"] if q["key"] == key)


def _form_data(survey: Survey, key: str, **changes) -> dict:
    """The POST data of a question's edit form as the page renders it, with ``changes``."""
    form = QuestionForm(question=_question(survey, key), language=survey.draft["language"])
    values = {name: form.initial.get(name) for name in form.fields} | changes
    data = {}
    for name, value in values.items():
        if value is None or value is False:
            continue
        data[form.add_prefix(name)] = "on" if value is True else value
    return data


def _url(name: str, survey: Survey, *args) -> str:
    return reverse(f"surveys:{name}", args=[survey.pk, *args])


# --- permissions ------------------------------------------------------------------------------


def test_owner_sees_list_with_counts_and_template_buttons(owner_client, csat):
    response = owner_client.get(reverse("surveys:list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert csat.title in body
    assert 'data-template="relationship_nps"' in body
    assert reverse("surveys:edit", args=[csat.pk]) in body


def test_list_counts_only_submitted_responses_in_one_query(
    owner_client, csat, django_assert_max_num_queries
):
    version = services.publish_survey(survey=csat, actor=None)
    from django.utils import timezone

    for submitted in (timezone.now(), timezone.now(), None):
        csat.responses.create(version=version, submitted_at=submitted)
    with django_assert_max_num_queries(8):  # session, user, perms, count, page: not per survey
        response = owner_client.get(reverse("surveys:list"))
    row = response.content.decode().split(csat.title, 1)[1].split("</tr>", 1)[0]
    assert '<td class="num">2</td>' in row
    assert "v1" in row


def test_teammate_views_list_but_cannot_edit(teammate_client, csat):
    response = teammate_client.get(reverse("surveys:list"))
    assert response.status_code == 200
    assert reverse("surveys:edit", args=[csat.pk]) not in response.content.decode()
    assert reverse("surveys:preview", args=[csat.pk]) in response.content.decode()
    assert teammate_client.get(_url("preview", csat)).status_code == 200
    assert teammate_client.get(_url("edit", csat)).status_code == 403
    before = _keys(csat)
    add = teammate_client.post(_url("question_add", csat, 0), {"type": "text"})
    assert add.status_code == 403
    assert teammate_client.post(_url("publish", csat)).status_code == 403
    assert teammate_client.post(reverse("surveys:create")).status_code == 403
    assert _keys(csat) == before
    assert not SurveyVersion.objects.exists()


@pytest.mark.parametrize(
    "name,method,args",
    [
        ("list", "get", ()),
        ("import", "get", ()),
        ("create", "post", ()),
        ("edit", "get", ("survey",)),
        ("preview", "get", ("survey",)),
        ("export", "get", ("survey",)),
        ("publish", "post", ("survey",)),
        ("close", "post", ("survey",)),
        ("page_add", "post", ("survey",)),
    ],
)
def test_outsider_is_refused_everywhere(outsider_client, csat, name, method, args):
    url = reverse(f"surveys:{name}", args=[csat.pk if a == "survey" else a for a in args])
    assert getattr(outsider_client, method)(url).status_code == 403


def test_anonymous_is_sent_to_login(client, csat):
    response = client.get(_url("edit", csat))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_nav_link_follows_permission(owner_client, django_user_model):
    assert reverse("surveys:list") in owner_client.get(reverse("console:home")).content.decode()
    handler = django_user_model.objects.create_user(username="handler", password="x")
    handler.groups.add(Group.objects.get(name=roles.DEPARTMENT_HANDLER))
    client = Client()
    client.force_login(handler)
    assert reverse("surveys:list") not in client.get(reverse("console:home")).content.decode()


# --- creating ---------------------------------------------------------------------------------


def test_create_blank_and_from_template(owner_client):
    blank = owner_client.post(reverse("surveys:create"))
    survey = Survey.objects.get()
    assert blank["Location"] == _url("edit", survey)
    assert survey.draft["pages"][0]["questions"] == []
    owner_client.post(reverse("surveys:create"), {"template": "relationship_nps"})
    nps = Survey.objects.exclude(pk=survey.pk).get()
    assert "nps" in _keys(nps)
    assert AuditLog.objects.filter(action="survey.create").count() == 2


def test_unknown_template_is_refused_without_creating(owner_client):
    response = owner_client.post(reverse("surveys:create"), {"template": "nope"}, follow=True)
    assert b"Unknown template" in response.content
    assert not Survey.objects.exists()


# --- editing ----------------------------------------------------------------------------------


def test_editor_page_shows_questions_warnings_and_preview(owner_client, csat):
    response = owner_client.get(_url("edit", csat))
    assert response.status_code == 200
    body = response.content.decode()
    for key in _keys(csat):
        assert f'id="q-{key}"' in body
    assert 'id="design-warnings"' in body
    assert 'id="live-preview"' in body
    assert "很不满意" in body  # the scale labels in the preview


def test_add_question_round_trips_into_the_draft(owner_client, csat):
    before = _keys(csat)
    response = owner_client.post(_url("question_add", csat, 0), {"type": "single"})
    assert response.status_code == 302
    assert response["Location"].endswith("#q-q1")
    assert _keys(csat) == [*before, "q1"]
    added = _question(csat, "q1")
    assert added["type"] == "single"
    assert len(added["options"]) == 2
    assert AuditLog.objects.filter(action="survey.update_draft", object_id=str(csat.pk)).exists()


def test_edit_question_options_and_texts(owner_client, csat):
    owner_client.post(_url("question_add", csat, 0), {"type": "multiple"})
    data = _form_data(
        csat,
        "q1",
        text="哪些方面需要改进？",
        options="speed|配送速度\npack|包装\n\nstaff | 配送员态度",
        max_choices="2",
        required=True,
    )
    response = owner_client.post(_url("question", csat, "q1"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    question = _question(csat, "q1")
    assert question["text"] == "哪些方面需要改进？"
    assert question["required"] is True
    assert question["max_choices"] == 2
    assert question["options"] == [
        {"value": "speed", "label": "配送速度"},
        {"value": "pack", "label": "包装"},
        {"value": "staff", "label": "配送员态度"},
    ]


def test_edit_keeps_other_translations(owner_client, csat):
    key = _keys(csat)[0]
    original = _question(csat, key)["text"]
    assert isinstance(original, dict)  # built-in templates carry zh-hans and English
    owner_client.post(_url("question", csat, key), _form_data(csat, key, text="新的问题"))
    assert _question(csat, key)["text"] == {**original, "zh-hans": "新的问题"}


def test_reorder_and_delete_questions(owner_client, csat):
    assert _keys(csat) == ["csat", "logistics", "comment"]
    owner_client.post(_url("question_action", csat, "comment", "up"))
    assert _keys(csat) == ["csat", "comment", "logistics"]
    owner_client.post(_url("question_action", csat, "comment", "down"))
    assert _keys(csat) == ["csat", "logistics", "comment"]
    owner_client.post(_url("question_add", csat, 0), {"type": "text"})
    owner_client.post(_url("question_action", csat, "q1", "delete"))
    assert _keys(csat) == ["csat", "logistics", "comment"]


def test_move_above_what_a_condition_reads_is_refused(owner_client, csat):
    response = owner_client.post(_url("question_action", csat, "logistics", "up"))
    assert response.status_code == 200
    assert "csat is not a question before this one" in response.content.decode()
    assert _keys(csat) == ["csat", "logistics", "comment"]


def test_pages_add_move_rename_delete(owner_client, csat):
    owner_client.post(_url("page_add", csat))
    csat.refresh_from_db()
    assert len(csat.draft["pages"]) == 2
    owner_client.post(_url("question_add", csat, 1), {"type": "nps"})
    owner_client.post(_url("page_action", csat, 1, "rename"), {"page-1-title": "推荐"})
    owner_client.post(_url("page_action", csat, 1, "up"))
    csat.refresh_from_db()
    assert csat.draft["pages"][0]["title"] == "推荐"
    assert [q["key"] for q in csat.draft["pages"][0]["questions"]] == ["q1"]
    owner_client.post(_url("page_action", csat, 0, "delete"))
    assert "q1" not in _keys(csat)
    assert len(csat.draft["pages"]) == 1


def test_invalid_show_if_rerenders_with_message_and_keeps_draft(owner_client, csat):
    key = _keys(csat)[-1]
    before = _question(csat, key)
    data = _form_data(csat, key, show_if="overall <<= 2", text="保留我的输入")
    response = owner_client.post(_url("question", csat, key), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "not valid syntax" in body
    assert "保留我的输入" in body  # the user's input is still in the form
    assert "overall &lt;&lt;= 2" in body
    assert _question(csat, key) == before


def test_show_if_on_a_later_question_is_refused_inline(owner_client, csat):
    first, *_rest, last = _keys(csat)
    before = _question(csat, first)
    data = _form_data(csat, first, show_if=f"{last} == 1")
    response = owner_client.post(_url("question", csat, first), data)
    assert response.status_code == 200
    assert f"{last} is not a question before this one" in response.content.decode()
    assert _question(csat, first) == before


def test_condition_check_reports_live(owner_client, csat):
    first, second, *_ = _keys(csat)
    url = _url("condition_check", csat, second)
    ok = owner_client.get(url, {f"q-{second}-show_if": f"{first} <= 2"})
    assert b"Valid condition" in ok.content
    bad = owner_client.get(url, {f"q-{second}-show_if": "__import__('os')"})
    assert b"condition-error" in bad.content
    later = owner_client.get(_url("condition_check", csat, first), {"x-show_if": f"{second} > 1"})
    assert b"is not a question before this one" in later.content


def test_leading_question_shows_a_warning(owner_client, csat):
    key = _keys(csat)[0]
    owner_client.post(_url("question", csat, key), _form_data(csat, key, text=LEADING_TEXT))
    response = owner_client.get(_url("edit", csat))
    warnings = response.content.decode().split('id="design-warnings"', 1)[1].split("</section>")[0]
    assert f"<code>{key}</code>" in warnings
    assert 'data-code="leading' in warnings


def test_htmx_change_returns_the_editor_region_with_warnings(owner_client, csat):
    key = _keys(csat)[0]
    response = owner_client.post(
        _url("question", csat, key),
        _form_data(csat, key, text=LEADING_TEXT),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="survey-editor",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith("{") is False
    assert 'id="survey-editor"' in body
    assert 'data-code="leading' in body
    assert _question(csat, key)["text"]["zh-hans"] == LEADING_TEXT


def test_settings_form_saves_intro_and_closing(owner_client, csat):
    data = {
        "settings-title": "配送满意度（新版）",
        "settings-purpose": "了解配送体验",
        "settings-privacy": "仅用于内部优化",
        "settings-minutes": "2",
        "settings-thanks": "谢谢！",
        "settings-incentive": "",
    }
    response = owner_client.post(_url("settings", csat), data)
    assert response.status_code == 302
    csat.refresh_from_db()
    assert csat.title == "配送满意度（新版）"
    assert csat.draft["intro"]["minutes"] == 2
    assert csat.draft["intro"]["privacy"]["zh-hans"] == "仅用于内部优化"
    assert not csat.draft["closing"].get("incentive")


def test_settings_errors_keep_input(owner_client, csat):
    data = {"settings-title": "新标题", "settings-minutes": "999"}
    response = owner_client.post(_url("settings", csat), data)
    assert response.status_code == 200
    assert "新标题" in response.content.decode()
    csat.refresh_from_db()
    assert csat.title != "新标题"


def test_unknown_question_and_action_do_not_500(owner_client, csat):
    assert owner_client.post(_url("question", csat, "ghost"), {}).status_code == 200
    assert owner_client.post(_url("question_action", csat, "ghost", "up")).status_code == 200
    assert owner_client.post(_url("question_action", csat, "ghost", "fly")).status_code == 400
    assert owner_client.post(_url("page_action", csat, 9, "delete")).status_code == 200
    assert owner_client.post(_url("question_add", csat, 0), {"type": "bogus"}).status_code == 200


# --- publishing -------------------------------------------------------------------------------


def test_publish_makes_versions_only_when_changed(owner_client, owner, csat):
    response = owner_client.post(_url("publish", csat), follow=True)
    assert b"Published version 1" in response.content
    owner_client.post(_url("question_add", csat, 0), {"type": "text"})
    owner_client.post(_url("publish", csat))
    again = owner_client.post(_url("publish", csat), follow=True)
    assert b"no new version" in again.content
    numbers = list(csat.versions.order_by("number").values_list("number", flat=True))
    assert numbers == [1, 2]
    csat.refresh_from_db()
    assert csat.current_version.number == 2
    assert csat.status == Survey.Status.ACTIVE
    assert csat.current_version.published_by == owner
    assert "q1" in json.dumps(csat.current_version.definition)
    page = owner_client.get(_url("edit", csat)).content.decode()
    assert 'id="version-list"' in page
    assert "v2 ·" in page and "v1 ·" in page


def test_publish_empty_survey_shows_error(owner_client):
    owner_client.post(reverse("surveys:create"))
    survey = Survey.objects.get()
    response = owner_client.post(_url("publish", survey))
    assert response.status_code == 200
    assert b"at least one question" in response.content
    assert not SurveyVersion.objects.exists()


def test_close_survey(owner_client, csat):
    owner_client.post(_url("publish", csat))
    owner_client.post(_url("close", csat))
    csat.refresh_from_db()
    assert csat.status == Survey.Status.CLOSED


# --- export / import --------------------------------------------------------------------------


def test_export_then_import_round_trip(owner_client, csat):
    exported = owner_client.get(_url("export", csat))
    assert exported.status_code == 200
    assert "attachment" in exported["Content-Disposition"]
    data = json.loads(exported.content)
    response = owner_client.post(reverse("surveys:import"), {"text": json.dumps(data)})
    assert response.status_code == 302
    copy = Survey.objects.exclude(pk=csat.pk).get()
    assert response["Location"] == _url("edit", copy)
    csat.refresh_from_db()
    assert copy.draft == csat.draft


def test_import_file_upload(owner_client, csat):
    from django.core.files.uploadedfile import SimpleUploadedFile

    body = owner_client.get(_url("export", csat)).content
    upload = SimpleUploadedFile("survey.json", body, content_type="application/json")
    response = owner_client.post(reverse("surveys:import"), {"file": upload})
    assert response.status_code == 302
    assert Survey.objects.count() == 2


def test_import_shows_errors_per_path(owner_client):
    bad = {
        "format": "cxloop.survey/1",
        "title": "坏的问卷",
        "pages": [
            {"key": "p1", "questions": [{"key": "Bad Key", "type": "nps", "text": "推荐？"}]}
        ],
    }
    response = owner_client.post(reverse("surveys:import"), {"text": json.dumps(bad)})
    assert response.status_code == 200
    problems = response.content.decode().split('id="import-problems"', 1)[1]
    assert "key" in problems.split("</ul>")[0]
    assert not Survey.objects.exists()


@pytest.mark.parametrize(
    "text,message",
    [("{not json", "not valid JSON"), ("[1, 2]", "must be an object"), ("", "Choose a file")],
)
def test_import_bad_input_is_explained(owner_client, text, message):
    response = owner_client.post(reverse("surveys:import"), {"text": text})
    assert response.status_code == 200
    assert message in response.content.decode()


def test_import_surveyjs(owner_client):
    surveyjs = {
        "title": "Store visit",
        "pages": [
            {
                "name": "page1",
                "elements": [
                    {"type": "rating", "name": "overall", "title": "How was your visit?"},
                    {"type": "comment", "name": "why", "title": "Why?"},
                ],
            }
        ],
    }
    response = owner_client.post(reverse("surveys:import"), {"text": json.dumps(surveyjs)})
    assert response.status_code == 302
    assert _keys(Survey.objects.get()) == ["overall", "why"]


def test_teammate_cannot_import(teammate_client):
    response = teammate_client.post(reverse("surveys:import"), {"text": "{}"})
    assert response.status_code == 403


# --- CSRF -------------------------------------------------------------------------------------


def test_posts_need_the_csrf_token(owner, csat):
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    before = _keys(csat)
    assert client.post(_url("question_add", csat, 0), {"type": "text"}).status_code == 403
    assert client.post(_url("publish", csat)).status_code == 403
    assert _keys(csat) == before
    page = client.get(_url("edit", csat))
    token = page.cookies["csrftoken"].value
    ok = client.post(_url("question_add", csat, 0), {"type": "text", "csrfmiddlewaretoken": token})
    assert ok.status_code == 302
    assert _keys(csat) == [*before, "q1"]
