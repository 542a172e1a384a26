"""Default alert rules: the four KPIs by store and by region (pattern of ``cases.defaults``).

Created only while the rule table is empty, so a rule a manager changed or deleted never comes
back. Channel rules are left for a manager to add: channels mix very different volumes.
"""

from __future__ import annotations

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models.signals import post_migrate

from cxloop.alerts.models import AlertRule, Dimension, Metric

DIMENSIONS = (Dimension.STORE, Dimension.REGION)


def connect_defaults() -> None:
    post_migrate.connect(
        _after_migrate, sender=apps.get_app_config("alerts"), dispatch_uid="cxloop.alerts.defaults"
    )


def _after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if using == DEFAULT_DB_ALIAS:
        ensure_default_rules()


def ensure_default_rules() -> int:
    """Create the default rules when there are none; returns how many were made."""
    if AlertRule._meta.db_table not in connection.introspection.table_names():
        return 0
    try:
        with transaction.atomic():
            if AlertRule.objects.exists():
                return 0
            rules = [AlertRule(metric=m, dimension=d) for m in Metric.values for d in DIMENSIONS]
            AlertRule.objects.bulk_create(rules)
            return len(rules)
    except IntegrityError:  # a second process migrating at the same moment got there first
        return 0
