"""/api/v1/members/{customer_external_id}: a customer's member level, benefits, progress to
the next level, this month's stars and long-term rewards (read only)."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Field, Router, Schema

from cxloop.api import queries
from cxloop.api.schemas import ErrorOut
from cxloop.core.roles import require
from cxloop.customers.models import Customer
from cxloop.loyalty import levels, stars

router = Router(tags=["members"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut}
NOT_FOUND = _("No customer with this external id.")


class LevelOut(Schema):
    code: str
    name: str
    rank: int
    price_percent: int = Field(description="The member pays this % of the list price.")
    free_after_sales: bool


class ProgressOut(Schema):
    next_level: str | None = Field(description="Code of the next level; null at the top.")
    rolling_spend_fen: int
    needed_fen: int
    by: dt.date | None = Field(description="The oldest counted order leaves the window then.")
    text: str


class StepOut(Schema):
    step: int
    stars: int
    points: int
    reward: str
    reached: bool
    claimed: bool


class StarsOut(Schema):
    month: str = Field(description="YYYY-MM, Asia/Shanghai.")
    stars: int
    steps: list[StepOut]


class LongTermOut(Schema):
    kind: str
    granted_at: dt.datetime
    years: int


class MemberOut(Schema):
    customer: str
    level: LevelOut | None
    since: dt.datetime | None
    price_percent: int
    free_after_sales: bool
    benefits: list[str]
    progress: ProgressOut
    stars: StarsOut
    long_term_rewards: list[LongTermOut]


def _level_out(level) -> dict | None:
    if level is None:
        return None
    return {
        "code": level.code, "name": level.name, "rank": level.rank,
        "price_percent": level.price_percent, "free_after_sales": level.free_after_sales,
    }  # fmt: skip


def member_out(customer: Customer, now: dt.datetime) -> dict:
    row = levels.current_row(customer)
    benefits = levels.benefits_of(customer)
    progress = levels.progress_of(customer=customer, now=now)
    summary = stars.stars_summary(customer=customer, month=stars.month_of(now))
    rewards = customer.long_term_rewards.order_by("granted_at")
    return {
        "customer": customer.external_id,
        "level": _level_out(benefits.level),
        "since": row.since if row is not None and row.level_id else None,
        "price_percent": benefits.price_percent,
        "free_after_sales": benefits.free_after_sales,
        "benefits": benefits.benefits,
        "progress": {
            "next_level": progress.next_level.code if progress.next_level else None,
            "rolling_spend_fen": progress.spend_fen,
            "needed_fen": progress.needed_fen,
            "by": progress.by,
            "text": levels.describe_progress(progress),
        },  # fmt: skip
        "stars": {
            "month": f"{summary.month:%Y-%m}",
            "stars": summary.stars,
            "steps": [
                {
                    "step": s.step.number,
                    "stars": s.step.stars,
                    "points": s.step.points,
                    "reward": s.step.reward,
                    "reached": s.reached,
                    "claimed": s.claimed,
                }
                for s in summary.steps
            ],
        },  # fmt: skip
        "long_term_rewards": [
            {"kind": r.kind, "granted_at": r.granted_at, "years": r.years} for r in rewards
        ],
    }


@router.get("/{customer_external_id}", response={200: MemberOut, **ERRORS}, summary="A member")
def get_member(request: HttpRequest, customer_external_id: str):
    require(request.auth, "loyalty.view_customerlevel")
    customer = queries.get_or_404(Customer.objects, NOT_FOUND, external_id=customer_external_id)
    return member_out(customer, timezone.now())
