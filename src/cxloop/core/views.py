"""Administration pages: organisation settings, users and roles, the audit log."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from cxloop.core.forms import AuditFilterForm, SettingsForm, UserAccessForm, UserCreateForm
from cxloop.core.models import AuditLog
from cxloop.core.pii import can_see_pii, mask_email, mask_phone
from cxloop.core.roles import ROLE_LABELS, require, roles_of
from cxloop.core.services import create_user, set_settings, update_user_access
from cxloop.core.settings_registry import all_settings

PAGE_SIZE = 50
_MASKERS = {"phone": mask_phone, "email": mask_email}


def _posted(request):
    return request.POST if request.method == "POST" else None


@login_required
def settings_page(request):
    require(request.user, "core.manage_settings")
    form = SettingsForm(_posted(request), current=all_settings())
    if form.is_bound and form.is_valid():
        changed = set_settings(values=form.values(), actor=request.user)
        if changed:
            messages.success(request, _("Settings saved."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("core:settings")
    return render(request, "core/settings.html", {"form": form})


@login_required
def audit_log(request):
    require(request.user, "core.view_audit")
    object_types = AuditLog.objects.order_by("object_type").values_list("object_type", flat=True)
    form = AuditFilterForm(request.GET, object_types=list(object_types.distinct()))
    page = Paginator(form.filter(AuditLog.objects.all()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    show_pii = can_see_pii(request.user)
    rows = [(entry, audit_diff(entry, show_pii=show_pii)) for entry in page]
    return render(request, "core/audit_log.html", {"form": form, "page": page, "rows": rows})


def audit_diff(entry: AuditLog, *, show_pii: bool) -> list[tuple[str, str, str]]:
    """(field, before, after) rows for the diff table; personal data masked when required."""
    before, after = entry.before or {}, entry.after or {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return [("", _display(before, "", show_pii), _display(after, "", show_pii))]
    keys = list(after) + [key for key in before if key not in after]
    return [
        (key, _display(before.get(key), key, show_pii), _display(after.get(key), key, show_pii))
        for key in keys
    ]


def _display(value: Any, key: str, show_pii: bool) -> str:
    if value is None or value == {}:
        return "—"
    if not show_pii and key in _MASKERS and isinstance(value, str):
        return _MASKERS[key](value)
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@login_required
def user_list(request):
    require(request.user, "auth.change_user")
    form = UserCreateForm(_posted(request))
    if form.is_bound:
        require(request.user, "auth.add_user")
        if form.is_valid() and _create_user(request, form):
            return redirect("core:users")
    users = get_user_model().objects.prefetch_related("groups").order_by("username")
    page = Paginator(users, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(user, [ROLE_LABELS[name] for name in roles_of(user)]) for user in page]
    context = {"form": form, "page": page, "rows": rows}
    return render(request, "core/user_list.html", context)


def _create_user(request, form: UserCreateForm) -> bool:
    try:
        user = create_user(**form.cleaned_data, actor=request.user)
    except ValidationError as error:
        form.add_error(None, error)
        return False
    messages.success(request, _("User %(name)s created.") % {"name": user.username})
    return True


@login_required
def user_edit(request, user_id: int):
    require(request.user, "auth.change_user")
    target = get_object_or_404(get_user_model(), pk=user_id)
    initial = {"roles": roles_of(target), "active": target.is_active}
    form = UserAccessForm(_posted(request), initial=initial)
    if form.is_bound:
        if target.is_superuser and not request.user.is_superuser:
            raise PermissionDenied  # only a superuser may change a superuser
        if form.is_valid() and _update_access(request, target, form):
            return redirect("core:users")
    history = []
    if request.user.has_perm("core.view_audit"):
        history = AuditLog.objects.filter(object_type="auth.user", object_id=str(target.pk))[:10]
    context = {"target": target, "form": form, "history": history}
    return render(request, "core/user_edit.html", context)


def _update_access(request, target, form: UserAccessForm) -> bool:
    try:
        update_user_access(user=target, **form.cleaned_data, actor=request.user)
    except ValidationError as error:
        form.add_error(None, error)
        return False
    messages.success(request, _("Access of %(name)s saved.") % {"name": target.username})
    return True
