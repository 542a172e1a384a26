"""The case metrics page: figures, groups, CSV/XLSX export, filters and permissions."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.utils import timezone

from cxloop.cases.metrics_views import default_period
from cxloop.cases.tests.metrics_helpers import build_world
from cxloop.core import roles

pytestmark = pytest.mark.django_db
URL = "/cases/metrics/"
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture
def world(categories, teammate, handler):
    return build_world(categories, teammate, handler)


def page(client, **params):
    response = client.get(URL, params)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def test_cards_table_and_charts(owner_client, world):
    html = page(owner_client, **MARCH, by="department")
    assert 'data-figure="fcr">40.0 %' in html
    assert 'data-figure="repeat_rate">33.3 %' in html
    assert 'data-figure="complaint_rate">666.67' in html
    assert 'data-figure="first_response_time">0.7 h' in html  # 2,400 working seconds
    assert 'data-figure="backlog">2' in html
    assert 'data-group="cs-test"' in html and "物流部" in html
    assert 'id="chart-case-trend"' in html and 'id="chart-case-backlog"' in html
    assert "First response" in html and "66.7 %" in html  # SLA per target


def test_group_by_owner_and_month(owner_client, world):
    html = page(owner_client, **MARCH, by="owner")
    assert 'data-group="teammate"' in html and 'data-group="handler"' in html
    html = page(owner_client, **MARCH, by="month")
    assert 'data-group="2025-03"' in html


def test_default_period_is_the_last_twelve_months(owner_client, world):
    assert default_period(dt.date(2026, 11, 22)) == (dt.date(2025, 12, 1), dt.date(2026, 11, 22))
    assert default_period(dt.date(2026, 1, 5)) == (dt.date(2025, 2, 1), dt.date(2026, 1, 5))
    first, last = default_period(timezone.localdate())
    html = page(owner_client)
    assert f'name="start" value="{first:%Y-%m-%d}"' in html
    assert f'name="end" value="{last:%Y-%m-%d}"' in html
    assert "No cases in this period." in page(owner_client, start="2030-01-01", end="2030-01-31")


def test_bad_filters_fall_back(owner_client, world):
    html = page(owner_client, start="yesterday", by="phone")
    assert 'value="department" selected' in html
    html = page(owner_client, start="2025-03-31", end="2025-03-01")
    assert "Must not be before the start date." in html
    assert page(owner_client, start="0001-01-01", end="9999-12-31").count("Out of range.") == 2


def test_csv_export_of_the_table(owner_client, world):
    response = owner_client.get(URL, {**MARCH, "by": "department", "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "case-metrics-department-20250301-20250331.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    header, *lines = rows
    assert header[:3] == ["Department", "Key", "Cases"]
    table = {row[1]: dict(zip(header, row, strict=True)) for row in lines}
    assert table["cs-test"]["First-contact resolution (%)"] == "50.0"
    assert table["logistics-test"]["Cases"] == "3"
    assert table[""]["Department"] == "All" and table[""]["Orders"] == "9"
    assert table[""]["First response (working hours)"] == "0.7"


def test_xlsx_export(owner_client, world):
    response = owner_client.get(URL, {**MARCH, "format": "xlsx"})
    assert response.status_code == 200
    assert "spreadsheetml" in response["Content-Type"]


def test_permissions(client, outsider_client, teammate_client, analyst_client, world):
    assert client.get(URL).status_code == 302  # to the sign-in page
    assert outsider_client.get(URL).status_code == 403
    assert teammate_client.get(URL).status_code == 200  # agents read their own figures too
    assert analyst_client.get(URL, MARCH).status_code == 200


def test_handler_sees_only_their_departments(handler, world):
    client = Client()
    client.force_login(handler)
    assert client.get(URL).status_code == 403
    handler.user_permissions.add(Permission.objects.get(codename="view_case_metrics"))
    html = page(client, **MARCH)
    assert 'data-group="logistics-test"' in html and 'data-group="cs-test"' not in html
    assert 'data-figure="fcr">33.3 %' in html


def test_viewer_sees_every_case(django_user_model, world):
    viewer = django_user_model.objects.create_user(username="viewer")
    viewer.groups.add(Group.objects.get(name=roles.VIEWER))
    client = Client()
    client.force_login(viewer)
    assert 'data-figure="fcr">40.0 %' in page(client, **MARCH)


def test_the_url_is_ours():
    from django.urls import resolve, reverse

    assert reverse("case_metrics:page") == URL
    assert resolve(URL).view_name == "case_metrics:page"  # above the cases app's "cases/"
