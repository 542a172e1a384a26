"""Mystery-shopper audits: checklist templates with weighted items, and recording an audit.

An audit's score is the weighted share of the maximum, in %: Σ weight·score/max ÷ Σ weight.
An item scoring below ``LOW_ITEM_SHARE`` of its maximum opens an improvement action for the
store (one per item per audit, also enforced by a constraint).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit as log
from cxloop.core.audit import snapshot
from cxloop.programs.models import AuditItem, AuditScore, AuditTemplate, ImprovementAction
from cxloop.programs.models import MysteryAudit as Audit
from cxloop.programs.services import ProgramError, _text, create_action

LOW_ITEM_SHARE = 0.6  # below 60 % of the item's maximum is a weak item
ITEMS_MAX = 60
MAX_SCORE_LIMIT = 100
TEMPLATE_FIELDS = ("name", "touchpoint", "store", "is_active")


def weighted_percent(rows: Sequence[tuple[int, int, int]]) -> float:
    """(score, max_score, weight) rows → weighted score in % (0 when nothing weighs)."""
    total = sum(weight for _s, _m, weight in rows)
    if not total:
        return 0.0
    return round(100.0 * sum(w * s / m for s, m, w in rows) / total, 1)


def _clean_items(items: Sequence[Mapping]) -> list[dict]:
    cleaned, errors = [], []
    for number, item in enumerate(items, start=1):
        text = str(item.get("text", "")).strip()
        weight, max_score = item.get("weight", 1), item.get("max_score", 5)
        ok_numbers = all(
            isinstance(v, int) and not isinstance(v, bool) for v in (weight, max_score)
        )
        if not text or len(text) > 200 or not ok_numbers:
            errors.append(_("Line %(n)d: give a text of at most 200 characters.") % {"n": number})
        elif not (1 <= weight <= 100 and 1 <= max_score <= MAX_SCORE_LIMIT):
            errors.append(_("Line %(n)d: weight 1–100, max score 1–100.") % {"n": number})
        else:
            cleaned.append({"text": text, "weight": weight, "max_score": max_score})
    if not cleaned and not errors:
        errors.append(_("Give at least one checklist item."))
    if len(cleaned) > ITEMS_MAX:
        errors.append(_("At most %(n)d items.") % {"n": ITEMS_MAX})
    if len({c["text"] for c in cleaned}) != len(cleaned):
        errors.append(_("Each item may appear only once."))
    if errors:
        raise ProgramError(_("Invalid input"), {"items": errors})
    return cleaned


def save_template(
    *,
    actor,
    name: str,
    touchpoint: str,
    items: Sequence[Mapping],
    store: str = "",
    is_active: bool = True,
    template: AuditTemplate | None = None,
) -> AuditTemplate:
    """Create or update a template. Items are matched by text: kept ones are updated, new ones
    added, missing ones deactivated (old audits keep pointing at them)."""
    name = _text(name, name="name", max_length=100, required=True)
    if touchpoint not in AuditTemplate.Touchpoint.values:
        raise ProgramError(_("Invalid input"), {"touchpoint": [_("Unknown touchpoint.")]})
    cleaned = _clean_items(items)
    clash = AuditTemplate.objects.filter(name=name)
    if clash.exclude(pk=getattr(template, "pk", None)).exists():
        raise ProgramError(_("Invalid input"), {"name": [_("A template with this name exists.")]})
    store = _text(store, name="store", max_length=64, required=False)
    with transaction.atomic():
        row = template or AuditTemplate()
        before = snapshot(row, TEMPLATE_FIELDS) if template else None
        row.name, row.touchpoint, row.store, row.is_active = name, touchpoint, store, is_active
        row.save()
        _save_items(row, cleaned)
        after = {**snapshot(row, TEMPLATE_FIELDS), "items": cleaned}
        log(
            actor=actor,
            action="programs.template." + ("update" if template else "create"),
            target=row,
            before=before,
            after=after,
        )
    return row


def _save_items(template: AuditTemplate, cleaned: list[dict]) -> None:
    existing = {item.text: item for item in template.items.all()}
    for position, data in enumerate(cleaned):
        item = existing.pop(data["text"], None) or AuditItem(template=template, text=data["text"])
        item.weight, item.max_score = data["weight"], data["max_score"]
        item.position, item.is_active = position, True
        item.save()
    for item in existing.values():
        if item.is_active:
            item.is_active = False
            item.save(update_fields=["is_active"])


def _clean_scores(template: AuditTemplate, scores: Mapping[int, Mapping]) -> list[tuple]:
    """(item, score, comment) per active item; every item must be scored within its range."""
    items = list(template.items.filter(is_active=True))
    errors: dict[str, list[str]] = {}
    rows = []
    for item in items:
        given = scores.get(item.pk) or {}
        score = given.get("score")
        comment = str(given.get("comment") or "").strip()
        if (
            not isinstance(score, int)
            or isinstance(score, bool)
            or not 0 <= score <= item.max_score
        ):
            errors[f"item_{item.pk}"] = [
                _("Give a score from 0 to %(max)d.") % {"max": item.max_score}
            ]
        elif len(comment) > 500 or "\x00" in comment:
            errors[f"item_{item.pk}"] = [_("The comment is too long.")]
        else:
            rows.append((item, score, comment))
    if not items:
        errors["template"] = [_("This template has no checklist items.")]
    if errors:
        raise ProgramError(_("Please score every item."), errors)
    return rows


def record_audit(
    *,
    actor,
    template: AuditTemplate,
    store: str,
    visited_at: dt.datetime,
    scores: Mapping[int, Mapping],
    shopper_name: str = "",
    shopper_user=None,
    notes: str = "",
    now: dt.datetime | None = None,
) -> Audit:
    """Store an audit with its item scores (``{item_id: {"score": int, "comment": str}}``),
    its weighted score, and an improvement action for each weak item."""
    store = _text(store, name="store", max_length=64, required=True)
    shopper_name = _text(shopper_name, name="shopper_name", max_length=100, required=False)
    notes = _text(notes, name="notes", max_length=2000, required=False)
    if visited_at > (now or timezone.now()) + dt.timedelta(minutes=5):
        raise ProgramError(_("Invalid input"), {"visited_at": [_("The visit cannot be later.")]})
    rows = _clean_scores(template, scores)
    percent = weighted_percent([(s, item.max_score, item.weight) for item, s, _c in rows])
    with transaction.atomic():
        audit = Audit.objects.create(
            template=template,
            store=store,
            shopper_name=shopper_name,
            notes=notes,
            shopper_user=shopper_user,
            visited_at=visited_at,
            score_percent=percent,
        )
        saved = AuditScore.objects.bulk_create(
            [
                AuditScore(
                    audit=audit,
                    item=item,
                    score=score,
                    comment=comment,
                    max_score=item.max_score,
                    weight=item.weight,
                )
                for item, score, comment in rows
            ]
        )
        log(
            actor=actor,
            action="programs.audit.record",
            target=audit,
            after={
                "store": store,
                "template": template.pk,
                "score_percent": percent,
                "scores": {s.item_id: s.score for s in saved},
            },
        )
        for row in saved:
            if row.score < LOW_ITEM_SHARE * row.max_score:
                _weak_item_action(row, audit, actor)
    return audit


def _weak_item_action(row: AuditScore, audit: Audit, actor) -> ImprovementAction:
    with translation.override(settings.LANGUAGE_CODE):
        title = _("%(store)s: %(item)s (%(score)d/%(max)d)") % {
            "store": audit.store,
            "item": row.item.text,
            "score": row.score,
            "max": row.max_score,
        }
        day = timezone.localtime(audit.visited_at).date().isoformat()
        description = _("Mystery-shopper audit %(template)s on %(day)s.") % {
            "template": audit.template.name,
            "day": day,
        }
    if row.comment:
        description += "\n" + row.comment
    return create_action(
        actor=actor,
        title=title[:200],
        description=description,
        store=audit.store,
        source_kind=ImprovementAction.Source.AUDIT_ITEM,
        audit_score=row,
    )
