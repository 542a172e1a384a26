"""The demo company: a retailer with 3 regions, 20 stores, 2,000 customers, 20,000 orders.

Deterministic for a given seed and "as of" date, so screenshots and tests are repeatable.
Shape from the plans: about 60 % aged 25–45, 30 % aged 18–24, 10 % VIP (yearly spend ≥ ¥5,000).
Rows go through the same bulk upsert services as imports and the API.
"""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

DEMO_SEED = 20261122
DEMO_FLAG = "demo.loaded"
RETAIN_DEMO_FLAG = "demo.retain.loaded"
REGIONS = {
    "华东": [
        "上海徐汇店",
        "上海浦东店",
        "上海静安店",
        "杭州西湖店",
        "杭州滨江店",
        "南京新街口店",
        "苏州园区店",
        "宁波天一店",
    ],
    "华南": ["广州天河店", "广州越秀店", "深圳南山店", "深圳福田店", "厦门思明店", "东莞南城店"],
    "华北": ["北京朝阳店", "北京海淀店", "北京西单店", "天津和平店", "石家庄长安店", "济南泉城店"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬鑫宇浩然子涵欣怡梓萱"
TAGS = [
    "关注高端款",
    "偏好性价比",
    "母婴用品",
    "数码爱好者",
    "会员日活跃",
    "喜欢新品",
    "爱参加活动",
]
CHANNELS = [("store", 40), ("online", 25), ("app", 20), ("mini_program", 15)]
VIP_SHARE = 0.10
VIP_YEARLY_FLOOR_FEN = 500_000
REGULAR_ONE_TIMERS = 0.4  # a realistic repeat-purchase rate: about 60 % of regulars buy again
FADER_SHARE = 0.12  # repeat buyers who stop: the churners the early warning must find
FADER_STOP_DAYS = (60, 200)  # their last order lies this many days before the demo date


@dataclass(frozen=True)
class DemoSize:
    customers: int = 2_000
    orders: int = 20_000


def stores() -> list[tuple[str, str]]:
    return [(region, store) for region, names in REGIONS.items() for store in names]


def generate(*, seed: int = DEMO_SEED, as_of: dt.date, size: DemoSize = DemoSize()):
    """Return (customer rows, order rows) as plain dicts keyed by model field names."""
    rng = random.Random(seed)
    customers = [_customer(rng, index, as_of) for index in range(size.customers)]
    vip_count = round(size.customers * VIP_SHARE)
    vip_ids = {row["external_id"] for row in rng.sample(customers, vip_count)}
    orders = _orders(rng, customers, vip_ids, as_of, size.orders)
    return customers, orders


def _customer(rng: random.Random, index: int, as_of: dt.date) -> dict:
    region, store = rng.choice(stores())
    age = _age(rng)
    birthday = as_of.replace(month=1, day=1) - dt.timedelta(days=365 * age - rng.randrange(365))
    registered = as_of - dt.timedelta(days=_registration_age_days(rng))
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2])))
    phone = f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}"
    return {
        "external_id": f"C{index + 1:06d}",
        "name": name,
        "phone": phone,
        "email": f"user{index + 1}@example.com" if rng.random() < 0.5 else "",
        "birthday": birthday,
        "registered_at": registered,
        "region": region,
        "store": store,
        "consent_survey": rng.random() < 0.8,
        "consent_marketing": rng.random() < 0.55,
        "tags": sorted(rng.sample(TAGS, rng.choice([0, 1, 1, 2]))),
    }


def _age(rng: random.Random) -> int:
    band = rng.random()
    if band < 0.60:
        return rng.randint(25, 45)
    if band < 0.90:
        return rng.randint(18, 24)
    return rng.randint(46, 68)


def _registration_age_days(rng: random.Random) -> int:
    # One in ten registered in the last 90 days: the "new customers" of the plans.
    return rng.randint(1, 90) if rng.random() < 0.1 else rng.randint(91, 3 * 365)


