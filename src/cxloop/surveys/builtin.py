"""The three built-in survey templates from the plans, in zh-Hans with English translations.

- ``relationship_nps``: 客户关系 NPS 调研 — NPS with a reasons branch, overall satisfaction,
  the seven service dimensions (CSI), a KANO pair on next-day delivery and one comment.
- ``post_delivery_csat``: 配送后满意度 — CSAT with a logistics follow-up for low scores.
- ``post_service_ces``: 服务后费力度 — customer effort after a service contact.

Each is a plain definition dict (docs/survey-format.md); ``get_template`` returns a deep copy, so
callers may change it freely.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from cxloop.surveys.definition import FORMAT, STANDARD_DIMENSIONS


class TemplateNotFound(LookupError):
    pass


def t(zh: str, en: str) -> dict[str, str]:
    return {"zh-hans": zh, "en": en}


PRIVACY = t(
    "您的回答仅用于内部服务优化，我们不会向任何第三方提供您的个人信息。",
    "Your answers are only used to improve our service; we never give your personal "
    "information to any third party.",
)
CLOSING = {
    "thanks": t("感谢您的反馈！我们会认真阅读每一条意见。", "Thank you! We read every answer."),
    "incentive": t(
        "提交后即可参与满意度盲盒抽奖，100% 中奖",
        "Submit to join the satisfaction blind-box draw — every entry wins",
    ),
}
SATISFACTION_LABELS = [
    t("很不满意", "Very dissatisfied"),
    t("不满意", "Dissatisfied"),
    t("一般", "Neutral"),
    t("满意", "Satisfied"),
    t("非常满意", "Very satisfied"),
]
EFFORT_LABELS = [
    t("非常费力", "Very difficult"),
    t("费力", "Difficult"),
    t("比较费力", "Somewhat difficult"),
    t("一般", "Neither"),
    t("比较省力", "Somewhat easy"),
    t("省力", "Easy"),
    t("非常省力", "Very easy"),
]
DIMENSION_LABELS = {
    "efficiency": t("服务效率", "Efficiency"),
    "response_speed": t("响应速度", "Response speed"),
    "resolution": t("问题解决", "Problem resolution"),
    "attitude": t("服务态度", "Attitude"),
    "environment": t("服务环境", "Environment"),
    "personalisation": t("个性化服务", "Personalisation"),
    "process_clarity": t("流程清晰度", "Process clarity"),
}


def _options(pairs: list[tuple[str, str]]) -> list[dict]:
    # Values stay Chinese, as in the documented example ("物流" in reasons).
    return [{"value": zh, "label": t(zh, en)} for zh, en in pairs]


def _intro(purpose: dict[str, str]) -> dict:
    return {"purpose": purpose, "privacy": PRIVACY, "minutes": 3}


def _comment(key: str = "comment") -> dict:
    return {
        "key": key,
        "type": "text",
        "text": t("还有什么想告诉我们的吗？", "Anything else you would like to tell us?"),
        "max_length": 500,
    }


def _service_dimensions() -> dict:
    """The seven standard service dimensions as a CSI matrix."""
    return {
        "key": "dims",
        "type": "matrix",
        "text": t("请为我们以下方面的服务打分", "Please rate these aspects of our service"),
        "scale": 5,
        "labels": SATISFACTION_LABELS,
        "role": "csi",
        "rows": [{"key": key, "label": DIMENSION_LABELS[key]} for key in STANDARD_DIMENSIONS],
    }


def _kano_next_day() -> dict:
    return {
        "key": "kano_next_day",
        "type": "kano",
        "feature": t("次日达", "Next-day delivery"),
        "functional": t(
            "如果我们提供次日达，您觉得如何？",
            "If we offered next-day delivery, how would you feel?",
        ),
        "dysfunctional": t(
            "如果我们不提供次日达，您觉得如何？",
            "If we did not offer next-day delivery, how would you feel?",
        ),
    }


def _relationship_nps() -> dict:
    nps = {
        "key": "nps",
        "type": "nps",
        "text": t(
            "您有多大可能向朋友或同事推荐我们？",
            "How likely are you to recommend us to a friend or colleague?",
        ),
        "required": True,
        "role": "nps",
    }
    reasons = {
        "key": "reasons",
        "type": "multiple",
        "text": t("哪些方面让您失望？", "What disappointed you?"),
        "options": _options(
            [
                ("物流", "Delivery"),
                ("产品质量", "Product quality"),
                ("价格", "Price"),
                ("服务态度", "Service attitude"),
                ("售后", "After-sales service"),
            ]
        ),
        "show_if": "nps <= 6",
    }
    overall = {
        "key": "overall",
        "type": "rating",
        "text": t("您对我们的总体满意度如何？", "How satisfied are you with us overall?"),
        "scale": 5,
        "labels": SATISFACTION_LABELS,
        "required": True,
        "role": "csat",
    }
    return {
        "format": FORMAT,
        "title": t("客户关系 NPS 调研", "Relationship NPS survey"),
        "language": "zh-hans",
        "intro": _intro(
            t(
                "了解您对我们整体服务的看法，帮助我们持续改进。",
                "Tell us what you think of our service overall so we can keep improving.",
            )
        ),
        "closing": CLOSING,
        "pages": [
            {"key": "p1", "title": t("总体评价", "Overall"), "questions": [nps, reasons, overall]},
            {
                "key": "p2",
                "title": t("服务评价", "Our service"),
                "questions": [_service_dimensions()],
            },
            {
                "key": "p3",
                "title": t("更多想法", "More ideas"),
                "questions": [_kano_next_day(), _comment()],
            },
        ],
    }


def _post_delivery_csat() -> dict:
    csat = {
        "key": "csat",
        "type": "rating",
        "text": t("您对本次配送的满意度如何？", "How satisfied are you with this delivery?"),
        "scale": 5,
        "labels": SATISFACTION_LABELS,
        "required": True,
        "role": "csat",
    }
    logistics = {
        "key": "logistics",
        "type": "multiple",
        "text": t("配送中哪些环节没有做好？", "What went wrong with the delivery?"),
        "options": _options(
            [
                ("配送速度", "Delivery speed"),
                ("包装破损", "Damaged packaging"),
                ("配送员态度", "Courier's attitude"),
                ("未按约定时间送达", "Not delivered at the agreed time"),
                ("其他", "Other"),
            ]
        ),
        "show_if": "csat <= 2",
    }
    return {
        "format": FORMAT,
        "title": t("配送后满意度", "Post-delivery satisfaction"),
        "language": "zh-hans",
        "intro": _intro(
            t("了解您对本次配送的感受。", "Tell us how your delivery went."),
        ),
        "closing": CLOSING,
        "pages": [{"key": "p1", "questions": [csat, logistics, _comment()]}],
    }


def _post_service_ces() -> dict:
    effort = {
        "key": "effort",
        "type": "effort",
        "text": t(
            "本次解决问题的过程，您觉得费力还是省力？",
            "How easy or difficult was it to get your issue handled?",
        ),
        "scale": 7,
        "labels": EFFORT_LABELS,
        "required": True,
        "role": "ces",
    }
    resolution = {
        "key": "resolution",
        "type": "single",
        "text": t("您的问题解决了吗？", "Was your issue resolved?"),
        "options": _options(
            [("已解决", "Resolved"), ("部分解决", "Partly resolved"), ("未解决", "Not resolved")]
        ),
        "required": True,
    }
    return {
        "format": FORMAT,
        "title": t("服务后费力度", "Post-service effort"),
        "language": "zh-hans",
        "intro": _intro(
            t("了解您这次联系客服的体验。", "Tell us about your recent contact with our service."),
        ),
        "closing": CLOSING,
        "pages": [{"key": "p1", "questions": [effort, resolution, _comment()]}],
    }


TEMPLATES: dict[str, Callable[[], dict]] = {
    "relationship_nps": _relationship_nps,
    "post_delivery_csat": _post_delivery_csat,
    "post_service_ces": _post_service_ces,
}
TEMPLATE_KEYS = tuple(TEMPLATES)


def get_template(key: str) -> dict:
    """A fresh definition dict of the template; raises TemplateNotFound for unknown keys."""
    build = TEMPLATES.get(key)
    if build is None:
        raise TemplateNotFound(key)
    return copy.deepcopy(build())  # the shared label lists must not leak to callers


def list_templates() -> list[dict]:
    """``[{"key", "title", "purpose"}]`` (texts as translation objects) for a template picker."""
    return [
        {"key": key, "title": data["title"], "purpose": data["intro"]["purpose"]}
        for key, data in ((key, get_template(key)) for key in TEMPLATE_KEYS)
    ]
