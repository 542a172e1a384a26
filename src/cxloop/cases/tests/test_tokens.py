"""Progress-page tokens: only the signed [id, nonce] of a live case opens it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing

from cxloop.cases import services, tokens
from cxloop.cases.models import Case

pytestmark = pytest.mark.django_db


def test_round_trip(make_case):
    case = make_case()
    token = tokens.make_progress_token(case)
    assert tokens.read_progress_token(token) == case
    assert tokens.progress_url(case).endswith(f"/c/{token}/")


@pytest.mark.parametrize(
    "token",
    ["", "x", "a" * 1000, "WzEsImFiYyJd:1tAbCd:bad-signature", None, 12],
)
def test_garbage_is_invalid(db, token):
    with pytest.raises(tokens.InvalidToken):
        tokens.read_progress_token(token)


def test_tampered_token_is_invalid(make_case):
    token = tokens.make_progress_token(make_case())
    for position in (0, len(token) // 2, len(token) - 1):
        changed = "A" if token[position] != "A" else "B"
        with pytest.raises(tokens.InvalidToken):
            tokens.read_progress_token(token[:position] + changed + token[position + 1 :])


def test_token_cannot_be_moved_to_another_case(make_case):
    first, second = make_case(), make_case()
    signer = signing.TimestampSigner(salt=tokens.SALT)
    # Another case's id with this case's nonce, correctly signed: the nonce does not match.
    forged = signer.sign_object([second.pk, first.public_nonce])
    with pytest.raises(tokens.InvalidToken):
        tokens.read_progress_token(forged)


def test_other_salt_or_key_is_refused(make_case, settings):
    case = make_case()
    other_salt = signing.TimestampSigner(salt="cxloop.surveys.invitation")
    with pytest.raises(tokens.InvalidToken):
        tokens.read_progress_token(other_salt.sign_object([case.pk, case.public_nonce]))
    other_key = signing.TimestampSigner(key="not-our-secret", salt=tokens.SALT)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_progress_token(other_key.sign_object([case.pk, case.public_nonce]))


@pytest.mark.parametrize(
    "payload", [["1", "nonce"], [1], [True, "x"], {"id": 1}, [1, ""], [1, 2], [2**70, "x"], "1"]
)
def test_malformed_payloads_are_invalid(db, payload):
    token = signing.TimestampSigner(salt=tokens.SALT).sign_object(payload)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_progress_token(token)


def test_new_nonce_revokes_the_link(make_case):
    case = make_case()
    token = tokens.make_progress_token(case)
    Case.objects.filter(pk=case.pk).update(public_nonce="fresh-nonce")
    with pytest.raises(tokens.InvalidToken):
        tokens.read_progress_token(token)


def test_expired_token_is_invalid(make_case, monkeypatch):
    case = make_case()
    token = tokens.make_progress_token(case)
    later = signing.time.time() + tokens.MAX_AGE.total_seconds() + 60
    monkeypatch.setattr(signing.time, "time", lambda: later)
    with pytest.raises(tokens.InvalidToken):
        tokens.read_progress_token(token)


def test_case_without_nonce_gets_one(make_case):
    case = make_case()
    Case.objects.filter(pk=case.pk).update(public_nonce="")
    case.refresh_from_db()
    token = tokens.make_progress_token(case)
    case.refresh_from_db()
    assert case.public_nonce
    assert tokens.read_progress_token(token) == case


def test_survivor_follows_merges(make_case, owner):
    first, second, third = make_case(), make_case(), make_case()
    services.merge_cases(duplicate=first, survivor=second, actor=owner)
    second.refresh_from_db()
    services.merge_cases(duplicate=second, survivor=third, actor=owner)
    first.refresh_from_db()
    assert tokens.survivor_of(first) == third
    assert tokens.survivor_of(third) == third


def test_max_age_is_more_than_a_year():
    assert dt.timedelta(days=365) < tokens.MAX_AGE
