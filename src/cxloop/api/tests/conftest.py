"""API test helpers: a JSON client that sends a Bearer token, and tokens per role."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from cxloop.api.models import ApiToken, hash_token, new_raw_token


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
