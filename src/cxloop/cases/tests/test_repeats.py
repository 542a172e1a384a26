"""Repeat complaints: same customer (or phone) and category within the window are linked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cxloop.cases import repeats
from cxloop.cases.models import CaseEvent
from cxloop.core.services import set_setting
from cxloop.surveys.tests.answer_helpers import make_customer

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def test_same_customer_and_category_within_thirty_days_is_a_repeat(make_case):
    customer, now = make_customer(), timezone.now()
    first = make_case(customer=customer, now=now - 29 * DAY)
    second = make_case(customer=customer, now=now - 5 * DAY)
    third = make_case(customer=customer, now=now)
    assert first.repeat_of is None
    assert second.repeat_of == first
    assert third.repeat_of == first  # the earliest one in the window
    assert third.events.get(kind=CaseEvent.Kind.REPEAT).data["repeat_of"] == first.pk
    assert first.events.filter(kind=CaseEvent.Kind.REPEAT).count() == 2  # told of both
    assert "again" in first.events.filter(kind=CaseEvent.Kind.REPEAT).first().body


def test_outside_the_window_is_no_repeat(make_case):
    customer, now = make_customer(), timezone.now()
    make_case(customer=customer, now=now - 31 * DAY)
    assert make_case(customer=customer, now=now).repeat_of is None


def test_the_window_follows_the_setting(make_case, owner):
    set_setting(key="repeat_complaint_days", value=60, actor=owner)
    customer, now = make_customer(), timezone.now()
    first = make_case(customer=customer, now=now - 45 * DAY)
    assert make_case(customer=customer, now=now).repeat_of == first


def test_another_category_or_customer_is_no_repeat(make_case, categories):
    customer = make_customer()
    make_case(customer=customer)
    assert make_case(customer=customer, category=categories["logistics"]).repeat_of is None
    assert make_case(customer=make_customer()).repeat_of is None
    assert make_case(customer=customer, category=None).repeat_of is None


def test_without_a_customer_the_phone_decides(make_case):
    first = make_case(contact_phone="13800005555")
    assert make_case(contact_phone="13800005555").repeat_of == first
    assert make_case(contact_phone="13800006666").repeat_of is None
    assert make_case(contact_phone="", contact_email="a@example.com").repeat_of is None


def test_linking_is_idempotent(make_case):
    customer = make_customer()
    first = make_case(customer=customer)
    second = make_case(customer=customer)
    assert repeats.link_repeat(case=second) == first
    assert second.events.filter(kind=CaseEvent.Kind.REPEAT).count() == 1
    assert first.events.filter(kind=CaseEvent.Kind.REPEAT).count() == 1


def test_the_case_page_flags_it(make_case, teammate_client):
    customer = make_customer()
    first = make_case(customer=customer)
    second = make_case(customer=customer)
    html = teammate_client.get(f"/cases/{second.pk}/").content.decode()
    assert "Repeat complaint" in html and first.number in html
