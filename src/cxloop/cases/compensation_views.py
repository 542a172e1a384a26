"""Console pages of frontline empowerment: grant compensation on a case, the approval queue,
care package / thank-you note, and the follow-up tasks list (callbacks, care, thank-you notes).

Thin views: ``access.case_for`` makes another department's case a 404, the services in
``compensation.py`` check the permissions again and do the work.
"""

from __future__ import annotations

import secrets

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cxloop.cases import compensation
from cxloop.cases.access import case_for, visible_cases
from cxloop.cases.forms import AmountField, attach_case_error
from cxloop.cases.models import CaseTask, Compensation
from cxloop.cases.services import CaseError
from cxloop.core.money import format_fen
from cxloop.core.roles import require

PAGE_SIZE = 50
TASK_KINDS = (CaseTask.Kind.CALLBACK, *compensation.CARE_KINDS)


class GrantForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=Compensation.Kind.choices)
    amount = AmountField(label=gettext_lazy("Amount (¥)"), required=True)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300,
                             widget=forms.Textarea(attrs={"rows": 2}))  # fmt: skip
    key = forms.CharField(required=False, max_length=100, widget=forms.HiddenInput)


class DecideForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=300)


class CompleteForm(forms.Form):
    outcome = forms.CharField(label=gettext_lazy("Outcome"), max_length=300)


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


def _error_text(error: CaseError) -> str:
    """The message and the field messages of a ``CaseError``, each once."""
    texts = [error.message, *(m for ms in error.field_errors.values() for m in ms)]
    return " ".join(dict.fromkeys(str(text) for text in texts))


# --- grant, care tasks on one case ---------------------------------------------------------


@login_required
def grant(request, pk: int):
    """GET: the grant form for the case; POST: grant (or ask for approval) and go back."""
    case = case_for(request.user, pk, perm="cases.work_case")
    form = GrantForm(request.POST or None, initial={"key": secrets.token_urlsafe(16)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            row = compensation.grant_compensation(
                case=case, actor=request.user, kind=data["kind"], amount_fen=data["amount"],
                reason=data["reason"], idempotency_key=data["key"] or None,
            )  # fmt: skip
        except CaseError as error:
            attach_case_error(form, error)
        else:
            _grant_message(request, row)
            return redirect(_back(request, reverse("cases:detail", args=[case.pk])))
    context = {
        "case": case,
        "form": form,
        "given_fen": compensation.given_fen(case),
        "limit_fen": compensation.limit_fen(),
        "rows": case.compensations.select_related("requested_by", "decided_by")[:50],
        "care_kinds": [(k, CaseTask.Kind(k).label) for k in compensation.CARE_KINDS],
        "nav_active": "cases",
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "cases/compensation/grant.html", context, status=status)


def _grant_message(request, row: Compensation) -> None:
    values = {"amount": format_fen(row.amount_fen), "kind": row.get_kind_display()}
    if row.status == Compensation.Status.GRANTED:
        messages.success(request, _("%(kind)s of %(amount)s granted.") % values)
    else:
        messages.info(request, _("%(kind)s of %(amount)s sent for approval.") % values)


@login_required
@require_POST
def care(request, pk: int):
    """Create a care package or thank-you note task for the case."""
    case = case_for(request.user, pk, perm="cases.work_case")
    try:
        task = compensation.create_care_task(
            case=case, actor=request.user, kind=request.POST.get("kind", "")
        )
    except CaseError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("%(task)s due %(due)s.") % {
            "task": task.get_kind_display(),
            "due": timezone.localtime(task.due_at).strftime("%Y-%m-%d %H:%M"),
        })  # fmt: skip
    return redirect(_back(request, reverse("cases:detail", args=[case.pk])))


# --- the approval queue --------------------------------------------------------------------


@login_required
def queue(request):
    require(request.user, "cases.view_case", compensation.APPROVE_PERM)
    rows = compensation.pending_compensations().filter(case__in=visible_cases(request.user))
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"page": page, "form": DecideForm(), "limit_fen": compensation.limit_fen(),
               "nav_active": "cases_compensation"}  # fmt: skip
    return render(request, "cases/compensation/queue.html", context)


@login_required
@require_POST
def decide(request, pk: int):
    require(request.user, "cases.view_case", compensation.APPROVE_PERM)
    mine = Compensation.objects.filter(case__in=visible_cases(request.user))
    row = get_object_or_404(mine.select_related("case"), pk=pk)
    form = DecideForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    approve = request.POST.get("decision") == "approve"
    try:
        compensation.decide_compensation(
            compensation=row, actor=request.user, approve=approve, note=note
        )
    except CaseError as error:
        messages.error(request, f"{row.case.number}: {_error_text(error)}")
    else:
        text = _("Approved") if approve else _("Rejected")
        messages.success(request, f"{row.case.number}: {text} {format_fen(row.amount_fen)}")
    return redirect(_back(request, reverse("cases_compensation:queue")))


# --- follow-up tasks -----------------------------------------------------------------------


def _task_filters(request) -> dict:
    scope = request.GET.get("scope", "mine")
    kind = request.GET.get("kind", "")
    state = request.GET.get("state", "open")
    return {
        "scope": scope if scope in ("mine", "all") else "mine",
        "kind": kind if kind in TASK_KINDS else "",
        "state": state if state in ("open", "done") else "open",
    }


def task_rows(user, filters: dict):
    tasks = CaseTask.objects.filter(case__in=visible_cases(user), kind__in=TASK_KINDS)
    if filters["scope"] == "mine":
        tasks = tasks.filter(assignee=user)
    if filters["kind"]:
        tasks = tasks.filter(kind=filters["kind"])
    if filters["state"] == "done":
        tasks = tasks.filter(done_at__isnull=False).order_by("-done_at", "-id")
    else:
        tasks = tasks.filter(done_at__isnull=True).order_by("due_at", "id")
    return tasks.select_related("case", "assignee")


@login_required
def tasks(request):
    require(request.user, "cases.view_case")
    filters = _task_filters(request)
    page = Paginator(task_rows(request.user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "kinds": [(k, CaseTask.Kind(k).label) for k in TASK_KINDS],
        "form": CompleteForm(),
        "now": timezone.now(),
        "can_work": request.user.has_perm("cases.work_case"),
        "nav_active": "cases_tasks",
    }
    return render(request, "cases/compensation/tasks.html", context)


@login_required
@require_POST
def complete(request, pk: int):
    require(request.user, "cases.view_case")
    task = get_object_or_404(
        CaseTask.objects.filter(case__in=visible_cases(request.user)).select_related("case"), pk=pk
    )
    form = CompleteForm(request.POST)
    try:
        outcome = form.cleaned_data["outcome"] if form.is_valid() else ""
        compensation.complete_task(task=task, actor=request.user, outcome=outcome)
    except CaseError as error:
        messages.error(request, f"{task.case.number}: {_error_text(error)}")
    else:
        messages.success(request, _("%(task)s done.") % {"task": task.get_kind_display()})
    return redirect(_back(request, reverse("cases_compensation:tasks")))
