"""Test helpers for invitations and triggers: surveys (real services), customers, orders."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from cxloop.customers.models import Customer, Order
from cxloop.surveys import services
from cxloop.surveys.models import Survey

DEFINITION = {
    "format": "cxloop.survey/1",
    "title": "配送满意度调查",
    "language": "zh-hans",
    "intro": {"purpose": "了解您对本次配送的感受", "privacy": "仅用于内部优化", "minutes": 2},
    "pages": [
        {
            "key": "p1",
            "questions": [
                {
                    "key": "overall",
                    "type": "rating",
                    "text": "您对本次配送的总体满意度",
                    "scale": 5,
                    "labels": ["很不满意", "不满意", "一般", "满意", "非常满意"],
                    "required": True,
                    "role": "csat",
                }
            ],
        }
    ],
}
_numbers = itertools.count(1)


def make_survey(
    key: str | None = None, *, status: str = Survey.Status.ACTIVE, title: str = "配送满意度调查"
) -> Survey:
    """A survey through the real services: published (active), left a draft, or closed."""
    key = key or f"survey-{next(_numbers)}"
    survey = services.create_survey(title=title, key=key, definition=DEFINITION, actor=None)
    if status != Survey.Status.DRAFT:
        services.publish_survey(survey=survey, actor=None)
    if status == Survey.Status.CLOSED:
        services.close_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    assert survey.status == status
    return survey


def make_customer(
    *,
    consent: bool = True,
    phone: str = "13800138000",
    email: str = "",
    registered_days_ago: int | None = 400,
    name: str = "张三",
) -> Customer:
    today = timezone.localdate()
    registered = None
    if registered_days_ago is not None:
        registered = today - dt.timedelta(days=registered_days_ago)
    return Customer.objects.create(
        external_id=f"C{next(_numbers):06d}",
        name=name,
        phone=phone,
        email=email,
        consent_survey=consent,
        registered_at=registered,
    )


def make_order(
    customer: Customer,
    *,
    days_ago: float,
    amount_fen: int = 10_000,
    status: str = Order.Status.DELIVERED,
    now: dt.datetime | None = None,
) -> Order:
    placed = (now or timezone.now()) - dt.timedelta(days=days_ago)
    return Order.objects.create(
        external_id=f"O{next(_numbers):07d}",
        customer=customer,
        amount_fen=amount_fen,
        placed_at=placed,
        delivered_at=placed if status == Order.Status.DELIVERED else None,
        status=status,
    )
