"""The daily KPI scan and the writes on alerts.

``scan_kpis`` builds each active rule's series, runs ``insights.anomaly.scan`` and feeds the
points of the days not yet processed (normally: yesterday, the last complete day) through the
``open_alerts`` state machine, starting from the alerts open in the database. A rule remembers
the last day it processed (``AlertRule.last_scanned_day``), under a row lock, so a rerun the
same day — or a second worker at the same moment — finds nothing to do; the partial unique
constraint on open alerts is the last guard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from cxloop.alerts import notify
from cxloop.alerts.models import Alert, AlertRule, Direction, Subscription
from cxloop.alerts.series import WORSE_SIDE, Series, build_series
from cxloop.core.audit import record_audit
from cxloop.insights import anomaly

RECOVER_DAYS = 3
CATCH_UP_DAYS = 7  # a worker down for a few days judges the missed days too, not more


@dataclass
class ScanReport:
    day: dt.date
    rules: int = 0
    series: int = 0
    opened: list[Alert] = field(default_factory=list)
    recovered: list[Alert] = field(default_factory=list)
    messages: int = 0
    skipped_rules: int = 0  # already scanned for the day


def scan_day(now: dt.datetime) -> dt.date:
    """The last complete local day at ``now``: the one the daily scan judges."""
    return timezone.localtime(now).date() - dt.timedelta(days=1)


def scan_options(rule: AlertRule) -> dict:
    side = WORSE_SIDE[rule.metric] if rule.direction == Direction.WORSE else "both"
    return {"lam": rule.lam, "limit": rule.limit, "min_count": rule.min_sample, "side": side}


def run_scan(series: Series, rule: AlertRule) -> anomaly.ScanResult:
    return anomaly.scan(
        series.values, series.counts, kind=series.kind, recover_days=RECOVER_DAYS,
        series=series.places, days=series.days, **scan_options(rule),
    )  # fmt: skip


def scan_kpis(*, now: dt.datetime | None = None) -> ScanReport:
    """Scan every active rule for the last complete day; safe to rerun and to run twice at once."""
    now = now or timezone.now()
    report = ScanReport(day=scan_day(now))
    for rule in AlertRule.objects.filter(active=True):
        report.rules += 1
        series = build_series(metric=rule.metric, dimension=rule.dimension, end=report.day)
        report.series += len(series.places)
        result = run_scan(series, rule) if series.places else None
        _apply(rule, series, result, now, report)
    return report


def _apply(rule, series: Series, result, now: dt.datetime, report: ScanReport) -> None:
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().get(pk=rule.pk)
        if rule.last_scanned_day and rule.last_scanned_day >= report.day:
            report.skipped_rules += 1
            return
        first = max(
            (rule.last_scanned_day or report.day - dt.timedelta(days=1)) + dt.timedelta(days=1),
            report.day - dt.timedelta(days=CATCH_UP_DAYS - 1),
        )
        points = []
        if result is not None:
            for index, day in enumerate(series.days):
                if first <= day <= report.day:
                    points += result.points(index)
        advance_rule(rule, series, points, now, report)
        rule.last_scanned_day = report.day
        rule.save(update_fields=["last_scanned_day"])


def advance_rule(rule, series: Series, points: list, now, report: ScanReport) -> None:
    """Feed one rule's judged ``points`` through the no-storm state machine, starting from its
    alerts open in the database: open, keep or recover alerts (``now`` stamps them)."""
    rows = {
        a.place: a
        for a in Alert.objects.filter(
            metric=rule.metric, dimension=rule.dimension, status__in=Alert.ACTIVE
        )
    }
    previous = [
        anomaly.Alert(
            place,
            a.day,
            a.value,
            a.expected,
            a.jump_abs,
            a.jump_rel,
            a.z,
            a.p_value,
            a.direction,
            in_control_days=a.in_control_days,
        )  # fmt: skip
        for place, a in rows.items()
    ]
    update = anomaly.open_alerts(previous, points, recover_days=RECOVER_DAYS)
    for found in update.opened:
        alert = _open(rule, series, found, now)
        if alert is not None:
            report.opened.append(alert)
            rows[alert.place] = alert
            report.messages += len(notify.alert_opened(alert=alert, now=now))
    closed = {a.series: a for a in update.closed}
    for found in update.open:
        row = rows.get(found.series)
        if row is not None and row.in_control_days != found.in_control_days:
            row.in_control_days = found.in_control_days
            row.save(update_fields=["in_control_days"])
    for place, found in closed.items():
        if place in rows and rows[place].is_active:
            report.recovered.append(_recover(rows[place], found.closed_day, now))


def _open(rule, series: Series, found: anomaly.Alert, now) -> Alert | None:
    """Store a new alert; None when another worker already holds this series' open alert."""
    factor = series.display
    index = series.days.index(found.day)
    alert = Alert(
        rule=rule, metric=rule.metric, dimension=rule.dimension, place=str(found.series),
        day=found.day, value=found.value * factor, expected=found.expected * factor,
        jump_abs=found.jump * factor, jump_rel=found.relative_jump, z=found.z,
        p_value=found.p_value, direction=found.direction, opened_at=now,
        sample=int(series.counts[series.row(found.series), index]),
        in_control_days=found.in_control_days, evidence=scan_options(rule),
    )  # fmt: skip
    try:
        with transaction.atomic():
            alert.save()
    except IntegrityError:
        return None
    record_audit(actor=None, action="alerts.alert.opened", target=alert, after=_state(alert))
    return alert


