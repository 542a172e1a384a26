"""The suggestion scheme 服务金点子 and the improvement list: every write of an idea or an
action goes through here (console, public form, API, demo), with an ``IdeaEvent`` and an audit
row per state change.

An idea moves submitted → shortlisted → chosen (the week's best, one per ISO week, enforced by
the unique ``Idea.week``) → adopted (an ``ImprovementAction``); submitted or shortlisted ideas
may be rejected. Choosing rewards a customer author with points (``idea:<id>:reward``, at most
once); a staff author gets a recognition audit note instead.
"""

from __future__ import annotations

import datetime as dt

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cxloop.core.audit import record_audit, snapshot
from cxloop.core.settings_registry import IDEA_REWARD_POINTS, get_setting
from cxloop.insights import text as text_analytics
from cxloop.programs.models import Idea, IdeaEvent, ImprovementAction

S = Idea.Status
TITLE_MAX, BODY_MAX, STORE_MAX, REF_MAX = 200, 2000, 64, 100
ACTION_FIELDS = ("title", "description", "owner", "store", "due_date", "status")
IDEA_FIELDS = ("status", "week", "reward_entry")


class ProgramError(Exception):
    """A refused write; ``field_errors`` maps a field to its messages (may be empty)."""

    def __init__(self, message, field_errors: dict | None = None) -> None:
        self.message = str(message)
        self.field_errors = {k: [str(m) for m in v] for k, v in (field_errors or {}).items()}
        super().__init__(self.message)


def iso_week(moment: dt.datetime) -> str:
    """``2026-W49`` of the moment in Asia/Shanghai."""
    year, week, _day = timezone.localtime(moment).isocalendar()
    return f"{year}-W{week:02d}"


def _text(value, *, name: str, max_length: int, required: bool, min_length: int = 0) -> str:
    text = (value or "").strip()
    if "\x00" in text:
        raise ProgramError(_("Invalid input"), {name: [_("Contains a NUL character.")]})
    if required and len(text) < max(min_length, 1):
        message = (
            _("At least %(n)d characters.") % {"n": min_length}
            if min_length
            else _("This field is required.")
        )
        raise ProgramError(_("Invalid input"), {name: [message]})
    if len(text) > max_length:
        message = _("At most %(n)d characters.") % {"n": max_length}
        raise ProgramError(_("Invalid input"), {name: [message]})
    return text


def analyse(title: str, body: str) -> tuple[float, list[str]]:
    """Sentiment (-1 … 1) and aspects of an idea; fast enough to run on submit."""
    joined = f"{title}。{body}"
    return text_analytics.sentiment([joined])[0], text_analytics.aspects([joined])[0]


def submit_idea(
    *,
    title: str,
    body: str,
    channel: str,
    customer=None,
    author_user=None,
    contact_name: str = "",
    contact_phone: str = "",
    contact_email: str = "",
    store: str = "",
    external_ref: str | None = None,
    actor=None,
    now: dt.datetime | None = None,
) -> tuple[Idea, bool]:
    """A new idea (sentiment and aspects set), or the one already sent with ``external_ref``
    (``created`` False)."""
    ref = _text(external_ref, name="external_ref", max_length=REF_MAX, required=False) or None
    if ref and (found := Idea.objects.filter(external_ref=ref).first()):
        return found, False
    if channel not in Idea.Channel.values:
        raise ProgramError(_("Invalid input"), {"channel": [_("Unknown channel.")]})
    fields = {
        "title": _text(title, name="title", max_length=TITLE_MAX, required=True, min_length=2),
        "body": _text(body, name="body", max_length=BODY_MAX, required=True, min_length=5),
        "contact_name": _text(contact_name, name="contact_name", max_length=100, required=False),
        "contact_phone": _text(contact_phone, name="contact_phone", max_length=32, required=False),
        "contact_email": _text(contact_email, name="contact_email", max_length=254, required=False),
        "store": _text(store, name="store", max_length=STORE_MAX, required=False),
    }
    sentiment, aspects = analyse(fields["title"], fields["body"])
    try:
        with transaction.atomic():
            idea = Idea.objects.create(
                **fields,
                channel=channel,
                customer=customer,
                author_user=author_user,
                sentiment=sentiment,
                aspects=aspects,
                external_ref=ref,
                created_at=now or timezone.now(),
            )
            _event(idea, "", S.SUBMITTED, actor, "", now)
            record_audit(
                actor=actor,
                action="programs.idea.submit",
                target=idea,
                after=snapshot(idea, ("title", "channel", "store", "status")),
            )
    except IntegrityError:  # the same external_ref sent twice at once
        if ref and (found := Idea.objects.filter(external_ref=ref).first()):
            return found, False
        raise
    return idea, True


def _event(idea: Idea, before: str, after: str, actor, note: str, now=None) -> None:
    IdeaEvent.objects.create(
        idea=idea,
        from_status=before,
        to_status=after,
        actor=_user(actor),
        note=note[:500],
        at=now or timezone.now(),
    )


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


MOVES = {
    S.SHORTLISTED: (S.SUBMITTED,),
    S.REJECTED: (S.SUBMITTED, S.SHORTLISTED),
    S.CHOSEN: (S.SUBMITTED, S.SHORTLISTED),
    S.ADOPTED: (S.SUBMITTED, S.SHORTLISTED, S.CHOSEN),
}
NOT_ALLOWED = gettext_lazy("An idea that is %(status)s cannot be %(target)s.")


def _locked(idea: Idea, target: str) -> Idea:
    """The idea, locked, after checking the move is allowed from its current status."""
    row = Idea.objects.select_for_update().get(pk=idea.pk)
    if row.status not in MOVES[target]:
        raise ProgramError(
            NOT_ALLOWED % {"status": row.get_status_display(), "target": S(target).label.lower()}
        )
    return row


