"""Queue tasks of the surveys: event triggers, sending, expiry, periodic triggers, samples.

Every periodic task is idempotent (conditional updates, dedupe keys), so every running
consumer's scheduler may enqueue it and several workers may run it at once.
"""

from __future__ import annotations

import logging

from django.contrib.auth import get_user_model
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from cxloop.core.models import InboundEvent
from cxloop.surveys import invitations, rollups, sampling, text, triggers
from cxloop.surveys.models import Survey

# The rollup refresh task lives beside its code; importing it here registers it with the worker.
__all__ = ["rollups"]

logger = logging.getLogger(__name__)


@db_task(name="process_survey_event")
def process_event_task(event_id: int) -> int:
    """Create the invitations the triggers ask for when an event arrives; returns how many."""
    event = InboundEvent.objects.select_related("customer").filter(pk=event_id).first()
    if event is None:
        return 0
    return len(triggers.handle_event(event=event))


@db_periodic_task(crontab(minute="*"), name="send_due_invitations")
def send_due_invitations() -> int:
    """Every minute: send the invitations whose time has come."""
    sent = invitations.send_due_invitations()
    if sent:
        logger.info("Sent %s survey invitations", sent)
    return sent


@db_periodic_task(crontab(minute="*/10"), name="expire_invitations")
def expire_invitations() -> int:
    """Every 10 minutes: mark unanswered invitations past their expiry as expired."""
    return invitations.expire_invitations()


@db_periodic_task(crontab(minute="*/5"), name="process_pending_survey_events")
def process_pending_events() -> int:
    """Every 5 minutes: handle recent events whose queue job was lost."""
    return triggers.process_pending_events()


@db_periodic_task(crontab(minute="7"), name="run_periodic_triggers")
def run_periodic_triggers() -> int:
    """Hourly: "registered without an order" and periodic relationship surveys."""
    made = triggers.run_periodic_triggers()
    if made:
        logger.info("Periodic survey triggers made %s invitations", made)
    return made


@db_task(name="run_sample_campaign")
def run_sample_campaign_task(
    survey_id: int, quotas: dict, channel: str, actor_id: int | None, seed: int | None = None
) -> dict:
    """Draw a stratified sample and invite it (can take a while for large quotas)."""
    survey = Survey.objects.filter(pk=survey_id).first()
    if survey is None:
        return {}
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    report = sampling.invite_sample(
        survey=survey, quotas=quotas, channel=channel, actor=actor, seed=seed
    )
    return report.__dict__


@db_periodic_task(crontab(minute="*"), name="analyse_response_comments")
def analyse_response_comments() -> int:
    """Every minute, and queued after each submit: sentiment and aspects of the comments of
    the responses waiting for them (``surveys/text.py``; safe to run twice at once)."""
    done = text.analyse_pending()
    if done:
        logger.info("Survey comments analysed: %s responses", done)
    return done
