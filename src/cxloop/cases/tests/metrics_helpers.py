"""A small, hand-computed world for the case metrics, worked through the real services.

Rules: first response 60 working minutes, resolution 480 (8 h); the default calendar
(Mon–Fri 09:00–12:00 and 13:30–18:00). Week of Monday 3 March 2025, Asia/Shanghai:

=====  ==========  =========  ======  ======================================================
case   department  channel    region  what happens (Mon 3 March unless said)
=====  ==========  =========  ======  ======================================================
A      service     hotline    华东    10:00 opened, 10:20 reply (1,200 s), 15:00 resolved
                                      (12,600 s) — FCR
B      service     chat       华南    11:50 opened, 13:40 reply (1,200 s across lunch), Tue
                                      09:30 second reply, Tue 11:00 resolved (24,000 s); a
                                      repeat of A
C      logistics   hotline    华东    09:00 opened, 11:00 reply (7,200 s, late), 17:00
                                      resolved (23,400 s), Wed 10:00 reopened (within 7 days),
                                      still open; reply by the handler
D      logistics   app        华南    14:00 opened, 14:30 reply (1,800 s), 16:00 resolved
                                      (7,200 s), Tue 10:00 callback, closed; reopened Fri 14th
                                      10:00 (11 days later): 11:00 reply, 12:00 resolved
                                      (7,200 s) — FCR; reply by the handler
E      service     hotline    华东    16:00 opened, 16:10 reply (600 s), still open
F      logistics   hotline    华东    10:00 opened, 11:00 resolved by the handler without a
                                      reply (3,600 s), its first response never met; a repeat
                                      of C
=====  ==========  =========  ======  ======================================================

Orders: 8 of 华东 customers and 1 of a 华南 customer in March, 1 more of 华东 in February.
"""

from __future__ import annotations

import datetime as dt
from itertools import count

from django.utils import timezone

from cxloop.cases import lifecycle, services
from cxloop.cases.models import Case, SlaRule
from cxloop.customers.models import Customer, Order

_numbers = count(1)


def local(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


def mar(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return local(2025, 3, day, hour, minute)


def sla_rules() -> None:
    """Only these two: the installation's default rules (phone 15 min, progress updates …)
    would make the hand-computed figures depend on them."""
    SlaRule.objects.all().delete()
    SlaRule.objects.create(name="reply", target=SlaRule.Target.FIRST_RESPONSE, minutes=60)
    SlaRule.objects.create(name="solve", target=SlaRule.Target.RESOLUTION, minutes=480)


def open_case(category, *, channel: str, region: str, at: dt.datetime, subject="快递没到"):
    return services.create_case(
        channel=channel, subject=subject, contact_name="王女士", category=category,
        region=region, now=at,
    )  # fmt: skip


def build_world(categories, agent, handler) -> dict[str, Case]:
    """Cases A–F of the module text; returns them by letter, refreshed."""
    sla_rules()
    product, logistics = categories["product"], categories["logistics"]
    a = open_case(product, channel="hotline", region="华东", at=mar(3, 10))
    lifecycle.reply(case=a, actor=agent, body="您好", now=mar(3, 10, 20))
    lifecycle.resolve(case=a, actor=agent, resolution="已处理", now=mar(3, 15))

    b = open_case(product, channel="chat", region="华南", at=mar(3, 11, 50))
    lifecycle.reply(case=b, actor=agent, body="您好", now=mar(3, 13, 40))
    lifecycle.reply(case=b, actor=agent, body="进度", now=mar(4, 9, 30))
    lifecycle.resolve(case=b, actor=agent, resolution="已处理", now=mar(4, 11))

    c = open_case(logistics, channel="hotline", region="华东", at=mar(3, 9))
    lifecycle.reply(case=c, actor=handler, body="您好", now=mar(3, 11))
    lifecycle.resolve(case=c, actor=handler, resolution="已处理", now=mar(3, 17))
    lifecycle.reopen(case=c, actor=handler, reason="没解决", now=mar(5, 10))

    d = open_case(logistics, channel="app", region="华南", at=mar(3, 14))
    lifecycle.reply(case=d, actor=handler, body="您好", now=mar(3, 14, 30))
    lifecycle.resolve(case=d, actor=handler, resolution="已处理", now=mar(3, 16))
    lifecycle.record_callback(case=d, actor=handler, satisfied=True, now=mar(4, 10))
    lifecycle.close(case=d, actor=handler, now=mar(4, 10, 5))
    lifecycle.reopen(case=d, actor=handler, reason="又坏了", now=mar(14, 10))
    lifecycle.reply(case=d, actor=handler, body="马上处理", now=mar(14, 11))
    lifecycle.resolve(case=d, actor=handler, resolution="已换新", now=mar(14, 12))

    e = open_case(product, channel="hotline", region="华东", at=mar(3, 16))
    lifecycle.reply(case=e, actor=agent, body="您好", now=mar(3, 16, 10))

    f = open_case(logistics, channel="hotline", region="华东", at=mar(3, 10))
    lifecycle.resolve(case=f, actor=handler, resolution="已处理", now=mar(3, 11))

    Case.objects.filter(pk=b.pk).update(repeat_of=a)
    Case.objects.filter(pk=f.pk).update(repeat_of=c)
    _orders()
    cases = zip("ABCDEF", [a, b, c, d, e, f], strict=True)
    return {name: Case.objects.get(pk=case.pk) for name, case in cases}


def _orders() -> None:
    east = Customer.objects.create(external_id="M-east", region="华东")
    south = Customer.objects.create(external_id="M-south", region="华南")
    for day in range(1, 9):
        order(east, mar(day, 12))
    order(south, mar(20, 12))
    order(east, local(2025, 2, 20))


def order(customer: Customer, placed: dt.datetime) -> Order:
    return Order.objects.create(
        external_id=f"MO{next(_numbers)}", customer=customer, amount_fen=10_000, placed_at=placed
    )


MARCH = (local(2025, 3, 1, 0), local(2025, 4, 1, 0))
