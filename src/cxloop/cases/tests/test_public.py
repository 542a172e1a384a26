"""The customer's pages: the feedback form /c/new/ and the progress page /c/<token>/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from cxloop.cases import lifecycle, services, tokens
from cxloop.cases.models import Case, CaseEvent, Category, Channel
from cxloop.cases.public_views import RATE_LIMIT
from cxloop.customers.models import Customer

pytestmark = pytest.mark.django_db
NEW = "/c/new/"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()  # the rate limits live in the cache
    yield
    cache.clear()


def _form(categories, **overrides) -> dict:
    data = {
        "kind": "complaint",
        "name": "刘女士",
        "phone": "139 0000 1234",
        "email": "",
        "order_ref": "SO-2026-001",
        "category": categories["logistics"].pk,
        "description": "快递送错地址了，电话也打不通。",
        "consent": "on",
        "website": "",
    }
    return {**data, **overrides}


def _post(client: Client, data: dict, ip: str = "10.0.0.1"):
    return client.post(NEW, data, REMOTE_ADDR=ip)


def _progress(case: Case) -> str:
    return reverse("case_public:progress", args=[tokens.make_progress_token(case)])


# --- the form -----------------------------------------------------------------------------------


def test_form_is_chinese_by_default_with_an_english_switch(client, categories, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    page = client.get(NEW)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="zh-hans">' in html
    assert 'href="/c/new/?lang=en"' in html
    assert 'name="csrfmiddlewaretoken"' in html
    english = client.get(NEW + "?lang=en")
    assert '<html lang="en">' in english.content.decode()
    assert "Send us your feedback" in english.content.decode()
    # The choice is remembered: the next page (e.g. after the redirect) stays English.
    assert '<html lang="en">' in client.get(NEW).content.decode()


def test_form_lists_only_active_categories(client, categories):
    Category.objects.filter(pk=categories["product"].pk).update(is_active=False)
    html = client.get(NEW).content.decode()
    assert categories["logistics"].name in html
    assert f'value="{categories["product"].pk}"' not in html


def test_valid_form_opens_a_web_form_case_and_shows_its_link(client, categories):
    response = _post(client, _form(categories))
    assert response.status_code == 302
    case = Case.objects.get()
    assert response["Location"] == _progress(case) + "?new=1"
    assert case.channel == Channel.WEB_FORM and case.created_by is None
    assert case.subject.startswith("Complaint: 快递送错地址了")
    assert case.contact_phone == "13900001234" and case.contact_name == "刘女士"
    assert case.order_ref == "SO-2026-001" and case.category == categories["logistics"]
    assert case.department.name == "物流部"  # routed like any other channel
    page = client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Thank you, we have received your feedback." in html
    assert case.number in html
    assert tokens.progress_url(case) in html  # the link to keep


@pytest.mark.parametrize(
    ("kind", "prefix"), [("suggestion", "Suggestion: "), ("praise", "Praise: ")]
)
def test_the_kind_goes_into_the_subject(client, categories, kind, prefix):
    _post(client, _form(categories, kind=kind))
    assert Case.objects.get().subject.startswith(prefix)


def test_phone_of_a_known_customer_links_the_case(client, categories):
    customer = Customer.objects.create(external_id="C1", name="刘芳", phone="13900001234")
    _post(client, _form(categories))
    assert Case.objects.get().customer == customer


def test_email_alone_is_enough(client, categories):
    response = _post(client, _form(categories, phone="", email="Liu@Example.COM"))
    assert response.status_code == 302
    case = Case.objects.get()
    assert case.customer is None and case.contact_email == "Liu@example.com"


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"phone": "", "email": ""}, "phone", "Give a mobile number or an email"),
        ({"phone": "12345"}, "phone", "mobile"),
        ({"phone": "", "email": "not-an-email"}, "email", "email"),
        ({"description": ""}, "description", "This field is required."),
        ({"description": "坏"}, "description", "at least 5 characters"),
        ({"description": "很" * 2001}, "description", "at most 2000 characters"),
        ({"consent": ""}, "consent", "This field is required."),
        ({"kind": "spam"}, "kind", "Select a valid choice."),
        ({"category": "999999"}, "category", "Select a valid choice."),
        ({"order_ref": "x" * 65}, "order_ref", "at most 64 characters"),
    ],
)
def test_bad_input_is_shown_per_field(client, categories, overrides, field, message):
    response = _post(client, _form(categories, **overrides))
    assert response.status_code == 400
    assert Case.objects.count() == 0
    errors = response.context["form"].errors
    assert field in errors and message.lower() in " ".join(errors[field]).lower()
    assert f'id="error-{field}"' in response.content.decode()
    # What was typed is kept.
    if field != "description":
        assert "快递送错地址了" in response.content.decode()


def test_csrf_is_required(categories):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(NEW, _form(categories)).status_code == 403
    assert Case.objects.count() == 0


def test_honeypot_creates_nothing(client, categories):
    response = _post(client, _form(categories, website="http://spam.example"))
    assert response.status_code == 400
    assert Case.objects.count() == 0
    assert 'class="hp"' in client.get(NEW).content.decode()  # hidden from people


def test_rate_limit_per_ip(client, categories):
    for n in range(RATE_LIMIT):
        phone = f"1390000{n:04d}"
        assert _post(client, _form(categories, phone=phone)).status_code == 302
    refused = _post(client, _form(categories, phone="13911112222"))
    assert refused.status_code == 429
    assert "several messages from you" in refused.content.decode()
    assert Case.objects.count() == RATE_LIMIT
    # Another address is not affected.
    assert _post(client, _form(categories, phone="13911112222"), ip="10.0.0.2").status_code == 302


def test_rate_limit_per_phone_across_addresses(client, categories):
    for n in range(RATE_LIMIT):
        assert _post(client, _form(categories), ip=f"10.0.1.{n}").status_code == 302
    assert _post(client, _form(categories), ip="10.0.2.1").status_code == 429
    assert Case.objects.count() == RATE_LIMIT


def test_forwarded_for_counts_only_behind_trusted_proxies(client, categories, settings):
    def send(n, forwarded):
        data = _form(categories, phone=f"1370000{n:04d}")
        return client.post(NEW, data, REMOTE_ADDR="10.9.9.9", HTTP_X_FORWARDED_FOR=forwarded)

    # No proxy configured: an invented header changes nothing, the limit is on REMOTE_ADDR.
    for n in range(RATE_LIMIT):
        assert send(n, f"203.0.113.{n}").status_code == 302
    assert send(99, "203.0.113.99").status_code == 429
    cache.clear()
    # One proxy of ours appends the client's address: that entry is the client.
    settings.CXLOOP_TRUSTED_PROXY_COUNT = 1
    for n in range(RATE_LIMIT):
        assert send(n, f"198.51.100.{n}, 203.0.113.5").status_code == 302
    assert send(50, "1.2.3.4, 203.0.113.5").status_code == 429  # the invented part is ignored
    assert send(51, "203.0.113.200").status_code == 302  # another client behind the proxy


def test_robots_count_against_the_address(client, categories):
    for _ in range(RATE_LIMIT):
        _post(client, _form(categories, website="x"))
    assert _post(client, _form(categories)).status_code == 429


def test_get_and_post_only(client):
    assert client.put(NEW).status_code == 405


# --- the progress page ---------------------------------------------------------------------------


@pytest.fixture
def agent(departments, django_user_model):
    user = django_user_model.objects.get_or_create(username="agent-li")[0]
    user.first_name, user.last_name, user.email = "小李", "李", "xiaoli@corp.example"
    user.save()
    from django.contrib.auth.models import Group

    from cxloop.core import roles

    user.groups.add(Group.objects.get(name=roles.AGENT))
    return get_user_model().objects.get(pk=user.pk)


def test_progress_shows_stage_handler_and_public_events(client, make_case, agent, departments):
    case = make_case(channel="web_form")
    services.assign_case(case=case, actor=agent, owner=agent, department=departments["service"])
    lifecycle.add_note(case=case, actor=agent, body="内部：客户可能是职业索赔人")
    lifecycle.reply(case=case, actor=agent, body="您好，我们已联系快递公司。")
    page = client.get(_progress(case))
    html = page.content.decode()
    assert page.status_code == 200
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    assert 'data-stage="handling"' in html
    assert 'data-step="handling" aria-current="step"' in html
    assert "小李 · 客服中心" in html
    assert "xiaoli@corp.example" not in html and "agent-li" not in html
    assert "您好，我们已联系快递公司。" in html
    assert "内部：客户可能是职业索赔人" not in html  # notes are internal
    assert case.contact_phone not in html  # nothing personal on a page opened by a link


def test_without_owner_the_service_team_is_on_it(client, make_case):
    case = make_case(channel="web_form")
    html = client.get(_progress(case)).content.decode()
    assert "our service team" in html
    assert 'data-stage="new"' in html


def test_expected_answer_is_the_next_open_deadline_in_shanghai_time(client, make_case):
    case = make_case(channel="web_form")
    targets = list(case.targets.order_by("due_at"))
    assert targets, "a new case has SLA clocks"
    first = targets[0]
    first.due_at = dt.datetime(2099, 1, 1, 2, 30, tzinfo=dt.UTC)
    first.save()
    case.targets.exclude(pk=first.pk).update(due_at=dt.datetime(2099, 6, 1, tzinfo=dt.UTC))
    html = client.get(_progress(case)).content.decode()
    assert "2099-01-01 10:30" in html and 'datetime="2099-01-01T10:30:00+08:00"' in html


def test_overdue_deadline_says_so(client, make_case):
    case = make_case(channel="web_form")
    case.targets.update(due_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    assert "we are late" in client.get(_progress(case)).content.decode()


def test_text_is_escaped(client, make_case, agent):
    case = make_case(
        channel="web_form", subject="<script>alert(1)</script>", description="<img src=x onerror=1>"
    )
    lifecycle.reply(case=case, actor=agent, body="<b>bold</b>\nline two")
    html = client.get(_progress(case)).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;<br>line two" in html


def test_waiting_case_shows_the_question_and_a_message_resumes_it(client, make_case, agent):
    case = make_case(channel="web_form")
    lifecycle.reply(case=case, actor=agent, body="我们来处理。")
    lifecycle.wait_on_customer(case=case, actor=agent, body="请提供快递单照片。")
    url = _progress(case)
    html = client.get(url).content.decode()
    assert 'data-stage="waiting"' in html and "请提供快递单照片。" in html
    response = client.post(url, {"message": "照片已经发到邮箱了"})
    assert response.status_code == 302 and response["Location"] == url + "?sent=1#messages"
    case.refresh_from_db()
    assert case.status == Case.Status.RESPONDED
    event = case.events.get(kind=CaseEvent.Kind.CUSTOMER_MESSAGE)
    assert event.public and event.body == "照片已经发到邮箱了" and event.actor is None
    page = client.get(url + "?sent=1").content.decode()
    assert "Your message has been sent." in page and "照片已经发到邮箱了" in page
    lifecycle.resolve(case=case, actor=agent, resolution="已补发")
    assert '<li class="done" data-step="waiting">' in client.get(url).content.decode()


def test_empty_message_is_refused(client, make_case):
    case = make_case(channel="web_form")
    response = client.post(_progress(case), {"message": "  "})
    assert response.status_code == 400
    assert 'id="error-message"' in response.content.decode()
    assert not case.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


def test_message_form_needs_csrf(make_case):
    case = make_case(channel="web_form")
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(_progress(case), {"message": "hello"}).status_code == 403


def test_resolved_then_confirmed_stages(client, make_case, agent):
    case = make_case(channel="web_form")
    lifecycle.reply(case=case, actor=agent, body="已处理")
    lifecycle.resolve(case=case, actor=agent, resolution="已为您重新发货。")
    html = client.get(_progress(case)).content.decode()
    assert 'data-stage="resolved"' in html and "已为您重新发货。" in html
    assert '<li class="skipped" data-step="waiting">' in html  # we never waited on them
    assert "We will call you by" in html  # the callback is the next step
    lifecycle.record_callback(case=case, actor=agent, satisfied=True)
    lifecycle.close(case=case, actor=agent)
    html = client.get(_progress(case)).content.decode()
    assert 'data-stage="confirmed"' in html
    assert 'class="todo"' not in html and 'class="current"' not in html
    assert 'id="message-form"' not in html  # a closed case takes no more messages
    assert client.post(_progress(case), {"message": "还有问题"}).status_code == 400


def test_merged_case_shows_the_survivor(client, make_case, owner, agent):
    duplicate, survivor = make_case(channel="web_form"), make_case(channel="hotline")
    services.merge_cases(duplicate=duplicate, survivor=survivor, actor=owner)
    lifecycle.reply(case=survivor, actor=agent, body="两个问题一起处理")
    url = _progress(duplicate)
    html = client.get(url).content.decode()
    assert survivor.number in html and duplicate.number in html
    assert 'id="merged"' in html and "两个问题一起处理" in html
    client.post(url, {"message": "谢谢"})
    assert survivor.events.filter(kind=CaseEvent.Kind.CUSTOMER_MESSAGE).exists()


@pytest.mark.parametrize("token", ["nonsense", "WzEsImFiYyJd:1tAbCd:forged", "x" * 300])
def test_bad_links_get_a_friendly_404(client, db, token):
    response = client.get(f"/c/{token}/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "This case link is not valid." in html and "/c/new/" in html


def test_tampered_link_is_a_404(client, make_case):
    token = tokens.make_progress_token(make_case())
    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert client.get(f"/c/{forged}/").status_code == 404
    assert client.post(f"/c/{forged}/", {"message": "x"}).status_code == 404


def test_progress_page_in_chinese(client, make_case, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    case = make_case(channel="web_form")
    html = client.get(_progress(case)).content.decode()
    assert '<html lang="zh-hans">' in html
    assert "?lang=en" in html
