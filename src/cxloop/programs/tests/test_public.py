"""The public idea form: anonymous, CSRF, honeypot, rate limit, zh/en, bad input re-rendered."""

from __future__ import annotations

import pytest
from django.test import Client

from cxloop.programs import public_views
from cxloop.programs.models import Idea

URL = "/programs/ideas/new/"
GOOD = {
    "title": "增加自助收银",
    "body": "高峰期排队太久，建议增加自助收银机。",
    "store": "上海徐汇店",
    "name": "李娜",
    "phone": "138 0013 8000",
    "email": "",
}


@pytest.mark.django_db
def test_get_shows_the_form_in_english_and_chinese():
    client = Client()
    english = client.get(URL + "?lang=en")
    assert english.status_code == 200 and b"Share an idea" in english.content
    assert b"csrfmiddlewaretoken" in english.content
    chinese = Client().get(URL + "?lang=zh-hans")
    assert chinese.status_code == 200
    assert 'lang="zh-hans"' in chinese.content.decode()


@pytest.mark.django_db
def test_post_creates_an_idea_linked_to_the_customer(customer):
    reply = Client().post(URL, GOOD)
    assert reply.status_code == 302 and reply["Location"].endswith("?sent=1")
    idea = Idea.objects.get()
    assert idea.channel == "public" and idea.customer == customer
    assert idea.contact_phone == "13800138000" and idea.sentiment is not None
    thanks = Client().get(reply["Location"] + "&lang=en")
    assert b"Thank you for your idea" in thanks.content


@pytest.mark.django_db
def test_csrf_is_enforced():
    reply = Client(enforce_csrf_checks=True).post(URL, GOOD)
    assert reply.status_code == 403
    assert not Idea.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, field",
    [
        ({"title": ""}, "title"),
        ({"body": "短"}, "body"),
        ({"phone": "12345"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"body": "x" * 2001}, "body"),
    ],
)
def test_bad_input_rerenders_with_a_message(change, field):
    reply = Client().post(URL + "?lang=en", GOOD | change)
    assert reply.status_code == 400
    assert reply.context["form"].errors[field]
    assert not Idea.objects.exists()


@pytest.mark.django_db
def test_honeypot_creates_nothing():
    reply = Client().post(URL, GOOD | {"website": "http://spam"})
    assert reply.status_code == 400 and not Idea.objects.exists()


@pytest.mark.django_db
def test_rate_limited_per_contact(monkeypatch):
    monkeypatch.setattr(public_views, "RATE_LIMIT", 2)
    for n in range(2):
        assert Client(REMOTE_ADDR=f"10.0.0.{n}").post(URL, GOOD).status_code == 302
    refused = Client(REMOTE_ADDR="10.0.0.9").post(URL, GOOD)
    assert refused.status_code == 429
    assert Idea.objects.count() == 2


@pytest.mark.django_db
def test_rate_limited_per_ip(monkeypatch):
    monkeypatch.setattr(public_views, "RATE_LIMIT", 1)
    anonymous = GOOD | {"phone": ""}
    assert Client().post(URL, anonymous).status_code == 302
    assert Client().post(URL, anonymous).status_code == 429