def _move(row: Idea, target: str, *, actor, note: str, now=None, **changes) -> Idea:
    before = snapshot(row, IDEA_FIELDS)
    old = row.status
    row.status = target
    for name, value in changes.items():
        setattr(row, name, value)
    row.save()
    _event(row, old, target, actor, note, now)
    record_audit(
        actor=actor,
        action=f"programs.idea.{target}",
        target=row,
        before=before,
        after=snapshot(row, IDEA_FIELDS),
    )
    return row


def _note(note: str) -> str:
    return _text(note, name="note", max_length=500, required=False)


def shortlist_idea(*, idea: Idea, actor, note: str = "") -> Idea:
    note = _note(note)
    with transaction.atomic():
        return _move(_locked(idea, S.SHORTLISTED), S.SHORTLISTED, actor=actor, note=note)


def reject_idea(*, idea: Idea, actor, note: str = "") -> Idea:
    note = _note(note)
    with transaction.atomic():
        return _move(_locked(idea, S.REJECTED), S.REJECTED, actor=actor, note=note)


def choose_weekly_best(*, idea: Idea, actor, note: str = "", now: dt.datetime | None = None):
    """The best idea of the current ISO week; a second one the same week is refused."""
    note, now = _note(note), now or timezone.now()
    week = iso_week(now)
    taken = ProgramError(
        _("The best idea of week %(week)s has already been chosen.") % {"week": week},
        {"idea": [_("One best idea per week.")]},
    )
    if Idea.objects.filter(week=week).exclude(pk=idea.pk).exists():
        raise taken
    try:
        with transaction.atomic():
            row = _locked(idea, S.CHOSEN)
            row = _move(row, S.CHOSEN, actor=actor, note=note, now=now, week=week)
            _reward(row, actor=actor, now=now)
    except IntegrityError:  # another manager chose one for the same week at the same moment
        raise taken from None
    return row


def _reward(idea: Idea, *, actor, now: dt.datetime) -> None:
    points = int(get_setting(IDEA_REWARD_POINTS) or 0)
    if idea.customer_id and points > 0 and apps.is_installed("cxloop.loyalty"):
        from cxloop.loyalty.services import earn_points

        with translation.override(settings.LANGUAGE_CODE):
            reason = _("Best idea of the week %(week)s: %(title)s") % {
                "week": idea.week,
                "title": idea.title[:60],
            }
        # The system credits it (actor None): choosing needs programs.change_idea, not the
        # loyalty permission; who chose it is on the idea's audit row.
        entry = earn_points(
            customer=idea.customer,
            points=points,
            idempotency_key=f"idea:{idea.pk}:reward",
            reason=reason,
            source="programs.idea",
            now=now,
            details={"idea": idea.pk, "chosen_by": getattr(actor, "pk", None)},
        )
        Idea.objects.filter(pk=idea.pk).update(reward_entry=entry)
        idea.reward_entry = entry
    elif idea.author_user_id:
        record_audit(
            actor=actor,
            action="programs.idea.staff_recognised",
            target=idea,
            after={"author": idea.author_user.get_username(), "week": idea.week},
        )


def adopt_idea(
    *,
    idea: Idea,
    actor,
    owner=None,
    due_date: dt.date | None = None,
    note: str = "",
) -> ImprovementAction:
    """Adopted: the idea becomes an open improvement action (once)."""
    note = _note(note)
    with transaction.atomic():
        row = _move(_locked(idea, S.ADOPTED), S.ADOPTED, actor=actor, note=note)
        return create_action(
            actor=actor,
            title=row.title,
            description=row.body,
            store=row.store,
            owner=owner,
            due_date=due_date,
            source_kind=ImprovementAction.Source.IDEA,
            idea=row,
        )


def create_action(
    *,
    actor,
    title: str,
    description: str = "",
    store: str = "",
    owner=None,
    due_date: dt.date | None = None,
    source_kind: str = ImprovementAction.Source.MANUAL,
    idea: Idea | None = None,
    audit_score=None,
) -> ImprovementAction:
    action = ImprovementAction.objects.create(
        title=_text(title, name="title", max_length=TITLE_MAX, required=True),
        description=_text(description, name="description", max_length=BODY_MAX, required=False),
        store=_text(store, name="store", max_length=STORE_MAX, required=False),
        owner=owner,
        due_date=due_date,
        source_kind=source_kind,
        idea=idea,
        audit_score=audit_score,
    )
    record_audit(
        actor=actor,
        action="programs.action.create",
        target=action,
        after=snapshot(action, ("title", "source_kind", "store", "status")),
    )
    return action


def update_action(*, action: ImprovementAction, actor, changes: dict) -> ImprovementAction:
    """Owner, due date, status, title, description or store; an audit row when any differ."""
    unknown = set(changes) - set(ACTION_FIELDS)
    if unknown:
        raise ProgramError(_("Invalid input"), {k: [_("Unknown field.")] for k in unknown})
    if "status" in changes and changes["status"] not in ImprovementAction.Status.values:
        raise ProgramError(_("Invalid input"), {"status": [_("Unknown status.")]})
    if "title" in changes:
        changes["title"] = _text(
            changes["title"], name="title", max_length=TITLE_MAX, required=True
        )
    with transaction.atomic():
        row = ImprovementAction.objects.select_for_update().get(pk=action.pk)
        before = snapshot(row, ACTION_FIELDS)
        for name, value in changes.items():
            setattr(row, name, value)
        after = snapshot(row, ACTION_FIELDS)
        if after != before:
            row.save()
            record_audit(
                actor=actor, action="programs.action.update", target=row, before=before, after=after
            )
    return row
