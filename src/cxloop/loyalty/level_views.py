"""Console pages of member levels, stars and referrals: the levels programme (levels, settings,
stars ladders) with its edit forms, a customer's member panel (a fragment the profile can
load with htmx), and the referrals list with the referral rate by month.

Thin views: ``require`` the permission, call one service in ``level_config`` / ``levels`` /
``stars`` / ``referrals``, render.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.roles import require
from cxloop.customers.models import Customer
from cxloop.loyalty import level_config, levels, referrals, stars
from cxloop.loyalty.level_forms import LevelForm, ProgramSettingsForm, StarsProgramForm
from cxloop.loyalty.level_models import Level, StarsProgram
from cxloop.loyalty.referral_models import Referral

VIEW_LEVELS = "loyalty.view_level"
CHANGE_LEVELS = level_config.CHANGE_PERM
VIEW_MEMBER = "loyalty.view_customerlevel"
VIEW_REFERRALS = "loyalty.view_referral"
PAGE_SIZE = 50
RATE_MONTHS = 12


@login_required
def levels_page(request):
    require(request.user, VIEW_LEVELS)
    members = levels.members_by_level()
    context = {
        "rows": [(level, members.get(level.pk, 0)) for level in Level.objects.order_by("rank")],
        "settings": levels.program_settings(),
        "programs": StarsProgram.objects.all()[:24],
        "can_change": request.user.has_perm(CHANGE_LEVELS),
        "nav_active": "loyalty_levels",
    }
    return render(request, "loyalty/levels/levels.html", context)


def _edit(request, form, save, *, title: str, done: str):
    """GET: the form; POST: save through ``save(form)`` and go back to the levels page."""
    if request.method == "POST" and form.is_valid():
        save(form)
        messages.success(request, done)
        return redirect("loyalty:levels")
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "title": title, "nav_active": "loyalty_levels"}
    return render(request, "loyalty/levels/edit.html", context, status=status)


@login_required
def level_edit(request, pk: int | None = None):
    require(request.user, CHANGE_LEVELS)
    level = get_object_or_404(Level, pk=pk) if pk is not None else None
    form = LevelForm(request.POST or None, instance=level)

    def save(form):
        level_config.save_level(level=level, changes=form.changes(), actor=request.user)

    title = _("Edit %(level)s") % {"level": level.name} if level else _("New member level")
    return _edit(request, form, save, title=title, done=_("Member level saved."))


@login_required
def settings_edit(request):
    require(request.user, CHANGE_LEVELS)
    form = ProgramSettingsForm(request.POST or None, instance=levels.program_settings())

    def save(form):
        level_config.save_program_settings(changes=form.changes(), actor=request.user)

    return _edit(request, form, save, title=_("Programme settings"), done=_("Settings saved."))


@login_required
def stars_edit(request, pk: int | None = None):
    require(request.user, CHANGE_LEVELS)
    program = get_object_or_404(StarsProgram, pk=pk) if pk is not None else None
    form = StarsProgramForm(request.POST or None, instance=program)

    def save(form):
        level_config.save_stars_program(program=program, changes=form.changes(), actor=request.user)

    title = _("Stars ladder") if program else _("New stars ladder")
    return _edit(request, form, save, title=title, done=_("Stars ladder saved."))


@login_required
def member_panel(request, customer_pk: int):
    """The member panel of one customer: a fragment for htmx, else a page around it."""
    require(request.user, VIEW_MEMBER)
    customer = get_object_or_404(Customer, pk=customer_pk)
    now = timezone.now()
    progress = levels.progress_of(customer=customer, now=now)
    context = {
        "customer": customer,
        "row": levels.current_row(customer),
        "benefits": levels.benefits_of(customer),
        "progress": progress,
        "progress_text": levels.describe_progress(progress),
        "stars": stars.stars_summary(customer=customer, month=stars.month_of(now)),
        "history": customer.level_history.select_related("level")[:10],
        "nav_active": "customers",
    }
    fragment = request.headers.get("HX-Request") == "true"
    template = "loyalty/levels/_member.html" if fragment else "loyalty/levels/member.html"
    return render(request, template, context)


@login_required
def referrals_page(request):
    require(request.user, VIEW_REFERRALS)
    status = request.GET.get("status", "")
    status = status if status in Referral.Status.values else ""
    rows = referrals.referrals_of(status=status or None)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    first = levels.add_months(timezone.now(), 1 - RATE_MONTHS).date().replace(day=1)
    context = {
        "page": page,
        "status": status,
        "statuses": Referral.Status.choices,
        "rates": referrals.referral_rate(start=first, end=today),
        "nav_active": "loyalty_referrals",
    }
    return render(request, "loyalty/referrals/referrals.html", context)
