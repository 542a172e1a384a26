"""``{% case_variants case as variants %}``: the variants of running experiments a case (or its
customer) is in, for the agent to follow on the case page."""

from __future__ import annotations

from dataclasses import dataclass

from django import template
from django.db.models import Q

from cxloop.experiments.models import Assignment, Experiment

register = template.Library()


@dataclass(frozen=True)
class CaseVariant:
    experiment_id: int
    variant: str
    name: str
    description: str


@register.simple_tag
def case_variants(case) -> list[CaseVariant]:
    if case is None or getattr(case, "pk", None) is None:
        return []
    units = Q(case_id=case.pk)
    if case.customer_id:
        units |= Q(customer_id=case.customer_id, experiment__unit=Experiment.Unit.CUSTOMER)
    rows = Assignment.objects.filter(units, experiment__status=Experiment.Status.RUNNING)
    return [
        CaseVariant(a.experiment_id, a.variant, a.experiment.variant_name(a.variant),
                    a.experiment.variant_description(a.variant))
        for a in rows.select_related("experiment").order_by("experiment_id")
    ]  # fmt: skip
