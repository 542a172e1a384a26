"""The defaults a new installation starts with: SLA rules from the plans, the complaint
taxonomy and the departments it routes to.

``ensure_defaults`` fills each of the three tables only while it is empty, so it is safe to run
after every ``migrate`` (``connect_defaults`` hooks it to post_migrate) and never brings back a
rule, category or department a manager deleted or changed.

How the first-response rules combine (see ``sla.rule_for``): a rule naming the customer tier
beats one naming the channel, so a VIP gets 3 minutes on every channel; urgent cases get 2 hours
round the clock; otherwise phone 15 minutes (001 §四(四)), the online channels — chat, app, web
form, email, social media and the complaint platforms — 30 minutes, and the rest (store, staff
entry, survey follow-up, mystery shopper) the 10 minutes of the ordinary customer
(000 §4.2.3). Non-urgent "24 h" targets are working hours of the department's calendar.
"""

from __future__ import annotations

from django.apps import apps
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.models.signals import post_migrate

from cxloop.cases.models import Category, Channel, Department, Severity, SlaRule, Tier
from cxloop.core.calendars import round_the_clock_calendar

T = SlaRule.Target
# The online channels and their names in the rule names (data, so Chinese like the taxonomy).
ONLINE = {
    Channel.CHAT: "在线客服",
    Channel.APP: "APP/小程序",
    Channel.WEB_FORM: "网页表单",
    Channel.EMAIL: "邮件",
    Channel.SOCIAL: "社交媒体",
    Channel.THIRD_PARTY: "第三方平台",
    Channel.PUBLIC_PLATFORM: "投诉平台",
}
DEPARTMENTS = (
    ("customer-service", "客服中心"),
    ("logistics", "物流部"),
    ("product", "产品部"),
    ("store-ops", "门店运营"),
    ("quality-control", "质量控制"),
)
CATEGORIES = (  # code, name, default department
    ("product", "产品质量", "product"),
    ("logistics", "物流配送", "logistics"),
    ("service-attitude", "服务态度", "customer-service"),
    ("process", "流程", "customer-service"),
    ("price", "价格", "customer-service"),
    ("store-environment", "门店环境", "store-ops"),
    ("after-sales", "售后", "customer-service"),
    ("other", "其他", "customer-service"),
)
TABLES = ("cases_slarule", "cases_category", "cases_department", "core_businesscalendar")


def _rule(name: str, target: str, *, round_the_clock: bool = False, **fields) -> dict:
    return {"name": name, "target": target, "round_the_clock": round_the_clock, **fields}


RULES = (
    # First response (R3.2, R3.1 urgent).
    _rule("首次响应：普通客户 10 分钟", T.FIRST_RESPONSE, minutes=10),
    _rule("首次响应：电话 15 分钟", T.FIRST_RESPONSE, minutes=15, channel=Channel.HOTLINE),
    *(
        _rule(f"首次响应：{name} 30 分钟", T.FIRST_RESPONSE, minutes=30, channel=channel)
        for channel, name in ONLINE.items()
    ),
    _rule("首次响应：VIP 3 分钟", T.FIRST_RESPONSE, minutes=3, tier=Tier.VIP),
    _rule(
        "首次响应：紧急 2 小时（7×24）",
        T.FIRST_RESPONSE,
        minutes=120,
        severity=Severity.URGENT,
        round_the_clock=True,
    ),  # fmt: skip
    # Resolution (R3.1, R3.4, R3.6).
    _rule("解决：一般 24 小时", T.RESOLUTION, minutes=24 * 60),
    _rule("解决：重要 48 小时", T.RESOLUTION, minutes=48 * 60, severity=Severity.IMPORTANT),
    _rule(
        "解决：紧急 24 小时（7×24）",
        T.RESOLUTION,
        minutes=24 * 60,
        severity=Severity.URGENT,
        round_the_clock=True,
    ),  # fmt: skip
    _rule("解决：邮件投诉 3 个工作日", T.RESOLUTION, working_days=3, channel=Channel.EMAIL),
    _rule(
        "解决：重大投诉 24 小时（7×24）",
        T.RESOLUTION,
        minutes=24 * 60,
        major_only=True,
        round_the_clock=True,
    ),  # fmt: skip
    # 三定 定时, management involvement, 定效, escalation (R3.3–R3.5).
    _rule("进度反馈：每 24 小时", T.PROGRESS_UPDATE, minutes=24 * 60),
    _rule(
        "管理层介入：重大投诉 2 小时（7×24）",
        T.MANAGEMENT_NOTICE,
        minutes=120,
        major_only=True,
        round_the_clock=True,
    ),  # fmt: skip
    _rule("回访：3 个工作日", T.CALLBACK, working_days=3),
    _rule("升级答复：2 小时（7×24）", T.ESCALATION_ANSWER, minutes=120, round_the_clock=True),
)


def connect_defaults() -> None:
    """Run ``ensure_defaults`` after every migrate (call once, from ``CasesConfig.ready``)."""
    post_migrate.connect(
        _after_migrate, sender=apps.get_app_config("cases"), dispatch_uid="cxloop.cases.defaults"
    )


def _after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    if using == DEFAULT_DB_ALIAS:
        ensure_defaults()


def ensure_defaults() -> dict[str, int]:
    """Create the default departments, categories and SLA rules where their table is empty;
    returns how many of each were made (all 0 on a database that has its own)."""
    if not set(TABLES) <= set(connection.introspection.table_names()):
        return {"departments": 0, "categories": 0, "rules": 0}  # migrated back below 0001
    try:
        with transaction.atomic():
            return {
                "departments": _departments(),
                "categories": _categories(),
                "rules": _rules(),
            }
    except IntegrityError:  # a second process migrating at the same moment got there first
        return {"departments": 0, "categories": 0, "rules": 0}


def _departments() -> int:
    if Department.objects.exists():
        return 0
    Department.objects.bulk_create(Department(code=c, name=n) for c, n in DEPARTMENTS)
    return len(DEPARTMENTS)


def _categories() -> int:
    if Category.objects.exists():
        return 0
    departments = dict(Department.objects.values_list("code", "pk"))
    Category.objects.bulk_create(
        Category(code=code, name=name, default_department_id=departments.get(department))
        for code, name, department in CATEGORIES
    )
    return len(CATEGORIES)


def _rules() -> int:
    if SlaRule.objects.exists():
        return 0
    always = round_the_clock_calendar()
    rows = []
    for spec in RULES:
        fields = dict(spec)
        calendar = always if fields.pop("round_the_clock") else None
        rows.append(SlaRule(calendar=calendar, **fields))
    SlaRule.objects.bulk_create(rows)
    return len(rows)
