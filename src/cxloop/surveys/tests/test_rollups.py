"""Daily metric rollups: equal to the raw aggregate, idempotent, kept fresh by dirty days."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random

import pytest

from cxloop.surveys import rollups, selectors
from cxloop.surveys.models import MetricRollup, Response, RollupDirtyDay
from cxloop.surveys.responses import exclude_response, restore_response
from cxloop.surveys.tests.results_helpers import local, make_response, make_survey

pytestmark = pytest.mark.django_db
REGIONS = ["华东", "华南", "华北", ""]
FIRST_DAY = dt.date(2025, 1, 27)


def _random_responses(survey, seed: int, count: int = 240) -> list[Response]:
    """Scores (some missing, some outside the scale), segments, and times around midnight."""
    rng = random.Random(seed)
    made = []
    for _ in range(count):
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(70))
        moment = local(day.year, day.month, day.day, rng.choice([0, 7, 12, 23]))
        made.append(
            make_response(
                survey,
                nps=rng.choice([None, *range(11)]),
                csat=rng.choice([None, 1, 2, 3, 4, 5, 5, 6]),  # 6: outside the 5-point scale
                ces=rng.choice([None, *range(1, 8)]),
                dims=rng.choice([None, {"efficiency": rng.randint(1, 5), "attitude": 4}]),
                submitted_at=moment + dt.timedelta(minutes=rng.randrange(60)),
                excluded=rng.random() < 0.1,
                region=rng.choice(REGIONS),
                store=rng.choice(["S1", "S2"]),
                channel=rng.choice(["sms", "email"]),
                age_band=rng.choice(["", "25-34"]),
                segment=rng.choice(["vip", "new", "existing"]),
            )
        )
    return made


def _all_tables(survey, **window) -> list:
    tables = []
    for metric in selectors.METRICS:
        for group_by in (None, *selectors.GROUP_FIELDS):
            for period in (None, *selectors.PERIODS):
                tables.append(
                    selectors.metric_table(
                        metric=metric, survey=survey, group_by=group_by, period=period, **window
                    )
                )
    return tables


def _raw_tables(monkeypatch, survey, **window) -> list:
    """The same tables straight from the responses (the rollup switched off)."""
    with monkeypatch.context() as patch:
        patch.setattr(selectors, "_rollup_counts", lambda *args: None)
        return _all_tables(survey, **window)


def _assert_same(found: list, expected: list) -> None:
    """Equal outputs; sums of floats added in another order may differ in the last bits."""
    assert len(found) == len(expected)
    for table, reference in zip(found, expected, strict=True):
        for row, want in zip(
            [table.overall, *table.rows], [reference.overall, *reference.rows], strict=True
        ):
            assert dataclasses.replace(row, p_value=None) == dataclasses.replace(want, p_value=None)
            assert (row.p_value is None) == (want.p_value is None)
            if want.p_value is not None:
                assert row.p_value == pytest.approx(want.p_value, rel=1e-9, abs=1e-12)
        assert len(table.rows) == len(reference.rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_rollup_equals_the_raw_aggregate(monkeypatch, seed):
    survey = make_survey()
    _random_responses(survey, seed)
    expected = _raw_tables(monkeypatch, survey)
    assert RollupDirtyDay.objects.filter(survey=survey).exists()
    _assert_same(_all_tables(survey), expected)  # dirty days: read from the responses
    assert rollups.refresh_dirty() > 0
    assert not RollupDirtyDay.objects.exists() and MetricRollup.objects.exists()
    _assert_same(_all_tables(survey), expected)  # all from the rollup
    window = {"start": local(2025, 2, 3, 0), "end": local(2025, 3, 1, 0)}
    _assert_same(_all_tables(survey, **window), _raw_tables(monkeypatch, survey, **window))


def test_rollup_rows_hold_the_days_counts():
    survey = make_survey()
    make_response(survey, nps=10, csat=5, submitted_at=local(2025, 3, 1, 23), region="华东")
    make_response(survey, nps=3, csat=4, submitted_at=local(2025, 3, 1, 0), region="华东")
    make_response(survey, nps=8, submitted_at=local(2025, 3, 2, 0), region="华南")  # 16:00 UTC
    make_response(survey, nps=0, submitted_at=local(2025, 3, 1, 9), excluded=True)
    rollups.refresh_rollups(survey_id=survey.pk, days=[dt.date(2025, 3, 1), dt.date(2025, 3, 2)])
    east = MetricRollup.objects.get(dimension="region", value="华东")
    assert (east.day, east.responses, east.nps_promoters, east.nps_detractors) == (
        dt.date(2025, 3, 1), 2, 1, 1,
    )  # fmt: skip
    assert (east.csat_4, east.csat_5, east.csat_n) == (1, 1, 2)
    every = MetricRollup.objects.get(dimension="all", day=dt.date(2025, 3, 2))
    assert (every.value, every.responses, every.nps_passives) == ("", 1, 1)
    assert MetricRollup.objects.filter(dimension="segment").count() == 2  # one value per day


def test_refresh_is_idempotent_and_replaces_the_days_rows():
    survey = make_survey()
    _random_responses(survey, 3, count=60)
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(70)]
    written = rollups.refresh_rollups(survey_id=survey.pk, days=days)
    first = list(MetricRollup.objects.order_by("day", "dimension", "value").values())
    assert written == len(first) > 0
    assert rollups.refresh_rollups(survey_id=survey.pk, days=days) == written
    again = list(MetricRollup.objects.order_by("day", "dimension", "value").values())
    assert [{**r, "id": 0} for r in again] == [{**r, "id": 0} for r in first]
    Response.objects.filter(survey=survey).delete()
    assert rollups.refresh_rollups(survey_id=survey.pk, days=days) == 0
    assert not MetricRollup.objects.exists()


def test_excluded_and_restored_responses_move_the_numbers(owner):
    survey = make_survey()
    day = dt.date(2025, 3, 1)
    kept = make_response(survey, nps=10, submitted_at=local(2025, 3, 1))
    make_response(survey, nps=2, submitted_at=local(2025, 3, 1))
    rollups.refresh_dirty()

    def promoters() -> int:
        return MetricRollup.objects.get(dimension="all", day=day).nps_promoters

    assert promoters() == 1
    exclude_response(response=kept, actor=owner, reason="test")
    assert RollupDirtyDay.objects.filter(survey=survey, day=day).exists()
    assert selectors.metric_table(metric="nps", survey=survey).overall.value == -100
    assert rollups.refresh_dirty() == 1 and promoters() == 0
    restore_response(response=kept, actor=owner)
    assert rollups.refresh_dirty() == 1 and promoters() == 1
    assert selectors.metric_table(metric="nps", survey=survey).overall.value == 0


def test_partial_responses_mark_nothing():
    survey = make_survey()
    Response.objects.create(survey=survey, version=survey.current_version, respondent_key="x")
    assert not RollupDirtyDay.objects.exists()


def test_a_claimed_day_is_refreshed_once(monkeypatch):
    survey = make_survey()
    make_response(
        survey,
        nps=9,
        submitted_at=local(
            2025,
            3,
            1,
            23,
        ),
    )
    mark = RollupDirtyDay.objects.get()
    assert mark.day == dt.date(2025, 3, 1)
    refreshed = []
    original = rollups.refresh_rollups
    monkeypatch.setattr(
        rollups, "refresh_rollups", lambda **kw: refreshed.append(kw) or original(**kw)
    )
    claim = {"pk": mark.pk, "survey_id": survey.pk, "day": mark.day}
    assert rollups.claim_and_refresh(**claim) is True
    assert rollups.claim_and_refresh(**claim) is False  # the second worker finds it claimed
    assert len(refreshed) == 1 and rollups.refresh_dirty() == 0
    assert MetricRollup.objects.get(dimension="all").nps_promoters == 1


def test_marking_a_dirty_day_again_keeps_one_row():
    survey = make_survey()
    rollups.mark_dirty(survey_id=survey.pk, day=dt.date(2025, 3, 1))
    rollups.mark_dirty(survey_id=survey.pk, day=dt.date(2025, 3, 1))
    assert RollupDirtyDay.objects.count() == 1


def test_too_many_dirty_days_fall_back_to_the_responses(monkeypatch):
    survey = make_survey()
    make_response(survey, nps=10, submitted_at=local(2025, 3, 1))
    make_response(survey, nps=0, submitted_at=local(2025, 3, 2))
    monkeypatch.setattr(selectors, "MAX_LIVE_DAYS", 1)
    table = selectors.metric_table(metric="nps", survey=survey, period="month")
    assert (table.overall.n, table.overall.value) == (2, 0)


def test_the_periodic_task_refreshes_dirty_days():
    from huey.api import PeriodicTask

    survey = make_survey()
    make_response(survey, nps=9, submitted_at=local(2025, 3, 1))
    task = rollups.refresh_dirty_rollups
    assert issubclass(task.task_class, PeriodicTask)
    assert task.task_class.__name__ == "refresh_dirty_rollups"
    assert task.call_local() == 1 and task.call_local() == 0
    assert MetricRollup.objects.get(dimension="all").nps_promoters == 1
