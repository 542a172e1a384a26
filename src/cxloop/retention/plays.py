"""Retention plays: the default strategies per tier, console writes, and running them.

``run_plays`` selects each active play's customers with one SQL filter on ``CustomerScore``
(tier, life-cycle stage or churn risk, any of those set), leaves out those the play already
reached within its frequency cap, and writes a ``PlayAssignment`` per customer. The group is a
hash of play and customer (``holdout_group``), so a rerun never reshuffles; the holdout gets no
work and is the baseline of the effect report (``play_effect.py``). Skips apply to both groups
alike (no marketing consent or address for a message-only play, contacted by another play within
the cap), so the two groups stay comparable. Treatment work: staff plays (win-back call,
account manager) open a staff-entry case in the retention category, assigned, with a callback
task due in N days; a message goes through the outbox only with marketing consent; an optional
points gift is credited once per assignment (key ``play:<assignment id>:gift``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit, snapshot
from cxloop.core.outbox import enqueue_message
from cxloop.core.roles import require
from cxloop.retention.churn import day_number
from cxloop.retention.models import CustomerScore
from cxloop.retention.play_models import (
    STAFF_KINDS,
    PlayAssignment,
    PlayChannel,
    PlayKind,
    RetentionPlay,
)

logger = logging.getLogger(__name__)

RUN_PERM = "retention.run_plays"
CHANGE_PERM = "retention.change_retentionplay"
ADD_PERM = "retention.add_retentionplay"
AUDITED = (
    "name", "kind", "tier", "stage", "min_churn_risk", "channel", "subject", "message",
    "assignee", "task_due_days", "gift_points", "cap_days", "holdout_percent", "measure_days",
    "is_active",
)  # fmt: skip
# Case categories of the staff plays, created when the taxonomy lacks them (data: Chinese).
CATEGORIES = {
    "retention": "客户保留",
    "retention-winback": "流失挽回",
    "retention-account": "客户经理关怀",
}
CATEGORY_OF = {
    PlayKind.WINBACK_TASK: "retention-winback",
    PlayKind.ACCOUNT_MANAGER: "retention-account",
}
S = PlayAssignment.Skipped
G = PlayAssignment.Group


class PlayError(ValueError):
    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


# --- defaults ----------------------------------------------------------------------------------


def _default_plays() -> list[dict]:
    """The plans' per-tier strategies, in the installation's language."""
    return [
        {"name": _("High value: named account manager"), "kind": PlayKind.ACCOUNT_MANAGER,
         "tier": "high_value", "channel": PlayChannel.EMAIL, "cap_days": 90,
         "subject": _("Your personal account manager"),
         "message": _("Dear {name}, as one of our most valued customers you now have a personal "
                      "account manager and exclusive member benefits. We will be in touch soon.")},
        {"name": _("Potential: personal offer"), "kind": PlayKind.PERSONAL_OFFER,
         "tier": "potential", "channel": PlayChannel.EMAIL, "cap_days": 30,
         "subject": _("An offer picked for you"),
         "message": _("Dear {name}, we picked an offer for you based on what you like. "
                      "It is waiting in your account.")},
        {"name": _("Basic: community and newcomer benefits"), "kind": PlayKind.COMMUNITY_BENEFIT,
         "tier": "basic", "channel": PlayChannel.EMAIL, "cap_days": 60,
         "subject": _("Welcome to our member community"),
         "message": _("Dear {name}, join our member community for newcomer benefits, events "
                      "and tips.")},
        {"name": _("Churn warning: win-back call and return gift"),
         "kind": PlayKind.WINBACK_TASK, "tier": "churn_warning", "min_churn_risk": 0.6,
         "channel": PlayChannel.NONE, "cap_days": 60, "task_due_days": 3, "measure_days": 60,
         "subject": _("We miss you"),
         "message": _("Dear {name}, we miss you! A small gift is waiting for your next visit.")},
    ]  # fmt: skip


def ensure_default_plays() -> int:
    """Create the default plays while there are none (after every migrate); returns how many."""
    if RetentionPlay.objects.exists():
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        rows = _default_plays()
    RetentionPlay.objects.bulk_create(RetentionPlay(**row) for row in rows)
    return len(rows)


def _category(kind: str):
    """The retention case category of a staff play, created under "retention" if missing.

    With "retention" itself come its SLA rules, once: 1 working day to answer and 5 to resolve
    on the default calendar, which its sub-categories inherit (``cases.sla``), so these cases do
    not run on the complaint clocks (10 minutes…) and breach. A manager's later change,
    deactivation or deletion of them stays (0004 gives them to an existing "retention")."""
    from cxloop.cases.config_rules import create_sla_rule
    from cxloop.cases.models import Category, SlaRule
    from cxloop.core.calendars import default_calendar

    with transaction.atomic():
        parent, created = Category.objects.get_or_create(
            code="retention", defaults={"name": CATEGORIES["retention"]}
        )
        rules = (("客户保留：首次响应 1 个工作日", SlaRule.Target.FIRST_RESPONSE, 1),
                 ("客户保留：解决 5 个工作日", SlaRule.Target.RESOLUTION, 5))  # fmt: skip
        if created:
            for name, target, days in rules:
                create_sla_rule(actor=None, name=name, target=target, working_days=days,
                                category=parent, calendar=default_calendar())  # fmt: skip
    code = CATEGORY_OF[kind]
    category, _created = Category.objects.get_or_create(
        code=code, defaults={"name": CATEGORIES[code], "parent": parent}
    )
    return category


# --- console writes ----------------------------------------------------------------------------


def create_play(*, actor, **fields) -> RetentionPlay:
    require(actor, ADD_PERM)
    with transaction.atomic():
        play = RetentionPlay.objects.create(**fields)
        record_audit(actor=actor, action="retention.play.create", target=play,
                     after=snapshot(play, AUDITED))  # fmt: skip
    return play


def update_play(*, play: RetentionPlay, actor, **fields) -> RetentionPlay:
    require(actor, CHANGE_PERM)
    before = snapshot(play, AUDITED)
    for name, value in fields.items():
        setattr(play, name, value)
    with transaction.atomic():
        play.save()
        after = snapshot(play, AUDITED)
        changed = {k: v for k, v in after.items() if before.get(k) != v}
        if changed:
            record_audit(actor=actor, action="retention.play.update", target=play,
                         before={k: before.get(k) for k in changed}, after=changed)  # fmt: skip
    return play


# --- running -----------------------------------------------------------------------------------


@dataclass
class RunReport:
    plays: int = 0
    selected: int = 0
    treatment: int = 0
    holdout: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    cases: int = 0
    messages: int = 0
    gifts: int = 0

    def as_dict(self) -> dict:
        return {
            "plays": self.plays, "selected": self.selected, "treatment": self.treatment,
            "holdout": self.holdout, "skipped": dict(self.skipped), "cases": self.cases,
            "messages": self.messages, "gifts": self.gifts,
        }  # fmt: skip


def holdout_group(play_id: int, customer_id: int, percent: int) -> str:
    """ "holdout" for about ``percent`` % of customers, fixed by the ids (a rerun agrees)."""
    digest = hashlib.sha256(f"retention-play:{play_id}:{customer_id}".encode()).digest()
    return G.HOLDOUT if int.from_bytes(digest[:8], "big") % 100 < percent else G.TREATMENT


def eligible_scores(play: RetentionPlay, *, now: dt.datetime, customer_ids=None):
    """The score rows the play may reach now: matching a condition (or picked by hand in
    ``customer_ids``), not yet reached by this play within its frequency cap."""
    since = now - dt.timedelta(days=play.cap_days)
    if customer_ids is not None:
        rows = CustomerScore.objects.filter(customer_id__in=list(customer_ids))
    else:
        condition = Q()
        if play.tier:
            condition |= Q(tier=play.tier)
        if play.stage:
            condition |= Q(stage=play.stage)
        if play.min_churn_risk is not None:
            condition |= Q(churn_risk__gte=play.min_churn_risk)
        if not condition:
            return CustomerScore.objects.none()
        rows = CustomerScore.objects.filter(condition)
    reached = PlayAssignment.objects.filter(play=play, assigned_at__gt=since)
    contacted = PlayAssignment.objects.filter(
        customer_id=OuterRef("customer_id"), group=G.TREATMENT, skipped_reason="",
        assigned_at__gt=since,
    ).exclude(play=play)  # fmt: skip
    return (
        rows.exclude(customer_id__in=reached.values("customer_id"))
        .annotate(contacted=Exists(contacted))
        .select_related("customer")
        .order_by("customer_id")
    )


def run_plays(
    *, now: dt.datetime | None = None, play: RetentionPlay | None = None, actor=None,
    customer_ids=None,
) -> RunReport:  # fmt: skip
    """Run one play or every active one; safe to rerun (see the module text)."""
    if actor is not None:
        require(actor, RUN_PERM)
    now = now or timezone.now()
    plays = [play] if play is not None else list(RetentionPlay.objects.filter(is_active=True))
    report = RunReport()
    for item in plays:
        _run_one(item, now=now, actor=actor, customer_ids=customer_ids, report=report)
        report.plays += 1
    if report.selected:
        record_audit(actor=actor, action="retention.plays.run", object_type="retention.run",
                     object_id=now.isoformat(), after=report.as_dict())  # fmt: skip
    logger.info("Retention plays run: %s", report.as_dict())
    return report


def _run_one(play, *, now, actor, customer_ids, report: RunReport) -> None:
    category = _category(play.kind) if play.kind in STAFF_KINDS else None
    scores = eligible_scores(play, now=now, customer_ids=customer_ids)
    for score in scores.iterator(chunk_size=500):
        assignment = _assign(play, score, now=now, actor=actor, category=category)
        if assignment is None:
            continue  # another worker got there first
        report.selected += 1
        if assignment.skipped_reason:
            key = assignment.skipped_reason
            report.skipped[key] = report.skipped.get(key, 0) + 1
        elif assignment.group == G.HOLDOUT:
            report.holdout += 1
        else:
            report.treatment += 1
            report.cases += assignment.case_id is not None
            report.messages += assignment.message_id is not None
            report.gifts += assignment.gift_entry_id is not None


def _address(play: RetentionPlay, customer) -> str:
    if play.channel == PlayChannel.EMAIL:
        return customer.email
    if play.channel == PlayChannel.SMS:
        return customer.phone
    return ""


def _skip_reason(play: RetentionPlay, score) -> str:
    if score.contacted:
        return S.CAPPED
    if play.kind in STAFF_KINDS:
        return ""  # the staff task goes ahead; only its message needs consent
    if not score.customer.consent_marketing:
        return S.NO_CONSENT
    if not play.channel or not _address(play, score.customer):
        return S.NO_ADDRESS
    return ""


def _assign(play, score, *, now, actor, category) -> PlayAssignment | None:
    bucket = day_number(now) // play.cap_days
    assignment = PlayAssignment(
        play=play, customer=score.customer, assigned_at=now, churn_risk=score.churn_risk,
        group=holdout_group(play.pk, score.customer_id, play.holdout_percent),
        skipped_reason=_skip_reason(play, score),
        window_ends_at=now + dt.timedelta(days=play.measure_days),
        dedupe_key=f"{play.pk}:{score.customer_id}:{bucket}",
    )  # fmt: skip
    with transaction.atomic():
        try:
            with transaction.atomic():
                assignment.save()
        except IntegrityError:
            return None
        if assignment.group == G.TREATMENT and not assignment.skipped_reason:
            _treat(play, assignment, score, now=now, actor=actor, category=category)
    return assignment


def _treat(play, assignment, score, *, now, actor, category) -> None:
    if play.kind in STAFF_KINDS:
        _staff_work(play, assignment, score, now=now, actor=actor, category=category)
    if play.channel and score.customer.consent_marketing and _address(play, score.customer):
        assignment.message = _send(play, assignment, score.customer)
    if play.gift_points:
        assignment.gift_entry_id = _gift(play, assignment, score.customer, now=now)
    assignment.save(update_fields=["case", "task", "due_at", "message", "gift_entry_id"])


def _render(text: str, customer) -> str:
    # Plain replace, not str.format: a stray brace in a manager's text must not break a run.
    return text.replace("{name}", customer.name or _("customer"))


def _send(play, assignment, customer):
    channel = "email" if play.channel == PlayChannel.EMAIL else "webhook"
    body = _render(play.message, customer)
    payload = {"event": "retention.play", "play": play.pk, "assignment": assignment.pk,
               "customer": customer.external_id, "kind": play.kind}  # fmt: skip
    if play.channel == PlayChannel.SMS:
        payload["sms"] = {"phone": customer.phone, "text": body}
    subject = _render(play.subject, customer)
    return enqueue_message(
        channel=channel, recipient=_address(play, customer), subject=subject, body=body,
        payload=payload, dedupe_key=f"retention:play:{assignment.pk}:message",
    )  # fmt: skip


def _gift(play, assignment, customer, *, now) -> int | None:
    try:  # the loyalty ledger is optional: without it a play simply gives no points
        from cxloop.loyalty.services import earn_points
    except ImportError:
        return None
    entry = earn_points(
        customer=customer, points=play.gift_points, idempotency_key=f"play:{assignment.pk}:gift",
        reason=_("Retention play: %(play)s") % {"play": play.name}, source="retention_play",
        now=now,
    )  # fmt: skip
    return entry.pk


def _case_text(play, score) -> tuple[str, str]:
    from cxloop.retention.reasons import render_reasons

    customer = score.customer
    if play.kind == PlayKind.WINBACK_TASK:
        subject = _("Win-back call: %(name)s") % {"name": customer.name or customer.external_id}
    else:
        subject = _("Account manager: %(name)s") % {"name": customer.name or customer.external_id}
    lines = [_("Retention play: %(play)s") % {"play": play.name}]
    if score.churn_risk is not None:
        lines.append(_("Churn risk: %(risk)s %%") % {"risk": round(100 * score.churn_risk)})
    lines += [f"- {text}" for text in render_reasons(score.churn_reasons)]
    if play.kind == PlayKind.WINBACK_TASK:
        lines.append(_("Call the customer one to one and offer the return gift."))
    return subject, "\n".join(lines)


def _staff_work(play, assignment, score, *, now, actor, category) -> None:
    from cxloop.cases import routing
    from cxloop.cases.compensation import ensure_task
    from cxloop.cases.models import CaseTask, Channel
    from cxloop.cases.services import create_case

    subject, description = _case_text(play, score)
    case = create_case(
        channel=Channel.STAFF, subject=subject, description=description,
        customer=score.customer, category=category, now=now,
        auto_assign=play.assignee_id is None,
    )  # fmt: skip
    if play.assignee_id is not None:
        routing.set_assignment(case=case, owner=play.assignee, department=None, actor=actor,
                               now=now, reason=_("Retention play"))  # fmt: skip
    due = now + dt.timedelta(days=play.task_due_days)
    task, _created = ensure_task(
        case=case, kind=CaseTask.Kind.CALLBACK, due_at=due, assignee=case.owner, actor=actor,
        now=now,
    )  # fmt: skip
    assignment.case, assignment.task, assignment.due_at = case, task, due


def winback_play() -> RetentionPlay | None:
    """The play the churn-risk list's "start win-back" runs: the first active win-back play."""
    return RetentionPlay.objects.filter(is_active=True, kind=PlayKind.WINBACK_TASK).first()


