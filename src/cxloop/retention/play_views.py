"""Console pages of the retention plays: list with effects, create, edit, detail, run now."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cxloop.core.roles import require
from cxloop.retention import churn_tasks, plays
from cxloop.retention.play_forms import FIELDS, PlayForm
from cxloop.retention.play_models import PlayAssignment, RetentionPlay

VIEW_PERM = "retention.view_retentionplay"


@login_required
@require_GET
def play_list(request):
    require(request.user, VIEW_PERM)
    effects = [plays.play_effect(play) for play in RetentionPlay.objects.all()]
    return render(request, "retention/plays/list.html",
                  {"effects": effects, "nav_active": "plays"})  # fmt: skip


@login_required
@require_GET
def play_detail(request, pk: int):
    require(request.user, VIEW_PERM)
    play = get_object_or_404(RetentionPlay, pk=pk)
    recent = PlayAssignment.objects.filter(play=play).select_related("customer", "case")[:50]
    return render(request, "retention/plays/detail.html", {
        "play": play, "effect": plays.play_effect(play), "recent": recent, "nav_active": "plays",
    })  # fmt: skip


def _save(request, play: RetentionPlay | None):
    # The form writes its values onto its instance while validating: give it a copy, so the
    # service still sees the old values and audits the change.
    copy = RetentionPlay.objects.get(pk=play.pk) if play is not None else None
    form = PlayForm(request.POST or None, instance=copy)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in FIELDS}
        if play is None:
            play = plays.create_play(actor=request.user, **fields)
        else:
            play = plays.update_play(play=play, actor=request.user, **fields)
        messages.success(request, _("Play saved."))
        return redirect("retention:play_detail", pk=play.pk)
    return render(request, "retention/plays/form.html",
                  {"form": form, "play": play, "nav_active": "plays"})  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def play_new(request):
    require(request.user, plays.ADD_PERM)
    return _save(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def play_edit(request, pk: int):
    require(request.user, plays.CHANGE_PERM)
    return _save(request, get_object_or_404(RetentionPlay, pk=pk))


@login_required
@require_POST
def play_run(request, pk: int | None = None):
    require(request.user, plays.RUN_PERM)
    play = get_object_or_404(RetentionPlay, pk=pk) if pk else None
    churn_tasks.run_retention_plays_now(request.user.pk, play.pk if play else None)
    messages.success(request, _("The plays are running; their customers appear here when done."))
    return redirect("retention:play_detail", pk=play.pk) if play else redirect("retention:plays")
