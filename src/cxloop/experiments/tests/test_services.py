"""Create, edit, start and stop leave audit rows; permissions are checked in the services."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from cxloop.core.models import AuditLog
from cxloop.experiments import services

from .conftest import new_experiment


def actions(experiment) -> list[str]:
    rows = AuditLog.objects.filter(
        object_type="experiments.experiment", object_id=str(experiment.pk)
    )
    return list(rows.order_by("id").values_list("action", flat=True))


def test_life_cycle_is_audited(owner):
    experiment = new_experiment(owner)
    services.update_experiment(experiment=experiment, actor=owner, values={
        "name": "Renamed", "unit": "case", "metric": "csat_top2", "variant_a": "A1",
        "variant_b": "B1", "split_b_percent": 30})  # fmt: skip
    services.start_experiment(experiment=experiment, actor=owner)
    services.stop_experiment(experiment=experiment, actor=owner)
    assert actions(experiment) == [
        "experiment.create",
        "experiment.update",
        "experiment.start",
        "experiment.stop",
    ]
    update = AuditLog.objects.get(action="experiment.update")
    assert update.before["split_b_percent"] == 50 and update.after["split_b_percent"] == 30
    assert AuditLog.objects.filter(actor=owner).count() == 4
    experiment.refresh_from_db()
    assert experiment.started_at and experiment.stopped_at and experiment.created_by == owner


def test_moves_only_from_the_right_status(owner):
    experiment = new_experiment(owner)
    with pytest.raises(services.ExperimentError):
        services.stop_experiment(experiment=experiment, actor=owner)
    services.start_experiment(experiment=experiment, actor=owner)
    with pytest.raises(services.ExperimentError):
        services.start_experiment(experiment=experiment, actor=owner)


def test_teammate_and_outsider_cannot_write(owner, teammate, outsider):
    experiment = new_experiment(owner)
    for user in (teammate, outsider):
        with pytest.raises(PermissionDenied):
            new_experiment(user)
        with pytest.raises(PermissionDenied):
            services.start_experiment(experiment=experiment, actor=user)
