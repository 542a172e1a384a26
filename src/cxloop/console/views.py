"""Console shell: the home page and the sections that later issues fill."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from cxloop.core.roles import require


@login_required
def home(request):
    require(request.user, "core.view_dashboard")
    return render(request, "console/home.html", {})


@login_required
def section(request, section: str):
    require(request.user, "core.view_dashboard")
    if section not in {"listen", "understand", "act", "retain", "prove"}:
        raise Http404
    return render(request, "console/section.html", {"section": section})
