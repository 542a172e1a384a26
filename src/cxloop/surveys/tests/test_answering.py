"""The page-flow engine: visibility, validation per question type, progress and scores."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from cxloop.surveys import answering
from cxloop.surveys.definition import parse_definition
from cxloop.surveys.tests.answer_helpers import DEFINITION

DEFN = parse_definition(DEFINITION)


def read(page, data, answers=None):
    return answering.read_page(DEFN, page, data, answers or {})


def errors_of(page, data, answers=None):
    return read(page, data, answers).errors


# --- visibility and navigation ------------------------------------------------------------


def test_show_if_controls_visibility_and_pages():
    assert [q.key for q in answering.visible_questions(DEFN, 0, {})] == ["nps", "overall"]
    low = {"nps": 3, "overall": 4}
    assert [q.key for q in answering.visible_questions(DEFN, 0, low)] == [
        "nps",
        "reasons",
        "overall",
    ]
    # Page 3 (index 2) only exists for unhappy customers.
    assert answering.visible_pages(DEFN, {"overall": 4}) == [0, 1, 3]
    assert answering.visible_pages(DEFN, {"overall": 1}) == [0, 1, 2, 3]
    assert answering.next_page(DEFN, 1, {"overall": 4}) == 3
    assert answering.next_page(DEFN, 1, {"overall": 2}) == 2
    assert answering.next_page(DEFN, 3, {}) is None
    assert answering.previous_page(DEFN, 3, {"overall": 4}) == 1


def test_progress_counts_only_pages_shown():
    assert answering.progress(DEFN, 0, {"overall": 4}) == (1, 3)
    assert answering.progress(DEFN, 3, {"overall": 4}) == (3, 3)
    assert answering.progress(DEFN, 3, {"overall": 1}) == (4, 4)


def test_answers_of_hidden_questions_are_dropped():
    answers = {"nps": 3, "reasons": ["物流"], "overall": 1, "followup": "yes", "junk": 1}
    assert answering.visible_answers(DEFN, answers) == {
        "nps": 3,
        "reasons": ["物流"],
        "overall": 1,
        "followup": "yes",
    }
    # The respondent changes their mind on page 1: reasons and the follow-up page vanish.
    result = read(0, {"q-nps": "10", "q-overall": "5"}, answers)
    assert result.errors == {}
    assert result.answers == {"nps": 10, "overall": 5}


def test_a_question_revealed_on_the_same_page_is_asked_not_failed():
    data = {"q-nps": "3", "q-overall": "4", "shown": "nps,overall"}
    result = read(0, data)
    assert result.errors == {}
    assert result.revealed == ["reasons"]
    assert not result.complete
    assert result.answers == {"nps": 3, "overall": 4}
    # Once shown, the required follow-up must be answered.
    again = read(0, {**data, "shown": "nps,reasons,overall"}, result.answers)
    assert again.errors == {"reasons": ["This question needs an answer."]}


def test_clearing_an_answer_removes_it_and_keeps_other_pages():
    answers = {"nps": 9, "overall": 4, "comment": "好"}
    result = read(3, {"q-comment": "  "}, answers)
    assert result.answers == {"nps": 9, "overall": 4}


# --- validation per type ------------------------------------------------------------------


def test_required_scale_questions():
    assert errors_of(0, {}) == {
        "nps": ["This question needs an answer."],
        "overall": ["This question needs an answer."],
    }


@pytest.mark.parametrize("value", ["11", "-1", "abc", "5.5", "1e3"])
def test_nps_out_of_range(value):
    assert errors_of(0, {"q-nps": value, "q-overall": "3"}) == {
        "nps": ["Choose a number from 0 to 10."]
    }


def test_rating_range_follows_the_scale():
    assert errors_of(0, {"q-nps": "0", "q-overall": "6"})["overall"] == [
        "Choose a number from 1 to 5."
    ]
    assert read(0, {"q-nps": "0", "q-overall": "1", "q-reasons": "物流"}).answers["nps"] == 0


def test_multiple_choice_membership_and_max_choices():
    base = QueryDict(mutable=True)
    base.update({"q-nps": "2", "q-overall": "2"})
    data = base.copy()
    data.setlist("q-reasons", ["物流", "火星"])
    assert errors_of(0, data)["reasons"] == ["Choose from the options given."]
    data.setlist("q-reasons", ["物流", "包装", "价格"])
    assert errors_of(0, data)["reasons"] == ["Choose at most 2 options."]
    data.setlist("q-reasons", ["物流", "物流", "包装"])
    result = read(0, data)
    assert result.errors == {} and result.answers["reasons"] == ["物流", "包装"]


def test_single_choice_membership():
    answers = {"overall": 1}
    assert errors_of(2, {"q-followup": "maybe"}, answers) == {
        "followup": ["Choose one of the options."]
    }
    assert read(2, {"q-followup": "yes"}, answers).answers["followup"] == "yes"


def test_text_max_length_keeps_what_was_typed():
    long_text = "很" * 21
    result = read(3, {"q-comment": long_text})
    assert result.errors == {"comment": ["At most 20 characters; this has 21."]}
    assert result.display["comment"] == long_text
    assert read(3, {"q-comment": " ok\x00 "}).answers == {"comment": "ok"}


def page_two(**overrides):
    data = {
        "q-dims-efficiency": "4",
        "q-dims-attitude": "5",
        "q-dims-resolution": "3",
        "q-dims-environment": "4",
        "q-kano_fast-functional": "like",
        "q-kano_fast-dysfunctional": "dislike",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_matrix_rows_are_required_and_in_range():
    assert read(1, page_two()).answers["dims"] == {
        "efficiency": 4,
        "attitude": 5,
        "resolution": 3,
        "environment": 4,
    }
    assert errors_of(1, page_two(**{"q-dims-attitude": None})) == {"dims": ["Rate every row."]}
    assert errors_of(1, page_two(**{"q-dims-attitude": "9"})) == {
        "dims": ["Choose a number from 1 to 5."]
    }
    no_rows = page_two(**{f"q-dims-{row}": None for row in DEFINITION_ROWS})
    assert errors_of(1, no_rows) == {"dims": ["This question needs an answer."]}


DEFINITION_ROWS = ("efficiency", "attitude", "resolution", "environment")


def test_kano_needs_both_parts_from_the_five_answers():
    assert read(1, page_two()).answers["kano_fast"] == {
        "functional": "like",
        "dysfunctional": "dislike",
    }
    assert errors_of(1, page_two(**{"q-kano_fast-dysfunctional": None})) == {
        "kano_fast": ["Answer both parts."]
    }
    assert errors_of(1, page_two(**{"q-kano_fast-functional": "love"})) == {
        "kano_fast": ["Choose one of the options."]
    }
    unanswered = page_two(**{"q-kano_fast-functional": None, "q-kano_fast-dysfunctional": None})
    assert "kano_fast" not in read(1, unanswered).answers


def test_effort_scale_of_seven():
    assert read(1, page_two(**{"q-effort": "7"})).answers["effort"] == 7
    assert errors_of(1, page_two(**{"q-effort": "8"})) == {
        "effort": ["Choose a number from 1 to 7."]
    }


def test_valid_answers_are_kept_when_another_question_fails():
    result = read(0, {"q-nps": "9", "q-overall": "99"})
    assert result.answers == {"nps": 9}
    assert set(result.errors) == {"overall"}


# --- scores -------------------------------------------------------------------------------


def test_headline_scores_by_role():
    answers = {
        "nps": 9,
        "overall": 4,
        "effort": 2,
        "dims": {"efficiency": 5, "attitude": 4, "resolution": 3, "environment": 1},
    }
    scores = answering.headline_scores(DEFN, answers)
    assert scores["nps"] == 9 and scores["csat"] == 4 and scores["ces"] == 2
    # mean 3.25 on 1..5 → (3.25 - 1) / 4 * 100
    assert scores["csi"] == 56.25
    assert scores["dimension_scores"] == answers["dims"]


def test_headline_scores_of_an_empty_response():
    assert answering.headline_scores(DEFN, {}) == {
        "nps": None,
        "csat": None,
        "ces": None,
        "csi": None,
        "dimension_scores": {},
    }


def test_csi_extremes_are_0_and_100():
    low = {"dims": dict.fromkeys(DEFINITION_ROWS, 1)}
    high = {"dims": dict.fromkeys(DEFINITION_ROWS, 5)}
    assert answering.headline_scores(DEFN, low)["csi"] == 0
    assert answering.headline_scores(DEFN, high)["csi"] == 100


def test_answered_items_count_matrix_rows_and_kano_parts():
    answers = {
        "nps": 9,
        "overall": 4,
        "dims": dict.fromkeys(DEFINITION_ROWS, 3),
        "kano_fast": {"functional": "like", "dysfunctional": "dislike"},
    }
    assert answering.answered_items(DEFN, answers) == 2 + 4 + 2


def test_first_incomplete_page():
    assert answering.first_incomplete_page(DEFN, {}) == 0
    answered = {"nps": 9, "overall": 4}
    assert answering.first_incomplete_page(DEFN, answered) == 1
    full = {**answered, "dims": dict.fromkeys(DEFINITION_ROWS, 3)}
    assert answering.first_incomplete_page(DEFN, full) is None
    assert answering.first_incomplete_page(DEFN, {**full, "nps": 2}) == 0  # reasons now needed
