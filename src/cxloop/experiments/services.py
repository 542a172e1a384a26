"""Writes on experiments: create, edit, start, stop, and the stored variant of each unit.

Views, the demo and the case-created receiver call these same functions, so every state change
leaves an audit row. Bad input raises ``ExperimentError`` with a message per field.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import changed_only, record_audit, snapshot
from cxloop.core.roles import require
from cxloop.experiments.models import Assignment, Experiment
from cxloop.experiments.results import Result, results  # noqa: F401 - one import for callers

S = Experiment.Status
BUCKETS = 10_000  # hash buckets: the split has a resolution of 0.01 %
FIELDS = (
    "name", "hypothesis", "unit", "channel", "category", "store", "region", "variant_a",
    "variant_a_description", "variant_b", "variant_b_description", "split_b_percent", "metric",
    "min_effect",
)  # fmt: skip
# What may still change once units have been assigned: the words, not the design.
RATES = ("csat_top2", "reopened", "resolved_first_contact")
EDITABLE_WHEN_STARTED = ("name", "hypothesis", "variant_a_description", "variant_b_description")


class ExperimentError(ValueError):
    def __init__(self, message: str, field_errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if not str(values.get("name") or "").strip():
        errors["name"] = [_("Give the experiment a name.")]
    split = values.get("split_b_percent", 50)
    if not isinstance(split, int) or not 1 <= split <= 99:
        errors["split_b_percent"] = [_("The share of variant B is a whole number from 1 to 99.")]
    if values.get("unit") not in Experiment.Unit.values:
        errors["unit"] = [_("Choose cases or customers.")]
    if values.get("metric") not in Experiment.Metric.values:
        errors["metric"] = [_("Choose a metric.")]
    min_effect = values.get("min_effect")
    if min_effect is not None and not (isinstance(min_effect, (int, float)) and min_effect > 0):
        errors["min_effect"] = [_("The smallest effect is a positive number.")]
    elif min_effect is not None and values.get("metric") in RATES and min_effect >= 100:
        errors["min_effect"] = [_("For a rate the effect is in points, below 100.")]
    if str(values.get("variant_a") or "").strip() == str(values.get("variant_b") or "").strip():
        errors["variant_b"] = [_("The two variants need different names.")]
    if errors:
        raise ExperimentError(_("Please correct the marked fields."), errors)
    return {name: values.get(name) for name in FIELDS if name in values}


def create_experiment(*, actor, values: dict[str, Any]) -> Experiment:
    if actor is not None:
        require(actor, "experiments.add_experiment")
    fields = _clean(values)
    with transaction.atomic():
        experiment = Experiment.objects.create(**fields, created_by=_user(actor))
        record_audit(actor=actor, action="experiment.create", target=experiment,
                     after=snapshot(experiment, FIELDS))  # fmt: skip
    return experiment


def update_experiment(*, experiment: Experiment, actor, values: dict[str, Any]) -> Experiment:
    if actor is not None:
        require(actor, "experiments.change_experiment")
    fields = _clean(values)
    if experiment.status != S.DRAFT:
        locked = [n for n in fields if n not in EDITABLE_WHEN_STARTED
                  and _value(fields[n]) != _value(getattr(experiment, n))]  # fmt: skip
        if locked:
            message = _("Only the name, hypothesis and descriptions change once it has started.")
            raise ExperimentError(message, {name: [message] for name in locked})
    before = snapshot(experiment, FIELDS)
    with transaction.atomic():
        for name, value in fields.items():
            setattr(experiment, name, value)
        experiment.save()
        old, new = changed_only(before, snapshot(experiment, FIELDS))
        record_audit(actor=actor, action="experiment.update", target=experiment,
                     before=old, after=new)  # fmt: skip
    return experiment


def _value(value):
    return getattr(value, "pk", value)


def start_experiment(*, experiment: Experiment, actor, now: dt.datetime | None = None):
    return _move(experiment, actor, S.DRAFT, S.RUNNING, "started_at", now, "experiment.start")


def stop_experiment(*, experiment: Experiment, actor, now: dt.datetime | None = None):
    return _move(experiment, actor, S.RUNNING, S.STOPPED, "stopped_at", now, "experiment.stop")


def _move(experiment, actor, source, target, stamp, now, action) -> Experiment:
    if actor is not None:
        require(actor, "experiments.change_experiment")
    with transaction.atomic():
        experiment = Experiment.objects.select_for_update().get(pk=experiment.pk)
        if experiment.status != source:
            raise ExperimentError(
                _("The experiment is %(status)s.") % {"status": experiment.get_status_display()},
                {"status": [_("This step is not possible now.")]},
            )
        experiment.status = target
        setattr(experiment, stamp, now or timezone.now())
        experiment.save(update_fields=["status", stamp])
        after = {"status": target, stamp: getattr(experiment, stamp)}
        record_audit(actor=actor, action=action, target=experiment,
                     before={"status": source}, after=after)  # fmt: skip
    return experiment


def _user(actor):
    return actor if actor is not None and actor.is_authenticated else None


# --- assignment ------------------------------------------------------------------------------


def bucket_variant(*, experiment_id: int, unit: str, unit_id: int, split_b_percent: int) -> str:
    """The variant a unit falls into: a stable hash, so a lost row would be re-made the same."""
    key = f"cxloop-experiment:{experiment_id}:{unit}:{unit_id}".encode()
    bucket = int.from_bytes(hashlib.sha256(key).digest()[:8], "big") % BUCKETS
    in_b = bucket < split_b_percent * BUCKETS // 100
    return Assignment.Variant.B if in_b else Assignment.Variant.A


def assign(*, experiment: Experiment, case=None, customer=None, now: dt.datetime | None = None):
    """The unit's variant, stored on the first call; later calls return the stored one."""
    unit_field = "case" if experiment.unit == Experiment.Unit.CASE else "customer"
    unit = case if unit_field == "case" else customer
    if unit is None or (case is not None and customer is not None):
        raise ExperimentError(_("Give the unit this experiment assigns."),
                              {unit_field: [_("Required for this experiment.")]})  # fmt: skip
    lookup = {"experiment": experiment, unit_field: unit}
    existing = Assignment.objects.filter(**lookup).values_list("variant", flat=True).first()
    if existing:
        return existing
    variant = bucket_variant(experiment_id=experiment.pk, unit=unit_field, unit_id=unit.pk,
                             split_b_percent=experiment.split_b_percent)  # fmt: skip
    try:
        with transaction.atomic():  # a concurrent first call may win the unique constraint
            Assignment.objects.create(**lookup, variant=variant, assigned_at=now or timezone.now())
    except IntegrityError:
        return Assignment.objects.filter(**lookup).values_list("variant", flat=True).get()
    return variant


