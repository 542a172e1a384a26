"""The insight summary page: clusters, alerts, drivers, A/B tests and actions in one place,
each part only with its permission."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from cxloop.core import roles
from cxloop.programs import services as programs
from cxloop.surveys.tests.test_clusters import LATE, survey  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
URL = reverse("console:understand")


def test_the_manager_sees_every_part(owner_client, owner, survey):  # noqa: F811
    programs.create_action(actor=owner, title="更换华东快递")
    html = owner_client.get(URL).content.decode()
    for part in ("problems", "alerts", "drivers", "experiments", "actions"):
        assert f'id="{part}"' in html
    assert 'data-term="logistics" data-place="华东"' in html and LATE[:8] in html
    assert "No KPI is out of its control limits." in html
    assert "No A/B test has started yet." in html
    assert "更换华东快递" in html and "1 action not done yet." in html
    assert reverse("survey_analysis:clusters", args=[survey.pk]) in html


def test_a_survey_can_be_chosen_and_a_bad_choice_falls_back(owner_client, survey):  # noqa: F811
    assert owner_client.get(URL, {"survey": survey.pk}).status_code == 200
    assert owner_client.get(URL, {"survey": "x"}).status_code == 200
    assert owner_client.get(URL, {"survey": 99999}).status_code == 200


def test_a_viewer_sees_aggregates_only(survey, django_user_model):  # noqa: F811
    viewer = django_user_model.objects.create_user(username="viewer")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    client = Client()
    client.force_login(viewer)
    html = client.get(URL).content.decode()
    assert 'id="problems"' in html and 'id="alerts"' in html
    assert LATE[:8] not in html and 'id="actions"' not in html and 'id="experiments"' not in html


def test_without_surveys_and_permissions(owner_client, outsider_client, client):
    html = owner_client.get(URL).content.decode()
    assert 'id="problems"' not in html and 'id="alerts"' in html
    assert outsider_client.get(URL).status_code == 403
    assert client.get(URL).status_code == 302


def test_the_nav_links_here(owner_client):
    assert URL in owner_client.get(reverse("console:home")).content.decode()
