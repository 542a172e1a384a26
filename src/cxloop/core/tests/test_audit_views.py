"""The audit log page: permissions, filters, pagination, diff table, masked personal data."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from cxloop.core.audit import record_audit
from cxloop.core.models import AuditLog
from cxloop.core.views import audit_diff

pytestmark = pytest.mark.django_db
URL = reverse("core:audit")
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _entry(actor, action="customer.updated", object_type="customers.customer", at=None, **kw):
    entry = record_audit(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=kw.pop("object_id", "1"),
        before=kw.pop("before", {"region": "华东"}),
        after=kw.pop("after", {"region": "华北"}),
    )
    if at is not None:
        AuditLog.objects.filter(pk=entry.pk).update(at=at)
    return entry


def _shown(response) -> list[AuditLog]:
    return [entry for entry, _diff in response.context["rows"]]


def test_only_managers_read_the_audit_log(
    owner_client, teammate_client, analyst_client, outsider_client, client
):
    assert owner_client.get(URL).status_code == 200
    for refused in (teammate_client, analyst_client, outsider_client):
        assert refused.get(URL).status_code == 403
    assert client.get(URL).status_code == 302


def test_shows_change_as_diff_table(owner, owner_client):
    _entry(owner, before={"region": "华东", "tags": ["a"]}, after={"region": "华北", "tags": []})
    html = owner_client.get(URL).content.decode()
    assert '<table class="diff">' in html
    assert '<td class="before">华东</td><td class="after">华北</td>' in html
    assert '<td class="before">[&quot;a&quot;]</td><td class="after">[]</td>' in html


def test_filter_by_object_type_and_actor(owner, teammate, owner_client):
    _entry(owner, object_type="customers.customer")
    _entry(teammate, object_type="core.setting", action="setting.changed")
    by_type = _shown(owner_client.get(URL, {"object_type": "core.setting"}))
    assert [entry.action for entry in by_type] == ["setting.changed"]
    by_actor = _shown(owner_client.get(URL, {"actor": "OWNER", "object_type": ""}))
    assert {entry.actor_label for entry in by_actor} == {"owner"}


def test_filter_by_local_dates(owner, owner_client):
    # 2025-03-01 23:30 in Shanghai is 15:30 UTC; it belongs to 1 March locally.
    _entry(owner, action="late", at=dt.datetime(2025, 3, 1, 23, 30, tzinfo=SHANGHAI))
    _entry(owner, action="next-day", at=dt.datetime(2025, 3, 2, 0, 30, tzinfo=SHANGHAI))
    march_1 = _shown(owner_client.get(URL, {"date_from": "2025-03-01", "date_to": "2025-03-01"}))
    assert [entry.action for entry in march_1] == ["late"]
    from_2 = _shown(owner_client.get(URL, {"date_from": "2025-03-02"}))
    assert "next-day" in {entry.action for entry in from_2}
    assert "late" not in {entry.action for entry in from_2}


def test_bad_filter_input_does_not_fail(owner, owner_client):
    _entry(owner)
    response = owner_client.get(URL, {"date_from": "yesterday", "object_type": "nope"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_paginates(owner, owner_client):
    AuditLog.objects.bulk_create(
        AuditLog(action=f"bulk.{n}", object_type="x", actor_label="owner") for n in range(120)
    )
    first = owner_client.get(URL)
    assert len(first.context["rows"]) == 50
    assert first.context["page"].paginator.num_pages >= 3
    assert owner_client.get(URL, {"page": "3"}).status_code == 200


def test_personal_data_is_masked_for_viewers_without_pii(owner, django_user_model):
    auditor = django_user_model.objects.create_user(username="auditor", password="pw")
    auditor.user_permissions.add(Permission.objects.get(codename="view_audit"))
    _entry(owner, before={"phone": "13812345678"}, after={"phone": "13900001111"})
    client = Client()
    client.force_login(auditor)
    html = client.get(URL).content.decode()
    assert "13812345678" not in html and "13900001111" not in html
    assert "138****5678" in html


def test_diff_handles_created_rows_and_odd_values(owner):
    created = _entry(owner, action="customer.created", before=None, after={"name": "张伟"})
    assert audit_diff(created, show_pii=True) == [("name", "—", "张伟")]
    odd = _entry(owner, before=None, after=None)
    assert audit_diff(odd, show_pii=True) == []
