"""The three templates from the plans: valid, warning-free, bilingual, with their branches."""

from __future__ import annotations

import pytest

from cxloop.surveys import builtin
from cxloop.surveys.definition import (
    STANDARD_DIMENSIONS,
    iter_questions,
    parse_definition,
    question_by_key,
    question_for_role,
    text_for,
)
from cxloop.surveys.design_checks import check_design

PRIVACY = "您的回答仅用于内部服务优化，我们不会向任何第三方提供您的个人信息。"
INCENTIVE = "提交后即可参与满意度盲盒抽奖，100% 中奖"


@pytest.mark.parametrize("key", builtin.TEMPLATE_KEYS)
def test_each_template_is_valid_and_warning_free(key):
    definition = parse_definition(builtin.get_template(key))
    assert check_design(definition) == []
    assert text_for(definition.intro.privacy, "zh-hans") == PRIVACY
    assert text_for(definition.closing.incentive, "zh-hans") == INCENTIVE
    assert definition.intro.minutes == 3
    assert any(question.required for question in iter_questions(definition))


@pytest.mark.parametrize("key", builtin.TEMPLATE_KEYS)
def test_every_text_has_an_english_translation(key):
    def walk(value):
        if isinstance(value, dict) and "zh-hans" in value:
            assert value.get("en"), value
        elif isinstance(value, dict):
            for name, item in value.items():
                if name not in ("key", "type", "value", "show_if", "role", "format", "language"):
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            pytest.fail(f"untranslated text: {value}")

    walk(builtin.get_template(key))


def test_relationship_nps():
    definition = parse_definition(builtin.get_template("relationship_nps"))
    reasons = question_by_key(definition, "reasons")
    assert [option.value for option in reasons.options] == [
        "物流",
        "产品质量",
        "价格",
        "服务态度",
        "售后",
    ]
    assert reasons.is_visible({"nps": 6}) and not reasons.is_visible({"nps": 7})
    assert question_for_role(definition, "nps").key == "nps"
    overall = question_by_key(definition, "overall")
    assert overall.type == "rating" and overall.scale == 5
    dims = question_for_role(definition, "csi")
    assert tuple(row.key for row in dims.rows) == STANDARD_DIMENSIONS
    kano = question_by_key(definition, "kano_next_day")
    assert text_for(kano.feature, "zh-hans") == "次日达"
    assert [q.type for q in iter_questions(definition)].count("text") == 1


def test_post_delivery_csat():
    definition = parse_definition(builtin.get_template("post_delivery_csat"))
    csat = question_for_role(definition, "csat")
    assert [text_for(label, "zh-hans") for label in csat.labels] == [
        "很不满意",
        "不满意",
        "一般",
        "满意",
        "非常满意",
    ]
    logistics = question_by_key(definition, "logistics")
    assert logistics.is_visible({"csat": 2}) and not logistics.is_visible({"csat": 3})
    assert text_for(definition.title, "zh-hans") == "配送后满意度"


def test_post_service_ces():
    definition = parse_definition(builtin.get_template("post_service_ces"))
    effort = question_for_role(definition, "ces")
    assert effort.type == "effort" and effort.scale == 7 and len(effort.labels) == 7
    assert question_by_key(definition, "resolution").type == "single"
    assert text_for(definition.title, "en") == "Post-service effort"


def test_get_template_returns_an_independent_copy():
    first = builtin.get_template("post_delivery_csat")
    first["pages"][0]["questions"][0]["labels"][0]["zh-hans"] = "changed"
    first["closing"]["incentive"]["zh-hans"] = "changed"
    second = builtin.get_template("post_delivery_csat")
    assert second["pages"][0]["questions"][0]["labels"][0]["zh-hans"] == "很不满意"
    assert second["closing"]["incentive"]["zh-hans"] == INCENTIVE


def test_unknown_template():
    with pytest.raises(builtin.TemplateNotFound):
        builtin.get_template("nope")


def test_list_templates():
    listed = builtin.list_templates()
    assert [item["key"] for item in listed] == list(builtin.TEMPLATE_KEYS)
    assert listed[0]["title"]["zh-hans"] == "客户关系 NPS 调研"
    assert listed[0]["purpose"]["en"]
