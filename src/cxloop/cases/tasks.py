"""Queue tasks of the cases: the SLA sweep, every minute, and the recomputation of open cases'
deadlines after an SLA rule or calendar changed (queued by ``config_rules``).

Every running consumer's scheduler enqueues it; the sweep claims each row before working on it,
so several workers running it at once split the work and never double an event.
"""

from __future__ import annotations

import logging
import time

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from cxloop.cases import config_rules, sweep, text

logger = logging.getLogger(__name__)

# Leave the minute before the next sweep starts, as the outbox sweep does.
SWEEP_BUDGET_SECONDS = 50


@db_periodic_task(crontab(minute="*"), name="sweep_case_deadlines")
def sweep_case_deadlines() -> int:
    """Every minute: warn, breach and escalate the SLA clocks that are due; returns how many."""
    started = time.monotonic()
    handled = 0
    while time.monotonic() - started < SWEEP_BUDGET_SECONDS:
        report = sweep.sweep_due_targets()
        handled += report.claimed
        # A short batch was everything; a batch another worker took entirely is theirs.
        if report.selected < sweep.DEFAULT_LIMIT or not report.claimed:
            break
    if handled:
        logger.info("SLA sweep: %s clocks handled", handled)
    return handled


@db_task(name="recompute_case_deadlines")
def recompute_case_deadlines(scope: str, pk: int, actor_id: int | None = None) -> int:
    """After an SLA rule, calendar or department calendar changed: recompute the deadlines of
    the open cases it affects (``config_rules``); idempotent, so a retry or a rerun is safe."""
    done = config_rules.recompute_open_cases(scope=scope, pk=pk, actor_id=actor_id)
    if done:
        logger.info("Deadlines of %s open cases recomputed: %s %s changed", done, scope, pk)
    return done


@db_periodic_task(crontab(minute="*"), name="analyse_case_texts")
def analyse_case_texts() -> int:
    """Every minute, and queued when a case or a customer message arrives: sentiment and
    aspects of the cases waiting for them (``cases/text.py``; safe to run twice at once)."""
    done = text.analyse_pending()
    if done:
        logger.info("Case texts analysed: %s cases", done)
    return done
