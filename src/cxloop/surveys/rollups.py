"""Daily metric rollups: the selectors read sums of these instead of scanning every response.

``MetricRollup`` holds, per (survey, day in the organisation's time zone, dimension value), the
counts and sums the metric selectors need. Freshness works with ``RollupDirtyDay``:

* every save of a submitted response marks its (survey, day) dirty, in the same transaction as
  the change (a ``post_save`` receiver, see ``apps.py``), so a committed change is never lost;
* the selectors read the rollup for clean days and aggregate the raw responses of dirty days
  (see ``selectors._rollup_counts``): figures are exact, never a minute behind;
* ``refresh_dirty_rollups`` (every minute) recomputes dirty days. It claims a day by deleting its
  dirty row inside the transaction that rewrites the rollup, so two workers never both refresh
  it and a reader sees the day either dirty (raw) or refreshed, never in between.

Bulk writers that bypass ``save()`` (the demo loader, the benchmark) call ``refresh_rollups``
for the days they wrote.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Max, Min, Q, Sum
from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from cxloop.surveys.models import ROLLUP_MAX_SCALE, MetricRollup, Response, RollupDirtyDay

REFRESH_BATCH = 500  # dirty days per run of the periodic task


def local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, zoneinfo.ZoneInfo(settings.TIME_ZONE)).date()


def day_start(day: dt.date) -> dt.datetime:
    """Local midnight at the start of ``day``, as an aware datetime."""
    return dt.datetime.combine(day, dt.time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def day_runs(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Sorted days as runs of consecutive days: [(first, last), …]."""
    runs: list[list[dt.date]] = []
    for day in sorted(set(days)):
        if runs and day - runs[-1][1] == dt.timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


def submitted_on(days: Iterable[dt.date]) -> Q:
    """Responses submitted on any of ``days`` (local time), as index-friendly time ranges."""
    condition = Q(pk__in=[])
    for first, last in day_runs(days):
        end = day_start(last + dt.timedelta(days=1))
        condition |= Q(submitted_at__gte=day_start(first), submitted_at__lt=end)
    return condition


def _statistics() -> dict:
    """Aggregates over responses, named like the ``MetricRollup`` columns they fill."""
    found = {
        "responses": Count("id"),
        "nps_n": Count("nps"),
        "nps_promoters": Count("id", filter=Q(nps__gte=9)),
        "nps_passives": Count("id", filter=Q(nps__gte=7, nps__lte=8)),
        "nps_detractors": Count("id", filter=Q(nps__lte=6)),
        "csi_n": Count("csi"),
        "csi_sum": Sum("csi", default=0.0),
        "csi_sumsq": Sum(F("csi") * F("csi"), default=0.0),
    }
    for metric in ("csat", "ces"):
        found[f"{metric}_n"] = Count(metric)
        for point in range(1, ROLLUP_MAX_SCALE + 1):
            found[f"{metric}_{point}"] = Count("id", filter=Q(**{metric: point}))
    return found


def _computed_rows(survey_id: int, days: list[dt.date]) -> list[MetricRollup]:
    """One GROUP BY (day, value) per dimension over the days' counted responses."""
    from cxloop.surveys.selectors import LocalDay  # selectors imports this module

    responses = Response.objects.filter(
        submitted_on(days), survey_id=survey_id, submitted_at__isnull=False, excluded=False
    ).order_by()
    statistics = _statistics()
    rows = []
    for dimension in MetricRollup.DIMENSIONS:
        keys = {"day": LocalDay("submitted_at")}
        if dimension != "all":
            keys["value"] = F(dimension)
        for found in responses.values(**keys).annotate(**statistics):
            found.setdefault("value", "")
            rows.append(MetricRollup(survey_id=survey_id, dimension=dimension, **found))
    return rows


def refresh_rollups(*, survey_id: int, days: Iterable[dt.date]) -> int:
    """Recompute the rollup rows of ``days`` from the responses; returns the rows written.

    Idempotent: the days' rows (and dirty marks) are replaced in one transaction.
    """
    days = sorted(set(days))
    if not days:
        return 0
    on_days = Q(pk__in=[])
    for first, last in day_runs(days):
        on_days |= Q(day__gte=first, day__lte=last)
    with transaction.atomic():
        RollupDirtyDay.objects.filter(on_days, survey_id=survey_id).delete()
        MetricRollup.objects.filter(on_days, survey_id=survey_id).delete()
        rows = _computed_rows(survey_id, days)
        MetricRollup.objects.bulk_create(rows, batch_size=1000)
    return len(rows)


def rebuild_rollups(*, survey_id: int) -> int:
    """Recompute every day from the survey's first to its last submitted response."""
    span = Response.objects.filter(survey_id=survey_id, submitted_at__isnull=False).aggregate(
        first=Min("submitted_at"), last=Max("submitted_at")
    )
    if span["first"] is None:
        return refresh_rollups(survey_id=survey_id, days=[])
    first, last = local_day(span["first"]), local_day(span["last"])
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return refresh_rollups(survey_id=survey_id, days=days)


def mark_dirty(*, survey_id: int, day: dt.date) -> None:
    """Record that a day's responses changed. Upsert: re-marking a dirty day locks its row, so a
    refresh claiming it at the same moment waits and then counts this change."""
    RollupDirtyDay.objects.bulk_create(
        [RollupDirtyDay(survey_id=survey_id, day=day, marked_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["survey", "day"],
        update_fields=["marked_at"],
    )


def on_response_saved(sender, instance: Response, **kwargs) -> None:
    """``post_save`` receiver: a submitted response's day needs a refresh."""
    if instance.submitted_at is not None:
        mark_dirty(survey_id=instance.survey_id, day=local_day(instance.submitted_at))


def refresh_dirty(*, limit: int = REFRESH_BATCH) -> int:
    """Refresh up to ``limit`` dirty days, oldest mark first; returns how many this call did."""
    candidates = RollupDirtyDay.objects.order_by("marked_at", "id").values_list(
        "id", "survey_id", "day"
    )[:limit]
    done = 0
    for pk, survey_id, day in list(candidates):
        done += claim_and_refresh(pk=pk, survey_id=survey_id, day=day)
    return done


def claim_and_refresh(*, pk: int, survey_id: int, day: dt.date) -> bool:
    """Refresh a dirty day unless another worker has claimed it; True when this call did."""
    with transaction.atomic():
        # The claim: whoever deletes the row refreshes the day; a second worker deletes 0 rows
        # (on PostgreSQL it waits for the first one's commit, then finds the row gone).
        claimed, _ = RollupDirtyDay.objects.filter(pk=pk).delete()
        if claimed:
            refresh_rollups(survey_id=survey_id, days=[day])
    return bool(claimed)


@db_periodic_task(crontab(minute="*"), name="refresh_dirty_rollups")
def refresh_dirty_rollups() -> int:
    """Every minute: fold changed days back into the rollup (reads are exact meanwhile)."""
    return refresh_dirty()
