"""The insight summary (/understand/): on one page, what customers are unhappy about and where
(low-score clusters), since when (open KPI alerts), which fix matters most (key drivers' "fix
first"), whether the last change worked (A/B verdicts) and what is being done (improvement
actions). Each part is read through its own app and shown only with its permission."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count

from cxloop.core.pii import can_see_pii
from cxloop.surveys import analysis, clusters
from cxloop.surveys.models import Survey

TOP = 5


@dataclass
class Finding:
    place_label: str  # "" for the whole set
    row: clusters.Row


@dataclass
class Summary:
    surveys: list[Survey] = field(default_factory=list)
    survey: Survey | None = None
    findings: list[Finding] | None = None  # None: not allowed or no survey
    low_label: str = ""
    fix_first: list | None = None
    drivers_message: str = ""
    alerts: list | None = None
    open_alerts: int = 0
    experiments: list | None = None
    actions: list | None = None
    open_actions: int = 0


def summary(*, user, survey_id: int | None = None) -> Summary:
    result = Summary()
    if user.has_perm("surveys.view_results"):
        _survey_parts(result, user, survey_id)
    if user.has_perm("alerts.view_alert"):
        _alerts(result)
    if user.has_perm("experiments.view_experiment"):
        _experiments(result)
    if user.has_perm("programs.view_improvementaction"):
        _actions(result)
    return result


def surveys_with_answers() -> list[Survey]:
    """Surveys by the number of answers, most first (the default is the busiest)."""
    counted = Survey.objects.annotate(answered=Count("responses")).filter(answered__gt=0)
    return list(counted.select_related("current_version").order_by("-answered", "pk"))


def _survey_parts(result: Summary, user, survey_id: int | None) -> None:
    result.surveys = surveys_with_answers()
    by_id = {survey.pk: survey for survey in result.surveys}
    result.survey = by_id.get(survey_id) or (result.surveys[0] if result.surveys else None)
    if result.survey is None:
        return
    low = clusters.default_low_rule(result.survey)
    result.low_label = str(clusters.SURVEY_LOW_RULES[low])
    report = clusters.survey_clusters(
        survey=result.survey, filters=analysis.Filters(), by="region", low=low,
        show_pii=can_see_pii(user), show_text=user.has_perm("surveys.view_response"),
    )  # fmt: skip
    found = [Finding("", row) for row in report.overall]
    found += [Finding(block.label, row) for block in report.places for row in block.rows]
    found.sort(key=lambda f: (-f.row.lift, -f.row.low_hits))
    result.findings = found[:TOP]
    try:
        drivers = analysis.driver_analysis(survey=result.survey)
    except analysis.AnalysisInputError:
        result.fix_first, result.drivers_message = [], ""
        return
    result.drivers_message = str(drivers.message)
    result.fix_first = [row for row in drivers.rows if row.quadrant == "fix_first"]


def _alerts(result: Summary) -> None:
    from cxloop.alerts.models import Alert
    from cxloop.alerts.notify import message_text
    from cxloop.alerts.selectors import alert_list

    active = [Alert.Status.OPEN, Alert.Status.ACKNOWLEDGED]  # not recovered yet
    open_alerts = alert_list().filter(status__in=active)
    result.open_alerts = open_alerts.count()
    result.alerts = [(alert, message_text(alert)[1].split("\n")[0]) for alert in open_alerts[:TOP]]


def _experiments(result: Summary) -> None:
    from cxloop.experiments.models import Experiment
    from cxloop.experiments.results import results

    latest = Experiment.objects.exclude(status=Experiment.Status.DRAFT).order_by("-created_at")
    result.experiments = [results(experiment=experiment) for experiment in latest[:3]]


def _actions(result: Summary) -> None:
    from cxloop.programs.models import ImprovementAction

    open_actions = ImprovementAction.objects.exclude(status=ImprovementAction.Status.DONE)
    result.open_actions = open_actions.count()
    result.actions = list(open_actions.order_by("-created_at")[:TOP])
