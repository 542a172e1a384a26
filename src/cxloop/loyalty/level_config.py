"""Edits of the levels programme by managers: levels, programme settings, stars ladders.

Every change writes an audit row with the values before and after. The console forms clean
the input; these functions check the permission again, so no path can skip it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from cxloop.core.audit import changed_only, record_audit, snapshot
from cxloop.core.roles import require
from cxloop.loyalty.level_models import Level, ProgramSettings, StarsProgram
from cxloop.loyalty.levels import program_settings

CHANGE_PERM = "loyalty.change_level"
LEVEL_FIELDS = (
    "code", "name", "rank", "min_spend_fen", "window_months", "price_percent",
    "free_after_sales", "benefits", "is_active",
)  # fmt: skip
SETTINGS_FIELDS = (
    "downgrade_grace_days", "long_term_years", "referral_inviter_points",
    "referral_invitee_points", "referral_monthly_limit",
)  # fmt: skip
STARS_FIELDS = (
    "month", "is_default", "name", "thresholds", "stars_per_order", "stars_per_survey",
    "stars_per_review", "is_active",
)  # fmt: skip


def _save(instance, fields: tuple[str, ...], changes: Mapping[str, Any], actor, action: str):
    """Apply already-clean ``changes`` to ``instance`` and audit what changed."""
    unknown = set(changes) - set(fields)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        if instance.pk is not None:
            # The stored row, not the object handed in: a ModelForm has already copied the
            # new values onto its instance, and "before" must be what was saved.
            instance = type(instance).objects.select_for_update().get(pk=instance.pk)
            before = snapshot(instance, changes)
        else:
            before = None
        for name, value in changes.items():
            setattr(instance, name, value)
        before, after = changed_only(before, snapshot(instance, changes))
        if not after:
            return instance
        instance.updated_at = timezone.now()
        instance.save()
        record_audit(actor=actor, action=action, target=instance, before=before, after=after)
    return instance


def save_level(*, level: Level | None, changes: Mapping[str, Any], actor) -> Level:
    """Create (``level=None``) or change a level."""
    require(actor, CHANGE_PERM)
    action = "loyalty.level_created" if level is None else "loyalty.level_updated"
    return _save(level or Level(), LEVEL_FIELDS, changes, actor, action)


def save_program_settings(*, changes: Mapping[str, Any], actor) -> ProgramSettings:
    require(actor, CHANGE_PERM)
    row = program_settings()
    return _save(row, SETTINGS_FIELDS, changes, actor, "loyalty.program_settings_updated")


def save_stars_program(
    *, program: StarsProgram | None, changes: Mapping[str, Any], actor
) -> StarsProgram:
    """Create (``program=None``) or change a month's (or the default) stars ladder."""
    require(actor, CHANGE_PERM)
    changes = dict(changes)
    if "month" in changes:
        changes["is_default"] = changes["month"] is None
    action = "loyalty.stars_program_created" if program is None else "loyalty.stars_program_updated"
    return _save(program or StarsProgram(), STARS_FIELDS, changes, actor, action)
