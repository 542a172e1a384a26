"""API tokens: create and revoke, each change audited. Only a hash of a token is stored."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from cxloop.api.models import ApiToken, hash_token, new_raw_token
from cxloop.core.audit import record_audit
from cxloop.core.roles import require

MANAGE_TOKENS = "api.manage_tokens"


def _audit_view(token: ApiToken) -> dict:
    return {
        "name": token.name,
        "user": token.user.get_username(),
        "key_hint": token.key_hint,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
    }


def can_issue_for(*, actor, user) -> bool:
    """A token acts as its user, so nobody may mint one stronger than themselves.

    ``actor=None`` is the operator at the command line (``cxloop createtoken``), trusted."""
    if not user.is_active:
        return False
    if actor is None or user.pk == actor.pk or actor.is_superuser:
        return True
    return not user.is_superuser and user.get_all_permissions() <= actor.get_all_permissions()


@transaction.atomic
def create_token(*, user, name: str, actor) -> tuple[ApiToken, str]:
    """Create a token acting as ``user``; returns the row and the raw token (shown once)."""
    if actor is not None:
        require(actor, MANAGE_TOKENS)
    if not can_issue_for(actor=actor, user=user):
        raise PermissionDenied
    raw = new_raw_token()
    token = ApiToken.objects.create(
        name=name.strip()[:100], user=user, key_hash=hash_token(raw), key_hint=raw[:12]
    )
    record_audit(actor=actor, action="api_token.created", target=token, after=_audit_view(token))
    return token, raw


@transaction.atomic
def revoke_token(*, token: ApiToken, actor) -> ApiToken:
    """Revoke a token; revoking an already revoked token changes nothing."""
    if actor is not None:  # None: the operator at the command line
        require(actor, MANAGE_TOKENS)
    token = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if token.revoked_at is not None:
        return token
    before = _audit_view(token)
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_audit(
        actor=actor,
        action="api_token.revoked",
        target=token,
        before={"revoked_at": before["revoked_at"]},
        after={"revoked_at": token.revoked_at.isoformat()},
    )
    return token
