"""Console pages of the plays: list, detail, create/edit with errors, run now; permissions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cxloop.core.models import AuditLog
from cxloop.retention.play_models import PlayAssignment, RetentionPlay
from cxloop.retention.tests.test_churn_support import (  # noqa: F401  (fixture)
    make_customers,
    retention_perms,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("retention_perms")]
ROLES = ("owner_client", "teammate_client", "analyst_client", "outsider_client")
FORM = {
    "name": "New offer", "kind": "personal_offer", "tier": "potential", "stage": "",
    "min_churn_risk": "", "channel": "email", "subject": "Hi", "message": "Dear {name}",
    "assignee": "", "task_due_days": 3, "gift_points": 0, "cap_days": 30, "holdout_percent": 10,
    "measure_days": 30, "is_active": "on",
}  # fmt: skip


def _play():
    return RetentionPlay.objects.order_by("pk").first()  # a default play from post_migrate


@pytest.mark.parametrize(("who", "status"), list(zip(ROLES, (200, 200, 200, 403), strict=True)))
def test_list_and_detail_by_role(request, who, status):
    client = request.getfixturevalue(who)
    assert client.get(reverse("retention:plays")).status_code == status
    assert client.get(reverse("retention:play_detail", args=[_play().pk])).status_code == status


def test_list_shows_the_default_plays_and_verdicts(owner_client):
    page = owner_client.get(reverse("retention:plays")).content.decode()
    assert page.count("Too early to tell") == RetentionPlay.objects.count() == 4
    assert "Run now" in page and "New play" in page


@pytest.mark.parametrize(("who", "status"), list(zip(ROLES, (200, 403, 403, 403), strict=True)))
def test_new_and_edit_need_the_permissions(request, who, status):
    client = request.getfixturevalue(who)
    assert client.get(reverse("retention:play_new")).status_code == status
    assert client.get(reverse("retention:play_edit", args=[_play().pk])).status_code == status
    client.post(reverse("retention:play_new"), FORM)
    assert RetentionPlay.objects.filter(name="New offer").exists() == (status == 200)


def test_create_and_edit_are_audited(owner_client, owner):
    response = owner_client.post(reverse("retention:play_new"), FORM)
    play = RetentionPlay.objects.get(name="New offer")
    assert response.status_code == 302
    assert AuditLog.objects.filter(action="retention.play.create", actor=owner).exists()
    owner_client.post(reverse("retention:play_edit", args=[play.pk]), {**FORM, "cap_days": 45})
    play.refresh_from_db()
    assert play.cap_days == 45
    entry = AuditLog.objects.get(action="retention.play.update")
    assert entry.before == {"cap_days": 30} and entry.after == {"cap_days": 45}


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tier": ""}, "tier", "Set a tier, a life-cycle stage or a churn risk."),
        ({"message": " "}, "message", "Write the message the channel sends."),
        ({"kind": "account_manager"}, "assignee", "Name the account manager."),
        ({"channel": ""}, "channel", "An offer or benefit needs a message channel."),
        ({"holdout_percent": 80}, "holdout_percent", "less than or equal to 50"),
        ({"min_churn_risk": "1.5"}, "min_churn_risk", "less than or equal to 1"),
    ],
)
def test_bad_input_rerenders_with_the_message(owner_client, changes, field, message):
    response = owner_client.post(reverse("retention:play_new"), {**FORM, **changes})
    assert response.status_code == 200
    assert message in " ".join(str(e) for e in response.context["form"].errors[field])
    assert not RetentionPlay.objects.filter(name="New offer").exists()


@pytest.mark.parametrize(("who", "status"), list(zip(ROLES, (302, 302, 403, 403), strict=True)))
def test_run_now(request, who, status):
    make_customers(3, tier="potential")
    client = request.getfixturevalue(who)
    offer = RetentionPlay.objects.get(kind="personal_offer")
    assert client.post(reverse("retention:play_run", args=[offer.pk])).status_code == status
    assert client.post(reverse("retention:plays_run")).status_code == status
    assert PlayAssignment.objects.filter(play=offer).count() == (3 if status == 302 else 0)


def test_run_now_is_post_only(owner_client):
    assert owner_client.get(reverse("retention:plays_run")).status_code == 405
