"""Sentiment and aspects of survey comments, computed by the worker after the submit.

The *comment* of a response is the concatenation (one per line, in questionnaire order) of its
answers to open-text questions (type ``text``). ``analyse_pending`` fills
``comment_sentiment`` (None without a comment) and ``comment_aspects`` of submitted responses
whose ``text_analysed_at`` is NULL, a batch of texts per call of ``cxloop.insights.text``.

Two workers analysing the same rows at once is harmless: the scores are a pure function of the
answers, which do not change after the submit, so the second write stores the same values.

The sentiment bands the filters use are shared with the cases app (``band_q``).
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cxloop.surveys.models import Response, SurveyVersion

logger = logging.getLogger(__name__)
BATCH = 500
# Scores within this distance of 0 are neutral (the model rarely says exactly 0).
NEUTRAL_BAND = 0.1
SENTIMENT_BANDS = {
    "negative": _("Negative"),
    "neutral": _("Neutral"),
    "positive": _("Positive"),
}

ASPECT_LABELS = {
    "response_speed": _("Response speed"),
    "resolution": _("Resolution"),
    "attitude": _("Attitude"),
    "logistics": _("Logistics"),
    "product_quality": _("Product quality"),
    "price": _("Price"),
    "process_clarity": _("Process clarity"),
    "environment": _("Environment"),
    "personalisation": _("Personalisation"),
}


def aspect_labels() -> dict[str, str]:
    """Every aspect key of ``insights.text.ASPECTS`` with its label, in vocabulary order."""
    from cxloop.insights.text import ASPECTS

    return {key: ASPECT_LABELS.get(key, key) for key in ASPECTS}


def band_q(field: str, band: str) -> Q:
    """Rows whose ``field`` score is in ``band`` (unanalysed or text-less rows are in none)."""
    if band == "negative":
        return Q(**{f"{field}__lt": -NEUTRAL_BAND})
    if band == "positive":
        return Q(**{f"{field}__gt": NEUTRAL_BAND})
    if band == "neutral":
        return Q(**{f"{field}__gte": -NEUTRAL_BAND, f"{field}__lte": NEUTRAL_BAND})
    raise ValueError(f"unknown sentiment band {band!r}")


def filtered(responses, *, sentiment: str, aspect: str):
    """Responses by comment sentiment band and by an aspect their comment names."""
    if sentiment:
        responses = responses.filter(band_q("comment_sentiment", sentiment))
    if aspect:
        # JSON containment is not on SQLite; the key's quoted form is unambiguous in the list.
        responses = responses.filter(comment_aspects__icontains=f'"{aspect}"')
    return responses


def band_of(score: float | None) -> str:
    """The band of one score, "" when there is none."""
    if score is None:
        return ""
    if score < -NEUTRAL_BAND:
        return "negative"
    return "positive" if score > NEUTRAL_BAND else "neutral"


def open_text_keys(definition: dict) -> list[str]:
    """Keys of the open-text questions of a stored definition, in questionnaire order."""
    return [
        question.get("key")
        for page in definition.get("pages") or []
        for question in page.get("questions") or []
        if question.get("type") == "text"
    ]


def comment_of(answers: dict, keys: list[str]) -> str:
    """The comment of a response: its non-empty open-text answers, one per line."""
    parts = [answers.get(key) for key in keys]
    return "\n".join(part.strip() for part in parts if isinstance(part, str) and part.strip())


def pending():
    return Response.objects.filter(text_analysed_at__isnull=True, submitted_at__isnull=False)


def analyse_pending(*, limit: int = 2000) -> int:
    """Analyse up to ``limit`` submitted, not yet analysed responses; returns how many."""
    done, keys_by_version = 0, {}
    while done < limit:
        batch = list(
            pending().only("id", "version_id", "answers").order_by("id")[: min(BATCH, limit - done)]
        )
        if not batch:
            break
        analyse(batch, keys_by_version=keys_by_version)
        done += len(batch)
    return done


def analyse(responses: list[Response], *, keys_by_version: dict | None = None) -> None:
    """Score the comments of ``responses`` and store the results."""
    from cxloop.insights.text import aspects, sentiment

    # The definitions once per version, not once per row (they are large JSON documents).
    keys_by_version = {} if keys_by_version is None else keys_by_version
    missing = {r.version_id for r in responses} - set(keys_by_version)
    for pk, definition in SurveyVersion.objects.filter(pk__in=missing).values_list(
        "pk", "definition"
    ):
        keys_by_version[pk] = open_text_keys(definition)
    comments = [
        comment_of(response.answers or {}, keys_by_version.get(response.version_id, []))
        for response in responses
    ]
    with_text = [i for i, comment in enumerate(comments) if comment]
    set_with_text = set(with_text)
    scores = sentiment([comments[i] for i in with_text])
    found = aspects([comments[i] for i in with_text])
    results: dict[tuple, list[int]] = defaultdict(list)
    for i, response in enumerate(responses):
        if i not in set_with_text:
            results[(None, ())].append(response.pk)
    for i, score, names in zip(with_text, scores, found, strict=True):
        results[(round(score, 4), tuple(names))].append(responses[i].pk)
    # One UPDATE per distinct result (all text-less rows share one): much cheaper than a
    # bulk_update's CASE per row. Not save(): no post_save, so the rollups are not made stale.
    now = timezone.now()
    for (score, names), ids in results.items():
        Response.objects.filter(pk__in=ids).update(
            comment_sentiment=score, comment_aspects=list(names), text_analysed_at=now
        )


def on_response_submitted(sender, *, response: Response, **kwargs) -> None:
    """After a submit's commit: queue the analysis (the submit itself never waits for it)."""
    from cxloop.surveys.tasks import analyse_response_comments

    try:
        transaction.on_commit(lambda: analyse_response_comments())
    except Exception:  # a queue outage must not fail the submit; the minute task catches up
        logger.exception("Could not queue the comment analysis of response %s", response.pk)
