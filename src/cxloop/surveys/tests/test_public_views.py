"""The public answer pages through the Django test client (no JavaScript involved)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cxloop.surveys import tokens
from cxloop.surveys.models import Invitation, Response, Survey
from cxloop.surveys.public_views import COOKIE
from cxloop.surveys.tests.answer_helpers import HAPPY_PAGES, make_invitation, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    return make_survey(public=True)


@pytest.fixture
def invitation(survey):
    return make_invitation(survey)


def urls(invitation):
    token = tokens.make_invitation_token(invitation)
    return {
        step: reverse(f"answer:invitation{'_' + step if step else ''}", args=[token])
        for step in ("", "answer", "thanks")
    }


def post_page(client, url, page, data, shown=None):
    payload = {"page": str(page), "action": "next", **data}
    if shown is not None:
        payload["shown"] = shown
    return client.post(url, payload)


def test_intro_shows_purpose_privacy_and_minutes_and_marks_opened(client, invitation):
    reply = client.get(urls(invitation)[""], HTTP_ACCEPT_LANGUAGE="zh-CN")
    html = reply.content.decode()
    assert reply.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "了解您的购物体验" in html and "仅用于内部改进" in html
    assert "开始" in html or "Start" in html
    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.OPENED
    assert not Response.objects.exists()  # opening the link alone records no response


def test_lang_parameter_picks_english_texts(client, invitation):
    reply = client.get(urls(invitation)[""] + "?lang=en", HTTP_ACCEPT_LANGUAGE="zh-CN")
    html = reply.content.decode()
    assert '<html lang="en">' in html
    assert "Learn about your shopping" in html and "About 3 minutes" in html


def test_full_flow_with_branch_to_thank_you(client, invitation):
    u = urls(invitation)
    start = client.post(u[""] + "?lang=en")
    assert start.status_code == 302 and start.url == u["answer"]
    page = client.get(u["answer"]).content.decode()
    assert "<progress" in page and "Page 1 of 3" in page
    assert 'name="q-reasons"' not in page
    # Low NPS on page 1 reveals the required reasons question on the same page.
    revealed = post_page(client, u["answer"], 0, {"q-nps": "3", "q-overall": "2"}, "nps,overall")
    html = revealed.content.decode()
    assert revealed.status_code == 200
    assert 'name="q-reasons"' in html and "A follow-up question appeared" in html
    assert 'value="3" checked' in html  # the nps answer is kept
    done = client.post(
        u["answer"],
        {
            "page": "0",
            "shown": "nps,reasons,overall",
            "q-nps": "3",
            "q-overall": "2",
            "q-reasons": ["物流", "包装"],
        },
    )
    assert done.status_code == 302
    post_page(client, u["answer"], 1, HAPPY_PAGES[1])
    follow_up = client.get(u["answer"]).content.decode()
    assert "May we call you?" in follow_up and "Page 3 of 4" in follow_up
    post_page(client, u["answer"], 2, {"q-followup": "yes"})
    last = post_page(client, u["answer"], 3, {"q-comment": "Faster please"})
    assert last.status_code == 302 and last.url == u["thanks"]
    thanks = client.get(u["thanks"]).content.decode()
    assert "Thanks for your feedback!" in thanks and "You are in the prize draw" in thanks
    response = Response.objects.get()
    assert response.submitted_at and response.nps == 3 and response.csat == 2
    assert response.answers["reasons"] == ["物流", "包装"] and response.language == "en"
    assert response.channel == "sms" and response.customer_id == invitation.customer_id


def test_invalid_input_re_renders_with_messages_and_summary(client, invitation):
    u = urls(invitation)
    client.post(u[""] + "?lang=en")
    reply = post_page(client, u["answer"], 0, {"q-nps": "12"}, "nps,overall")
    html = reply.content.decode()
    assert reply.status_code == 200
    assert 'role="alert"' in html and "Please check 2 answers" in html
    assert "Choose a number from 0 to 10." in html
    assert 'href="#question-overall"' in html and 'id="error-overall"' in html
    assert "<title>Error:" in html


def test_too_long_text_is_kept_in_the_field(client, invitation):
    u = urls(invitation)
    client.post(u[""] + "?lang=en")
    for page in (0, 1):
        post_page(client, u["answer"], page, HAPPY_PAGES[page])
    typed = "x" * 25
    html = post_page(client, u["answer"], 3, {"q-comment": typed}).content.decode()
    assert "At most 20 characters; this has 25." in html
    assert f">{typed}</textarea>" in html


def test_partial_answers_resume_on_another_visit(invitation):
    u = urls(invitation)
    phone = Client()
    phone.post(u[""])
    post_page(phone, u["answer"], 0, HAPPY_PAGES[0])
    later = Client()  # the phone was closed; the link is opened again
    intro = later.get(u[""])
    assert intro.status_code == 302 and intro.url == u["answer"]
    html = later.get(u["answer"] + "?lang=en").content.decode()
    assert "Page 2 of 3" in html and 'name="q-dims-efficiency"' in html


def test_back_button_keeps_answers(client, invitation):
    u = urls(invitation)
    client.post(u[""] + "?lang=en")
    post_page(client, u["answer"], 0, HAPPY_PAGES[0])
    back = client.post(u["answer"], {"page": "1", "action": "back"})
    assert back.status_code == 302
    html = client.get(u["answer"]).content.decode()
    assert "Page 1 of 3" in html and 'value="9" checked' in html


def test_answered_link_shows_thanks_and_cannot_answer_again(client, invitation):
    u = urls(invitation)
    client.post(u[""])
    for page, data in HAPPY_PAGES.items():
        post_page(client, u["answer"], page, data)
    again = client.get(u[""] + "?lang=en")
    assert again.status_code == 410
    assert "already answered" in again.content.decode()
    post = post_page(client, u["answer"], 0, {"q-nps": "0", "q-overall": "1"})
    assert post.status_code == 410
    assert Response.objects.get().nps == 9


@pytest.mark.parametrize(
    "token", ["nonsense", "a" * 400, "WzEsImFiYyJd:0000000000000000000000000000000000000000000"]
)
def test_bad_tokens_get_a_friendly_404(client, token):
    for name in ("invitation", "invitation_answer", "invitation_thanks", "public", "public_qr"):
        reply = client.get(reverse(f"answer:{name}", args=[token]) + "?lang=en")
        assert reply.status_code == 404, name
        assert "not valid" in reply.content.decode()


def test_expired_link_gets_410(client, survey):
    invitation = make_invitation(survey, expires_at=timezone.now() - dt.timedelta(hours=1))
    reply = client.get(urls(invitation)[""] + "?lang=en")
    assert reply.status_code == 410 and "expired" in reply.content.decode()


def test_closed_survey_gets_410(client, survey, invitation):
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)
    reply = client.get(urls(invitation)[""] + "?lang=en")
    assert reply.status_code == 410 and "no longer collecting" in reply.content.decode()


def test_csrf_is_enforced():
    survey = make_survey()
    u = urls(make_invitation(survey))
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(u[""]).status_code == 403
    intro = strict.get(u[""])
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', intro.content.decode())
    assert strict.post(u[""], {"csrfmiddlewaretoken": token.group(1)}).status_code == 302


def public_urls(survey):
    token = tokens.make_public_token(survey)
    return {
        step: reverse(f"answer:public{'_' + step if step else ''}", args=[token])
        for step in ("", "answer", "thanks", "qr")
    }


def test_public_link_sets_a_cookie_and_guards_duplicates(client, survey):
    u = public_urls(survey)
    intro = client.get(u[""] + "?lang=en&via=qr")
    assert intro.status_code == 200 and client.cookies[COOKIE].value
    assert client.post(u[""] + "?via=qr").status_code == 302
    for page, data in HAPPY_PAGES.items():
        post_page(client, u["answer"], page, data)
    response = Response.objects.get()
    assert response.submitted_at and response.invitation_id is None
    assert response.channel == "qr" and len(response.respondent_key) == 64
    assert client.get(u["thanks"] + "?lang=en").status_code == 200
    # The same browser comes back: "already answered", and nothing new is started.
    again = client.get(u[""] + "?lang=en")
    assert again.status_code == 410 and "already answered" in again.content.decode()
    client.post(u[""])
    assert Response.objects.count() == 1
    # Another browser may answer.
    other = Client()
    other.get(u[""])
    other.post(u[""])
    assert Response.objects.count() == 2


def test_public_answer_without_cookie_goes_to_the_intro(client, survey):
    u = public_urls(survey)
    reply = client.get(u["answer"])
    assert reply.status_code == 302 and reply.url == u[""]


def test_public_link_switched_off_is_404(client):
    survey = make_survey(public=False)
    assert client.get(public_urls(survey)[""]).status_code == 404


def test_qr_code_svg_and_png(client, survey):
    u = public_urls(survey)
    svg = client.get(u["qr"])
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert b"<svg" in svg.content
    png = client.get(u["qr"].replace("qr.svg", "qr.png"))
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")


def test_only_get_and_post(client, invitation):
    assert client.put(urls(invitation)[""]).status_code == 405


def test_submit_path_stays_lean(client, invitation, django_assert_max_num_queries):
    """The last page's POST saves, submits, cleans and marks the invitation in few queries."""
    u = urls(invitation)
    client.post(u[""])
    for page in (0, 1):
        post_page(client, u["answer"], page, HAPPY_PAGES[page])
    # invitation, response, lock, spend, VIP setting, duplicate check, save, rollup mark,
    # invitation answered; BEGIN/COMMIT on SQLite. The page's answers are saved by the submit.
    with django_assert_max_num_queries(11):
        reply = post_page(client, u["answer"], 3, HAPPY_PAGES[3])
    assert reply.status_code == 302 and reply.url == u["thanks"]
    assert Response.objects.get().submitted_at is not None


def test_last_page_with_an_earlier_page_unanswered_keeps_its_answers(client, invitation):
    """The last page is saved and submitted in one go; a refused submit still keeps it."""
    u = urls(invitation)
    client.post(u[""])
    post_page(client, u["answer"], 0, HAPPY_PAGES[0])
    reply = post_page(client, u["answer"], 3, HAPPY_PAGES[3])  # page 1 skipped (forged post)
    assert reply.status_code == 302 and reply.url == u["answer"]
    response = Response.objects.get()
    assert response.submitted_at is None and response.current_page == 1
    assert response.answers["comment"] == "很好"
    invitation.refresh_from_db()
    assert invitation.status != Invitation.Status.ANSWERED


def test_last_page_posted_again_after_submit_changes_nothing(client, invitation):
    u = urls(invitation)
    client.post(u[""])
    for page in (0, 1, 3):
        post_page(client, u["answer"], page, HAPPY_PAGES[page])
    submitted = Response.objects.get()
    reply = post_page(client, u["answer"], 3, {"q-comment": "改了"})
    assert reply.status_code in (302, 410)
    again = Response.objects.get()
    assert again.answers == submitted.answers and again.submitted_at == submitted.submitted_at
