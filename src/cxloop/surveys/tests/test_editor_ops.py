"""Pure edits of a definition used by the editor."""

from __future__ import annotations

import pytest

from cxloop.surveys import editor_ops
from cxloop.surveys.definition import QUESTION_TYPES, parse_definition
from cxloop.surveys.services import empty_definition


@pytest.mark.parametrize("qtype", QUESTION_TYPES)
@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_every_new_question_is_valid(qtype, language):
    definition = {**empty_definition("测试"), "language": language}
    changed = editor_ops.add_question(definition, page_index=0, qtype=qtype, language=language)
    parsed = parse_definition(changed)
    assert [q.type for q in parsed.pages[0].questions] == [qtype]
    assert definition["pages"][0]["questions"] == []  # the input is not changed


def test_move_crosses_page_edges_and_stops_at_the_ends():
    definition = empty_definition("t")
    for _ in range(2):
        definition = editor_ops.add_question(definition, page_index=0, qtype="nps", language="en")
    definition = editor_ops.add_page(definition, language="en")
    moved = editor_ops.move_question(definition, key="q2", step=1)
    assert [[q["key"] for q in p["questions"]] for p in moved["pages"]] == [["q1"], ["q2"]]
    back = editor_ops.move_question(moved, key="q2", step=-1)
    assert [[q["key"] for q in p["questions"]] for p in back["pages"]] == [["q1", "q2"], []]
    assert editor_ops.move_question(definition, key="q1", step=-1) == definition


def test_unknown_targets_raise_edit_error():
    definition = empty_definition("t")
    with pytest.raises(editor_ops.EditError):
        editor_ops.delete_question(definition, key="nope")
    with pytest.raises(editor_ops.EditError):
        editor_ops.add_question(definition, page_index=3, qtype="nps", language="en")
    with pytest.raises(editor_ops.EditError):
        editor_ops.new_question("essay", "q1", "en")


def test_texts_merge_into_translations_and_lines_parse():
    assert editor_ops.merge_text({"zh-hans": "旧", "en": "old"}, "新", "zh-hans") == {
        "zh-hans": "新",
        "en": "old",
    }
    assert editor_ops.merge_text("旧", "新", "zh-hans") == "新"
    assert editor_ops.text_in({"en": "x"}, "zh-hans") == "x"
    assert editor_ops.parse_pairs("a|甲\n\n b \nc | 丙 ") == [("a", "甲"), ("b", "b"), ("c", "丙")]


def test_free_key_skips_used_keys():
    definition = editor_ops.add_question(
        empty_definition("t"), page_index=0, qtype="nps", language="en"
    )
    assert editor_ops.free_key(definition) == "q2"
