"""Shared fixtures: every permission test gets an owner, a teammate and an outsider.

- ``owner``: a CX manager — may do everything, sees personal data.
- ``teammate``: an agent — works with customers, sees personal data, cannot import or manage.
- ``analyst``: sees customers with masked personal data, may export.
- ``outsider``: signed in but without any role — must be refused everywhere.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from cxloop.core import roles


@pytest.fixture(autouse=True)
def _english_unless_asked(settings):
    """Assertions read English text; tests of the Chinese default set zh-hans themselves."""
    settings.LANGUAGE_CODE = "en"


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
