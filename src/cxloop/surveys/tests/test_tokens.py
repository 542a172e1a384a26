"""Invitation and public-link tokens: signed, tied to one invitation, expiring, single-use."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.utils import timezone

from cxloop.surveys import tokens
from cxloop.surveys.models import Invitation, Survey
from cxloop.surveys.tests.answer_helpers import make_invitation, make_survey

pytestmark = pytest.mark.django_db


def test_token_round_trip_returns_the_invitation():
    invitation = make_invitation(make_survey())
    token = tokens.make_invitation_token(invitation)
    assert tokens.read_invitation_token(token) == invitation
    assert "/" not in token  # fits in one URL path segment


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: "x" + t,  # payload changed
        lambda t: "",
        lambda t: "a" * 1000,
        lambda t: "no-colon-at-all",
    ],
)
def test_tampered_tokens_are_invalid(mangle):
    token = tokens.make_invitation_token(make_invitation(make_survey()))
    with pytest.raises(tokens.InvalidToken):
        tokens.read_invitation_token(mangle(token))


def test_token_signed_for_another_purpose_is_refused():
    invitation = make_invitation(make_survey())
    other_salt = signing.Signer(salt="something.else").sign_object(
        [invitation.pk, invitation.nonce]
    )
    with pytest.raises(tokens.InvalidToken):
        tokens.read_invitation_token(other_salt)
    public = tokens.make_public_token(invitation.survey)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_invitation_token(public)


def test_a_new_nonce_revokes_the_old_link():
    invitation = make_invitation(make_survey())
    token = tokens.make_invitation_token(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(nonce="f" * 32)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_invitation_token(token)


def test_expired_invitation_is_refused_with_410():
    past = timezone.now() - dt.timedelta(minutes=1)
    token = tokens.make_invitation_token(make_invitation(make_survey(), expires_at=past))
    with pytest.raises(tokens.ExpiredToken) as caught:
        tokens.read_invitation_token(token)
    assert caught.value.status == 410


def test_expired_status_is_refused_even_without_a_date():
    invitation = make_invitation(make_survey(), expires_at=None, status=Invitation.Status.EXPIRED)
    with pytest.raises(tokens.ExpiredToken):
        tokens.read_invitation_token(tokens.make_invitation_token(invitation))


def test_answered_invitation_is_used_up_except_for_the_thank_you_page():
    invitation = make_invitation(make_survey(), status=Invitation.Status.ANSWERED)
    token = tokens.make_invitation_token(invitation)
    with pytest.raises(tokens.AlreadyAnswered):
        tokens.read_invitation_token(token)
    assert tokens.read_invitation_token(token, allow_answered=True) == invitation


def test_suppressed_invitation_link_does_not_exist():
    invitation = make_invitation(make_survey(), status=Invitation.Status.SUPPRESSED)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_invitation_token(tokens.make_invitation_token(invitation))


def test_closed_survey_refuses_its_links():
    survey = make_survey(public=True)
    invitation = make_invitation(survey)
    Survey.objects.filter(pk=survey.pk).update(status=Survey.Status.CLOSED)
    with pytest.raises(tokens.SurveyClosed):
        tokens.read_invitation_token(tokens.make_invitation_token(invitation))
    with pytest.raises(tokens.SurveyClosed):
        tokens.read_public_token(tokens.make_public_token(survey))


def test_public_token_needs_the_public_link_switched_on():
    survey = make_survey(public=False)
    token = tokens.make_public_token(survey)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_public_token(token)
    Survey.objects.filter(pk=survey.pk).update(public_link_enabled=True)
    assert tokens.read_public_token(token) == survey
    with pytest.raises(tokens.InvalidToken):
        tokens.read_public_token(token.replace("shopping", "shoppinx"))


def test_urls_are_absolute_and_qr_codes_render(settings):
    settings.CXLOOP_PUBLIC_URL = "https://cx.example.com"
    survey = make_survey(public=True)
    url = tokens.public_url(survey)
    assert url.startswith("https://cx.example.com/s/p/")
    assert tokens.invitation_url(make_invitation(survey)).startswith("https://cx.example.com/s/i/")
    svg = tokens.qr_code(url)
    assert svg.startswith(b"<?xml") and b"<svg" in svg
    assert tokens.qr_code(url, kind="png").startswith(b"\x89PNG")
