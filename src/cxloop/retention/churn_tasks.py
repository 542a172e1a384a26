"""Queue tasks of churn and plays: weekly training, nightly scoring, daily plays.

Times are UTC (the queue runs with ``utc=True``): 19:xx UTC is 03:xx in Asia/Shanghai, after
the nightly customer scoring. Each periodic task is safe to run twice: training happens once per
ISO week (a second run that week returns the model already trained), scoring rewrites the same
values, plays skip the customers they already reached within the frequency cap.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.contrib.auth import get_user_model
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from cxloop.retention import churn, plays
from cxloop.retention.churn_models import ChurnModelRecord

logger = logging.getLogger(__name__)


def _week_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    monday = local.date() - dt.timedelta(days=local.weekday())
    return timezone.make_aware(dt.datetime.combine(monday, dt.time.min), local.tzinfo)


def weekly_training(now: dt.datetime | None = None) -> ChurnModelRecord:
    """Train unless a scheduled training already ran this week (Monday to Sunday, local)."""
    now = now or timezone.now()
    done = ChurnModelRecord.objects.filter(
        kind=ChurnModelRecord.Kind.SCHEDULED, trained_at__gte=_week_start(now)
    ).first()
    if done is not None:
        return done
    return churn.train_churn_model(now=now, kind=ChurnModelRecord.Kind.SCHEDULED)


@db_periodic_task(crontab(day_of_week="0", hour="19", minute="10"), name="train_churn_model")
def train_churn_model_weekly() -> int:
    """Sunday night UTC (Monday 03:10 Shanghai): the week's churn model, then fresh scores."""
    record = weekly_training()
    churn.score_churn()
    return record.pk


@db_periodic_task(crontab(hour="19", minute="40"), name="score_churn_nightly")
def score_churn_nightly() -> int:
    """03:40 Shanghai, after the nightly customer scoring: risk and reasons for everyone."""
    return churn.score_churn()


@db_periodic_task(crontab(hour="1", minute="30"), name="run_retention_plays")
def run_retention_plays() -> dict:
    """09:30 Shanghai, office hours: measure the outcomes so far, then run the active plays."""
    plays.measure_outcomes()
    return plays.run_plays().as_dict()


def _user(actor_id: int | None):
    return get_user_model().objects.filter(pk=actor_id).first() if actor_id else None


@db_task(name="retrain_churn_model_now")
def retrain_churn_model_now(actor_id: int | None = None) -> int:
    """The model page's "Retrain now": train, then score with the new model."""
    record = churn.train_churn_model(actor=_user(actor_id))
    churn.score_churn()
    return record.pk


@db_task(name="run_retention_plays_now")
def run_retention_plays_now(actor_id: int | None = None, play_id: int | None = None) -> dict:
    """The plays page's "Run now" (one play or all active ones)."""
    play = plays.RetentionPlay.objects.filter(pk=play_id).first() if play_id else None
    if play_id and play is None:
        return {}
    plays.measure_outcomes()
    return plays.run_plays(play=play, actor=_user(actor_id)).as_dict()
