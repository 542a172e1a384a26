"""The member levels, stars ladder and programme settings a new installation starts with.

From the plans (002 §二(二), 004 §二(一)): silver from ¥2,000 rolling 12-month spend pays 95 %,
gold from ¥5,000 pays 90 % with free after-sales service, diamond from ¥20,000 pays 85 % with
free after-sales and a personal service line. Names and benefits are data (Chinese, like the
complaint taxonomy); managers edit them on the levels page.

``ensure_level_defaults`` fills each table only while it is empty, so it is safe after every
``migrate`` and never brings back a level a manager deleted or changed.
"""

from __future__ import annotations

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models.signals import post_migrate

from cxloop.loyalty.level_models import Level, ProgramSettings, StarsProgram

LEVELS = (
    {
        "code": "silver", "name": "银卡会员", "rank": 10, "min_spend_fen": 200_000,
        "price_percent": 95, "free_after_sales": False, "benefits": ["全场 95 折"],
    },
    {
        "code": "gold", "name": "金卡会员", "rank": 20, "min_spend_fen": 500_000,
        "price_percent": 90, "free_after_sales": True, "benefits": ["全场 9 折", "免费售后服务"],
    },
    {
        "code": "diamond", "name": "钻石会员", "rank": 30, "min_spend_fen": 2_000_000,
        "price_percent": 85, "free_after_sales": True,
        "benefits": ["全场 85 折", "免费售后服务", "专属客服"],
    },
)  # fmt: skip
STARS_STEPS = [
    {"stars": 3, "points": 50, "reward": ""},
    {"stars": 6, "points": 150, "reward": ""},
    {"stars": 10, "points": 300, "reward": "会员专属礼品"},
]
TABLES = ("loyalty_level", "loyalty_programsettings", "loyalty_starsprogram")


def connect_level_defaults() -> None:
    """Run ``ensure_level_defaults`` after every migrate (call once, from the app's ready)."""
    post_migrate.connect(
        _after_migrate,
        sender=apps.get_app_config("loyalty"),
        dispatch_uid="cxloop.loyalty.level_defaults",
    )


def _after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if using == DEFAULT_DB_ALIAS:
        ensure_level_defaults()


def ensure_level_defaults() -> dict[str, int]:
    """Create the default levels, programme settings and stars ladder where missing; returns
    how many rows of each were made."""
    if not set(TABLES) <= set(connection.introspection.table_names()):
        return {"levels": 0, "settings": 0, "stars": 0}  # migrated back below 0002
    try:
        with transaction.atomic():
            return {"levels": _levels(), "settings": _settings(), "stars": _stars()}
    except IntegrityError:  # a second process migrating at the same moment got there first
        return {"levels": 0, "settings": 0, "stars": 0}


def _levels() -> int:
    if Level.objects.exists():
        return 0
    Level.objects.bulk_create(Level(**spec) for spec in LEVELS)
    return len(LEVELS)


def _settings() -> int:
    _row, created = ProgramSettings.objects.get_or_create(pk=1)
    return int(created)


def _stars() -> int:
    if StarsProgram.objects.exists():
        return 0
    StarsProgram.objects.create(is_default=True, name="每月集星星", thresholds=STARS_STEPS)
    return 1
