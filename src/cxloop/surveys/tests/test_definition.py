"""The definition format: the documented example parses; each rule reports at its JSON path."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from cxloop.surveys.definition import (
    MAX_QUESTIONS,
    Definition,
    DefinitionError,
    iter_questions,
    json_path,
    parse_definition,
    question_by_key,
    question_for_role,
    text_for,
)

DOC = Path(__file__).resolve().parents[4] / "docs" / "survey-format.md"


@pytest.fixture
def example() -> dict:
    """The example from docs/survey-format.md — the contract itself."""
    match = re.search(r"```json\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return json.loads(match.group(1))


def _questions(data: dict) -> list[dict]:
    return data["pages"][0]["questions"]


def _errors(data) -> dict[str, list[str]]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(data)
    return info.value.errors


def test_documented_example_parses(example):
    definition = parse_definition(example)
    assert isinstance(definition, Definition)
    assert [q.key for q in iter_questions(definition)] == [
        "nps",
        "reasons",
        "overall",
        "effort",
        "dims",
        "kano_fast",
        "comment",
    ]
    assert question_by_key(definition, "dims").rows[1].key == "attitude"
    assert question_by_key(definition, "missing") is None
    assert question_for_role(definition, "csat").key == "overall"
    assert definition.intro.minutes == 3


def test_defaults_are_filled_and_round_trip(example):
    definition = parse_definition(example)
    assert question_by_key(definition, "effort").scale == 7
    assert question_by_key(definition, "comment").max_length == 500
    assert question_by_key(definition, "nps").points == range(0, 11)
    assert list(question_by_key(definition, "overall").points) == [1, 2, 3, 4, 5]
    stored = definition.to_json()
    assert stored["format"] == "cxloop.survey/1"
    assert parse_definition(stored).to_json() == stored
    assert parse_definition(definition).to_json() == stored
    json.dumps(stored)  # storable as JSON


def test_fields_of_other_types_are_dropped(example):
    _questions(example)[0]["options"] = [{"value": "a", "label": "A"}]
    _questions(example)[6]["scale"] = 5
    stored = parse_definition(example).to_json()
    assert "options" not in _questions(stored)[0]
    assert "scale" not in _questions(stored)[6]


def test_visibility_uses_show_if(example):
    reasons = question_by_key(parse_definition(example), "reasons")
    assert reasons.is_visible({"nps": 3})
    assert not reasons.is_visible({"nps": 9})
    assert not reasons.is_visible({})
    assert question_by_key(parse_definition(example), "nps").is_visible({})


def test_minimal_definition_parses():
    definition = parse_definition({"title": "T"})
    assert definition.pages == []
    assert definition.language == "zh-hans"


@pytest.mark.parametrize("data", [None, [], "x", 3])
def test_not_an_object(data):
    assert "" in _errors(data)


def test_duplicate_question_and_page_keys(example):
    _questions(example)[2]["key"] = "nps"
    _questions(example)[2].pop("role")
    example["pages"].append({"key": "p1", "questions": []})
    errors = _errors(example)
    assert "pages[0].questions[2].key" in errors
    assert "pages[1].key" in errors


def test_reserved_keys(example):
    _questions(example)[6]["key"] = "answered"
    assert "pages[0].questions[6].key" in _errors(example)


def test_show_if_may_only_reference_earlier_questions(example):
    _questions(example)[1]["show_if"] = "overall <= 2"
    errors = _errors(example)
    assert list(errors) == ["pages[0].questions[1].show_if"]
    assert "overall" in errors["pages[0].questions[1].show_if"][0]


def test_show_if_may_not_reference_itself(example):
    _questions(example)[1]["show_if"] = "answered(reasons)"
    assert "pages[0].questions[1].show_if" in _errors(example)


def test_show_if_on_a_later_page_sees_earlier_pages(example):
    example["pages"].append(
        {
            "key": "p2",
            "questions": [
                {"key": "why", "type": "text", "text": "Why?", "show_if": "nps <= 6 and effort > 4"}
            ],
        }
    )
    assert parse_definition(example).pages[1].questions[0].condition.names == {"nps", "effort"}


def test_bad_show_if_syntax(example):
    _questions(example)[1]["show_if"] = "__import__('os')"
    assert "pages[0].questions[1].show_if" in _errors(example)


def test_blank_show_if_is_none(example):
    _questions(example)[1]["show_if"] = "  "
    assert question_by_key(parse_definition(example), "reasons").show_if is None


def test_option_values_unique_and_at_least_two(example):
    _questions(example)[1]["options"] = [
        {"value": "物流", "label": "a"},
        {"value": "物流", "label": "b"},
    ]
    assert "pages[0].questions[1].options" in _errors(example)
    _questions(example)[1]["options"] = [{"value": "物流", "label": "a"}]
    assert "pages[0].questions[1].options" in _errors(example)


def test_max_choices_within_options(example):
    _questions(example)[1]["max_choices"] = 3
    assert "pages[0].questions[1].max_choices" in _errors(example)


@pytest.mark.parametrize(
    ("index", "scale", "ok"),
    [(2, 1, False), (2, 2, True), (2, 10, True), (2, 11, False), (3, 2, False), (3, 3, True)],
)
def test_scale_bounds(example, index, scale, ok):
    question = _questions(example)[index]
    question["scale"] = scale
    question.pop("labels", None)
    if ok:
        assert question_by_key(parse_definition(example), question["key"]).scale == scale
    else:
        assert f"pages[0].questions[{index}].scale" in _errors(example)


def test_labels_must_match_scale(example):
    _questions(example)[2]["labels"] = ["差", "好"]
    _questions(example)[4]["scale"] = 4
    errors = _errors(example)
    assert "pages[0].questions[2].labels" in errors
    assert "pages[0].questions[4].labels" in errors


def test_role_must_fit_type_and_be_unique(example):
    _questions(example)[3]["role"] = "csat"
    errors = _errors(example)
    assert len(errors["pages[0].questions[3].role"]) == 2


def test_unknown_role_and_type(example):
    _questions(example)[3]["role"] = "happiness"
    _questions(example)[6]["type"] = "essay"
    errors = _errors(example)
    assert "pages[0].questions[3].role" in errors
    assert "pages[0].questions[6].type" in errors


def test_matrix_rows(example):
    _questions(example)[4]["rows"] = []
    assert "pages[0].questions[4].rows" in _errors(example)
    _questions(example)[4]["rows"] = [{"key": "a", "label": "A"}, {"key": "a", "label": "B"}]
    assert "pages[0].questions[4].rows" in _errors(example)


def test_kano_needs_its_texts(example):
    del _questions(example)[5]["dysfunctional"]
    assert "pages[0].questions[5].dysfunctional" in _errors(example)


def test_question_text_required(example):
    del _questions(example)[6]["text"]
    assert "pages[0].questions[6].text" in _errors(example)


def test_shape_errors_have_json_paths(example):
    _questions(example)[0]["key"] = "Bad Key"
    _questions(example)[2]["scale"] = "five"
    _questions(example)[5]["colour"] = "red"
    example["title"] = {"EN!": "x"}
    errors = _errors(example)
    assert set(errors) == {
        "title",
        "pages[0].questions[0].key",
        "pages[0].questions[2].scale",
        "pages[0].questions[5].colour",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("title", "x" * 201), ("title", ""), ("title", 3), ("language", "fr"), ("format", "other/2")],
)
def test_top_level_bounds(example, field, value):
    example[field] = value
    assert field in _errors(example)


def test_long_question_text_refused(example):
    _questions(example)[0]["text"] = "很" * 1001
    assert "pages[0].questions[0].text" in _errors(example)


def test_too_many_questions():
    questions = [{"key": f"q{i}", "type": "text", "text": "?"} for i in range(MAX_QUESTIONS + 1)]
    errors = _errors({"title": "T", "pages": [{"key": "p", "questions": questions}]})
    assert "pages" in errors


def test_translations(example):
    example["title"] = {"zh-hans": "配送满意度", "en": "Delivery satisfaction"}
    _questions(example)[2]["labels"] = [{"zh-hans": str(i), "en": f"e{i}"} for i in range(5)]
    definition = parse_definition(example)
    assert text_for(definition.title, "en") == "Delivery satisfaction"
    assert text_for(definition.title, "zh-hans") == "配送满意度"
    assert text_for(definition.title, "fr", definition.language) == "配送满意度"
    assert text_for(definition.title, "en-us") == "Delivery satisfaction"
    assert text_for("plain", "en") == "plain"
    assert text_for(None, "en") == ""


def test_error_message_names_first_problem(example):
    _questions(example)[1]["show_if"] = "overall <= 2"
    with pytest.raises(DefinitionError, match=r"pages\[0\]\.questions\[1\]\.show_if"):
        parse_definition(example)


def test_json_path():
    assert json_path(("pages", 0, "questions", 2, "show_if")) == "pages[0].questions[2].show_if"
    assert json_path(()) == ""


def test_input_is_not_mutated(example):
    before = copy.deepcopy(example)
    parse_definition(example)
    assert example == before
