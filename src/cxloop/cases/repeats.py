"""Repeat complaints (issue 4 §7, R3.9 repeat-complaint rate).

A new case is a repeat when an earlier case of the same customer — or, for a case without a
customer record, the same contact phone — in the same category was opened within the setting
``repeat_complaint_days`` (default 30) before it. The new case's ``repeat_of`` points to the
earliest such case, both timelines
get a REPEAT event and the case page shows the "Repeat complaint" badge. Merged cases are not
originals (they point to their survivor), and a case without a category is never a repeat.
"""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext as _

from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent
from cxloop.core.settings_registry import REPEAT_COMPLAINT_DAYS, get_setting


def on_case_created(sender, *, case: Case, actor=None, **kwargs) -> None:
    link_repeat(case=case)


def earlier_case(case: Case) -> Case | None:
    """The earliest case ``case`` repeats, or None."""
    if case.category_id is None:
        return None
    if case.customer_id is not None:
        same_person = {"customer_id": case.customer_id}
    elif case.contact_phone:
        same_person = {"customer__isnull": True, "contact_phone": case.contact_phone}
    else:
        return None
    since = case.created_at - dt.timedelta(days=get_setting(REPEAT_COMPLAINT_DAYS))
    earlier = (
        Case.objects.filter(**same_person, category_id=case.category_id)
        .filter(created_at__gte=since, created_at__lte=case.created_at)
        .exclude(pk=case.pk)
        .exclude(status=Case.Status.MERGED)
    )
    return earlier.order_by("created_at", "id").first()


def link_repeat(*, case: Case) -> Case | None:
    """Set ``repeat_of`` and write both REPEAT events (once); returns the original, if any."""
    if case.repeat_of_id is not None:
        return case.repeat_of
    original = earlier_case(case)
    if original is None:
        return None
    case.repeat_of = original
    Case.objects.filter(pk=case.pk).update(repeat_of=original)
    days = max(0, (case.created_at - original.created_at).days)
    record_event(
        case=case, kind=CaseEvent.Kind.REPEAT, at=case.created_at,
        body=_("Repeat of %(number)s (%(days)d days earlier)")
        % {"number": original.number, "days": days},
        data={"repeat_of": original.pk, "number": original.number, "days": days},
        dedupe_key=f"repeat:{case.pk}",
    )  # fmt: skip
    record_event(
        case=original, kind=CaseEvent.Kind.REPEAT, at=case.created_at,
        body=_("The customer complained again: %(number)s") % {"number": case.number},
        data={"repeat": case.pk, "number": case.number, "days": days},
        dedupe_key=f"repeated-by:{case.pk}",
    )  # fmt: skip
    return original
