"""Console pages for invitations, triggers and sample campaigns: content and permissions."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from cxloop.core.models import AuditLog
from cxloop.surveys import invitations
from cxloop.surveys.invitations import invite
from cxloop.surveys.models import Invitation, Survey, Trigger
from cxloop.surveys.tests.invitation_helpers import make_customer, make_survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    return make_survey("delivery")


@pytest.fixture
def invited(survey):
    """One scheduled invitation (phone 13812345678) and one suppressed for lack of consent."""
    scheduled = invite(survey=survey, customer=make_customer(phone="13812345678"), channel="sms")
    refused = invite(survey=survey, customer=make_customer(consent=False), channel="sms")
    return scheduled, refused


def test_invitation_list_shows_life_counts_and_reason(owner_client, survey, invited):
    response = owner_client.get(reverse("surveys:invitations", args=[survey.pk]))
    assert response.status_code == 200
    assert response.context["counts"]["total"] == 2
    assert response.context["counts"]["suppressed"] == 1
    html = response.content.decode()
    assert "13812345678" in html and "No consent to surveys" in html


def test_invitation_list_shows_quiet_hours_hold(owner_client, survey, quiet_hours):
    zone = ZoneInfo("Asia/Shanghai")
    due = dt.datetime(2026, 3, 10, 23, 0, tzinfo=zone)
    invitation = invite(survey=survey, customer=make_customer(), channel="sms", send_at=due)
    assert invitations.send_due_invitations(now=due) == 0
    response = owner_client.get(reverse("surveys:invitations", args=[survey.pk]))
    html = response.content.decode()
    assert "Held for quiet hours until 08:00" in html
    invitation.refresh_from_db()
    assert invitation.scheduled_for == dt.datetime(2026, 3, 11, 8, 0, tzinfo=zone)


def test_invitation_list_filters_by_status(teammate_client, survey, invited):
    url = reverse("surveys:invitations", args=[survey.pk])
    response = teammate_client.get(url, {"status": "suppressed"})
    assert [row.invitation.pk for row in response.context["rows"]] == [invited[1].pk]
    everything = teammate_client.get(url, {"status": "nonsense"})
    assert len(everything.context["rows"]) == 2


def test_phone_is_masked_without_pii_permission(django_user_model, survey, invited):
    user = django_user_model.objects.create_user(username="reader", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_invitation"))
    client = Client()
    client.force_login(user)
    html = client.get(reverse("surveys:invitations", args=[survey.pk])).content.decode()
    assert "13812345678" not in html and "138****5678" in html


@pytest.mark.parametrize(
    "name", ["surveys:invitations", "surveys:triggers", "surveys:trigger_create", "surveys:sample"]
)
def test_outsider_is_refused(outsider_client, survey, name):
    assert outsider_client.get(reverse(name, args=[survey.pk])).status_code == 403


def test_anonymous_is_sent_to_login(client, survey):
    response = client.get(reverse("surveys:invitations", args=[survey.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_unknown_survey_is_404(owner_client):
    assert owner_client.get(reverse("surveys:invitations", args=[999999])).status_code == 404


def _trigger_data(**changes):
    data = {
        "name": "Post-delivery CSAT",
        "kind": "event",
        "event_type": "order.delivered",
        "delay_minutes": "120",
        "expire_after_hours": "24",
        "channel": "sms",
        "enabled": "on",
    }
    return {**data, **changes}


def test_manager_creates_a_trigger(owner_client, owner, survey):
    response = owner_client.post(
        reverse("surveys:trigger_create", args=[survey.pk]), _trigger_data()
    )
    assert response.status_code == 302
    trigger = Trigger.objects.get(survey=survey)
    assert (trigger.event_type, trigger.delay_minutes, trigger.expire_after_hours) == (
        "order.delivered",
        120,
        24,
    )
    assert AuditLog.objects.filter(action="trigger.created", actor=owner).exists()
    listing = owner_client.get(reverse("surveys:triggers", args=[survey.pk]))
    assert "Post-delivery CSAT" in listing.content.decode()


@pytest.mark.parametrize(
    "changes",
    [
        {"event_type": "delivered"},
        {"kind": "periodic", "every_days": ""},
        {"expire_after_hours": "0"},
        {"delay_minutes": "-5"},
        {"channel": "pigeon"},
    ],
)
def test_bad_trigger_input_re_renders_with_errors(owner_client, survey, changes):
    url = reverse("surveys:trigger_create", args=[survey.pk])
    response = owner_client.post(url, _trigger_data(**changes))
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Trigger.objects.exists()


def test_manager_edits_and_pauses_a_trigger(owner_client, survey):
    trigger = Trigger.objects.create(survey=survey, name="t", event_type="order.delivered")
    edit = reverse("surveys:trigger_edit", args=[trigger.pk])
    assert owner_client.get(edit).context["form"].initial["event_type"] == "order.delivered"
    owner_client.post(edit, _trigger_data(delay_minutes="60"))
    toggle = reverse("surveys:trigger_toggle", args=[trigger.pk])
    assert owner_client.get(toggle).status_code == 405
    assert owner_client.post(toggle).status_code == 302
    trigger.refresh_from_db()
    assert (trigger.delay_minutes, trigger.enabled) == (60, False)
    assert AuditLog.objects.filter(action="trigger.changed").count() == 2


def test_teammate_sees_triggers_but_cannot_change_them(teammate_client, survey):
    trigger = Trigger.objects.create(survey=survey, name="t", event_type="order.delivered")
    assert teammate_client.get(reverse("surveys:triggers", args=[survey.pk])).status_code == 200
    assert teammate_client.get(reverse("surveys:trigger_edit", args=[trigger.pk])).status_code == (
        403
    )
    assert teammate_client.post(
        reverse("surveys:trigger_toggle", args=[trigger.pk])
    ).status_code == (403)
    trigger.refresh_from_db()
    assert trigger.enabled


def test_sample_form_defaults_and_run(owner_client, survey):
    url = reverse("surveys:sample", args=[survey.pk])
    form = owner_client.get(url).context["form"]
    assert {g: form.fields[g].initial for g in ("new", "existing", "lapsed", "vip")} == {
        "new": 300,
        "existing": 300,
        "lapsed": 300,
        "vip": 100,
    }
    make_customer(registered_days_ago=3)
    make_customer(registered_days_ago=3, phone="")
    data = {"channel": "sms", "new": "5", "existing": "0", "lapsed": "0", "vip": "0"}
    response = owner_client.post(url, data)
    assert response.status_code == 302
    statuses = sorted(Invitation.objects.filter(survey=survey).values_list("status", flat=True))
    assert statuses == ["scheduled", "suppressed"]


def test_sample_refused_for_teammate_and_closed_survey(owner_client, teammate_client):
    closed = make_survey(status=Survey.Status.CLOSED)
    url = reverse("surveys:sample", args=[closed.pk])
    data = {"channel": "sms", "new": "5", "existing": "0", "lapsed": "0", "vip": "0"}
    assert teammate_client.post(url, data).status_code == 403
    response = owner_client.post(url, data)
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert not Invitation.objects.exists()
