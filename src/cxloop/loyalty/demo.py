"""Demo data of member levels, points, referrals and stars, on top of the demo company.

``load_loyalty_demo`` runs after the customers and orders are loaded (``customers/demo.py``
calls it) and writes everything through the services, so the rows look like the real thing:

- a few long-time VIPs with membership since over three years (→ lifetime warranty), then the
  nightly level evaluation for everyone;
- points earned from the completed orders of the members and a sample of others, and some
  redemptions;
- a referral chain of three generations (A invites B, B invites C; both qualified and paid),
  a rejected self-referral, and a dozen newer referrals over the last months for the
  referral-rate table;
- stars of this month: the month's completed orders, answered surveys and reviews.

Deterministic for a given ``rng``; safe to run twice (every write is idempotent).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from cxloop.customers.models import Customer, Order
from cxloop.customers.services import bulk_upsert_customers, update_customer, upsert_order
from cxloop.loyalty import levels, referrals, stars
from cxloop.loyalty.level_defaults import ensure_level_defaults
from cxloop.loyalty.level_models import CustomerLevel, Level
from cxloop.loyalty.referral_models import Referral
from cxloop.loyalty.services import LoyaltyError

SAMPLE_OTHERS = 50  # non-members whose order points are booked too (the worker books the rest)
LONG_TIMERS = 8
REDEMPTIONS = 25
NEW_REFERRALS = 12
STARS_CUSTOMERS = 60
COMPLETED = Order.Status.COMPLETED
REF_PREFIX = "C-REF-"


def load_loyalty_demo(*, rng: random.Random, now: dt.datetime | None = None) -> str:
    """Load the loyalty demo; returns a one-line summary."""
    now = now or timezone.now()
    ensure_level_defaults()
    # One generator per phase, seeded up front: a second run that skips work in one phase
    # must not shift the random choices of the next.
    seeds = [rng.randrange(2**32) for _phase in range(5)]
    long_timers = _long_time_members(random.Random(seeds[0]), now)
    report = levels.evaluate_levels(now=now)
    booked = _book_points(random.Random(seeds[1]), now)
    redeemed = _redeem(random.Random(seeds[2]), now)
    chain = _referral_chain(now)
    newer = _newer_referrals(random.Random(seeds[3]), now)
    starred = _stars(random.Random(seeds[4]), now)
    members = CustomerLevel.objects.filter(until__isnull=True, level__isnull=False).count()
    return (
        f"Loaded loyalty demo: {members:,} members ({long_timers} long-time, "
        f"{report.long_term_granted} lifetime warranties), {booked:,} orders with points, "
        f"{redeemed} redemptions, {chain + newer} referrals, stars for {starred} customers."
    )


def _completed_spend(ids) -> dict[int, int]:
    spends = levels.spends_by_customer(now=timezone.now(), windows=[12])
    return {cid: spends.get(cid, {}).get(12, 0) for cid in ids}


def _long_time_members(rng: random.Random, now: dt.datetime) -> int:
    """Some of the earliest-registered VIPs came from the old member system: they registered
    and became members 3–5 years ago, so they earn the lifetime warranty."""
    silver = Level.objects.filter(code="silver").first()
    if silver is None:
        return 0
    early = list(
        Customer.objects.filter(registered_at__isnull=False)
        .order_by("registered_at", "pk")
        .values_list("pk", flat=True)[:200]
    )
    spend = _completed_spend(early)
    vips = [cid for cid in early if spend[cid] >= 500_000]
    chosen = rng.sample(vips, min(LONG_TIMERS, len(vips)))
    for customer in Customer.objects.filter(pk__in=chosen).order_by("pk"):
        since = levels.add_months(now, -rng.randint(37, 60))
        if customer.level_history.exists():
            continue  # a second run
        update_customer(customer=customer, changes={"registered_at": since.date()}, actor=None)
        levels.set_customer_level(
            customer=customer, level=silver, actor=None, note="会员系统迁移", at=since
        )
    return len(chosen)


def _book_points(rng: random.Random, now: dt.datetime) -> int:
    from cxloop.loyalty.models import EarnRule
    from cxloop.loyalty.services import earn_for_order

    if not EarnRule.objects.filter(active=True).exists():
        EarnRule.objects.create(name="每消费 ¥1 积 1 分", points_per_yuan=Decimal(1))
    members = set(
        CustomerLevel.objects.filter(until__isnull=True, level__isnull=False).values_list(
            "customer_id", flat=True
        )
    )
    # The demo company's own customers (not the invitees this demo adds), in a fixed order.
    others = Customer.objects.exclude(pk__in=members).exclude(external_id__startswith=REF_PREFIX)
    others = list(others.order_by("pk").values_list("pk", flat=True)[:2000])
    chosen = members | set(rng.sample(others, min(SAMPLE_OTHERS, len(others))))
    orders = Order.objects.filter(customer_id__in=chosen, status=COMPLETED).select_related(
        "customer"
    )
    booked = 0
    # One transaction for the lot: on SQLite each service call would otherwise be its own
    # commit (a disk sync each); the service's own atomic blocks become savepoints.
    with transaction.atomic():
        for order in orders.order_by("placed_at", "id").iterator(chunk_size=500):
            booked += earn_for_order(order=order, now=order.placed_at) is not None
    return booked


def _redeem(rng: random.Random, now: dt.datetime) -> int:
    from cxloop.loyalty.models import PointsAccount, PointsEntry
    from cxloop.loyalty.services import redeem_points

    if PointsEntry.objects.filter(idempotency_key__startswith="demo:redeem:").exists():
        return 0  # a second run: the balances moved since, so the same draw is impossible
    rich = PointsAccount.objects.filter(balance__gte=1_000).select_related("customer")
    rich = list(rich.order_by("customer_id")[:200])
    done = 0
    for account in rng.sample(rich, min(REDEMPTIONS, len(rich))):
        points = rng.choice([500, 800, 1_000])
        gift = rng.choice(["保温杯", "购物袋", "10 元优惠券", "免费清洗服务"])
        try:
            redeem_points(
                customer=account.customer, points=points, reason=f"兑换：{gift}",
                idempotency_key=f"demo:redeem:{account.customer_id}", now=now,
            )  # fmt: skip
        except LoyaltyError:
            continue
        done += 1
    return done


def _new_customer(external_id: str, name: str, phone: str, registered: dt.date) -> Customer:
    row = {"external_id": external_id, "name": name, "phone": phone, "registered_at": registered,
           "region": "华东", "store": "上海徐汇店", "consent_survey": True}  # fmt: skip
    bulk_upsert_customers(rows=[row], actor=None)
    return Customer.objects.get(external_id=external_id)


def _first_order(customer: Customer, external_id: str, amount_fen: int, placed: dt.datetime):
    """The invitee's first order, completed through the order upsert (as the shop sends it);
    qualifying is called too, in case the receivers are not connected in this process."""
    order, _status = upsert_order(
        data={"external_id": external_id, "customer_external_id": customer.external_id,
              "amount_fen": amount_fen, "placed_at": placed.isoformat(),
              "delivered_at": placed.isoformat(), "status": COMPLETED, "store": customer.store},
        actor=None,
    )  # fmt: skip
    pending = Referral.objects.filter(invitee=customer, status=Referral.Status.PENDING).first()
    if pending is not None:
        referrals.qualify_referral(referral=pending, now=placed)
    return order


def _accept(invitee: Customer, code, at: dt.datetime, device: str) -> Referral | None:
    try:
        return referrals.accept_referral(invitee=invitee, code=code.code, device_id=device, now=at)
    except referrals.ReferralRejected as refused:
        return refused.referral
    except LoyaltyError:  # invited by someone else already (a second run)
        return None


def _referral_chain(now: dt.datetime) -> int:
    """A (a loyal customer) invites B, B invites C; A also tries their own code (rejected)."""
    a = Customer.objects.filter(level_history__isnull=False).order_by("pk").first()
    a = a or Customer.objects.order_by("pk").first()
    if a is None:
        return 0
    code_a, _made = referrals.get_or_create_code(customer=a, device_id=f"demo-device-{a.pk}")
    b_joined = now - dt.timedelta(days=40)
    b = _new_customer(f"{REF_PREFIX}B", "陈晓", "13700001001", b_joined.date())
    _accept(b, code_a, b_joined, "demo-device-b")
    _first_order(b, "O-REF-B-1", 32_800, b_joined + dt.timedelta(days=3))
    code_b, _made = referrals.get_or_create_code(customer=b, device_id="demo-device-b")
    c_joined = now - dt.timedelta(days=12)
    c = _new_customer(f"{REF_PREFIX}C", "林静", "13700001002", c_joined.date())
    _accept(c, code_b, c_joined, "demo-device-c")
    _first_order(c, "O-REF-C-1", 15_900, c_joined + dt.timedelta(days=2))
    if not Referral.objects.filter(invitee=a, reject_reason=Referral.RejectReason.SELF_REFERRAL):
        _accept(a, code_a, now - dt.timedelta(days=5), f"demo-device-{a.pk}")  # self: rejected
    return 3


def _newer_referrals(rng: random.Random, now: dt.datetime) -> int:
    """Invitations over the last six months, most of them qualified, for the rate by month."""
    inviters = list(Customer.objects.filter(phone__startswith="1").order_by("pk")[:400])
    made = 0
    for index in range(NEW_REFERRALS):
        inviter = rng.choice(inviters) if inviters else None
        if inviter is None:
            break
        code, _made = referrals.get_or_create_code(customer=inviter)
        joined = now - dt.timedelta(days=rng.randint(5, 180), hours=rng.randint(0, 12))
        name = rng.choice("王李张刘陈杨") + rng.choice("敏静丽强磊军")
        invitee = _new_customer(
            f"{REF_PREFIX}N{index + 1:02d}", name, f"1370000{index + 2000:04d}", joined.date()
        )
        _accept(invitee, code, joined, f"demo-device-n{index}")
        if rng.random() < 0.7:
            placed = min(joined + dt.timedelta(days=rng.randint(1, 10)), now)
            _first_order(invitee, f"O-REF-N{index + 1:02d}", rng.randint(50, 400) * 100, placed)
        made += 1
    return made


def _stars(rng: random.Random, now: dt.datetime) -> int:
    """This month's stars: completed orders of the month, plus surveys and reviews."""
    month_start = timezone.make_aware(dt.datetime.combine(stars.month_of(now), dt.time.min))
    recent = Order.objects.filter(status=COMPLETED, placed_at__gte=month_start, placed_at__lte=now)
    customers = set()
    for order in recent.select_related("customer").order_by("id")[:2000]:
        stars.on_order_completed(order=order, at=min(order.placed_at, now))
        customers.add(order.customer_id)
    pool = sorted(customers) or list(Customer.objects.values_list("pk", flat=True)[:500])
    for customer in Customer.objects.filter(
        pk__in=rng.sample(pool, min(STARS_CUSTOMERS, len(pool)))
    ):
        for n in range(rng.randint(1, 4)):
            source = rng.choice([stars.Source.SURVEY, stars.Source.REVIEW])
            stars.award_stars(
                customer=customer, stars=1, source=source, at=now,
                idempotency_key=f"demo:stars:{customer.pk}:{now:%Y-%m}:{n}",
            )  # fmt: skip
        customers.add(customer.pk)
    return len(customers)
