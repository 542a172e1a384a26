"""Writes on the loyalty configuration: earn rules, campaigns and the rewards catalogue.

Each save is checked against the editor's permission and audited with the values before and
after, as every settings change is. The forms validate the values; these functions store them.
"""

from __future__ import annotations

from django.db import models, transaction

from cxloop.core.audit import changed_only, record_audit, snapshot
from cxloop.core.roles import require
from cxloop.loyalty.models import Campaign, EarnRule, Reward

FIELDS = {
    EarnRule: ("name", "level_code", "category", "points_per_yuan", "priority", "active"),
    Campaign: ("name", "multiplier", "starts_at", "ends_at", "store", "category", "active"),
    Reward: ("name", "kind", "description", "cost_points", "stock", "active"),
}
PERMS = {
    EarnRule: ("loyalty.add_earnrule", "loyalty.change_earnrule"),
    Campaign: ("loyalty.add_campaign", "loyalty.change_campaign"),
    Reward: ("loyalty.add_reward", "loyalty.change_reward"),
}


def may_edit(user, model: type[models.Model]) -> bool:
    return user.has_perms(PERMS[model])


def save_config(*, instance: models.Model, values: dict, actor) -> models.Model:
    """Create or change an earn rule, campaign or reward with ``values`` (cleaned by its form)."""
    model = type(instance)
    require(actor, *PERMS[model])
    fields = FIELDS[model]
    created = instance.pk is None
    before = None if created else snapshot(model.objects.get(pk=instance.pk), fields)
    for name in fields:
        if name in values:
            setattr(instance, name, values[name])
    with transaction.atomic():
        instance.save()
        after = snapshot(model.objects.get(pk=instance.pk), fields)  # as stored: 2 → "2.00"
        before, after = changed_only(before, after)
        if created or after:
            verb = "created" if created else "changed"
            action = f"loyalty.{model._meta.model_name}.{verb}"
            record_audit(actor=actor, action=action, target=instance, before=before, after=after)
    return instance
