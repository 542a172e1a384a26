"""Demo cases: about 3,000 complaints over the demo year, worked the way the services work them.

Shape (so the metrics and queues have something true to show): the default departments and
taxonomy (``cases.defaults``) with a supervisor and two or three handlers per department;
logistics gets the most cases and most of the SLA breaches; from the start of the improvement
programme (the last three months) replies are faster, breaches rarer, first-contact resolution
higher, repeats and complaints fewer.

Historic cases are bulk-inserted (``demo_rows``): ``Case``, ``CaseEvent``, ``CaseTarget`` and
callback ``CaseTask`` rows as the services and the sweep leave them. Each case's whole life is
planned (created, routed, deadlines set by the real SLA rules and calendars, replies with the
progress clock re-armed, a wait on the customer that moves the deadlines, the sweep's warnings,
breaches and escalations, resolution, callback, close, reopen), then cut at "now" so recent
cases are still open with their clocks armed for the sweep. A few dozen cases of the last hours
go through ``services.create_case`` and ``lifecycle``, so their clocks are real. Deterministic
for a seed and an "as of" date; loaded once (setting ``demo.cases_loaded``).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from cxloop.cases import defaults
from cxloop.cases import demo_texts as texts
from cxloop.cases import text as case_text
from cxloop.cases.demo_rows import Clocks, Story, after, cut, insert, settle
from cxloop.cases.models import (
    AssignmentRule,
    Case,
    CaseEvent,
    CaseTask,
    Category,
    Department,
    Membership,
    SlaRule,
)
from cxloop.core.models import Setting
from cxloop.customers.models import Customer, Order

DEMO_CASES_FLAG = "demo.cases_loaded"
CASES_PER_ORDER = 0.15  # 3,000 cases for the demo's 20,000 orders
PROGRAMME_DAYS = 91  # the improvement programme: the last three months
RAMP_DAYS = 30  # … which takes a month to show fully
LIVE_CASES = 30
K, S, T = CaseEvent.Kind, Case.Status, SlaRule.Target
CHANNELS = {
    "hotline": 30, "chat": 24, "app": 16, "store": 8, "social": 6, "third_party": 6,
    "email": 3, "survey": 3, "public_platform": 2, "web_form": 2,
}  # fmt: skip
SEVERITIES = {"general": 74, "important": 21, "urgent": 5}
LIVE_SEVERITIES = {"general": 60, "important": 25, "urgent": 15}  # urgent: 7×24 countdowns


@dataclass(frozen=True)
class Profile:
    """How a department works: shares of breached clocks, one-reply resolutions, reopens and
    repeats."""

    response_breach: float
    resolution_breach: float
    one_reply: float
    reopen: float
    repeat: float


BEFORE = {True: Profile(0.32, 0.40, 0.50, 0.09, 0.18), False: Profile(0.09, 0.11, 0.70, 0.06, 0.14)}
AFTER = {True: Profile(0.09, 0.12, 0.83, 0.03, 0.07), False: Profile(0.03, 0.04, 0.90, 0.02, 0.06)}


def profile_for(*, logistics: bool, days_into_programme: float) -> Profile:
    """Before the programme, after it, and a straight ramp in its first month."""
    share = min(1.0, max(0.0, days_into_programme / RAMP_DAYS))
    pairs = zip(vars(BEFORE[logistics]).values(), vars(AFTER[logistics]).values(), strict=True)
    return Profile(*(before + (after - before) * share for before, after in pairs))


# --- the service organisation ----------------------------------------------------------------


@dataclass
class World:
    departments: dict[str, Department]
    staff: dict[str, list]  # department code → handlers (not the supervisor)
    supervisors: dict[str, object]
    categories: dict[str, Category]
    rules: dict[str, int]  # category code → assignment rule id
    customers: list[tuple]  # (id, region, store, VIP?)
    clocks: Clocks


def _setup() -> World:
    defaults.ensure_defaults()
    departments, staff, supervisors = {}, {}, {}
    for code, (name, role, people) in texts.DEPARTMENTS.items():
        department, _new = Department.objects.get_or_create(code=code, defaults={"name": name})
        group, staff[code] = Group.objects.get(name=role), []
        for username, full_name, is_supervisor in people:
            user = _staff_user(username, full_name, group)
            role_in = Membership.Role.SUPERVISOR if is_supervisor else Membership.Role.MEMBER
            Membership.objects.get_or_create(
                department=department, user=user, defaults={"role": role_in}
            )
            (supervisors.__setitem__(code, user) if is_supervisor else staff[code].append(user))
        department.head = supervisors[code]
        department.save(update_fields=["head"])
        departments[code] = department
    categories, rules = {}, {}
    for code, (name, parent, department_code, *_rest) in texts.CATEGORIES.items():
        department = departments[department_code]
        categories[code], _new = Category.objects.get_or_create(
            code=code,
            defaults={"name": name, "parent": categories.get(parent),
                      "default_department": department},
        )  # fmt: skip
        rule, _new = AssignmentRule.objects.get_or_create(
            name=f"{name} → {department.name}",
            defaults={"category": categories[code], "department": department},
        )
        rules[code] = rule.pk
    return World(departments, staff, supervisors, categories, rules, _customers(), Clocks())


def _staff_user(username: str, full_name: str, group: Group):
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={"first_name": full_name, "email": f"{username}@demo.cxloop.example"},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(group)
    return user


def _customers() -> list[tuple]:
    """Demo customers (id, region, store, VIP?): VIP = spend of ¥5,000 or more."""
    spend = Order.objects.values("customer_id").annotate(total=Sum("amount_fen"))
    vips = {row["customer_id"] for row in spend.filter(total__gte=500_000)}
    rows = Customer.objects.order_by("id").values_list("id", "region", "store")
    return [(pk, region, store, pk in vips) for pk, region, store in rows]


def _ratio(rng: random.Random, breach: float, fast: bool) -> float:
    """Share of the target a clock uses: over 1 when it breaches."""
    if rng.random() < breach:
        return rng.uniform(1.1, 3.5) if rng.random() < 0.9 else rng.uniform(4, 12)
    return rng.uniform(0.1, 0.6) if fast else rng.uniform(0.2, 0.97)


# --- planning a case -------------------------------------------------------------------------


def _weighted(rng: random.Random, weights: dict) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _category(rng: random.Random) -> str:
    return rng.choices(list(texts.CATEGORIES), [c[3] for c in texts.CATEGORIES.values()])[0]


def _repeat_of(rng: random.Random, history: list, created: dt.datetime) -> tuple | None:
    """An earlier case of a known customer opened within 30 days (same customer and category)."""
    since, found = created - dt.timedelta(days=30), []
    for entry in reversed(history[-400:]):
        if entry[0] < since:
            break
        if entry[3] is not None:
            found.append(entry)
    return rng.choice(found) if found else None


def _fill(rng: random.Random, store: str) -> dict:
    return {
        "order": f"O{rng.randrange(1, 20_000):07d}", "days": rng.randint(2, 9),
        "city": rng.choice(texts.CITIES), "day": rng.choice(texts.DAYS),
        "item": rng.choice(texts.ITEMS), "store": store or "门店",
        "amount": rng.choice([20, 35, 50, 80, 120, 200]),
    }  # fmt: skip


def _new_case(rng, world: World, case_id: int, created, history, repeats: float) -> Case:
    repeat = _repeat_of(rng, history, created) if rng.random() < repeats else None
    if repeat is not None:
        code, customer = repeat[4], (repeat[3], repeat[5], repeat[6], repeat[7])
    else:
        code = _category(rng)
        customer = rng.choice(world.customers) if rng.random() < 0.9 else None
    _name, _parent, department_code, _weight, subjects, details, _done = texts.CATEGORIES[code]
    channel, severity = _weighted(rng, CHANNELS), _weighted(rng, SEVERITIES)
    media_risk = rng.random() < (0.03 if channel in ("social", "public_platform") else 0.002)
    amount = _amount(rng, code)
    major = media_risk or amount >= 1_000_000
    staff = world.staff[department_code]
    lead = major or rng.random() < 0.12  # the supervisor takes majors and some others
    fill = _fill(rng, customer[2] if customer else "")
    return Case(
        id=case_id, number=f"C{timezone.localtime(created):%Y%m%d}{case_id:06d}",
        channel=channel, customer_id=customer[0] if customer else None,
        contact_name="" if customer else rng.choice("王李张刘陈杨") + rng.choice(["女士", "先生"]),
        contact_phone="" if customer else f"13{rng.randrange(10**9):09d}",
        category=world.categories[code], severity="urgent" if major else severity,
        tier="vip" if customer and customer[3] else "ordinary", amount_fen=amount,
        media_risk=media_risk, is_major=major, subject=rng.choice(subjects),
        description=rng.choice(details).format(**fill), region=customer[1] if customer else "",
        store=customer[2] if customer else "", order_ref=fill["order"] if customer else "",
        department=world.departments[department_code], created_at=created,
        owner=world.supervisors[department_code] if lead else rng.choice(staff),
        public_nonce=f"{rng.getrandbits(64):016x}", repeat_of_id=repeat[1] if repeat else None,
    )  # fmt: skip


def _amount(rng: random.Random, code: str) -> int:
    if rng.random() < 0.003:
        return rng.randint(10_000, 60_000) * 100  # a major complaint by amount
    if code in ("product", "product-expiry", "logistics-damage", "after-sales", "price"):
        return int(rng.lognormvariate(5.5, 0.8)) * 100
    return 0


def _opening(story: Story, world: World, repeat_number: str | None) -> None:
    """Created, routed, deadlines set; the repeat link and the emergency procedure."""
    case, created = story.case, story.case.created_at
    story.event(K.CREATED, created, public=True, to_status=S.NEW,
                data={"channel": case.channel, "severity": case.severity})  # fmt: skip
    story.move(S.ASSIGNED, created, kind=K.ASSIGNED, data={
        "before": {"owner": None, "department": None},
        "after": {"owner": case.owner.pk, "department": case.department_id},
        "reason": f"rule:{world.rules[case.category.code]}"})  # fmt: skip
    kinds = (T.FIRST_RESPONSE, T.RESOLUTION, T.PROGRESS_UPDATE, T.MANAGEMENT_NOTICE)
    story.clocks_set(created, [story.clocks.start(story, k, 1, created) for k in kinds], "started")
    if case.repeat_of_id:
        story.event(K.REPEAT, created, data={"of": case.repeat_of_id, "number": repeat_number})
    if case.is_major:
        story.event(
            K.MAJOR,
            created,
            public=False,
            data={"amount_fen": case.amount_fen, "media_risk": case.media_risk},
        )
        story.meet(T.MANAGEMENT_NOTICE, created + dt.timedelta(minutes=25), case.owner)


@dataclass(frozen=True)
class Cycle:
    """One resolution cycle in working seconds from its start (in the story's calendar)."""

    start: dt.datetime
    first_reply: float
    resolved: float
    pause_at: float | None
    pause: float
    replies: int


def _plan(rng, story: Story, start, profile: Profile, *, first: bool, fast: bool, stuck=False):
    case = story.case
    rule = story.clocks.rule(case, T.RESOLUTION)
    target = 60 * (rule.minutes or 8 * 60 * (rule.working_days or 1)) if rule else 86_400
    if first:
        response = story.clocks.rule(case, T.FIRST_RESPONSE)
        allowed = 60 * (response.minutes or 30) if response else 1800
        first_reply = allowed * _ratio(rng, profile.response_breach, fast)
    else:
        first_reply = target * rng.uniform(0.02, 0.2)
    share = rng.uniform(15, 40) if stuck else _ratio(rng, profile.resolution_breach, fast)
    resolved = max(first_reply + 900, target * share)
    replies = (1 if rng.random() < profile.one_reply else rng.randint(2, 4)) if first else 1
    pause_at = rng.uniform(first_reply + 60, resolved - 60) if rng.random() < 0.12 else None
    pause = rng.uniform(1, 16) * 3600 if pause_at is not None else 0.0
    return Cycle(start, first_reply, resolved, pause_at, pause, replies)


def _work(rng, story: Story, cycle: Cycle, actor, resolutions: list[str]) -> dt.datetime:
    """Replies (the first meets the first response, each re-arms the progress clock), a wait
    on the customer, the resolution; returns when it was resolved."""
    cal = story.cal
    resume = None
    if cycle.pause_at is not None:
        begin = after(cal, cycle.start, cycle.pause_at)
        resume = after(cal, begin, cycle.pause)

    def at(offset: float) -> dt.datetime:
        if resume is None or offset <= cycle.pause_at:
            return after(cal, cycle.start, offset)
        return after(cal, resume, offset - cycle.pause_at)

    offsets = [rng.uniform(cycle.first_reply, cycle.resolved) for _ in range(cycle.replies - 1)]
    moments = [(o, "reply") for o in [cycle.first_reply, *offsets]]
    moments += [(cycle.pause_at, "wait")] if resume is not None else []
    for offset, what in sorted(moments):
        if what == "wait":
            story.pause(at(offset), resume, actor, rng.choice(texts.WAIT_REASONS))
            continue
        first = story.case.first_response_at is None
        story.case.first_response_at = story.case.first_response_at or at(offset)
        to = S.RESPONDED if story.status in (S.NEW, S.ASSIGNED) else story.status
        body = rng.choice(texts.REPLIES if first else texts.FOLLOW_UPS)
        story.move(to, at(offset), kind=K.RESPONSE, actor=actor, body=body,
                   data={"solution": None})  # fmt: skip
        if first:
            story.meet(T.FIRST_RESPONSE, at(offset), actor)
        story.meet(T.PROGRESS_UPDATE, at(offset), actor, rearm=True)
    resolved = at(cycle.resolved)
    story.move(S.RESOLVED, resolved, actor=actor, body=rng.choice(resolutions))
    story.meet(T.RESOLUTION, resolved, actor)
    story.meet(T.PROGRESS_UPDATE, resolved, actor)
    return resolved


def _callback(rng, story: Story, resolved, cycle: int, actor, *, satisfied: bool) -> dt.datetime:
    """The callback clock and task start at the resolution; the call comes within hours."""
    target = story.clocks.start(story, T.CALLBACK, cycle, resolved)
    story.clocks_set(resolved, [target], "resolved")
    done = after(story.cal, resolved, rng.uniform(1, 20) * 3600)
    due = target.due_at if target else resolved + dt.timedelta(days=3)
    story.tasks.append(
        CaseTask(case_id=story.case.pk, kind=CaseTask.Kind.CALLBACK, assignee=actor, due_at=due,
                 done_at=done, outcome="满意" if satisfied else "问题未解决", cycle=cycle,
                 created_at=resolved)
    )  # fmt: skip
    story.event(K.CALLBACK, done, actor=actor, data={"satisfied": satisfied})
    story.meet(T.CALLBACK, done, actor)
    return done


def _life(rng, story: Story, profile: Profile, fast: bool, stuck: bool) -> None:
    """Cycle one, the callback, close; a reopen (at the callback or weeks later) and cycle two.
    A stuck case takes weeks: the backlog's old end."""
    owner, resolutions = story.case.owner, texts.CATEGORIES[story.case.category.code][6]
    reopen = rng.random() < profile.reopen
    early = reopen and rng.random() < 0.75  # not solved at the callback: within 7 days
    start, cycle = story.case.created_at, 1
    while True:
        plan = _plan(rng, story, start, profile, first=cycle == 1, fast=fast, stuck=stuck)
        resolved = _work(rng, story, plan, owner, resolutions)
        again = cycle == 1 and reopen
        done = _callback(rng, story, resolved, cycle, owner, satisfied=not (again and early))
        if not (again and early):
            story.move(S.CALLBACK_DONE, done, actor=owner)
            done += dt.timedelta(minutes=rng.randint(5, 90))
            story.move(S.CLOSED, done, actor=owner)
            if not again:
                return
            done += dt.timedelta(days=rng.uniform(8, 25))
        start, cycle = done, cycle + 1
        story.move(S.ASSIGNED, start, kind=K.REOPENED, body=rng.choice(texts.REOPEN_REASONS),
                   data={"cycle": cycle})  # fmt: skip
        made = [
            story.clocks.start(story, k, cycle, start) for k in (T.RESOLUTION, T.PROGRESS_UPDATE)
        ]
        story.clocks_set(start, made, "reopened")


# --- loading ---------------------------------------------------------------------------------


def _creation_times(rng: random.Random, now: dt.datetime, count: int) -> list[dt.datetime]:
    """A year of cases, fewer once the programme works, a peak after Double Eleven."""
    today = timezone.localdate(now)
    days = [today - dt.timedelta(days=n) for n in range(365)]
    weights = [
        (0.72 if (today - day).days < PROGRAMME_DAYS else 1.0)
        * (2.0 if day.month == 11 and 11 <= day.day <= 20 else 1.0)
        for day in days
    ]
    hours = [8, 9, 10, 10, 11, 11, 13, 14, 14, 15, 15, 16, 17, 19, 20, 20, 21]
    found = []
    for day in rng.choices(days, weights=weights, k=count):
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(rng.choice(hours))))
        moment += dt.timedelta(seconds=rng.randrange(3600))
        found.append(min(moment, now - dt.timedelta(hours=3, seconds=rng.randrange(86_400))))
    return sorted(found)