def _orders(rng, customers, vip_ids, as_of, total) -> list[dict]:
    vip_rows = [c for c in customers if c["external_id"] in vip_ids]
    regular_rows = [c for c in customers if c["external_id"] not in vip_ids]
    vip_orders = total // 4  # VIPs: a tenth of the customers, a quarter of the orders
    plan = [(c, True) for c in _spread(rng, vip_rows, vip_orders)]
    regular_orders = _spread(rng, regular_rows, total - vip_orders, one_timers=REGULAR_ONE_TIMERS)
    plan += [(c, False) for c in regular_orders]
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    end = dt.datetime.combine(as_of, dt.time(21, 0), tzinfo=tz)
    rows = [_order(rng, index, customer, vip, end) for index, (customer, vip) in enumerate(plan)]
    _lift_vips_to_floor(rows)
    _fade_out(rows, end, random.Random(rng.random()))
    return rows


def _fade_out(rows: list[dict], end: dt.datetime, rng: random.Random) -> None:
    """Some repeat buyers stop: their orders are squeezed into the time before a stop day, so
    their gaps shrink then end — churners for the segments and the early warning to find.
    A separate generator, so the rest of the demo stays what it was."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["customer_external_id"]] = counts.get(row["customer_external_id"], 0) + 1
    repeaters = sorted(key for key, count in counts.items() if count >= 3)
    faders = rng.sample(repeaters, round(len(repeaters) * FADER_SHARE))
    stop = {key: dt.timedelta(days=rng.randint(*FADER_STOP_DAYS)) for key in faders}
    year = dt.timedelta(days=364)
    for row in rows:
        quiet = stop.get(row["customer_external_id"])
        if quiet is None:
            continue
        age = end - row["placed_at"]
        placed = end - quiet - age * ((year - quiet) / year)
        if row["delivered_at"] is not None:
            row["delivered_at"] = placed + (row["delivered_at"] - row["placed_at"])
        row["placed_at"] = placed


def _spread(
    rng: random.Random, customers: list[dict], count: int, one_timers: float = 0.0
) -> list[dict]:
    """Every customer gets one order; a share stops there, the rest buy again, some often."""
    if not customers:
        return []
    repeaters = [c for c in customers if rng.random() >= one_timers] or customers
    weights = [rng.lognormvariate(0, 0.5) for _ in repeaters]
    extra = max(0, count - len(customers))
    picks = list(customers) + rng.choices(repeaters, weights=weights, k=extra)
    rng.shuffle(picks)
    return picks[:count]


def _order(rng: random.Random, index: int, customer: dict, vip: bool, end: dt.datetime) -> dict:
    placed = end - dt.timedelta(minutes=rng.randrange(364 * 24 * 60), seconds=rng.randrange(60))
    channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
    mean_yuan = 420 if vip else 60
    amount_fen = max(990, int(rng.lognormvariate(0, 0.6) * mean_yuan * 100) // 10 * 10)
    status = rng.choices(["completed", "delivered", "cancelled", "refunded"], [80, 16, 2, 2])[0]
    delay = dt.timedelta(hours=rng.randint(2, 72)) if channel != "store" else dt.timedelta(0)
    return {
        "external_id": f"O{index + 1:07d}",
        "customer_external_id": customer["external_id"],
        "amount_fen": amount_fen,
        "placed_at": placed,
        "delivered_at": None if status == "cancelled" else min(placed + delay, end),
        "channel": channel,
        "store": customer["store"],
        "status": status,
        "_vip": vip,
    }


def _lift_vips_to_floor(rows: list[dict]) -> None:
    """Top up each VIP's largest order so yearly spend clears ¥5,000, and cap regulars below."""
    spend: dict[str, int] = {}
    largest: dict[str, dict] = {}
    for row in rows:
        if row["status"] in {"cancelled", "refunded"}:
            continue  # spend counts what the customer kept
        key = row["customer_external_id"]
        spend[key] = spend.get(key, 0) + row["amount_fen"]
        if key not in largest or row["amount_fen"] > largest[key]["amount_fen"]:
            largest[key] = row
    for key, row in largest.items():
        if row["_vip"] and spend[key] < VIP_YEARLY_FLOOR_FEN:
            row["amount_fen"] += VIP_YEARLY_FLOOR_FEN - spend[key] + 10_000
        elif not row["_vip"] and spend[key] >= VIP_YEARLY_FLOOR_FEN:
            row["amount_fen"] = max(
                990, row["amount_fen"] - (spend[key] - VIP_YEARLY_FLOOR_FEN) - 10_000
            )
    for row in rows:
        del row["_vip"]