# --- effect ------------------------------------------------------------------------------------


def measure_outcomes(*, now: dt.datetime | None = None) -> int:
    """Set ``ordered_again_at`` (first counted order after the assignment, within its window)
    for the assignments still without one; one UPDATE with a subquery. Returns rows updated."""
    from django.db.models import Subquery

    from cxloop.customers.models import Order
    from cxloop.retention.churn import COUNTED_STATUSES

    now = now or timezone.now()
    first = (
        Order.objects.filter(
            customer_id=OuterRef("customer_id"),
            status__in=COUNTED_STATUSES,
            placed_at__gt=OuterRef("assigned_at"),
            placed_at__lte=OuterRef("window_ends_at"),
        )  # fmt: skip
        .order_by("placed_at")
        .values("placed_at")[:1]
    )
    pending = PlayAssignment.objects.filter(
        ordered_again_at=None, skipped_reason="", assigned_at__lte=now
    )
    return pending.filter(Exists(first)).update(ordered_again_at=Subquery(first))


@dataclass(frozen=True)
class PlayEffect:
    """Win-back rate of treatment vs holdout over the assignments whose window has ended."""

    play: RetentionPlay
    treatment_n: int
    treatment_won: int
    holdout_n: int
    holdout_won: int
    pending: int
    skipped: int
    result: object  # cxloop.insights.uplift.TwoProportions
    verdict: str
    verdict_text: str