def _historic(rng, world: World, now: dt.datetime, count: int) -> list[Story]:
    first_id = (Case.objects.aggregate(top=Max("id"))["top"] or 0) + 1
    programme = now - dt.timedelta(days=PROGRAMME_DAYS)
    stories, history, numbers = [], [], {}
    for index, created in enumerate(_creation_times(rng, now, count)):
        days_in = (created - programme).total_seconds() / 86_400
        repeats = profile_for(logistics=False, days_into_programme=days_in).repeat
        case = _new_case(rng, world, first_id + index, created, history, repeats)
        logistics = case.department.code == texts.LOGISTICS
        profile = profile_for(logistics=logistics, days_into_programme=days_in)
        resolution_rule = world.clocks.rule(case, T.RESOLUTION)
        story = Story(case, world.clocks.calendars.get(case, resolution_rule), world.clocks)
        _opening(story, world, numbers.get(case.repeat_of_id))
        age = (now - created).days
        stuck = 8 <= age <= 40 and rng.random() < (0.10 if logistics else 0.03)
        _life(rng, story, profile, fast=days_in > RAMP_DAYS / 2, stuck=stuck)
        cut(story, now)
        settle(story)
        numbers[case.pk] = case.number
        history.append((created, case.pk, case.number, case.customer_id, case.category.code,
                        case.region, case.store, case.tier == "vip"))  # fmt: skip
        stories.append(story)
    return stories