def load_demo_data(
    *,
    seed: int = DEMO_SEED,
    as_of: dt.date | None = None,
    size: DemoSize | None = None,
    retain: bool = True,
) -> str:
    """Load the demo company once, then its surveys and cases, then (``retain``) points,
    levels, referrals, segments and the churn model; later calls change nothing."""
    from cxloop.cases.demo import load_demo_cases
    from cxloop.surveys.demo import load_demo_surveys

    loaded = _load_customers_and_orders(seed=seed, as_of=as_of, size=size)
    surveys = load_demo_surveys(seed=loaded["seed"], as_of=dt.date.fromisoformat(loaded["as_of"]))
    cases = load_demo_cases(seed=loaded["seed"], as_of=dt.date.fromisoformat(loaded["as_of"]))
    message = f"{loaded['message']}\n{surveys}\n{cases}"
    if not retain:
        return message
    return f"{message}\n{_load_retain_demo(seed=loaded['seed'], as_of=loaded['as_of'])}"


def _load_retain_demo(*, seed: int, as_of: str) -> str:
    """Points, levels and referrals, then segments and the churn model on top of them."""
    from cxloop.core.models import Setting
    from cxloop.loyalty.demo import load_loyalty_demo
    from cxloop.retention.churn_demo import load_churn_demo
    from cxloop.retention.demo import load_retention_demo

    if Setting.objects.filter(key=RETAIN_DEMO_FLAG).exists():
        return "Retain demo already loaded."
    tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    now = dt.datetime.combine(dt.date.fromisoformat(as_of), dt.time(21, 30), tzinfo=tz)
    now = min(now, timezone.now())  # the demo's evening, never in the future
    loyalty = load_loyalty_demo(rng=random.Random(seed), now=now)
    segments = load_retention_demo(now=now)
    model = load_churn_demo(now=now)
    quality = f"AUC {model.auc:.2f}" if model.usable else (model.message or "not usable")
    churn = f"Churn model: {quality}; {model.scored_customers:,} customers scored."
    programmes = _load_programme_demos(now=now)
    Setting.objects.create(key=RETAIN_DEMO_FLAG, value={"as_of": as_of})
    return f"{loyalty}\n{segments}\n{churn}\n{programmes}"


def _load_programme_demos(*, now: dt.datetime) -> str:
    """Service ideas and mystery-shopper audits, and one finished A/B test on the cases; last,
    the alerts demo (its own once-only flag): incidents and the replayed KPI scan."""
    from cxloop.alerts.demo import load_alerts_demo
    from cxloop.experiments.demo import load_experiments_demo
    from cxloop.programs.demo import load_programs_demo

    ideas = load_programs_demo(now=now)
    result = load_experiments_demo(now=now)
    experiment = f"Demo A/B test: {result.sentence}" if result else "No demo A/B test."
    return f"{ideas}\n{experiment}\n{load_alerts_demo(now=now)}"


def _load_customers_and_orders(*, seed: int, as_of: dt.date | None, size: DemoSize | None):
    from cxloop.core.models import Setting
    from cxloop.customers.services import bulk_upsert_customers, bulk_upsert_orders

    existing = Setting.objects.filter(key=DEMO_FLAG).first()
    if existing is not None:
        return {**existing.value, "message": "Demo data already loaded."}
    as_of = as_of or timezone.localdate()
    customers, orders = generate(seed=seed, as_of=as_of, size=size or DemoSize())
    flag = {"seed": seed, "as_of": as_of.isoformat()}
    with transaction.atomic():
        bulk_upsert_customers(rows=customers, actor=None)
        bulk_upsert_orders(rows=orders, actor=None)
        Setting.objects.create(key=DEMO_FLAG, value=flag)
    message = f"Loaded demo data: {len(customers):,} customers, {len(orders):,} orders."
    return {**flag, "message": message}
