"""Actions on one case: every one is a POST with CSRF that calls exactly one service function,
then redirects back to the case page (PRG). Bad input or a move the case's state does not
allow re-renders the case page with the form and its messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from cxloop.cases import lifecycle, services
from cxloop.cases.access import case_for, visible_cases
from cxloop.cases.forms import attach_case_error
from cxloop.cases.services import CaseError
from cxloop.cases.views import make_form, render_case_page


def _reply(case, actor, data):
    lifecycle.reply(case=case, actor=actor, body=data["body"], solution=data["solution"])


def _note(case, actor, data):
    lifecycle.add_note(case=case, actor=actor, body=data["body"])


def _wait(case, actor, data):
    lifecycle.wait_on_customer(case=case, actor=actor, body=data["body"])


def _resume(case, actor, data):
    lifecycle.resume(case=case, actor=actor, body=data["body"])


def _resolve(case, actor, data):
    lifecycle.resolve(case=case, actor=actor, resolution=data["resolution"])


def _callback(case, actor, data):
    lifecycle.record_callback(
        case=case, actor=actor, satisfied=data["satisfied"], note=data["note"]
    )


def _close(case, actor, data):
    lifecycle.close(case=case, actor=actor)


def _reopen(case, actor, data):
    lifecycle.reopen(case=case, actor=actor, reason=data["reason"])


def _escalate(case, actor, data):
    services.escalate_case(case=case, actor=actor, reason=data["reason"])


def _assign(case, actor, data):
    services.assign_case(
        case=case, actor=actor, owner=data["owner"], department=data["department"],
        reason=data["reason"],
    )  # fmt: skip


def _merge(case, actor, data):
    survivor = visible_cases(actor).filter(number__iexact=data["number"].strip()).first()
    if survivor is None:
        message = _("No case with this number.")
        raise CaseError(message, {"number": [message]})
    services.merge_cases(duplicate=case, survivor=survivor, actor=actor)


def _edit(case, actor, data):
    services.update_case(case=case, actor=actor, **data)


@dataclass(frozen=True)
class Action:
    perm: str
    run: Callable
    done: str


ACTIONS = {
    "reply": Action("cases.work_case", _reply, gettext_lazy("Reply sent.")),
    "note": Action("cases.work_case", _note, gettext_lazy("Note added.")),
    "wait": Action("cases.work_case", _wait, gettext_lazy("Waiting on the customer.")),
    "resume": Action("cases.work_case", _resume, gettext_lazy("Work resumed.")),
    "resolve": Action("cases.work_case", _resolve, gettext_lazy("Case resolved.")),
    "callback": Action("cases.work_case", _callback, gettext_lazy("Callback recorded.")),
    "close": Action("cases.work_case", _close, gettext_lazy("Case closed.")),
    "reopen": Action("cases.work_case", _reopen, gettext_lazy("Case reopened.")),
    "escalate": Action("cases.work_case", _escalate, gettext_lazy("Case escalated.")),
    "assign": Action("cases.work_case", _assign, gettext_lazy("Assignment saved.")),
    "merge": Action("cases.work_case", _merge, gettext_lazy("Case merged.")),
    "edit": Action("cases.change_case", _edit, gettext_lazy("Details saved.")),
}


@login_required
@require_POST
def case_action(request, pk: int, action: str):
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404("no such action")
    case = case_for(request.user, pk, perm=spec.perm)
    form = make_form(action, request, case, request.POST)
    if form.is_valid():
        data = form.service_fields() if action == "edit" else form.cleaned_data
        try:
            spec.run(case, request.user, data)
        except CaseError as error:
            attach_case_error(form, error)
            case.refresh_from_db()  # a refused move must not show half-changed values
        else:
            messages.success(request, spec.done)
            return redirect("cases:detail", pk=case.pk)
    return render_case_page(request, case, {action: form})
