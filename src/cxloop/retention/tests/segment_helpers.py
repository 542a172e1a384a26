"""Hand-built customers and orders for the scoring, segment and profile tests.

``build_shop(now)`` makes 30 customers whose tiers are known under the default settings:
the 3 best (recent, frequent, big spenders) are high value, the 9 next potential, 3 who last
ordered 200-400 days ago with little spend are churn warning, the rest basic. Plus two
customers without orders: one registered 10 days ago (new), one 200 days ago (never ordered).
"""

from __future__ import annotations

import datetime as dt
import itertools

from cxloop.customers.models import Customer, Order

NOW = dt.datetime(2026, 6, 3, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai
_numbers = itertools.count(1)


def customer(*, registered_days_ago: int = 400, tags=None, phone: str = "", **extra) -> Customer:
    number = next(_numbers)
    return Customer.objects.create(
        external_id=f"T{number:05d}",
        name=f"顾客{number}",
        phone=phone or f"1380000{number:04d}",
        registered_at=(NOW - dt.timedelta(days=registered_days_ago)).date(),
        tags=list(tags or []),
        **extra,
    )


def orders(who: Customer, *, days_ago: list[float], amount_fen: int, **extra) -> list[Order]:
    made = []
    for days in days_ago:
        number = next(_numbers)
        made.append(
            Order.objects.create(
                external_id=f"O{number:06d}",
                customer=who,
                amount_fen=amount_fen,
                placed_at=NOW - dt.timedelta(days=days),
                status=extra.get("status", Order.Status.COMPLETED),
                channel=extra.get("channel", Order.Channel.STORE),
            )
        )
    return made


def build_shop() -> dict[str, list[Customer]]:
    """30 buyers in known tiers and 2 customers without orders (see the module docstring)."""
    shop: dict[str, list[Customer]] = {"high": [], "potential": [], "basic": [], "churn": []}
    for i in range(3):  # ¥3,000 x 6 orders in the last 60 days: VIP, best on R, F and M
        shop["high"].append(c := customer())
        orders(c, days_ago=[5 + i, 15, 25, 35, 45, 55], amount_fen=300_000)
    for i in range(9):  # 3-4 orders, ¥500, within 100 days
        shop["potential"].append(c := customer())
        orders(c, days_ago=[10 + i, 40, 70, 100][: 3 + i % 2], amount_fen=50_000, channel="online")
    for i in range(15):  # two small orders 100-150 days ago
        shop["basic"].append(c := customer())
        orders(c, days_ago=[100 + i, 150], amount_fen=8_000 + 100 * i)
    for i in range(3):  # one small order long ago
        shop["churn"].append(c := customer())
        orders(c, days_ago=[200 + 100 * i], amount_fen=3_000)
    shop["new"] = [customer(registered_days_ago=10)]
    shop["never"] = [customer(registered_days_ago=200)]
    return shop