def matches(experiment: Experiment, case) -> bool:
    """Whether a case is in the experiment's population (blank filters match anything)."""
    if experiment.channel and case.channel != experiment.channel:
        return False
    if experiment.category_id and case.category_id != experiment.category_id:
        return False
    if experiment.store and case.store != experiment.store:
        return False
    return not (experiment.region and case.region != experiment.region)


def population_filter(experiment: Experiment) -> dict[str, Any]:
    """The same population as ``matches``, as queryset filter arguments on cases."""
    names = {"channel": experiment.channel, "category_id": experiment.category_id,
             "store": experiment.store, "region": experiment.region}  # fmt: skip
    return {name: value for name, value in names.items() if value}


def assign_new_case(*, case, now: dt.datetime | None = None) -> None:
    """Assign a new case (or its customer) to every running experiment whose population it
    is in."""
    now = now or case.created_at
    running = Experiment.objects.filter(status=S.RUNNING)
    for experiment in running:
        if not matches(experiment, case):
            continue
        if experiment.unit == Experiment.Unit.CASE:
            assign(experiment=experiment, case=case, now=now)
        elif case.customer_id is not None:
            assign(experiment=experiment, customer=case.customer, now=now)


def on_case_created(sender, *, case, actor=None, **kwargs) -> None:
    assign_new_case(case=case)


def assignment_counts(experiment: Experiment) -> dict[str, int]:
    from django.db.models import Count

    rows = experiment.assignments.values("variant").annotate(n=Count("pk")).order_by()
    counts = {variant: 0 for variant in Assignment.Variant.values}
    counts.update({row["variant"]: row["n"] for row in rows})
    return counts
