"""Sentiment and aspects of what the customer wrote on a case, computed by the worker.

A case's texts are its description (the subject when there is none) and the bodies of its
``customer_message`` events. ``Case.sentiment`` is the most negative of their scores (one angry
message is what the agent must see), ``Case.aspects`` the union of the aspects they name.

A case is to be analysed while ``text_analysed_at`` is NULL (partial index
``case_text_pending``): new cases, and cases whose description changed or that got a customer
message (``on_case_event`` resets it). ``analyse_pending`` takes a batch with ``SELECT … FOR
UPDATE SKIP LOCKED`` (PostgreSQL), so two workers split the work and an edit committing during
the analysis waits for it and then marks the case again; the UPDATE is also conditional on
``text_analysed_at IS NULL``. A rerun recomputes the same values (pure function of the texts).

An open case scoring below the ``negative_text_threshold`` setting gets one ``negative_text`` event
per resolution cycle (dedupe key) and a message to its owner and the department supervisors.
"""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.cases.events import record_event
from cxloop.cases.models import Case, CaseEvent
from cxloop.core.settings_registry import NEGATIVE_TEXT_THRESHOLD, get_setting

BATCH = 200  # rows stay locked while a batch is scored: keep it short
EXCERPT = 200


def pending():
    return Case.objects.filter(text_analysed_at__isnull=True)


def analyse_pending(*, limit: int = 2000) -> int:
    """Analyse up to ``limit`` cases waiting for it; returns how many were analysed."""
    done = 0
    while done < limit:
        with transaction.atomic():
            batch = list(
                pending()
                .select_for_update(skip_locked=True, of=("self",))
                .only("id", "subject", "description", "resolution_cycle", "status")
                .order_by("id")[: min(BATCH, limit - done)]
            )
            if not batch:
                break
            analyse(batch)
        done += len(batch)
    return done


def case_texts(cases: list[Case]) -> dict[int, list[str]]:
    """Each case's texts: description (or subject) first, then the customer's messages."""
    texts = {case.pk: [(case.description or case.subject or "").strip()] for case in cases}
    messages = CaseEvent.objects.filter(
        case_id__in=list(texts), kind=CaseEvent.Kind.CUSTOMER_MESSAGE
    ).order_by("at", "id")
    for case_id, body in messages.values_list("case_id", "body"):
        texts[case_id].append((body or "").strip())
    return {pk: [text for text in found if text] for pk, found in texts.items()}


def analyse(cases: list[Case]) -> None:
    """Score ``cases`` (one sentiment and one aspects call for the batch), store, flag."""
    from cxloop.insights.text import ASPECTS, aspects, sentiment

    texts = case_texts(cases)
    flat = [(pk, text) for pk, found in texts.items() for text in found]
    scores = sentiment([text for _pk, text in flat])
    named = aspects([text for _pk, text in flat])
    worst: dict[int, tuple[float, str]] = {}
    found: dict[int, set[str]] = defaultdict(set)
    for (pk, text), score, keys in zip(flat, scores, named, strict=True):
        if pk not in worst or score < worst[pk][0]:
            worst[pk] = (score, text)
        found[pk].update(keys)
    now = timezone.now()
    for case in cases:
        score = worst.get(case.pk)
        case.sentiment = round(score[0], 4) if score else None
        case.aspects = [key for key in ASPECTS if key in found[case.pk]]
        case.text_analysed_at = now
    # Not save(): updated_at stays the time of the last change people made.
    pending().bulk_update(cases, ["sentiment", "aspects", "text_analysed_at"])
    threshold = get_setting(NEGATIVE_TEXT_THRESHOLD)
    for case in cases:
        # Closed cases need nobody's attention any more (and a backfill must not page anyone).
        if case.is_open and case.sentiment is not None and case.sentiment < threshold:
            flag_negative(case=case, score=case.sentiment, text=worst[case.pk][1], now=now)


def flag_negative(*, case: Case, score: float, text: str, now=None) -> CaseEvent | None:
    """The flag event, once per case and cycle, and the message to owner and supervisors."""
    from cxloop.cases import notify, routing

    cycle = case.resolution_cycle
    key = f"negative_text:{case.pk}:{cycle}"
    excerpt = text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
    event = record_event(
        case=case, kind=CaseEvent.Kind.NEGATIVE_TEXT, at=now, body=excerpt,
        data={"sentiment": score, "cycle": cycle}, dedupe_key=key,
    )  # fmt: skip
    if event is None:
        return None  # already flagged in this cycle
    full = Case.objects.select_related("owner", "department__head").get(pk=case.pk)
    notify.notify(
        users=[full.owner, *routing.escalation_contacts(full, 1)],
        subject=_("Negative customer text on case %(number)s") % {"number": full.number},
        body=_("The customer wrote (sentiment %(score).2f):\n%(text)s")
        % {"score": score, "text": excerpt},
        case=full, urgent=False, dedupe_key=key, now=now,
    )  # fmt: skip
    return event


# --- when to analyse -------------------------------------------------------------------------


def queue_analysis() -> None:
    """Analyse the pending cases once the current transaction commits (the worker's job)."""
    from cxloop.cases.tasks import analyse_case_texts

    transaction.on_commit(lambda: analyse_case_texts())


def on_case_created(sender, *, case: Case, **kwargs) -> None:
    queue_analysis()  # a new case is pending already (text_analysed_at is NULL)


def on_case_event(sender, *, instance: CaseEvent, created: bool, **kwargs) -> None:
    """A customer message or a changed description: the case's texts must be scored again."""
    if not created or not _changes_text(instance):
        return
    Case.objects.filter(pk=instance.case_id).update(text_analysed_at=None)
    queue_analysis()


def _changes_text(event: CaseEvent) -> bool:
    if event.kind == CaseEvent.Kind.CUSTOMER_MESSAGE:
        return True
    if event.kind != CaseEvent.Kind.UPDATED:
        return False
    after = (event.data or {}).get("after") or {}
    return "description" in after or "subject" in after
