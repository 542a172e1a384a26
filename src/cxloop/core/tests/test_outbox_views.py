"""Outbox console pages: who may see them, what they show, the audited retry."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from cxloop.core.models import AuditLog, OutboxAttempt, OutboxMessage

Status = OutboxMessage.Status


@pytest.fixture
def failed_message(db):
    message = OutboxMessage.objects.create(
        channel="webhook",
        recipient="13812345678",
        body="Your refund is on its way",
        status=Status.FAILED,
        attempt_count=3,
        last_error="HTTP 503: gateway down",
    )
    OutboxAttempt.objects.create(
        message=message, succeeded=False, error="HTTP 503: gateway down", duration_ms=87
    )
    return message


@pytest.fixture
def sent_email(db):
    return OutboxMessage.objects.create(
        channel="email", recipient="wang@example.com", subject="Thanks", status=Status.SENT
    )


@pytest.fixture
def no_pii_client(db, django_user_model):
    """Someone allowed to read the outbox but not personal data."""
    user = django_user_model.objects.create_user(username="auditor", password="pw-auditor")
    user.user_permissions.add(
        Permission.objects.get(codename="view_outboxmessage", content_type__app_label="core")
    )
    client = Client()
    client.force_login(user)
    return client


def test_owner_sees_list_with_counts(owner_client, failed_message, sent_email):
    response = owner_client.get(reverse("core:outbox"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "13812345678" in page and "wang@example.com" in page
    counts = {value: count for value, _label, count in response.context["counts"]}
    assert counts == {"pending": 0, "sending": 0, "sent": 1, "failed": 1}


def test_list_filters_by_status_and_channel(owner_client, failed_message, sent_email):
    response = owner_client.get(reverse("core:outbox"), {"status": "failed"})
    assert [m.pk for m in response.context["page"].object_list] == [failed_message.pk]
    response = owner_client.get(reverse("core:outbox"), {"channel": "email"})
    assert [m.pk for m in response.context["page"].object_list] == [sent_email.pk]
    counts = {value: count for value, _label, count in response.context["counts"]}
    assert counts["failed"] == 0 and counts["sent"] == 1


def test_list_ignores_unknown_filter_with_error(owner_client, failed_message, sent_email):
    response = owner_client.get(reverse("core:outbox"), {"status": "lost"})
    assert response.status_code == 200
    assert response.context["form"].errors["status"]
    assert "Unknown filter value ignored." in response.content.decode()
    assert len(response.context["page"].object_list) == 2
    response = owner_client.get(reverse("core:outbox"), {"status": "lost", "channel": "email"})
    assert [m.pk for m in response.context["page"].object_list] == [sent_email.pk]


def test_list_is_paginated(owner_client, db):
    OutboxMessage.objects.bulk_create(
        OutboxMessage(channel="email", recipient=f"u{n}@example.com") for n in range(60)
    )
    first = owner_client.get(reverse("core:outbox"))
    assert len(first.context["page"].object_list) == 50
    second = owner_client.get(reverse("core:outbox"), {"page": 2})
    assert len(second.context["page"].object_list) == 10
    assert owner_client.get(reverse("core:outbox"), {"page": "x"}).status_code == 200


def test_owner_sees_detail_with_attempts(owner_client, failed_message):
    response = owner_client.get(reverse("core:outbox_detail", args=[failed_message.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "13812345678" in page
    assert "HTTP 503: gateway down" in page and "87 ms" in page
    assert "Your refund is on its way" in page
    assert reverse("core:outbox_retry", args=[failed_message.pk]) in page


def test_detail_of_missing_message_is_404(owner_client, db):
    assert owner_client.get(reverse("core:outbox_detail", args=[999999])).status_code == 404


def test_owner_retries_failed_message(owner_client, owner, failed_message):
    url = reverse("core:outbox_retry", args=[failed_message.pk])
    response = owner_client.post(url)
    assert response.status_code == 302
    failed_message.refresh_from_db()
    assert failed_message.status == Status.PENDING
    assert AuditLog.objects.filter(
        action="outbox.retried", actor=owner, object_id=str(failed_message.pk)
    ).exists()


def test_retry_of_sent_message_explains(owner_client, sent_email):
    url = reverse("core:outbox_retry", args=[sent_email.pk])
    response = owner_client.post(url, follow=True)
    assert "Only messages that gave up can be retried." in response.content.decode()
    sent_email.refresh_from_db()
    assert sent_email.status == Status.SENT


def test_retry_needs_post(owner_client, failed_message):
    url = reverse("core:outbox_retry", args=[failed_message.pk])
    assert owner_client.get(url).status_code == 405


@pytest.mark.parametrize("client_name", ["teammate_client", "outsider_client"])
def test_others_are_refused(request, client_name, failed_message):
    client = request.getfixturevalue(client_name)
    assert client.get(reverse("core:outbox")).status_code == 403
    assert client.get(reverse("core:outbox_detail", args=[failed_message.pk])).status_code == 403
    retry = client.post(reverse("core:outbox_retry", args=[failed_message.pk]))
    assert retry.status_code == 403
    failed_message.refresh_from_db()
    assert failed_message.status == Status.FAILED


def test_anonymous_is_sent_to_login(client, failed_message):
    assert client.get(reverse("core:outbox")).status_code == 302


def test_recipients_masked_without_pii_permission(no_pii_client, failed_message, sent_email):
    page = no_pii_client.get(reverse("core:outbox")).content.decode()
    assert "13812345678" not in page and "138****5678" in page
    assert "wang@example.com" not in page and "w***@example.com" in page
    detail = no_pii_client.get(reverse("core:outbox_detail", args=[failed_message.pk]))
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "13812345678" not in text and "Your refund is on its way" not in text
    # Reading is not retrying.
    retry = no_pii_client.post(reverse("core:outbox_retry", args=[failed_message.pk]))
    assert retry.status_code == 403
