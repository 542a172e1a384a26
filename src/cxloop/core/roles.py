"""The five staff roles as Django groups, and the one permission check views use."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

CX_MANAGER = "cx_manager"
AGENT = "agent"
DEPARTMENT_HANDLER = "department_handler"
ANALYST = "analyst"
VIEWER = "viewer"

ROLE_LABELS = {
    CX_MANAGER: _("CX manager"),
    AGENT: _("Agent"),
    DEPARTMENT_HANDLER: _("Department handler"),
    ANALYST: _("Analyst"),
    VIEWER: _("Viewer"),
}

_EVERYONE = ["core.view_dashboard"]
ROLE_PERMISSIONS: dict[str, list[str]] = {
    CX_MANAGER: _EVERYONE
    + [
        "customers.view_customer",
        "customers.add_customer",
        "customers.change_customer",
        "customers.view_pii",
        "customers.view_order",
        "customers.change_order",
        "customers.import_data",
        "customers.export_data",
        "core.view_audit",
        "core.manage_settings",
        "core.view_outboxmessage",
        "core.retry_outbox",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "api.manage_tokens",
        "surveys.view_survey",
        "surveys.add_survey",
        "surveys.change_survey",
        "surveys.publish_survey",
        "surveys.view_results",
        "surveys.clean_responses",
        "surveys.view_invitation",
        "surveys.add_invitation",
        "surveys.view_response",
        "cases.view_case",
        "cases.add_case",
        "cases.change_case",
        "cases.view_all_cases",
        "cases.work_case",
        "cases.assign_case",
        "cases.manage_sla",
        "cases.approve_compensation",
        "cases.view_case_metrics",
    ],
    AGENT: _EVERYONE
    + [
        "customers.view_customer",
        "customers.change_customer",
        "customers.view_pii",
        "customers.view_order",
        "surveys.view_survey",
        "surveys.view_results",
        "surveys.view_invitation",
        "surveys.view_response",
        "cases.view_case",
        "cases.add_case",
        "cases.change_case",
        "cases.view_all_cases",
        "cases.work_case",
        "cases.view_case_metrics",
    ],
    # A department handler works only the cases routed to their departments (cases/access.py).
    DEPARTMENT_HANDLER: _EVERYONE
    + ["cases.view_case", "cases.change_case", "cases.work_case", "customers.view_customer"],
    ANALYST: _EVERYONE
    + [
        "customers.view_customer",
        "customers.view_order",
        "customers.export_data",
        "surveys.view_survey",
        "surveys.view_results",
        "surveys.view_response",
        "surveys.clean_responses",
        "cases.view_case",
        "cases.view_all_cases",
        "cases.view_case_metrics",
    ],
    VIEWER: _EVERYONE + ["surveys.view_survey", "surveys.view_results", "cases.view_case_metrics"],
}


def ensure_roles(**_kwargs) -> None:
    """Create or refresh the role groups (runs after every migrate)."""
    for role, perm_names in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions(perm_names))


def _permissions(names: list[str]) -> list[Permission]:
    found = []
    for name in names:
        app_label, codename = name.split(".", 1)
        perm = Permission.objects.filter(
            content_type__app_label=app_label, codename=codename
        ).first()
        if perm is not None:
            found.append(perm)
    return found


def roles_of(user) -> list[str]:
    return [g.name for g in user.groups.all() if g.name in ROLE_LABELS]


def require(user, *perms: str) -> None:
    """Raise PermissionDenied unless ``user`` is signed in and holds every permission."""
    if not (user and user.is_authenticated and user.is_active):
        raise PermissionDenied
    if not user.has_perms(perms):
        raise PermissionDenied
