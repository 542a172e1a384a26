"""``cxloop manage score_customers``: score every customer now (what the nightly task does)."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from cxloop.retention.models import ScoringRun
from cxloop.retention.scoring import score_customers


class Command(BaseCommand):
    help = "Recalculate RFM scores, tiers, CLV and demand tags of every customer."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--as-of",
            help="score as of this time (ISO 8601, Asia/Shanghai unless it has an offset)",
        )

    def handle(self, *args, **options) -> None:
        now = self._as_of(options.get("as_of"))
        run = score_customers(now=now, kind=ScoringRun.Kind.COMMAND)
        timings = ", ".join(f"{k} {v:.2f} s" for k, v in run.parameters["timings"].items())
        self.stdout.write(
            f"Scored {run.customers} customers as of {timezone.localtime(now):%Y-%m-%d %H:%M}: "
            f"{run.changed} tier changes ({timings})."
        )
        if run.message:
            self.stdout.write(run.message)

    def _as_of(self, text: str | None) -> dt.datetime:
        if not text:
            return timezone.now()
        moment = parse_datetime(text)
        if moment is None:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError:
                raise CommandError(f"--as-of: not a date or time: {text!r}") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment
