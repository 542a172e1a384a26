"""Export/import of definitions: our format round-trips; the SurveyJS subset converts."""

from __future__ import annotations

import json

import pytest

from cxloop.surveys import builtin, services
from cxloop.surveys.definition import DefinitionError, parse_definition
from cxloop.surveys.interchange import (
    convert_definition,
    convert_surveyjs_expression,
    export_definition,
    import_definition,
)


@pytest.mark.django_db
def test_export_survey_version_and_dict(owner):
    survey = services.create_from_template(template_key="relationship_nps", actor=owner)
    version = services.publish_survey(survey=survey, actor=owner)
    assert export_definition(survey) == survey.draft
    assert export_definition(version) == version.definition
    assert export_definition(survey.draft) == survey.draft
    assert export_definition(parse_definition(survey.draft)) == survey.draft


def test_export_of_a_stale_invalid_draft_returns_it_as_stored():
    assert export_definition({"title": "T", "pages": "x"}) == {"title": "T", "pages": "x"}


@pytest.mark.parametrize("key", builtin.TEMPLATE_KEYS)
def test_our_format_round_trips_through_json_text(key):
    exported = parse_definition(builtin.get_template(key)).to_json()
    text = json.dumps(exported, ensure_ascii=False)
    assert import_definition(text) == exported
    assert import_definition(text.encode()) == exported
    assert convert_definition(exported) == (exported, [])


@pytest.mark.parametrize(
    "data", ["{not json", "[1, 2]", "3", b"\xff\xfe", "[" * 100000 + "]" * 100000, None]
)
def test_bad_input_is_a_definition_error(data):
    with pytest.raises(DefinitionError):
        import_definition(data)


def test_invalid_our_format_reports_paths():
    data = builtin.get_template("post_delivery_csat")
    data["pages"][0]["questions"][0]["scale"] = 99
    with pytest.raises(DefinitionError) as info:
        import_definition(data)
    assert "pages[0].questions[0].scale" in info.value.errors


SURVEYJS = {
    "title": {"default": "配送调查", "en": "Delivery survey"},
    "description": "了解配送体验",
    "completedHtml": "<h3>感谢您的反馈！</h3>",
    "pages": [
        {
            "name": "page1",
            "title": "第一页",
            "elements": [
                {
                    "type": "rating",
                    "name": "NPS Score",
                    "title": "推荐可能性",
                    "rateMin": 0,
                    "rateMax": 10,
                    "isRequired": True,
                },
                {
                    "type": "checkbox",
                    "name": "reasons",
                    "title": "不满意的方面",
                    "choices": [{"value": "物流", "text": "物流速度"}, "包装", 3],
                    "maxSelectedChoices": 2,
                    "visibleIf": "{NPS Score} <= 6",
                },
                {
                    "type": "radiogroup",
                    "name": "channel",
                    "title": "购买渠道",
                    "choices": ["app", "web"],
                    "visibleIf": "{reasons} contains '物流' and {NPS Score} <> 10",
                },
                {
                    "type": "panel",
                    "name": "more",
                    "elements": [
                        {"type": "rating", "name": "overall", "title": "总体满意度"},
                        {"type": "boolean", "name": "again", "title": "还会再买吗？"},
                    ],
                },
            ],
        },
        {
            "name": "page2",
            "elements": [
                {
                    "type": "matrix",
                    "name": "dims",
                    "title": "服务评价",
                    "columns": ["很不满意", "不满意", "一般", "满意", "非常满意"],
                    "rows": [
                        {"value": "attitude", "text": "服务态度"},
                        {"value": "Response Speed", "text": "响应速度"},
                    ],
                },
                {"type": "comment", "name": "comment", "maxLength": 300},
                {"type": "html", "name": "banner", "html": "<b>hi</b>"},
                {"type": "text", "name": "why", "visibleIf": "age({overall}) > 3"},
            ],
        },
    ],
}


