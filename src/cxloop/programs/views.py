"""Console pages of the suggestion scheme and the improvement list. Thin: read input, check one
permission, call a selector or a service, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from cxloop.core.roles import require
from cxloop.programs import selectors, services
from cxloop.programs.forms import (
    ActionFilters,
    ActionForm,
    AdoptForm,
    IdeaFilters,
    NoteForm,
    StaffIdeaForm,
)
from cxloop.programs.models import Idea, ImprovementAction

PAGE_SIZE = 50
MOVES = {
    "shortlist": services.shortlist_idea,
    "reject": services.reject_idea,
    "choose": services.choose_weekly_best,
}
DONE = {
    "shortlist": gettext_lazy("Idea shortlisted."),
    "reject": gettext_lazy("Idea rejected."),
    "choose": gettext_lazy("Chosen as the best idea of the week."),
}


def _errors(form, error: services.ProgramError) -> None:
    for name, items in error.field_errors.items():
        for message in items:
            form.add_error(name if name in form.fields else None, message)
    if not error.field_errors:
        form.add_error(None, error.message)


@login_required
@require_GET
def idea_list(request):
    require(request.user, "programs.view_idea")
    form = IdeaFilters(request.GET or None)
    page = Paginator(selectors.idea_list(**form.filters()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {
        "form": form,
        "page": page,
        "this_week": services.iso_week(timezone.now()),
        "nav_active": "ideas",
    }
    return render(
        request, "programs/console/ideas.html", context, status=400 if form.errors else 200
    )


@login_required
def idea_new(request):
    require(request.user, "programs.add_idea")
    form = StaffIdeaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.submit_idea(
                **form.cleaned_data,
                channel=Idea.Channel.CONSOLE,
                author_user=request.user,
                actor=request.user,
            )
            messages.success(request, _("Idea submitted."))
            return redirect("programs:ideas")
        except services.ProgramError as error:
            _errors(form, error)
    context = {"form": form, "nav_active": "ideas"}
    return render(
        request, "programs/console/idea_new.html", context, status=400 if form.errors else 200
    )


@login_required
@require_GET
def idea_detail(request, pk: int):
    require(request.user, "programs.view_idea")
    idea = get_object_or_404(Idea.objects.select_related("customer", "author_user"), pk=pk)
    context = {
        "idea": idea,
        "events": idea.events.select_related("actor"),
        "actions": idea.actions.all(),
        "note_form": NoteForm(),
        "adopt_form": AdoptForm(),
        "nav_active": "ideas",
    }
    return render(request, "programs/console/idea_detail.html", context)


@login_required
@require_POST
def idea_move(request, pk: int, move: str):
    require(request.user, "programs.change_idea")
    idea = get_object_or_404(Idea, pk=pk)
    form = NoteForm(request.POST)
    if move not in MOVES or not form.is_valid():
        messages.error(
            request, _("The note is too long.") if move in MOVES else _("Unknown action.")
        )
        return redirect("programs:idea", pk=pk)
    try:
        MOVES[move](idea=idea, actor=request.user, note=form.cleaned_data["note"])
        messages.success(request, DONE[move])
    except services.ProgramError as error:
        messages.error(request, error.message)
    return redirect("programs:idea", pk=pk)


@login_required
@require_POST
def idea_adopt(request, pk: int):
    require(request.user, "programs.change_idea")
    idea = get_object_or_404(Idea, pk=pk)
    form = AdoptForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please check the owner and the due date."))
        return redirect("programs:idea", pk=pk)
    try:
        action = services.adopt_idea(idea=idea, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Idea adopted: it is now on the improvement list."))
        return redirect("programs:action", pk=action.pk)
    except services.ProgramError as error:
        messages.error(request, error.message)
    return redirect("programs:idea", pk=pk)


@login_required
@require_GET
def action_list(request):
    require(request.user, "programs.view_improvementaction")
    form = ActionFilters(request.GET or None)
    page = Paginator(selectors.action_list(**form.filters()), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "nav_active": "improvements"}
    return render(
        request, "programs/console/actions.html", context, status=400 if form.errors else 200
    )


PREFILL_FIELDS = {"title": 200, "description": 2000, "store": 64, "source_kind": 16}


def _action_initial(action: ImprovementAction) -> dict:
    return {name: getattr(action, name) for name in services.ACTION_FIELDS}


@login_required
def action_edit(request, pk: int | None = None):
    """Edit an action (``change``) or, without ``pk``, add a manual one (``add``)."""
    action = get_object_or_404(ImprovementAction, pk=pk) if pk else None
    if action is None:
        require(request.user, "programs.add_improvementaction")
    else:
        require(request.user, "programs.view_improvementaction")
        if request.method == "POST":
            require(request.user, "programs.change_improvementaction")
    initial = _action_initial(action) if action else _prefill(request.GET)
    form = ActionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            _save_action(action, request.user, form.cleaned_data)
            messages.success(request, _("Improvement action saved."))
            return redirect("programs:actions")
        except services.ProgramError as error:
            _errors(form, error)
    context = {
        "form": form,
        "action": action,
        "nav_active": "improvements",
        "can_change": request.user.has_perm("programs.change_improvementaction"),
    }
    return render(
        request, "programs/console/action_edit.html", context, status=400 if form.errors else 200
    )


def _prefill(query) -> dict:
    """A new action started elsewhere (a low-score cluster's finding) arrives filled in."""
    prefill = {name: query.get(name, "")[:limit] for name, limit in PREFILL_FIELDS.items()}
    return {name: value for name, value in prefill.items() if value}


def _save_action(action, actor, data: dict) -> ImprovementAction:
    if action is None:
        data = {k: v for k, v in data.items() if k != "status"}
        data["source_kind"] = data.get("source_kind") or ImprovementAction.Source.MANUAL
        return services.create_action(actor=actor, **data)
    data = {k: v for k, v in data.items() if k != "source_kind"}
    return services.update_action(action=action, actor=actor, changes=data)
