"""Two incidents written into the demo's history, for the alerts demo to find (docs/alerts.md,
"Demo"). Both hit the delivered (not in-store) orders of one region:

* **华北 courier change** (still going on): ten days before the demo's "now" the region's
  parcels moved to a new last-mile courier. Deliveries take 3–6 days instead of 1–3; about a
  third of those customers complain (category 物流配送: parcels stuck, left at a parcel station
  without a call, marked delivered but not received), and the region's post-delivery and
  relationship surveys turn negative about 物流/快递 — upset customers also answer more often.
* **华南 warehouse outage** (over): three weeks before "now" the 华南 warehouse system was
  down for two days; those orders shipped two to three days late and many customers chased
  them, then everything was back to normal.

Rows are made the way the demos make theirs: the cases as whole stories (``cases.demo`` and
``cases.demo_rows``: routed, clocks set by the real SLA rules, replied, resolved, cut at "now"),
the answers with their invitations and headline scores (``surveys.demo``), then the surveys'
daily rollup and the text analysis (sentiment, aspects) as the worker would run them. The
orders' ``delivered_at`` moves to the late delivery. Deterministic for a seed and "now".
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db.models import Max
from django.utils import timezone

from cxloop.cases import demo as case_demo
from cxloop.cases import demo_texts
from cxloop.cases import text as case_text
from cxloop.cases.demo_rows import Story, cut, insert, settle
from cxloop.cases.models import Case, SlaRule
from cxloop.customers.models import Order
from cxloop.surveys import demo as survey_demo
from cxloop.surveys import rollups
from cxloop.surveys import text as survey_text
from cxloop.surveys.answering import definition_for
from cxloop.surveys.models import Invitation, Response, Survey

HOUR = dt.timedelta(hours=1)
DAY = dt.timedelta(days=1)


@dataclass(frozen=True)
class Incident:
    """Which orders are hit, how late they arrive, and how many customers complain or answer."""

    key: str
    region: str
    start: int  # local days before "now"
    days: int | None  # how long it lasted; None: still going on
    delay_days: tuple[float, float]  # how long the hit orders take to arrive
    complain_share: float  # of the hit orders: a complaint case
    complain_after: tuple[float, float]  # days after the order was placed
    csat_share: float  # of the hit orders: a post-delivery answer after it arrived
    nps_share: float  # of the hit orders: a relationship-survey answer after it arrived
    subjects: tuple[str, ...]
    descriptions: tuple[str, ...]
    comments: tuple[str, ...]


COURIER = Incident(
    key="courier", region="华北", start=10, days=None, delay_days=(2.5, 5.5),
    complain_share=0.45, complain_after=(1.2, 3.5), csat_share=0.5, nps_share=0.25,
    subjects=(
        "快递五天了还没到", "物流信息三天不更新", "新快递不送货上门", "新快递直接放驿站不通知",
        "快递显示签收了但没收到", "快递一直显示派送中",
    ),
    descriptions=(
        "订单{order}下单{days}天了还没到，物流信息一直停在{city}分拨中心，以前第二天就能送到。",
        "听说最近换了快递公司，订单{order}的包裹被直接放在驿站，也没有电话通知，我出差取不了。",
        "订单{order}显示已签收，但家里没人收到，打新快递的电话一直没人接。",
        "快递一直显示派送中，已经{days}天了，配送员电话打不通，客服也说不清楚什么时候能到。",
        "约好的送货时间没人来，新的快递员让我自己去网点取件，订单号{order}。",
    ),
    comments=(
        "换了新快递以后慢了好多，等了{days}天才到",
        "快递一直显示派送中，打配送员电话也没人接",
        "新的快递不送货上门，直接放驿站也不通知",
        "物流信息好几天都不更新，问客服只会说再等等",
        "以前第二天就到，现在要等快一个星期，物流太差了",
        "快递员让我自己去网点取件，配送服务越来越差",
    ),
)  # fmt: skip
OUTAGE = Incident(
    key="outage", region="华南", start=22, days=2, delay_days=(2.5, 4.0),
    complain_share=0.6, complain_after=(0.8, 1.8), csat_share=0.2, nps_share=0.05,
    subjects=("付款两天了还没发货", "仓库一直不发货", "订单一直显示待发货", "催发货没有结果"),
    descriptions=(
        "订单{order}付款{days}天了还是待发货，客服说仓库系统出了问题，到底什么时候能发货？",
        "订单{order}一直显示待发货，着急送人用的，催了两次都没有结果。",
        "下单后物流一直没有信息，客服说仓库系统故障，希望尽快发货并给个说法。",
    ),
    comments=(
        "仓库系统故障，晚发货了好几天，物流太慢",
        "付款两天才发货，快递到得太晚了",
        "发货拖了很久，配送也慢，这次体验不好",
    ),
)  # fmt: skip
INCIDENTS = (OUTAGE, COURIER)
CITIES = ("石家庄", "北京", "天津", "济南", "广州", "深圳", "厦门", "东莞")


@dataclass
class Written:
    orders: int = 0
    cases: int = 0
    answers: int = 0
    survey_days: dict[int, set] = field(default_factory=dict)


def inject_incidents(*, now: dt.datetime, seed: int) -> Written:
    """Write both incidents into the demo's history; what was written."""
    rng = random.Random(seed)
    written = Written()
    world = case_demo._setup()  # the demo's departments, staff and routing (get or create)
    people = {p.id: p for p in survey_demo._people(timezone.localdate(now))}
    surveys = {s.key: s for s in Survey.objects.filter(key__in=["post-delivery-csat",
                                                                "relationship-nps"])}  # fmt: skip
    stories, invitations, answers = [], [], []
    for incident in INCIDENTS:
        hit = _late_deliveries(rng, incident, now)
        written.orders += len(hit)
        first_id = (Case.objects.aggregate(top=Max("id"))["top"] or 0) + 1 + len(stories)
        stories += _complaints(rng, incident, world, hit, now, first_id)
        for order in hit:
            found = _answers(rng, incident, surveys, people.get(order.customer_id), order, now)
            invitations += [invitation for invitation, _response in found]
            answers += [response for _invitation, response in found]
    insert(stories)
    Invitation.objects.bulk_create(invitations, batch_size=1000)
    for response in answers:
        response.invitation_id = response.invitation.pk
        written.survey_days.setdefault(response.survey_id, set()).add(
            rollups.local_day(response.submitted_at)
        )
    Response.objects.bulk_create(answers, batch_size=1000)
    for survey_id, days in written.survey_days.items():  # bulk_create marks no rollup days
        rollups.refresh_rollups(survey_id=survey_id, days=days)
    case_text.analyse_pending(limit=10**9)  # sentiment and aspects, as the worker would
    survey_text.analyse_pending(limit=10**9)
    written.cases, written.answers = len(stories), len(answers)
    return written