def test_surveyjs_conversion():
    definition, warnings = convert_definition(SURVEYJS)
    assert definition["language"] == "zh-hans"
    assert definition["title"] == {"zh-hans": "配送调查", "en": "Delivery survey"}
    assert definition["intro"]["purpose"] == "了解配送体验"
    assert definition["closing"]["thanks"] == "感谢您的反馈！"
    first, second = definition["pages"]
    assert first["title"] == "第一页"
    nps, reasons, channel, overall, again = first["questions"]
    assert (nps["key"], nps["type"], nps["required"]) == ("nps_score", "nps", True)
    assert reasons["type"] == "multiple" and reasons["max_choices"] == 2
    assert [o["value"] for o in reasons["options"]] == ["物流", "包装", "3"]
    assert reasons["options"][0]["label"] == "物流速度"
    assert reasons["show_if"] == "nps_score <= 6"
    assert channel["show_if"] == '"物流" in reasons and nps_score != 10'
    assert (overall["type"], overall["scale"]) == ("rating", 5)
    assert again["type"] == "single"
    assert [o["value"] for o in again["options"]] == ["yes", "no"]
    dims, comment, why = second["questions"]
    assert dims["scale"] == 5 and dims["labels"][2] == "一般"
    assert [row["key"] for row in dims["rows"]] == ["attitude", "response_speed"]
    assert comment["max_length"] == 300 and comment["text"] == "comment"
    assert "show_if" not in why
    assert len(warnings) == 2  # the html element and the age() condition
    assert any("banner" in warning for warning in warnings)
    assert any("age(" in warning for warning in warnings)
    parse_definition(definition)


def test_surveyjs_elements_at_top_level_and_english_locale():
    data = {
        "locale": "en",
        "elements": [
            {"type": "dropdown", "name": "1st", "choices": ["a", "b"]},
            {"type": "dropdown", "name": "answered", "choices": ["a", "b"]},
            {"type": "text", "name": "1st", "visibleIf": "{1st} = 'a'"},
        ],
    }
    definition, warnings = convert_definition(data)
    assert definition["language"] == "en"
    keys = [q["key"] for q in definition["pages"][0]["questions"]]
    assert keys == ["q_1st", "answered_q", "q_1st_2"]
    assert definition["title"] == "Imported survey"
    assert warnings == []


def test_surveyjs_rating_ranges_are_rescaled_with_a_warning():
    data = {"elements": [{"type": "rating", "name": "r", "rateMin": 0, "rateMax": 4}]}
    definition, warnings = convert_definition(data)
    assert definition["pages"][0]["questions"][0]["scale"] == 5
    assert len(warnings) == 1
    data = {"elements": [{"type": "rating", "name": "r", "rateValues": ["差", "中", "好"]}]}
    question = convert_definition(data)[0]["pages"][0]["questions"][0]
    assert (question["scale"], question["labels"]) == (3, ["差", "中", "好"])


def test_condition_on_a_later_question_is_dropped():
    data = {
        "elements": [
            {"type": "text", "name": "a", "visibleIf": "{b} = 'x'"},
            {"type": "text", "name": "b"},
        ]
    }
    definition, warnings = convert_definition(data)
    assert "show_if" not in definition["pages"][0]["questions"][0]
    assert len(warnings) == 1


KEYS = {"nps": "nps", "reasons": "reasons", "city": "city", "note": "note"}
TYPES = {"nps": "nps", "reasons": "multiple", "city": "single", "note": "text"}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("{nps} <= 6", "nps <= 6"),
        ("{nps} = 10 or {nps} == 9", "nps == 10 or nps == 9"),
        ("{city} <> 'sh'", 'city != "sh"'),
        ('{reasons} notcontains "物流"', '"物流" not in reasons'),
        ("{note} notempty", "answered(note)"),
        ("{note} empty AND {nps} > 8", "not answered(note) and nps > 8"),
        ("!({nps} < 5)", "not ( nps < 5 )"),
        ("{city} anyof ['sh', 'bj']", 'city in ["sh", "bj"]'),
        ("{reasons} anyof ['a', 'b']", '("a" in reasons or "b" in reasons)'),
        ("{reasons} allof ['a', 'b']", '("a" in reasons and "b" in reasons)'),
        ("{city} = true", "city == true"),
    ],
)
def test_surveyjs_expressions(expression, expected):
    converted = convert_surveyjs_expression(expression, KEYS, TYPES)
    assert converted == expected


@pytest.mark.parametrize(
    "expression",
    [
        "{unknown} = 1",
        "age({nps}) > 3",
        "{nps} + 1 > 3",
        "{city} allof ['a', 'b']",
        "{city} anyof 'a'",
        "{reasons} contains {city}",
        "{nps} <= 6 ; drop",
        "{panel.nps} = 1",
    ],
)
def test_surveyjs_expressions_outside_the_subset(expression):
    assert convert_surveyjs_expression(expression, KEYS, TYPES) is None
