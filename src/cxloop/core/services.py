"""Writes to organisation settings and staff accounts, each one audited.

Settings get explicit audit rows here. User accounts are audited by the signal handlers in
``cxloop.core.signals``; these services only make sure those rows name the right actor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from cxloop.core import roles as role_names
from cxloop.core.audit import acting_as, record_audit
from cxloop.core.models import Setting
from cxloop.core.settings_registry import effective_value, spec_for


def set_setting(*, key: str, value: Any, actor) -> bool:
    """Validate and store one setting; return True when it changed (and was audited).

    Raises KeyError for an unknown key and ValidationError for a bad value.
    """
    spec = spec_for(key)
    clean = spec.clean(value)
    with transaction.atomic():
        row = Setting.objects.select_for_update().filter(key=key).first()
        before = effective_value(spec, row.value) if row is not None else spec.default
        if before == clean and (row is None or row.value == clean):
            return False
        if row is None:
            row = Setting.objects.create(key=key, value=clean)
        else:
            row.value = clean
            row.save(update_fields=["value", "updated_at"])
        record_audit(
            actor=actor,
            action="setting.changed",
            target=row,
            before={"value": before},
            after={"value": clean},
        )
    return True


def set_settings(*, values: Mapping[str, Any], actor) -> list[str]:
    """Store several settings at once (all or none); return the keys that changed."""
    with transaction.atomic():
        return [
            key for key, value in values.items() if set_setting(key=key, value=value, actor=actor)
        ]


def _role_groups(roles: Iterable[str]) -> list[Group]:
    wanted = set(roles)
    unknown = wanted - set(role_names.ROLE_LABELS)
    if unknown:
        raise ValidationError(_("Unknown role: %(roles)s") % {"roles": ", ".join(sorted(unknown))})
    return list(Group.objects.filter(name__in=wanted))


def create_user(
    *, username: str, email: str, password: str, roles: Iterable[str], actor
) -> AbstractUser:
    """Create a staff account with the given roles. Raises ValidationError for bad input."""
    user_model = get_user_model()
    username = username.strip()
    if not username:
        raise ValidationError(_("Enter a user name."))
    if user_model.objects.filter(username__iexact=username).exists():
        raise ValidationError(_("A user with this name already exists."))
    groups = _role_groups(roles)
    validate_password(password, user=user_model(username=username, email=email))
    with acting_as(actor), transaction.atomic():
        user = user_model.objects.create_user(
            username=username, email=email.strip(), password=password
        )
        if groups:
            user.groups.add(*groups)
    return user


def set_user_roles(*, user: AbstractUser, roles: Iterable[str], actor) -> None:
    """Give ``user`` exactly these roles; groups that are not roles are left alone."""
    wanted = _role_groups(roles)
    _refuse_self_lockout(user=user, actor=actor, keeps_manager=role_names.CX_MANAGER in roles)
    current = [g for g in user.groups.all() if g.name in role_names.ROLE_LABELS]
    removed = [g for g in current if g not in wanted]
    added = [g for g in wanted if g not in current]
    with acting_as(actor), transaction.atomic():
        if removed:
            user.groups.remove(*removed)
        if added:
            user.groups.add(*added)


def set_user_active(*, user: AbstractUser, active: bool, actor) -> None:
    """Allow or block sign-in. Nobody can deactivate their own account."""
    if not active and actor is not None and actor.pk == user.pk:
        raise ValidationError(_("You cannot deactivate your own account."))
    if user.is_active == active:
        return
    with acting_as(actor):
        user.is_active = active
        user.save(update_fields=["is_active"])


def update_user_access(*, user: AbstractUser, roles: Iterable[str], active: bool, actor) -> None:
    """Roles and active flag together, all or nothing (the user edit page)."""
    roles = list(roles)
    with transaction.atomic():
        set_user_roles(user=user, roles=roles, actor=actor)
        set_user_active(user=user, active=active, actor=actor)


def _refuse_self_lockout(*, user: AbstractUser, actor, keeps_manager: bool) -> None:
    # Taking away your own manager role would lock you out of this very page.
    is_self = actor is not None and actor.pk == user.pk
    if is_self and not keeps_manager and not user.is_superuser:
        holds_manager = user.groups.filter(name=role_names.CX_MANAGER).exists()
        if holds_manager:
            raise ValidationError(_("You cannot remove your own CX manager role."))
