"""Demo data: one finished A/B test on the demo cases (``load_experiments_demo(now=...)``).

The past 60 days of cases of the category with the most resolved cases are assigned to a
standard vs an empathy script by the same hash as live assignment, and the experiment is
stopped, so its result page reads the real outcomes of those cases. Run after the cases demo;
running it again changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count, Min, Q

from cxloop.cases.models import Case
from cxloop.core.audit import record_audit
from cxloop.experiments.models import Assignment, Experiment
from cxloop.experiments.results import Result, results
from cxloop.experiments.services import bucket_variant

NAME = "共情话术 vs 标准话术（演示）"
DAYS = 60


def load_experiments_demo(*, now: dt.datetime) -> Result | None:
    """The demo experiment's result, or None when there are no resolved cases to use."""
    existing = Experiment.objects.filter(name=NAME).first()
    if existing is not None:
        return results(experiment=existing)
    start = now - dt.timedelta(days=DAYS)
    window = Case.objects.filter(created_at__gte=start, created_at__lt=now, category__isnull=False)
    top = (window.filter(resolved_at__isnull=False).values("category")
           .annotate(n=Count("pk")).order_by("-n").first())  # fmt: skip
    if top is None:
        return None
    cases = window.filter(category_id=top["category"])
    with transaction.atomic():
        experiment = Experiment.objects.create(
            name=NAME, hypothesis="先共情再给方案，一次解决率更高。", unit=Experiment.Unit.CASE,
            category_id=top["category"], variant_a="标准话术",
            variant_a_description="按标准流程确认问题并给出方案。", variant_b="共情话术",
            variant_b_description="先复述并认可客户的感受，再给出方案。",
            metric=Experiment.Metric.RESOLVED_FIRST_CONTACT, min_effect=10,
            status=Experiment.Status.STOPPED,
            started_at=cases.aggregate(first=Min("created_at"))["first"] or start, stopped_at=now,
        )  # fmt: skip
        Assignment.objects.bulk_create(
            [Assignment(experiment=experiment, case_id=pk, assigned_at=created,
                        variant=bucket_variant(experiment_id=experiment.pk, unit="case",
                                               unit_id=pk, split_b_percent=50))
             for pk, created in cases.filter(~Q(status=Case.Status.MERGED))
             .values_list("pk", "created_at").iterator()],
            batch_size=1000,
        )  # fmt: skip
        record_audit(actor=None, action="experiment.demo", target=experiment)
    return results(experiment=experiment)