def _window(incident: Incident, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    first = timezone.localdate(now) - dt.timedelta(days=incident.start)
    start = rollups.day_start(first)
    end = now if incident.days is None else rollups.day_start(first + incident.days * DAY)
    return start, min(end, now)


def _late_deliveries(rng: random.Random, incident: Incident, now: dt.datetime) -> list[Order]:
    """The region's delivered orders placed during the incident, now arriving late."""
    start, end = _window(incident, now)
    hit = list(
        Order.objects.filter(customer__region=incident.region, placed_at__gte=start,
                             placed_at__lt=end)
        .exclude(channel=Order.Channel.STORE)
        .exclude(status=Order.Status.CANCELLED)
        .order_by("placed_at", "pk")
    )  # fmt: skip
    for order in hit:
        late = order.placed_at + rng.uniform(*incident.delay_days) * DAY
        order.delivered_at = min(late, now)
        order.updated_at = max(order.updated_at, order.delivered_at)
    Order.objects.bulk_update(hit, ["delivered_at", "updated_at"], batch_size=500)
    return hit


def _complaints(rng, incident: Incident, world, hit: list[Order], now, next_id) -> list[Story]:
    """Complaint cases about the late orders, each a whole story as ``cases.demo`` plans it;
    their ids count from ``next_id`` (the stories are inserted together, ids set)."""
    customers = {c[0]: c for c in world.customers}
    stories = []
    for order in hit:
        if rng.random() >= incident.complain_share:
            continue
        created = order.placed_at + rng.uniform(*incident.complain_after) * DAY
        if created > now - 3 * HOUR or order.customer_id not in customers:
            continue  # not yet: the customer is still waiting
        case = _case(rng, incident, world, next_id, created, customers[order.customer_id], order)
        next_id += 1
        rule = world.clocks.rule(case, SlaRule.Target.RESOLUTION)
        story = Story(case, world.clocks.calendars.get(case, rule), world.clocks)
        case_demo._opening(story, world, None)
        # A swamped team answers as slowly as logistics did before the improvement programme.
        profile = case_demo.BEFORE[True]
        case_demo._life(rng, story, profile, fast=False, stuck=False)
        cut(story, now)
        settle(story)
        stories.append(story)
    return stories


def _case(rng, incident: Incident, world, case_id: int, created, customer, order) -> Case:
    pk, region, store, vip = customer
    city = next((c for c in CITIES if (order.store or store).startswith(c)), "")
    fill = {"order": order.external_id, "days": max(2, (created - order.placed_at).days + 1),
            "city": city or region}  # fmt: skip
    department = demo_texts.LOGISTICS
    return Case(
        id=case_id, number=f"C{timezone.localtime(created):%Y%m%d}{case_id:06d}",
        channel=case_demo._weighted(rng, case_demo.CHANNELS), customer_id=pk,
        category=world.categories["logistics"], severity=case_demo._weighted(
            rng, case_demo.SEVERITIES), tier="vip" if vip else "ordinary", amount_fen=0,
        subject=rng.choice(incident.subjects),
        description=rng.choice(incident.descriptions).format(**fill), region=region,
        store=order.store or store, order_ref=order.external_id,
        department=world.departments[department], created_at=created,
        owner=rng.choice(world.staff[department]), public_nonce=f"{rng.getrandbits(64):016x}",
    )  # fmt: skip


def _answers(rng, incident: Incident, surveys: dict, person, order: Order, now) -> list[tuple]:
    """(invitation, response) pairs a late order's customer gave after it arrived."""
    found = []
    if person is None or order.delivered_at is None:
        return found
    for key, share, build in (
        ("post-delivery-csat", incident.csat_share, _csat_answers),
        ("relationship-nps", incident.nps_share, _nps_answers),
    ):
        submitted = order.delivered_at + rng.uniform(2, 30) * HOUR
        if key not in surveys or rng.random() >= share or submitted > now - HOUR:
            continue
        survey = surveys[key]
        answers = build(rng, incident, order)
        duration = rng.randint(60, 420)
        invitation = survey_demo._invitation(survey, person, rng, submitted, answered=True)
        response = survey_demo._response(
            survey, survey.current_version, definition_for(survey.current_version), person,
            answers, submitted, duration, invitation,
        )  # fmt: skip
        found.append((invitation, response))
    return found


def _comment(rng, incident: Incident, order: Order) -> str:
    days = max(2, round((order.delivered_at - order.placed_at) / DAY))
    text = rng.choice(incident.comments).format(days=days)
    return f"{text}。{rng.choice(survey_demo.CLOSERS[1])}"


def _csat_answers(rng, incident: Incident, order: Order) -> dict:
    answers = {"csat": survey_demo._scale(rng, 1.7, 1, 5)}
    if answers["csat"] <= 2:
        answers["logistics"] = rng.sample(["配送速度", "配送员态度", "未按约定时间送达"], 2)
    if answers["csat"] <= 3 and rng.random() < 0.75:
        answers["comment"] = _comment(rng, incident, order)
    return answers


def _nps_answers(rng, incident: Incident, order: Order) -> dict:
    mood = rng.gauss(-1.6, 0.6)  # the late parcel colours the whole relationship
    answers = survey_demo._relationship(rng, mood, mood - 1.5)  # logistics worst: reason 物流
    answers.pop("comment", None)
    if rng.random() < 0.75:
        answers["comment"] = _comment(rng, incident, order)
    return answers
