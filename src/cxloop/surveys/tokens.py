"""Signed links to the answer pages: one per invitation, one public link per survey.

An invitation token signs ``[invitation id, nonce]`` with a salt of its own, so a token cannot be
forged, cannot be moved to another invitation, and dies with the invitation's nonce. Expiry and
"one response per link" are checked against the invitation row, not baked into the token, so a
manager can extend or revoke an invitation without re-sending links.

The public token signs the survey key; the QR code printed in stores encodes the public URL.
"""

from __future__ import annotations

import io

import segno
from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.surveys import submit_sql
from cxloop.surveys.models import Invitation, Survey

INVITATION_SALT = "cxloop.surveys.invitation"
PUBLIC_SALT = "cxloop.surveys.public"
MAX_TOKEN_LENGTH = 300  # anything longer is not ours; refuse before parsing


class TokenError(Exception):
    """A link that cannot be answered; ``status`` is the HTTP status its page is served with."""

    status = 404
    message = _("This survey link is not valid.")


class InvalidToken(TokenError):
    pass


class ExpiredToken(TokenError):
    status = 410
    message = _("This survey link has expired.")


class AlreadyAnswered(TokenError):
    status = 410
    message = _("You have already answered this survey. Thank you!")


class SurveyClosed(TokenError):
    status = 410
    message = _("This survey is no longer collecting answers.")


def make_invitation_token(invitation: Invitation) -> str:
    return signing.Signer(salt=INVITATION_SALT).sign_object([invitation.pk, invitation.nonce])


def read_invitation_token(token: str, *, allow_answered: bool = False) -> Invitation:
    """The invitation behind ``token``, ready to answer; raises a ``TokenError`` otherwise.

    ``allow_answered`` lets the thank-you page read a link whose survey was just answered.
    """
    payload = _unsign(token, INVITATION_SALT)
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise InvalidToken
    # One hand-written SELECT brings the survey, its current version and the response too
    # (every answer page needs them next); the ORM spent more CPU compiling it than running it.
    invitation = submit_sql.invitation_for_answering(pk=payload[0], nonce=str(payload[1]))
    if invitation is None:
        raise InvalidToken
    if invitation.status == Invitation.Status.SUPPRESSED:
        raise InvalidToken
    if invitation.status == Invitation.Status.ANSWERED and not allow_answered:
        raise AlreadyAnswered
    if invitation.status == Invitation.Status.ANSWERED:
        return invitation
    if invitation.status == Invitation.Status.EXPIRED or (
        invitation.expires_at is not None and invitation.expires_at <= timezone.now()
    ):
        raise ExpiredToken
    _require_open(invitation.survey)
    return invitation


def make_public_token(survey: Survey) -> str:
    return signing.Signer(salt=PUBLIC_SALT).sign(survey.key)


def read_public_token(token: str) -> Survey:
    """The survey behind a public link, if that link is switched on and the survey collects."""
    key = _unsign(token, PUBLIC_SALT, as_object=False)
    try:
        survey = Survey.objects.select_related("current_version").defer("draft").get(key=key)
    except Survey.DoesNotExist:
        raise InvalidToken from None
    if not survey.public_link_enabled:
        raise InvalidToken
    _require_open(survey)
    return survey


def public_url(survey: Survey) -> str:
    """The absolute public link, as printed on posters and encoded in the QR code."""
    path = reverse("answer:public", args=[make_public_token(survey)])
    return settings.CXLOOP_PUBLIC_URL + path


def invitation_url(invitation: Invitation) -> str:
    """The absolute personal link that goes into the invitation message."""
    path = reverse("answer:invitation", args=[make_invitation_token(invitation)])
    return settings.CXLOOP_PUBLIC_URL + path


def qr_code(url: str, *, kind: str = "svg") -> bytes:
    """A QR code for ``url`` as SVG or PNG bytes (medium error correction survives print wear)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind=kind, scale=8, border=2)
    return buffer.getvalue()


def _require_open(survey: Survey) -> None:
    if survey.status != Survey.Status.ACTIVE or survey.current_version_id is None:
        raise SurveyClosed


def _unsign(token: str, salt: str, *, as_object: bool = True):
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken
    signer = signing.Signer(salt=salt)
    try:
        return signer.unsign_object(token) if as_object else signer.unsign(token)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise InvalidToken from None
