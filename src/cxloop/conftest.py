"""Shared fixtures: every permission test gets an owner, a teammate and an outsider.

- ``owner``: a CX manager — may do everything, sees personal data.
- ``teammate``: an agent — works with customers, sees personal data, cannot import or manage.
- ``analyst``: sees customers with masked personal data, may export.
- ``outsider``: signed in but without any role — must be refused everywhere.

Each has a signed-in browser client (``owner_client``, ...) and an API client with its own
Bearer token (``owner_api``, ...; ``anonymous_api`` sends none): ``ApiClient`` calls /api/v1
like an integrator, JSON bodies and English messages; ``make_token`` issues a token.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from cxloop.api.models import ApiToken, hash_token, new_raw_token
from cxloop.core import roles


@pytest.fixture(autouse=True)
def _english_unless_asked(settings):
    """Assertions read English text; tests of the Chinese default set zh-hans themselves."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: rolled-back rows can come back with the same ids
    (SQLite reuses them), so a cached report or rate-limit count must not outlive its test."""
    from django.core.cache import cache

    cache.clear()


def _user(django_user_model, username: str, role: str | None):
    user = django_user_model.objects.create_user(username=username, password="pw-" + username)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def owner(db, django_user_model):
    return _user(django_user_model, "owner", roles.CX_MANAGER)


@pytest.fixture
def teammate(db, django_user_model):
    return _user(django_user_model, "teammate", roles.AGENT)


@pytest.fixture
def analyst(db, django_user_model):
    return _user(django_user_model, "analyst", roles.ANALYST)


@pytest.fixture
def outsider(db, django_user_model):
    return _user(django_user_model, "outsider", None)


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def teammate_client(teammate):
    return _client_for(teammate)


@pytest.fixture
def analyst_client(analyst):
    return _client_for(analyst)


@pytest.fixture
def outsider_client(outsider):
    return _client_for(outsider)


# --- API clients ------------------------------------------------------------------------------


def make_token(user, name: str = "test") -> str:
    raw = new_raw_token()
    ApiToken.objects.create(name=name, user=user, key_hash=hash_token(raw), key_hint=raw[:12])
    return raw


class ApiClient:
    """Calls /api/v1 like an integrator: JSON bodies, Bearer token, English messages."""

    def __init__(self, token: str | None = None):
        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.token = token

    def _headers(self, extra: dict) -> dict:
        headers = {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}
        return {**headers, **extra}

    def get(self, path: str, params: dict | None = None, **extra):
        return self.client.get("/api/v1" + path, params or {}, **self._headers(extra))

    def send(self, method: str, path: str, body=None, *, raw: bytes | str | None = None, **extra):
        if method == "GET":
            return self.get(path, **extra)
        data = raw if raw is not None else json.dumps(body)
        content_type = extra.pop("content_type", "application/json")
        call = getattr(self.client, method.lower())
        return call("/api/v1" + path, data, content_type=content_type, **self._headers(extra))

    def post(self, path: str, body=None, **kwargs):
        return self.send("POST", path, body, **kwargs)

    def put(self, path: str, body=None, **kwargs):
        return self.send("PUT", path, body, **kwargs)


@pytest.fixture
def owner_api(owner):
    return ApiClient(make_token(owner))


@pytest.fixture
def teammate_api(teammate):
    return ApiClient(make_token(teammate))


@pytest.fixture
def analyst_api(analyst):
    return ApiClient(make_token(analyst))


@pytest.fixture
def outsider_api(outsider):
    return ApiClient(make_token(outsider))


@pytest.fixture
def anonymous_api(db):
    return ApiClient()
