"""``cxloop manage analyse_texts``: sentiment and aspects of every case and survey comment
still waiting for them (after an upgrade, or with ``--all`` after a model change)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from cxloop.cases import text as case_text
from cxloop.cases.models import Case
from cxloop.surveys import text as survey_text
from cxloop.surveys.models import Response


class Command(BaseCommand):
    help = "Backfill the sentiment and aspects of cases and survey comments, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Analyse everything again.")
        parser.add_argument("--batch", type=int, default=2000, help="Rows per progress line.")

    def handle(self, *args, all: bool = False, batch: int = 2000, **options):
        if all:
            Case.objects.update(text_analysed_at=None)
            Response.objects.filter(submitted_at__isnull=False).update(text_analysed_at=None)
        for label, module in (("cases", case_text), ("survey responses", survey_text)):
            total, left = 0, module.pending().count()
            while done := module.analyse_pending(limit=max(1, batch)):
                total += done
                self.stdout.write(f"{label}: {total:,} of {left:,} analysed")
                if total >= left:
                    break
            self.stdout.write(self.style.SUCCESS(f"{label}: {total:,} analysed"))
