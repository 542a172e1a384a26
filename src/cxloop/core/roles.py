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
        "loyalty.view_points",
        "loyalty.change_points",
        "loyalty.approve_adjustment",
        "loyalty.view_level",
        "loyalty.change_level",
        "loyalty.view_customerlevel",
        "loyalty.view_referral",
        "loyalty.add_referral",
        "loyalty.view_earnrule",
        "loyalty.add_earnrule",
        "loyalty.change_earnrule",
        "loyalty.add_campaign",
        "loyalty.change_campaign",
        "loyalty.add_reward",
        "loyalty.change_reward",
        "retention.view_customerscore",
        "retention.run_scoring",
        "alerts.view_alert",
        "programs.view_idea",
        "programs.add_idea",
        "programs.change_idea",
        "programs.view_improvementaction",
        "programs.add_improvementaction",
        "programs.change_improvementaction",
        "programs.view_audittemplate",
        "programs.add_audittemplate",
        "programs.change_audittemplate",
        "programs.view_mysteryaudit",
        "programs.add_mysteryaudit",
        "programs.change_mysteryaudit",
        "experiments.view_experiment",
        "experiments.add_experiment",
        "experiments.change_experiment",
        "alerts.acknowledge_alert",
        "alerts.view_alertrule",
        "alerts.change_alertrule",
        "retention.view_churnmodelrecord",
        "retention.train_churn_model",
        "retention.view_retentionplay",
        "retention.add_retentionplay",
        "retention.change_retentionplay",
        "retention.delete_retentionplay",
        "retention.run_plays",
        "retention.view_playassignment",
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
        "loyalty.view_points",
        "loyalty.change_points",
        "loyalty.view_level",
        "loyalty.view_customerlevel",
        "loyalty.view_referral",
        "loyalty.add_referral",
        "retention.view_customerscore",
        "alerts.view_alert",
        "programs.view_idea",
        "programs.add_idea",
        "programs.view_improvementaction",
        "programs.change_improvementaction",
        "programs.view_audittemplate",
        "programs.view_mysteryaudit",
        "programs.add_mysteryaudit",
        "experiments.view_experiment",
        "alerts.acknowledge_alert",
        "retention.view_churnmodelrecord",
        "retention.view_retentionplay",
        "retention.run_plays",
        "retention.view_playassignment",
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
        "loyalty.view_points",
        "loyalty.view_level",
        "loyalty.view_customerlevel",
        "loyalty.view_referral",
        "retention.view_customerscore",
        "alerts.view_alert",
        "programs.view_idea",
        "programs.view_improvementaction",
        "programs.view_audittemplate",
        "programs.view_mysteryaudit",
        "experiments.view_experiment",
        "experiments.add_experiment",
        "experiments.change_experiment",
        "retention.view_churnmodelrecord",
        "retention.view_retentionplay",
        "retention.view_playassignment",
    ],
    VIEWER: _EVERYONE
    + [
        "surveys.view_survey",
        "surveys.view_results",
        "cases.view_case_metrics",
        "alerts.view_alert",
        "programs.view_mysteryaudit",
    ],
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
