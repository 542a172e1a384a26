"""Users and roles: services (audited through signals) and the console pages."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.urls import reverse

from cxloop.core import roles
from cxloop.core.models import AuditLog
from cxloop.core.roles import roles_of
from cxloop.core.services import create_user, set_user_active, set_user_roles

pytestmark = pytest.mark.django_db
User = get_user_model()
LIST = reverse("core:users")
STRONG = "Kx7-plum-harbour-92"


def _edit_url(user) -> str:
    return reverse("core:user_edit", args=[user.pk])


# --- services ------------------------------------------------------------------------------


def test_create_user_with_roles_is_audited_once_per_change(owner):
    user = create_user(
        username="wang",
        email="wang@example.com",
        password=STRONG,
        roles=[roles.AGENT],
        actor=owner,
    )
    assert user.check_password(STRONG)
    assert roles_of(user) == [roles.AGENT]
    assert user.has_perm("customers.view_pii")
    entries = AuditLog.objects.filter(object_type="auth.user", object_id=str(user.pk))
    assert set(entries.values_list("action", flat=True)) == {"user.created", "user.roles_changed"}
    assert entries.count() == 2  # signals write the rows; the service adds none of its own
    assert {entry.actor for entry in entries} == {owner}
    roles_entry = entries.get(action="user.roles_changed")
    assert roles_entry.after == {"roles": [roles.AGENT]}


@pytest.mark.parametrize(
    ("username", "password", "user_roles"),
    [
        ("owner", STRONG, []),  # taken (case-insensitive below too)
        ("OWNER", STRONG, []),
        ("   ", STRONG, []),
        ("newbie", "123", []),  # too short and common
        ("newbie", STRONG, ["wizard"]),
    ],
)
def test_create_user_refuses_bad_input(owner, username, password, user_roles):
    before = User.objects.count()
    with pytest.raises(ValidationError):
        create_user(username=username, email="", password=password, roles=user_roles, actor=owner)
    assert User.objects.count() == before


def test_set_user_roles_replaces_roles_and_keeps_other_groups(owner, teammate):
    from django.contrib.auth.models import Group

    other = Group.objects.create(name="newsletter")
    teammate.groups.add(other)
    setup_rows = AuditLog.objects.count()
    set_user_roles(user=teammate, roles=[roles.ANALYST, roles.VIEWER], actor=owner)
    assert sorted(roles_of(teammate)) == [roles.ANALYST, roles.VIEWER]
    assert teammate.groups.filter(name="newsletter").exists()
    changes = AuditLog.objects.order_by("id")[setup_rows:]
    assert {entry.action for entry in changes} == {"user.roles_changed"}
    assert changes and {entry.actor for entry in changes} == {owner}
    assert list(changes)[-1].after["roles"] == sorted([roles.ANALYST, roles.VIEWER, "newsletter"])


def test_nobody_removes_their_own_manager_role(owner):
    with pytest.raises(ValidationError):
        set_user_roles(user=owner, roles=[roles.AGENT], actor=owner)
    assert roles_of(owner) == [roles.CX_MANAGER]


def test_deactivate_and_reactivate(owner, teammate):
    set_user_active(user=teammate, active=False, actor=owner)
    teammate.refresh_from_db()
    assert not teammate.is_active
    entry = AuditLog.objects.get(action="user.changed", object_id=str(teammate.pk))
    assert entry.actor == owner
    assert (entry.before["is_active"], entry.after["is_active"]) == (True, False)
    set_user_active(user=teammate, active=True, actor=owner)
    teammate.refresh_from_db()
    assert teammate.is_active


def test_nobody_deactivates_themselves(owner):
    with pytest.raises(ValidationError):
        set_user_active(user=owner, active=False, actor=owner)
    owner.refresh_from_db()
    assert owner.is_active


# --- pages -----------------------------------------------------------------------------------


def test_pages_need_user_management(
    owner_client, teammate_client, analyst_client, outsider_client, teammate
):
    assert owner_client.get(LIST).status_code == 200
    assert owner_client.get(_edit_url(teammate)).status_code == 200
    for refused in (teammate_client, analyst_client, outsider_client):
        assert refused.get(LIST).status_code == 403
        assert refused.get(_edit_url(teammate)).status_code == 403
        response = refused.post(LIST, {"username": "x", "password": STRONG})
        assert response.status_code == 403
    assert not User.objects.filter(username="x").exists()


def test_list_shows_users_with_role_labels(owner_client, teammate, analyst):
    html = owner_client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "teammate" in html and "analyst" in html
    assert "Agent" in html and "Analyst" in html and "CX manager" in html


def test_create_user_from_the_page(owner, owner_client):
    response = owner_client.post(
        LIST,
        {
            "username": "zhou",
            "email": "zhou@example.com",
            "password": STRONG,
            "roles": [roles.ANALYST],
        },
    )
    assert response.status_code == 302
    user = User.objects.get(username="zhou")
    assert roles_of(user) == [roles.ANALYST]
    assert AuditLog.objects.get(action="user.created", object_id=str(user.pk)).actor == owner


def test_create_user_errors_re_render(owner_client):
    response = owner_client.post(
        LIST, {"username": "owner", "password": "123", "roles": ["wizard"]}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"username", "roles"} <= set(errors)
    weak = owner_client.post(LIST, {"username": "fresh", "password": "123"})
    assert "password" in weak.context["form"].errors
    assert not User.objects.filter(username="fresh").exists()


def test_edit_roles_and_deactivate_from_the_page(owner, owner_client, teammate):
    response = owner_client.post(_edit_url(teammate), {"roles": [roles.VIEWER]})
    assert response.status_code == 302
    teammate.refresh_from_db()
    assert roles_of(teammate) == [roles.VIEWER]
    assert not teammate.is_active  # the "active" box was not ticked
    assert AuditLog.objects.filter(action="user.changed", actor=owner).exists()


def test_manager_cannot_lock_themselves_out(owner, owner_client):
    response = owner_client.post(_edit_url(owner), {"roles": [roles.AGENT]})
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    owner.refresh_from_db()
    assert owner.is_active and roles_of(owner) == [roles.CX_MANAGER]


def test_only_a_superuser_changes_a_superuser(owner_client):
    boss = User.objects.create_superuser(username="boss", password=STRONG)
    assert owner_client.get(_edit_url(boss)).status_code == 200
    assert owner_client.post(_edit_url(boss), {"roles": []}).status_code == 403
    boss.refresh_from_db()
    assert boss.is_active


def test_unknown_user_is_404(owner_client):
    assert owner_client.get(reverse("core:user_edit", args=[987654])).status_code == 404