def _recover(alert: Alert, day, now) -> Alert:
    before = _state(alert)
    alert.status = Alert.Status.RECOVERED
    alert.recovered_at, alert.recovered_day = now, day
    alert.in_control_days = RECOVER_DAYS
    alert.save(update_fields=["status", "recovered_at", "recovered_day", "in_control_days"])
    record_audit(
        actor=None, action="alerts.alert.recovered", target=alert, before=before,
        after=_state(alert),
    )  # fmt: skip
    return alert


def _state(alert: Alert) -> dict:
    return {
        "status": alert.status,
        "metric": alert.metric,
        "dimension": alert.dimension,
        "place": alert.place,
        "day": alert.day,
        "value": round(alert.value, 4),
        "expected": round(alert.expected, 4),
        "p_value": alert.p_value,
    }


class AlertError(Exception):
    """A request on an alert that its state does not allow."""


def acknowledge_alert(*, alert: Alert, actor, note: str = "") -> Alert:
    """Mark an open alert as seen and being handled; it still blocks a second alert."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.status != Alert.Status.OPEN:
            raise AlertError("Only an open alert can be acknowledged.")
        before = _state(alert)
        alert.status = Alert.Status.ACKNOWLEDGED
        alert.acknowledged_by, alert.acknowledged_at = actor, timezone.now()
        alert.acknowledge_note = note.strip()[:2000]
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at",
                                  "acknowledge_note"])  # fmt: skip
        after = {**_state(alert), "note": alert.acknowledge_note}
        record_audit(actor=actor, action="alerts.alert.acknowledged", target=alert,
                     before=before, after=after)  # fmt: skip
    return alert


RULE_FIELDS = ("min_sample", "lam", "limit", "direction", "active")


def update_rule(*, rule: AlertRule, actor, changes: dict) -> AlertRule:
    """Change a rule's thresholds; an audit row shows the values before and after."""
    before = {name: getattr(rule, name) for name in RULE_FIELDS}
    for name, value in changes.items():
        if name not in RULE_FIELDS:
            raise AlertError(f"{name} is not a rule setting")
        setattr(rule, name, value)
    rule.full_clean()
    with transaction.atomic():
        rule.save()
        after = {name: getattr(rule, name) for name in RULE_FIELDS}
        record_audit(actor=actor, action="alerts.rule.changed", target=rule,
                     before=before, after=after)  # fmt: skip
    return rule


def subscribe(*, user, metric: str = "", dimension: str = "", place: str = "",
              channel: str = "email") -> Subscription:  # fmt: skip
    """Add (or reactivate) a subscription of ``user``."""
    with transaction.atomic():
        found, created = Subscription.objects.get_or_create(
            user=user, metric=metric, dimension=dimension, place=place.strip(), channel=channel
        )
        if not created and not found.active:
            found.active = True
            found.save(update_fields=["active"])
        record_audit(actor=user, action="alerts.subscription.added", target=found,
                     after={"metric": metric, "dimension": dimension, "place": found.place,
                            "channel": channel})  # fmt: skip
    return found


def unsubscribe(*, subscription: Subscription, actor) -> None:
    with transaction.atomic():
        before = {"metric": subscription.metric, "dimension": subscription.dimension,
                  "place": subscription.place, "channel": subscription.channel}  # fmt: skip
        record_audit(actor=actor, action="alerts.subscription.removed", target=subscription,
                     before=before)  # fmt: skip
        subscription.delete()
