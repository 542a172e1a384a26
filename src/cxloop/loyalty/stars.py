"""The monthly "collect stars" game: stars for completed orders, answered surveys and reviews;
reaching a step of the month's ladder pays its points once.

Stars count in the Asia/Shanghai calendar month of the event. ``award_stars`` is idempotent by
its key (a unique column), so a signal delivered twice or a retried task adds nothing. After
each award every step the month's total reaches is claimed: the ``StarsStepReward`` row is
unique per customer, month and step, and the points go through ``earn_points`` with the key
``stars:<customer>:<YYYY-MM>:<step>`` — so the points are paid once even if two awards race,
and a crash between the claim and the points is repaired by the next award or claim.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit
from cxloop.customers.models import Customer
from cxloop.loyalty.level_models import StarAward, StarsProgram, StarsStepReward

MAX_STEPS = 20
MAX_STARS = 1000
MAX_STEP_POINTS = 1_000_000
Source = StarAward.Source


@dataclass(frozen=True)
class Step:
    number: int  # 1 = the lowest threshold
    stars: int
    points: int
    reward: str


def month_of(moment: dt.datetime | None = None) -> dt.date:
    """The first day of ``moment``'s month in local time (default: now)."""
    local = timezone.localtime(moment or timezone.now())
    return local.date().replace(day=1)


def program_for(month: dt.date) -> StarsProgram | None:
    """The month's own active programme, else the active default one, else None."""
    own = StarsProgram.objects.filter(month=month).first()
    if own is not None:
        return own if own.is_active else None
    return StarsProgram.objects.filter(is_default=True, is_active=True).first()


def clean_thresholds(value) -> list[dict]:
    """Validated steps ``[{"stars", "points", "reward"}]``, sorted by stars, strictly rising."""
    if not isinstance(value, list) or len(value) > MAX_STEPS:
        raise ValidationError(_("Give at most %(n)d steps.") % {"n": MAX_STEPS})
    steps = []
    for item in value:
        if not isinstance(item, dict):
            raise ValidationError(_("Each step needs stars and points."))
        stars, points = item.get("stars"), item.get("points", 0)
        reward = str(item.get("reward") or "").strip()[:200]
        if not _whole(stars, 1, MAX_STARS) or not _whole(points, 0, MAX_STEP_POINTS):
            raise ValidationError(_("Stars must be 1–1000 and points 0–1,000,000, whole numbers."))
        if not points and not reward:
            raise ValidationError(_("Each step needs points or a reward."))
        steps.append({"stars": stars, "points": points, "reward": reward})
    steps.sort(key=lambda s: s["stars"])
    if len({s["stars"] for s in steps}) != len(steps):
        raise ValidationError(_("Two steps need the same number of stars."))
    return steps


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def steps_of(program: StarsProgram | None) -> list[Step]:
    if program is None:
        return []
    try:
        rows = clean_thresholds(program.thresholds)
    except ValidationError:  # a hand-edited row must not break awards: no steps then
        return []
    return [Step(i, r["stars"], r["points"], r["reward"]) for i, r in enumerate(rows, start=1)]


def stars_in_month(*, customer: Customer, month: dt.date) -> int:
    total = StarAward.objects.filter(customer=customer, month=month).aggregate(s=Sum("stars"))
    return int(total["s"] or 0)


# --- writes -----------------------------------------------------------------------------------


def award_stars(
    *,
    customer: Customer,
    stars: int,
    source: str,
    idempotency_key: str,
    at: dt.datetime | None = None,
    actor=None,
) -> StarAward | None:
    """Add ``stars`` for the month of ``at`` once per key, then claim the steps reached.
    Returns the award (the first one on a replay), or None for 0 stars."""
    if not _whole(stars, 0, MAX_STARS) or source not in Source.values:
        raise ValueError("stars must be 0–1000 and source one of StarAward.Source")
    if stars == 0:
        return None
    month = month_of(at)
    try:
        with transaction.atomic():
            award = StarAward.objects.create(
                customer=customer, month=month, stars=stars, source=source,
                idempotency_key=idempotency_key[:120],
            )  # fmt: skip
    except IntegrityError:
        first = StarAward.objects.get(idempotency_key=idempotency_key[:120])
        # A replay may ask for other stars (the ladder was edited since): the first counts.
        if (first.customer_id, first.source) != (customer.pk, source):
            raise ValueError("idempotency key already used for another customer") from None
        return first
    if actor is not None:
        record_audit(
            actor=actor, action="loyalty.stars_awarded", target=award,
            after={"customer": customer.pk, "stars": stars, "source": source},
        )  # fmt: skip
    claim_steps(customer=customer, month=month)
    return award


