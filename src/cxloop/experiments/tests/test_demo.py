"""The demo experiment on past cases of one category."""

from __future__ import annotations

import datetime as dt

from cxloop.experiments.demo import NAME, load_experiments_demo
from cxloop.experiments.models import Assignment, Experiment

from .conftest import NOW, make_cases


def test_demo_assigns_past_cases_of_the_busiest_category(category, other_category):
    resolved = NOW - dt.timedelta(days=1)
    make_cases(80, category=category, resolved_at=resolved, agent_response_count=1)
    make_cases(10, category=other_category, resolved_at=resolved)
    make_cases(5, category=category, created_at=NOW - dt.timedelta(days=90))  # too old
    result = load_experiments_demo(now=NOW)
    experiment = Experiment.objects.get(name=NAME)
    assert experiment.status == "stopped" and experiment.category == category
    assert Assignment.objects.filter(experiment=experiment).count() == 80
    assert sum(row.n for row in result.rows) == 80
    assert result.sentence
    load_experiments_demo(now=NOW)  # again: nothing new
    assert Experiment.objects.filter(name=NAME).count() == 1
    assert Assignment.objects.count() == 80


def test_demo_without_cases_does_nothing(db):
    assert load_experiments_demo(now=NOW) is None
    assert not Experiment.objects.exists()
