"""Who may see and work which case: the one check every case view and endpoint uses.

Managers, agents, analysts (``cases.view_all_cases``) see every case; a department handler sees
the cases of the departments they belong to and the cases they own, nothing else — by URL or
by API a foreign case is a 404, so its existence does not leak.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from cxloop.cases.models import Case
from cxloop.core.roles import require


def visible_cases(user) -> QuerySet[Case]:
    """The cases ``user`` may see (none for anyone without ``cases.view_case``)."""
    if not (user and user.is_authenticated and user.is_active and user.has_perm("cases.view_case")):
        return Case.objects.none()
    if user.has_perm("cases.view_all_cases"):
        return Case.objects.all()
    departments = user.case_memberships.values("department_id")
    return Case.objects.filter(Q(department_id__in=departments) | Q(owner=user))


def can_see(user, case: Case) -> bool:
    return visible_cases(user).filter(pk=case.pk).exists()


def case_for(user, pk: int, *, perm: str = "cases.view_case") -> Case:
    """The case ``pk`` if ``user`` may see it and holds ``perm``; 404 / PermissionDenied."""
    require(user, "cases.view_case")
    case = visible_cases(user).select_related("customer", "category", "department", "owner")
    found = case.filter(pk=pk).first()
    if found is None:
        raise Http404("no such case")
    if perm != "cases.view_case" and not user.has_perm(perm):
        raise PermissionDenied
    return found
