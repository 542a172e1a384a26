"""Demo survey results: the three built-in templates with about 5,000 answers over a year.

Shape (so the results pages have something true to show): VIPs are happiest, Gen-Z (18–24) is
the most critical and the most spread out, 华南 has clearly worse logistics, and everything
improves over the last three months. About 3 % are speeders or straight-liners and are flagged
by the real cleaning rules. Deterministic for a seed and an "as of" date; rows are inserted with
``bulk_create``, headline columns computed by ``answering.headline_scores``.
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from cxloop.core.models import Setting
from cxloop.customers.models import Customer, Order
from cxloop.surveys import answering, builtin, cleaning, rollups, services
from cxloop.surveys import text as comment_text
from cxloop.surveys.models import Invitation, Response, Survey
from cxloop.surveys.responses import age_band

DEMO_SURVEYS_FLAG = "demo.surveys_loaded"
PLAN = {"relationship_nps": 2_000, "post_delivery_csat": 2_000, "post_service_ces": 1_000}
ANSWER_SHARE = 0.4  # invitations answered: the rest expire, for a realistic response rate
CHANNELS = ["sms", "sms", "wechat", "email"]
SLOPPY_SHARE = 0.03
POSITIVE = {
    "物流": ["物流很快，第二天就到了", "配送准时，快递小哥很客气"],
    "包装": ["包装很用心，没有任何破损", "包装精致，送人很有面子"],
    "客服": ["客服回复及时，问题很快解决", "客服态度很好，耐心解释"],
    "价格": ["价格实惠，活动力度大", "性价比很高，会回购"],
    "质量": ["质量很好，和描述一致", "做工细致，用着放心"],
}
NEGATIVE = {
    "物流": ["物流太慢了，等了一个星期", "快递一直显示派送中，没人联系我"],
    "包装": ["包装破了，东西有点压坏", "外箱很脏，包装太简陋"],
    "客服": ["客服半天不回消息", "客服态度敷衍，问题没解决"],
    "价格": ["价格偏贵，不如别家", "优惠券用不了，感觉被套路"],
    "质量": ["质量一般，用了几天就坏了", "和图片差距很大，质量不行"],
}
TOPICS = (POSITIVE, NEGATIVE)
CLOSERS = (["整体很满意，继续加油！", "下次还会再来"], ["希望尽快改进", "体验不太好，有点失望"])


@dataclass(frozen=True)
class Person:
    id: int
    region: str
    store: str
    age_band: str
    segment: str


def load_demo_surveys(*, seed: int, as_of: dt.date) -> str:
    """Create, publish and fill the three template surveys once; later calls change nothing."""
    if Setting.objects.filter(key=DEMO_SURVEYS_FLAG).exists():
        return "Demo surveys already loaded."
    people = _people(as_of)
    if not people:
        return "No demo customers: load the demo data first."
    rng = random.Random(seed)
    total = 0
    with transaction.atomic():
        for key, count in PLAN.items():
            survey = _published(key)
            total += _fill(survey, key, rng, people, as_of, count)
        Setting.objects.create(key=DEMO_SURVEYS_FLAG, value={"seed": seed, "as_of": str(as_of)})
    comment_text.analyse_pending(limit=10**9)  # comment sentiment and aspects, as the worker does
    return f"Loaded demo surveys: {len(PLAN)} surveys, {total:,} responses."


def _published(key: str) -> Survey:
    definition = builtin.get_template(key)
    title = definition["title"]["zh-hans"] if isinstance(definition["title"], dict) else key
    survey = services.create_survey(
        title=title, key=key.replace("_", "-"), definition=definition, actor=None
    )
    services.publish_survey(survey=survey, actor=None)
    survey.refresh_from_db()
    return survey


def _people(as_of: dt.date) -> list[Person]:
    """Demo customers with their segment snapshot (VIP: 12-month spend ≥ ¥5,000)."""
    since = timezone.make_aware(dt.datetime.combine(as_of - dt.timedelta(days=365), dt.time.min))
    spend = (
        Order.objects.filter(placed_at__gte=since)
        .values("customer_id")
        .annotate(total=Sum("amount_fen"))
        .filter(total__gte=500_000)
    )
    vips = {row["customer_id"] for row in spend}
    rows = Customer.objects.order_by("id").values_list(
        "id", "region", "store", "birthday", "registered_at"
    )
    return [
        Person(
            pk,
            region,
            store,
            age_band(birthday, as_of),
            "vip"
            if pk in vips
            else "new"
            if registered and (as_of - registered).days < 90
            else "existing",
        )  # fmt: skip
        for pk, region, store, birthday, registered in rows
    ]


def _fill(
    survey: Survey,
    template: str,
    rng: random.Random,
    people: list[Person],
    as_of: dt.date,
    count: int,
) -> int:
    version = survey.current_version
    definition = answering.definition_for(version)
    end = timezone.make_aware(dt.datetime.combine(as_of, dt.time(21)))
    invitations, responses = [], []
    for _ in range(count):
        person = rng.choice(people)
        submitted = end - dt.timedelta(days=rng.random() * 365, hours=rng.random() * 10)
        mood = _mood(rng, person, submitted, end)
        answers = _answers(template, rng, person, mood)
        sloppy = rng.random() < SLOPPY_SHARE
        if sloppy and "dims" in answers:
            answers["dims"] = dict.fromkeys(answers["dims"], rng.choice([3, 5]))
        duration = rng.randint(8, 15) if sloppy else rng.randint(60, 420)
        invitation = _invitation(survey, person, rng, submitted, answered=True)
        invitations.append(invitation)
        responses.append(
            _response(survey, version, definition, person, answers, submitted, duration, invitation)
        )
    answered = len(invitations)
    for _ in range(round(answered * (1 - ANSWER_SHARE) / ANSWER_SHARE)):
        sent = end - dt.timedelta(days=rng.random() * 365)
        invitations.append(_invitation(survey, rng.choice(people), rng, sent, answered=False))
    Invitation.objects.bulk_create(invitations, batch_size=1000)
    for response in responses:
        response.invitation_id = response.invitation.pk
    Response.objects.bulk_create(responses, batch_size=1000)
    # bulk_create skips the save signal that marks rollup days: refresh the days written.
    days = {rollups.local_day(response.submitted_at) for response in responses}
    rollups.refresh_rollups(survey_id=survey.pk, days=days)
    return len(responses)


def _mood(rng: random.Random, person: Person, submitted: dt.datetime, end: dt.datetime) -> float:
    """Latent satisfaction (about -2..2): segment and age differences, a recent improvement."""
    mood = rng.gauss(0.3, 0.8)
    if person.segment == "vip":
        mood += 0.6
    if person.age_band == "18-24":
        mood += rng.gauss(-0.4, 0.6)  # more critical and more spread out
    elif person.age_band in ("25-34", "35-44"):
        mood += 0.1
    days_ago = (end - submitted).days
    if days_ago < 90:
        mood += 0.7 * (90 - days_ago) / 90  # the improvement programme is working
    return mood


def _answers(key: str, rng: random.Random, person: Person, mood: float) -> dict:
    logistics = mood - (1.3 if person.region == "华南" else 0.0)
    if key == "relationship_nps":
        return _relationship(rng, mood, logistics)
    if key == "post_delivery_csat":
        csat = _scale(rng, 3.7 + logistics, 1, 5)
        answers = {"csat": csat}
        if csat <= 2:
            answers["logistics"] = rng.sample(
                ["配送速度", "包装破损", "配送员态度", "未按约定时间送达"], 2
            )
        return _with_comment(answers, rng, csat >= 4, ["物流", "包装"])
    # The template's scale runs 1 非常费力 … 7 非常省力: a happier customer answers higher.
    effort = _scale(rng, 4.8 + mood, 1, 7)
    resolution = "已解决" if effort >= 5 else rng.choice(["部分解决", "未解决", "已解决"])
    return _with_comment({"effort": effort, "resolution": resolution}, rng, effort >= 5, ["客服"])


def _relationship(rng: random.Random, mood: float, logistics: float) -> dict:
    nps = _scale(rng, 7.6 + 1.6 * mood, 0, 10)
    dims = {
        name: _scale(
            rng, 3.8 + (logistics if name in ("efficiency", "response_speed") else mood) * 0.8, 1, 5
        )
        for name in builtin.STANDARD_DIMENSIONS
    }
    answers = {"nps": nps, "overall": _scale(rng, 3.7 + mood * 0.9, 1, 5), "dims": dims}
    if nps <= 6:
        answers["reasons"] = (
            ["物流"] if logistics < mood else rng.sample(["产品质量", "价格", "售后"], 1)
        )
    options = ["like", "expect", "neutral", "tolerate", "dislike"]
    answers["kano_next_day"] = {
        "functional": rng.choice(options[:2]),
        "dysfunctional": rng.choice(options[2:]),
    }
    return _with_comment(answers, rng, nps >= 9, list(POSITIVE))


def _with_comment(answers: dict, rng: random.Random, happy: bool, topics: list[str]) -> dict:
    if rng.random() < 0.45:
        side = 0 if happy else 1
        parts = [
            rng.choice(TOPICS[side][t])
            for t in rng.sample(topics, min(len(topics), rng.randint(1, 2)))
        ]
        answers["comment"] = "，".join(parts) + "。" + rng.choice(CLOSERS[side])
    return answers


def _scale(rng: random.Random, centre: float, low: int, high: int) -> int:
    return max(low, min(high, round(rng.gauss(centre, 0.9))))


def _invitation(survey, person: Person, rng, moment: dt.datetime, *, answered: bool) -> Invitation:
    sent = moment - dt.timedelta(hours=rng.uniform(0.5, 30))
    return Invitation(
        survey=survey, customer_id=person.id, nonce=secrets.token_hex(16),
        channel=rng.choice(CHANNELS),
        status=Invitation.Status.ANSWERED if answered else Invitation.Status.EXPIRED,
        scheduled_for=sent, sent_at=sent, answered_at=moment if answered else None,
        expires_at=sent + dt.timedelta(days=7), created_at=sent,
    )  # fmt: skip


def _response(
    survey, version, definition, person, answers, submitted, duration, invitation
) -> Response:
    scores = answering.headline_scores(definition, answers)
    flags = [
        *cleaning.check_speeder(
            duration_seconds=duration, survey_seconds=survey.speeder_seconds,
            answered_items=answering.answered_items(definition, answers),
        ),
        *cleaning.check_straight_lining(answering.matrix_answers(definition, answers)),
        *cleaning.check_contradictions(scores),
    ]  # fmt: skip
    response = Response(
        survey=survey, version=version, customer_id=person.id, answers=answers,
        current_page=len(definition.pages), channel=invitation.channel,
        started_at=submitted - dt.timedelta(seconds=duration), submitted_at=submitted,
        duration_seconds=duration, region=person.region, store=person.store,
        age_band=person.age_band, segment=person.segment, flags=flags, excluded=bool(flags),
        **{name: scores[name] for name in ("nps", "csat", "ces", "csi", "dimension_scores")},
    )  # fmt: skip
    response.invitation = invitation
    return response
