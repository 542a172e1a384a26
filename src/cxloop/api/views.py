"""Console page for API tokens: list, create (the raw token is shown once), revoke."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from cxloop.api import services
from cxloop.api.forms import TokenForm
from cxloop.api.models import ApiToken
from cxloop.core.roles import require

PER_PAGE = 50


@login_required
@require_http_methods(["GET", "POST"])
def token_list(request):
    require(request.user, services.MANAGE_TOKENS)
    form = TokenForm(request.POST or None, actor=request.user)
    new_token = raw = None
    if request.method == "POST" and form.is_valid():
        new_token, raw = services.create_token(
            user=form.cleaned_data["user"], name=form.cleaned_data["name"], actor=request.user
        )
        form = TokenForm(actor=request.user)
    tokens = ApiToken.objects.select_related("user")
    page = Paginator(tokens, PER_PAGE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "new_token": new_token, "raw_token": raw}
    status = 400 if request.method == "POST" and new_token is None else 200
    return render(request, "api/token_list.html", context, status=status)


@login_required
@require_POST
def token_revoke(request, pk: int):
    require(request.user, services.MANAGE_TOKENS)
    token = get_object_or_404(ApiToken, pk=pk)
    services.revoke_token(token=token, actor=request.user)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect("api_tokens:list")