def play_effect(play: RetentionPlay, *, now: dt.datetime | None = None) -> PlayEffect:
    from django.db.models import Count

    from cxloop.insights import uplift

    now = now or timezone.now()
    rows = PlayAssignment.objects.filter(play=play)
    counts = {
        row["group"]: row
        for row in rows.filter(skipped_reason="", window_ends_at__lte=now)
        .values("group")
        .annotate(n=Count("id"), won=Count("id", filter=Q(ordered_again_at__isnull=False)))
    }
    treat, hold = counts.get(G.TREATMENT, {}), counts.get(G.HOLDOUT, {})
    result = uplift.two_proportions(
        treat.get("won", 0), treat.get("n", 0), hold.get("won", 0), hold.get("n", 0)
    )
    code = uplift.verdict(result)
    return PlayEffect(
        play=play, treatment_n=result.n_a, treatment_won=result.successes_a,
        holdout_n=result.n_b, holdout_won=result.successes_b,
        pending=rows.filter(skipped_reason="", window_ends_at__gt=now).count(),
        skipped=rows.exclude(skipped_reason="").count(), result=result, verdict=code,
        verdict_text=verdict_text(code, result),
    )  # fmt: skip


def _points(value: float) -> str:
    return f"{100 * value:+.1f}"


def verdict_text(code: str, result) -> str:
    """The effect in plain words; refuses to call it while the groups are small."""
    from cxloop.insights.uplift import MIN_EVENTS, MIN_GROUP

    if code == "too_small":
        return _(
            "Too early to tell: each group needs at least %(group)s customers whose window has "
            "ended, with at least %(events)s who ordered again and %(events)s who did not."
        ) % {"group": MIN_GROUP, "events": MIN_EVENTS}
    values = {
        "treatment": f"{100 * result.rate_a:.1f} %", "holdout": f"{100 * result.rate_b:.1f} %",
        "difference": _points(result.difference), "low": _points(result.low),
        "high": _points(result.high),
    }  # fmt: skip
    if code == "better":
        text = _(
            "The play works: %(treatment)s of the treated customers ordered again against "
            "%(holdout)s of the holdout, %(difference)s points (95 %% interval %(low)s to "
            "%(high)s)."
        )
    elif code == "worse":
        text = _(
            "The treated customers ordered again less often than the holdout: %(treatment)s "
            "against %(holdout)s, %(difference)s points (95 %% interval %(low)s to %(high)s)."
        )
    else:
        text = _(
            "No clear difference: %(treatment)s of the treated customers ordered again against "
            "%(holdout)s of the holdout; the 95 %% interval of the difference, %(low)s to "
            "%(high)s points, includes zero."
        )
    return text % values