def _live(rng, world: World, now: dt.datetime, count: int) -> None:
    """Cases of the last hours through the real services: live clocks, queues, countdowns."""
    from cxloop.cases import lifecycle, services

    picked = Customer.objects.in_bulk([c[0] for c in rng.sample(world.customers, count)])
    fresh = count * 2 // 3  # most within the last 45 minutes: first replies still due
    ages = rng.sample(range(1, 45), fresh) + rng.sample(range(45, 240), count - fresh)
    ages.sort(reverse=True)
    for minutes, customer in zip(ages, picked.values(), strict=False):
        code = _category(rng)
        _name, _parent, _department, _weight, subjects, details, _done = texts.CATEGORIES[code]
        created = now - dt.timedelta(minutes=minutes)
        case = services.create_case(
            channel=_weighted(rng, CHANNELS), subject=rng.choice(subjects),
            description=rng.choice(details).format(**_fill(rng, customer.store)),
            customer=customer, category=world.categories[code],
            severity=_weighted(rng, LIVE_SEVERITIES), now=created,
        )  # fmt: skip
        if case.owner_id and minutes > 20 and rng.random() < 0.5:
            replied = created + dt.timedelta(minutes=rng.randint(3, 15))
            lifecycle.reply(
                case=case, actor=case.owner, body=rng.choice(texts.REPLIES), now=replied
            )
            if rng.random() < 0.2:
                lifecycle.wait_on_customer(case=case, actor=case.owner, now=replied,
                                           body=rng.choice(texts.WAIT_REASONS))  # fmt: skip


