"""Audit rows for user accounts, however they change (console, admin site, CLI)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from cxloop.core.audit import changed_only, record_audit, snapshot

User = get_user_model()
USER_FIELDS = ["username", "email", "first_name", "last_name", "is_active", "is_staff"]
_PREVIOUS = "_cxloop_audit_before"


@receiver(pre_save, sender=User)
def _remember_user(sender, instance, **kwargs):
    if instance.pk is None:
        return
    previous = User.objects.filter(pk=instance.pk).first()
    if previous is not None:
        before = snapshot(previous, USER_FIELDS)
        before["password_changed"] = False
        setattr(instance, _PREVIOUS, (before, previous.password))


@receiver(post_save, sender=User)
def _audit_user_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    after = snapshot(instance, USER_FIELDS)
    if created:
        record_audit(actor=None, action="user.created", target=instance, after=after)
        return
    before, old_password = getattr(instance, _PREVIOUS, (None, None))
    if before is None:
        return
    after["password_changed"] = instance.password != old_password
    changed_before, changed_after = changed_only(before, after)
    if changed_after:
        record_audit(
            actor=None,
            action="user.changed",
            target=instance,
            before=changed_before,
            after=changed_after,
        )


@receiver(post_delete, sender=User)
def _audit_user_delete(sender, instance, **kwargs):
    record_audit(
        actor=None,
        action="user.deleted",
        object_type="auth.user",
        object_id=str(instance.pk),
        before=snapshot(instance, USER_FIELDS),
    )


_ROLE_ACTIONS = {"pre_add", "pre_remove", "pre_clear", "post_add", "post_remove", "post_clear"}


@receiver(m2m_changed, sender=User.groups.through)
def _audit_user_roles(sender, instance, action, pk_set, reverse, **kwargs):
    if reverse or action not in {
        "pre_add",
        "pre_remove",
        "pre_clear",
        "post_add",
        "post_remove",
        "post_clear",
    }:
        return
    if action.startswith("pre_"):
        instance._cxloop_roles_before = sorted(instance.groups.values_list("name", flat=True))
        return
    after = sorted(instance.groups.values_list("name", flat=True))
    before = getattr(instance, "_cxloop_roles_before", None)
    if before != after:
        record_audit(
            actor=None,
            action="user.roles_changed",
            target=instance,
            before={"roles": before},
            after={"roles": after},
        )
