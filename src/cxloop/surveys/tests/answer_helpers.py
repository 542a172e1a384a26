"""Test helpers for the answer pages: a published survey exercising every question type."""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone

from cxloop.customers.models import Customer
from cxloop.surveys import services
from cxloop.surveys.models import Invitation, Survey

LABELS = ["很不满意", "不满意", "一般", "满意", "非常满意"]

DEFINITION = {
    "format": "cxloop.survey/1",
    "title": {"zh-hans": "购物体验调查", "en": "Shopping survey"},
    "language": "zh-hans",
    "intro": {
        "purpose": {"zh-hans": "了解您的购物体验", "en": "Learn about your shopping"},
        "privacy": {"zh-hans": "仅用于内部改进", "en": "Used internally only"},
        "minutes": 3,
    },
    "closing": {
        "thanks": {"zh-hans": "感谢您的反馈！", "en": "Thanks for your feedback!"},
        "incentive": {"zh-hans": "提交即可参与抽奖", "en": "You are in the prize draw"},
    },
    "pages": [
        {
            "key": "p1",
            "questions": [
                {
                    "key": "nps",
                    "type": "nps",
                    "text": {"zh-hans": "您向朋友推荐我们的可能性有多大？", "en": "How likely?"},
                    "required": True,
                    "role": "nps",
                },
                {
                    "key": "reasons",
                    "type": "multiple",
                    "text": {"zh-hans": "哪些方面让您不满意？", "en": "What disappointed you?"},
                    "options": [
                        {"value": "物流", "label": {"zh-hans": "物流速度", "en": "Delivery"}},
                        {"value": "包装", "label": {"zh-hans": "包装", "en": "Packaging"}},
                        {"value": "价格", "label": {"zh-hans": "价格", "en": "Price"}},
                    ],
                    "max_choices": 2,
                    "required": True,
                    "show_if": "nps <= 6",
                },
                {
                    "key": "overall",
                    "type": "rating",
                    "text": {"zh-hans": "总体满意度", "en": "Overall satisfaction"},
                    "scale": 5,
                    "labels": LABELS,
                    "required": True,
                    "role": "csat",
                },
            ],
        },
        {
            "key": "p2",
            "questions": [
                {
                    "key": "dims",
                    "type": "matrix",
                    "text": {"zh-hans": "请为以下方面打分", "en": "Rate these"},
                    "scale": 5,
                    "labels": LABELS,
                    "role": "csi",
                    "required": True,
                    "rows": [
                        {"key": "efficiency", "label": {"zh-hans": "服务效率", "en": "Efficiency"}},
                        {"key": "attitude", "label": {"zh-hans": "服务态度", "en": "Attitude"}},
                        {"key": "resolution", "label": {"zh-hans": "问题解决", "en": "Resolution"}},
                        {"key": "environment", "label": {"zh-hans": "环境", "en": "Environment"}},
                    ],
                },
                {
                    "key": "effort",
                    "type": "effort",
                    "text": {"zh-hans": "办理有多容易？", "en": "How easy was it?"},
                    "scale": 7,
                    "role": "ces",
                },
                {
                    "key": "kano_fast",
                    "type": "kano",
                    "feature": {"zh-hans": "次日达", "en": "Next-day delivery"},
                    "functional": {"zh-hans": "如果提供次日达？", "en": "If we offer it?"},
                    "dysfunctional": {"zh-hans": "如果不提供次日达？", "en": "If we do not?"},
                },
            ],
        },
        {
            "key": "p3",
            "questions": [
                {
                    "key": "followup",
                    "type": "single",
                    "text": {"zh-hans": "是否需要我们联系您？", "en": "May we call you?"},
                    "options": [
                        {"value": "yes", "label": {"zh-hans": "需要", "en": "Yes"}},
                        {"value": "no", "label": {"zh-hans": "不需要", "en": "No"}},
                    ],
                    "show_if": "overall <= 2",
                }
            ],
        },
        {
            "key": "p4",
            "questions": [
                {
                    "key": "comment",
                    "type": "text",
                    "text": {"zh-hans": "还有什么想说的？", "en": "Anything else?"},
                    "max_length": 20,
                }
            ],
        },
    ],
}

# Posted form data that answers every page of DEFINITION (promoter, no follow-up page).
HAPPY_PAGES = {
    0: {"q-nps": "9", "q-overall": "4"},
    1: {
        "q-dims-efficiency": "4",
        "q-dims-attitude": "5",
        "q-dims-resolution": "3",
        "q-dims-environment": "4",
        "q-effort": "2",
        "q-kano_fast-functional": "like",
        "q-kano_fast-dysfunctional": "dislike",
    },
    3: {"q-comment": "很好"},
}


def make_survey(*, key: str = "shopping", public: bool = False, **fields) -> Survey:
    """A published (active) survey with DEFINITION, through the real services."""
    survey = services.create_survey(
        title="购物体验调查", key=key, definition=DEFINITION, actor=None
    )
    services.publish_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    if public or fields:
        survey.public_link_enabled = public
        for name, value in fields.items():
            setattr(survey, name, value)
        survey.save()
    return survey


def make_customer(**fields) -> Customer:
    defaults = {"external_id": secrets.token_hex(4), "name": "张三", "region": "华东"}
    return Customer.objects.create(**{**defaults, **fields})


def make_invitation(survey: Survey, customer: Customer | None = None, **fields) -> Invitation:
    defaults = {
        "survey": survey,
        "customer": customer if customer is not None else make_customer(),
        "nonce": secrets.token_hex(16),
        "status": Invitation.Status.SENT,
        "sent_at": timezone.now(),
        "expires_at": timezone.now() + dt.timedelta(hours=24),
        "channel": Invitation.Channel.SMS,
    }
    return Invitation.objects.create(**{**defaults, **fields})