def _now_for(as_of: dt.date) -> dt.datetime:
    """The demo's "now": the real one on the day, else that day's afternoon."""
    if as_of == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(dt.datetime.combine(as_of, dt.time(16)))


def load_demo_cases(*, seed: int, as_of: dt.date, now: dt.datetime | None = None) -> str:
    """Staff, routing and about 3,000 cases, once; later calls change nothing."""
    if Setting.objects.filter(key=DEMO_CASES_FLAG).exists():
        return "Demo cases already loaded."
    orders = Order.objects.count()
    if not orders or not Customer.objects.exists():
        return "No demo customers: load the demo data first."
    total = max(LIVE_CASES * 2, round(orders * CASES_PER_ORDER))
    now = now or _now_for(as_of)
    rng = random.Random(seed)
    with transaction.atomic():
        world = _setup()
        insert(_historic(rng, world, now, total - LIVE_CASES))
        _live(rng, world, now, LIVE_CASES)
        Setting.objects.create(key=DEMO_CASES_FLAG, value={"seed": seed, "as_of": str(as_of)})
    case_text.analyse_pending(limit=10**9)  # sentiment and aspects, as the worker would
    still_open = Case.objects.filter(status__in=Case.OPEN_STATUSES).count()
    return (
        f"Loaded demo cases: {total:,} cases ({still_open:,} open) in "
        f"{len(world.departments)} departments."
    )
