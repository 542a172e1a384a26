"""Signed links to a case's progress page (``/c/<token>/``), for the customer who filed it.

A token signs ``[case id, public nonce]`` with a salt of its own and a timestamp: it cannot be
forged, cannot be moved to another case, dies when the case's nonce is changed (a leaked link is
revoked by giving the case a new nonce) and expires after ``MAX_AGE``. Everything wrong with a
token is one ``InvalidToken``: the page says "not valid" without telling why.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from cxloop.cases.models import Case

SALT = "cxloop.cases.progress"
MAX_AGE = dt.timedelta(days=400)  # a year of follow-up plus a reopened case's time
MAX_TOKEN_LENGTH = 200  # anything longer is not ours; refuse before parsing
MAX_MERGE_HOPS = 10  # merged into a case merged into …: follow at most this far


class InvalidToken(Exception):
    status = 404
    message = _("This case link is not valid.")


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def make_progress_token(case: Case) -> str:
    """The token of ``case``; gives the case a nonce first if it has none (old rows)."""
    if not case.public_nonce:
        case.public_nonce = secrets.token_hex(8)
        Case.objects.filter(pk=case.pk).update(public_nonce=case.public_nonce)
    return _signer().sign_object([case.pk, case.public_nonce])


def read_progress_token(token: str) -> Case:
    """The case behind ``token`` (not following merges); ``InvalidToken`` otherwise."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidToken
    try:
        payload = _signer().unsign_object(token, max_age=MAX_AGE)
    except (signing.BadSignature, ValueError, UnicodeDecodeError):  # SignatureExpired included
        raise InvalidToken from None
    if not (
        isinstance(payload, list)
        and len(payload) == 2
        and type(payload[0]) is int
        and 0 < payload[0] < 2**63
        and isinstance(payload[1], str)
        and payload[1]
    ):
        raise InvalidToken
    found = Case.objects.filter(pk=payload[0], public_nonce=payload[1]).first()
    if found is None:
        raise InvalidToken
    return found


def survivor_of(case: Case) -> Case:
    """The case a merged case lives on in (itself when not merged)."""
    seen = {case.pk}
    while case.merged_into_id is not None and len(seen) <= MAX_MERGE_HOPS:
        target = Case.objects.filter(pk=case.merged_into_id).first()
        if target is None or target.pk in seen:
            break
        seen.add(target.pk)
        case = target
    return case


def progress_path(case: Case) -> str:
    return reverse("case_public:progress", args=[make_progress_token(case)])


def progress_url(case: Case) -> str:
    """The absolute link to keep: shown after the form, sent in messages, given by the API."""
    return settings.CXLOOP_PUBLIC_URL + progress_path(case)
