"""Token services and the console page: create (shown once), revoke, permissions, audit."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from cxloop.api import services
from cxloop.api.models import ApiToken, hash_token
from cxloop.api.tests.conftest import ApiClient
from cxloop.core import roles
from cxloop.core.models import AuditLog

pytestmark = pytest.mark.django_db
URL = "/api/tokens/"


def test_create_token_returns_raw_once_and_audits(owner):
    token, raw = services.create_token(user=owner, name=" ERP sync ", actor=owner)
    assert raw.startswith("cxl_") and token.key_hash == hash_token(raw)
    assert token.name == "ERP sync" and token.key_hint == raw[:12]
    entry = AuditLog.objects.get(action="api_token.created")
    assert entry.actor == owner and raw not in str(entry.after)
    assert ApiClient(raw).get("/customers").status_code == 200


def test_revoke_token_audits_and_refuses_the_token(owner):
    token, raw = services.create_token(user=owner, name="x", actor=owner)
    services.revoke_token(token=token, actor=owner)
    services.revoke_token(token=token, actor=owner)  # again: no second audit row
    assert AuditLog.objects.filter(action="api_token.revoked").count() == 1
    assert ApiClient(raw).get("/customers").status_code == 401


def test_teammate_may_not_create_tokens(teammate):
    with pytest.raises(PermissionDenied):
        services.create_token(user=teammate, name="x", actor=teammate)
    assert not ApiToken.objects.exists()


def test_no_token_for_a_stronger_user(owner, django_user_model):
    boss = django_user_model.objects.create_superuser("boss", password="pw-boss-1234")
    with pytest.raises(PermissionDenied):
        services.create_token(user=boss, name="x", actor=owner)


def test_token_for_a_weaker_service_user(owner, django_user_model):
    bot = django_user_model.objects.create_user("erp-bot")
    bot.groups.add(Group.objects.get(name=roles.ANALYST))
    token, _raw = services.create_token(user=bot, name="erp", actor=owner)
    assert token.user == bot


def test_page_lists_tokens_for_owner(owner_client, owner):
    services.create_token(user=owner, name="ERP sync", actor=owner)
    response = owner_client.get(URL)
    assert response.status_code == 200
    assert "ERP sync" in response.content.decode()


@pytest.mark.parametrize("who", ["teammate_client", "outsider_client", "analyst_client"])
def test_page_refuses_others(request, who):
    client = request.getfixturevalue(who)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"name": "x"}).status_code == 403
    assert not ApiToken.objects.exists()


def test_page_requires_login(client, db):
    assert client.get(URL).status_code == 302


def test_create_on_page_shows_raw_token_once(owner_client, owner):
    response = owner_client.post(URL, {"name": "ERP", "user": owner.pk})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    page = response.content.decode()
    raw = re.search(r'id="new-token">(cxl_[^<]+)<', page).group(1)
    assert hash_token(raw) == token.key_hash
    assert raw not in owner_client.get(URL).content.decode()


def test_create_on_page_with_bad_input_rerenders(owner_client, owner):
    response = owner_client.post(URL, {"name": "", "user": owner.pk})
    assert response.status_code == 400
    assert not ApiToken.objects.exists()
    assert "errorlist" in response.content.decode()


def test_revoke_on_page(owner_client, owner):
    token, raw = services.create_token(user=owner, name="x", actor=owner)
    response = owner_client.post(f"{URL}{token.pk}/revoke/")
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_revoke_on_page_refused_for_teammate(teammate_client, owner):
    token, _raw = services.create_token(user=owner, name="x", actor=owner)
    assert teammate_client.post(f"{URL}{token.pk}/revoke/").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoke_needs_post(owner_client, owner):
    token, _raw = services.create_token(user=owner, name="x", actor=owner)
    assert owner_client.get(f"{URL}{token.pk}/revoke/").status_code == 405


def test_command_line_may_create_tokens_without_an_actor(teammate):
    token, raw = services.create_token(user=teammate, name="cli", actor=None)
    assert AuditLog.objects.get(action="api_token.created").actor_label == "system"
    assert ApiClient(raw).get("/customers").status_code == 200


def test_no_token_for_an_inactive_user(owner, django_user_model):
    gone = django_user_model.objects.create_user("gone", is_active=False)
    with pytest.raises(PermissionDenied):
        services.create_token(user=gone, name="x", actor=None)
