"""Console pages of A/B tests under ``/experiments/``: the list, create and edit forms, and the
detail page with the status actions, the assignment counts and the result.

Permissions: ``experiments.view_experiment`` to read, ``add_experiment`` to create,
``change_experiment`` to edit, start and stop.
"""

from __future__ import annotations

import plotly
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxloop.core.roles import require
from cxloop.experiments import services
from cxloop.experiments.charts import result_chart
from cxloop.experiments.forms import ExperimentForm
from cxloop.experiments.models import Experiment

NAV = {"nav_active": "experiments"}


@login_required
def experiment_list(request):
    require(request.user, "experiments.view_experiment")
    rows = Experiment.objects.select_related("category", "created_by")
    return render(request, "experiments/list.html", {**NAV, "experiments": rows})


def _save(request, experiment: Experiment | None):
    """The form page: GET shows it, POST saves through the service or re-renders."""
    if request.method == "POST":
        form = ExperimentForm(request.POST)
        if form.is_valid():
            try:
                if experiment is None:
                    experiment = services.create_experiment(
                        actor=request.user, values=form.service_values()
                    )
                else:
                    services.update_experiment(
                        experiment=experiment, actor=request.user, values=form.service_values()
                    )
                messages.success(request, _("Experiment saved."))
                return redirect("experiments:detail", experiment.pk)
            except services.ExperimentError as error:
                _attach(form, error)
    else:
        initial = ExperimentForm.initial_for(experiment) if experiment else None
        form = ExperimentForm(initial=initial)
    status = 400 if request.method == "POST" else 200
    context = {**NAV, "form": form, "experiment": experiment}
    return render(request, "experiments/form.html", context, status=status)


def _attach(form, error: services.ExperimentError) -> None:
    for name, field_messages in error.field_errors.items():
        for message in field_messages:
            form.add_error(name if name in form.fields else None, message)
    if not error.field_errors:
        form.add_error(None, error.message)


@login_required
def experiment_new(request):
    require(request.user, "experiments.add_experiment")
    return _save(request, None)


@login_required
def experiment_edit(request, pk: int):
    require(request.user, "experiments.change_experiment")
    return _save(request, get_object_or_404(Experiment, pk=pk))


@login_required
def experiment_detail(request, pk: int):
    require(request.user, "experiments.view_experiment")
    experiment = get_object_or_404(Experiment.objects.select_related("category"), pk=pk)
    result = services.results(experiment=experiment)
    return render(request, "experiments/detail.html", {
        **NAV, "experiment": experiment, "result": result, "chart": result_chart(result),
        "counts": services.assignment_counts(experiment), "plotly_version": plotly.__version__,
    })  # fmt: skip


MOVES = {"start": services.start_experiment, "stop": services.stop_experiment}


@login_required
@require_POST
def experiment_move(request, pk: int, action: str):
    require(request.user, "experiments.change_experiment")
    experiment = get_object_or_404(Experiment, pk=pk)
    move = MOVES.get(action)
    if move is None:
        raise Http404
    try:
        move(experiment=experiment, actor=request.user)
        messages.success(request, _("Experiment started.") if action == "start" else
                         _("Experiment stopped."))  # fmt: skip
    except services.ExperimentError as error:
        messages.error(request, error.message)
    return redirect("experiments:detail", experiment.pk)