def claim_steps(*, customer: Customer, month: dt.date) -> list[StarsStepReward]:
    """Claim every step of the month the customer's stars reach; pays points once per step."""
    steps = steps_of(program_for(month))
    total = stars_in_month(customer=customer, month=month)
    claimed = []
    for step in steps:
        if step.stars > total:
            break
        row = _claim(customer, month, step)
        if step.points:
            _pay(customer, month, row)
        claimed.append(row)
    return claimed


def _claim(customer: Customer, month: dt.date, step: Step) -> StarsStepReward:
    existing = StarsStepReward.objects.filter(customer=customer, month=month, step=step.number)
    row = existing.first()
    if row is not None:
        return row
    try:
        with transaction.atomic():
            row = StarsStepReward.objects.create(
                customer=customer, month=month, step=step.number, stars_required=step.stars,
                points=step.points, reward=step.reward,
            )  # fmt: skip
            record_audit(
                actor=None, action="loyalty.stars_step_claimed", target=row,
                after={"customer": customer.pk, "month": month, "step": step.number,
                       "points": step.points, "reward": step.reward},
            )  # fmt: skip
    except IntegrityError:  # a concurrent award claimed it first
        row = existing.get()
    return row


def step_key(customer: Customer, month: dt.date, step: int) -> str:
    return f"stars:{customer.pk}:{month:%Y-%m}:{step}"


def _pay(customer: Customer, month: dt.date, row: StarsStepReward) -> None:
    from cxloop.loyalty.services import earn_points

    # The points stored on the claim, not the ladder's current ones: a ladder edited later in
    # the month must not change what a replay of the same key means.
    earn_points(
        customer=customer, points=row.points, idempotency_key=step_key(customer, month, row.step),
        reason=_("Stars: step %(step)d of %(month)s") % {"step": row.step,
                                                          "month": f"{month:%Y-%m}"},
        source="stars",
    )  # fmt: skip


# --- what earns stars -------------------------------------------------------------------------


def stars_for(source: str, month: dt.date) -> int:
    program = program_for(month)
    if program is None:
        return 0
    return {
        Source.ORDER: program.stars_per_order,
        Source.SURVEY: program.stars_per_survey,
        Source.REVIEW: program.stars_per_review,
    }.get(source, 0)


def on_order_completed(*, order, at: dt.datetime | None = None) -> StarAward | None:
    at = at or timezone.now()
    stars = stars_for(Source.ORDER, month_of(at))
    return award_stars(
        customer=order.customer, stars=stars, source=Source.ORDER,
        idempotency_key=f"stars:order:{order.pk}", at=at,
    )  # fmt: skip


def on_response_submitted(*, response) -> StarAward | None:
    """An answered survey of a known customer earns the month's survey stars."""
    if response.customer_id is None or response.submitted_at is None:
        return None
    stars = stars_for(Source.SURVEY, month_of(response.submitted_at))
    return award_stars(
        customer=response.customer, stars=stars, source=Source.SURVEY,
        idempotency_key=f"stars:response:{response.pk}", at=response.submitted_at,
    )  # fmt: skip


def award_review_stars(
    *, customer: Customer, review_ref: str, at: dt.datetime | None = None
) -> StarAward | None:
    """A product or store review (by the shop's own reference) earns the review stars once."""
    at = at or timezone.now()
    return award_stars(
        customer=customer, stars=stars_for(Source.REVIEW, month_of(at)), source=Source.REVIEW,
        idempotency_key=f"stars:review:{review_ref}", at=at,
    )  # fmt: skip


# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepState:
    step: Step
    reached: bool
    claimed: bool


@dataclass(frozen=True)
class StarsSummary:
    month: dt.date
    stars: int
    steps: list[StepState]
    next_step: Step | None


def stars_summary(*, customer: Customer, month: dt.date | None = None) -> StarsSummary:
    """The month's stars, each step reached or not, and the next step to aim for."""
    month = month or month_of()
    stars = stars_in_month(customer=customer, month=month)
    claimed = set(
        StarsStepReward.objects.filter(customer=customer, month=month).values_list(
            "step", flat=True
        )
    )
    steps = steps_of(program_for(month))
    states = [StepState(s, s.stars <= stars, s.number in claimed) for s in steps]
    upcoming = [s for s in steps if s.stars > stars]
    return StarsSummary(month, stars, states, upcoming[0] if upcoming else None)
