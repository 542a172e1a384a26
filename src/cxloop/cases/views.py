"""The agent console for cases: the queues, bulk assign, the new-case form and the case page.

Views stay thin: read the input, check the permission (``access.case_for`` makes another
department's case a 404), call one service, render. Writes on a case are in ``action_views``.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from cxloop.cases import attachments, queues, services
from cxloop.cases.access import case_for, visible_cases
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.forms import (
    AssignForm,
    AttachmentForm,
    BulkAssignForm,
    CallbackForm,
    CloseForm,
    EditCaseForm,
    MergeForm,
    NewCaseForm,
    NoteForm,
    ReasonForm,
    ReplyForm,
    ResolveForm,
    ResumeForm,
    WaitForm,
    attach_case_error,
)
from cxloop.cases.models import Case, CaseTask, Solution
from cxloop.core.pii import can_see_pii
from cxloop.core.roles import require

PAGE_SIZE = 50
RESULTS_ID = "case-results"
S = Case.Status


# --- queues ---------------------------------------------------------------------------------


@login_required
def queue(request, name: str = "mine"):
    require(request.user, "cases.view_case")
    filters = queues.filters_from(request.GET)
    cases = queues.queue_cases(user=request.user, queue=name, filters=filters)
    page = Paginator(cases, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "queue": name,
        "queue_label": queues.QUEUE_LABELS[name],
        "page": page,
        "rows": queues.queue_rows(page, user=request.user),
        "filters": filters,
        "results_id": RESULTS_ID,
        "nav_active": f"cases_{name}",
    }
    if request.user.has_perms(["cases.assign_case", "cases.work_case"]):
        context["assignees"] = queues.assignable_users()
    if request.htmx and request.htmx.target == RESULTS_ID:
        response = render(request, "cases/console/_case_rows.html", context)
    else:
        context |= {
            "choices": queues.filter_choices(),
            "queues": queues.queues_for(request.user),
            "countdown_words": queues.countdown_words(),
        }
        response = render(request, "cases/console/queue.html", context)
    patch_vary_headers(response, ["HX-Request"])  # the partial and the page share one URL
    return response


def _back(request, fallback: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


@login_required
@require_POST
def bulk_assign(request):
    require(request.user, "cases.assign_case")
    form = BulkAssignForm(request.POST, owners=queues.assignable_users())
    if not form.is_valid():
        for errors in form.errors.values():
            messages.error(request, errors[0])
        return redirect(_back(request, reverse("cases:home")))
    chosen = visible_cases(request.user).filter(pk__in=form.cleaned_data["cases"])
    owner = form.cleaned_data["owner"]
    try:
        done = services.bulk_assign(cases=chosen, owner=owner, actor=request.user)
    except services.CaseError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            ngettext(
                "%(count)d case assigned to %(owner)s.",
                "%(count)d cases assigned to %(owner)s.",
                done,
            )
            % {"count": done, "owner": owner.get_full_name() or owner.get_username()},
        )
    return redirect(_back(request, reverse("cases:home")))


# --- new case -------------------------------------------------------------------------------


@login_required
@attachments.capped_uploads
def case_new(request):
    require(request.user, "cases.add_case")
    posted = request.method == "POST"
    form = NewCaseForm(request.POST if posted else None, request.FILES if posted else None)
    if form.is_bound and form.is_valid():
        try:
            case = attachments.open_case_with_files(
                actor=request.user, files=form.cleaned_data["attachments"],
                via=CaseAttachment.Via.CONSOLE, **form.service_fields(),
            )  # fmt: skip
        except services.CaseError as error:
            attach_case_error(form, error)
        except ValidationError as error:
            form.add_error("attachments", error)
        else:
            messages.success(request, _("Case %(number)s opened.") % {"number": case.number})
            return redirect("cases:detail", pk=case.pk)
    context = {"form": form, "nav_active": "cases_new"}
    return render(request, "cases/console/case_new.html", context)


# --- the case page --------------------------------------------------------------------------


@login_required
def case_detail(request, pk: int):
    case = case_for(request.user, pk)
    return render_case_page(request, case)


def render_case_page(request, case: Case, bound: dict | None = None):
    """The case page; ``bound`` holds an action form that failed, to show with its errors."""
    forms = action_forms(request, case) | (bound or {})
    now = timezone.now()
    context = {
        "case": case,
        "now": now,
        "next_clock": queues.clock(case.next_due_at if case.is_open else None, now),
        "targets": queues.target_rows(case, now=now),
        "callback": case.tasks.filter(kind=CaseTask.Kind.CALLBACK)
        .order_by("-cycle", "-id")
        .first(),
        "timeline": queues.timeline(case, user=request.user),
        "panel": queues.customer_panel(case, user=request.user),
        "forms": forms,
        "solutions": solutions_for(case) if "reply" in forms else [],
        "compensations": list(case.compensations.order_by("-requested_at", "-id")[:20]),
        "attachments": list(case.attachments.select_related("uploaded_by")),
        "attach_form": forms.get("attach") or _attach_form(request.user, case),
        "may_remove_attachments": request.user.has_perm("cases.work_case"),
        "countdown_words": queues.countdown_words(),
        "nav_active": "cases",
    }
    return render(request, "cases/console/case_detail.html", context)


def _attach_form(user, case: Case) -> AttachmentForm | None:
    return AttachmentForm(case=case) if attachments.may_attach(user, case) else None


def solutions_for(case: Case) -> list[Solution]:
    """Quick replies: the solution library for the case's category (and its parent), and the
    general answers without a category."""
    query = Q(category__isnull=True)
    if case.category_id:
        query |= Q(category_id=case.category_id)
        if case.category.parent_id:
            query |= Q(category_id=case.category.parent_id)
    return list(Solution.objects.filter(query, is_active=True).order_by("-uses", "title")[:50])


def allowed_actions(user, case: Case) -> list[str]:
    """The actions the case's state and the user's permissions allow, in page order."""
    names = []
    if user.has_perm("cases.work_case"):
        if case.is_open:
            names += ["reply", "resume" if case.status == S.WAITING else "wait", "resolve"]
            names += ["assign", "escalate"]
        names += {S.RESOLVED: ["callback"], S.CALLBACK_DONE: ["close"]}.get(case.status, [])
        if case.status in (S.RESOLVED, S.CALLBACK_DONE, S.CLOSED):
            names.append("reopen")
        names.append("note")
        if case.status not in (S.MERGED, S.CLOSED):
            names.append("merge")
    if user.has_perm("cases.change_case") and case.status != S.MERGED:
        names.append("edit")
    return names


FORM_CLASSES = {
    "reply": ReplyForm, "note": NoteForm, "wait": WaitForm, "resume": ResumeForm,
    "resolve": ResolveForm, "callback": CallbackForm, "close": CloseForm,
    "reopen": ReasonForm, "escalate": ReasonForm, "merge": MergeForm,
    "assign": AssignForm, "edit": EditCaseForm,
}  # fmt: skip


def make_form(action: str, request, case: Case, data=None):
    """The form of one action, bound to ``data`` or with its initial values."""
    if action == "edit":
        return EditCaseForm.for_case(case, data, show_pii=can_see_pii(request.user))
    if action == "assign":
        owners = queues.assignable_users()
        if not request.user.has_perm("cases.assign_case"):
            owners = owners.filter(pk=request.user.pk)  # handlers take a case themselves
        initial = {"owner": case.owner_id, "department": case.department_id}
        return AssignForm(data, owners=owners, initial=initial, prefix=action)
    initial = {}
    if action == "reply" and data is None:
        initial = _quick_reply(request, case)
    return FORM_CLASSES[action](data, initial=initial, prefix=action)


def _quick_reply(request, case: Case) -> dict:
    """Without JavaScript, ``?solution=<id>`` fills the reply with a standard answer."""
    wanted = request.GET.get("solution", "")
    if not wanted.isdigit():
        return {}
    found = next((s for s in solutions_for(case) if s.pk == int(wanted)), None)
    return {"body": found.body, "solution": found.pk} if found else {}


def action_forms(request, case: Case) -> dict:
    return {name: make_form(name, request, case) for name in allowed_actions(request.user, case)}
