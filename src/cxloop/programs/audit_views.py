"""Console pages of mystery-shopper audits: checklist templates, the phone-first audit entry,
the audit list and the store scores page (averages, monthly trend, weakest stores per item)."""

from __future__ import annotations

import plotly
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cxloop.core.roles import require
from cxloop.programs import audits, charts, selectors
from cxloop.programs.forms import AuditEntryForm, TemplateForm
from cxloop.programs.models import AuditTemplate, MysteryAudit
from cxloop.programs.services import ProgramError
from cxloop.programs.views import PAGE_SIZE, _errors


@login_required
@require_GET
def template_list(request):
    require(request.user, "programs.view_audittemplate")
    templates = AuditTemplate.objects.prefetch_related("items")
    context = {"templates": templates, "nav_active": "audits"}
    return render(request, "programs/console/templates.html", context)


@login_required
def template_edit(request, pk: int | None = None):
    template = get_object_or_404(AuditTemplate, pk=pk) if pk else None
    require(request.user, "programs.change_audittemplate" if pk else "programs.add_audittemplate")
    initial = TemplateForm.initial_for(template) if template else None
    form = TemplateForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            audits.save_template(actor=request.user, template=template, **form.cleaned_data)
            messages.success(request, _("Template saved."))
            return redirect("programs:templates")
        except ProgramError as error:
            _errors(form, error)
    context = {"form": form, "template": template, "nav_active": "audits"}
    return render(
        request, "programs/console/template_edit.html", context, status=400 if form.errors else 200
    )


@login_required
def audit_new(request, template_id: int):
    require(request.user, "programs.add_mysteryaudit")
    template = get_object_or_404(AuditTemplate, pk=template_id, is_active=True)
    form = AuditEntryForm(request.POST or None, template=template)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            audit = audits.record_audit(
                actor=request.user,
                template=template,
                store=data["store"],
                visited_at=data["visited_at"],
                scores=form.scores(),
                shopper_name=data["shopper_name"],
                shopper_user=request.user,
                notes=data["notes"],
            )
            messages.success(
                request, _("Audit saved: %(score).1f %%.") % {"score": audit.score_percent}
            )
            return redirect("programs:audit", pk=audit.pk)
        except ProgramError as error:
            _errors(form, error)
    context = {"form": form, "template": template, "nav_active": "audits"}
    return render(
        request, "programs/console/audit_new.html", context, status=400 if form.errors else 200
    )


@login_required
@require_GET
def audit_list(request):
    require(request.user, "programs.view_mysteryaudit")
    rows = MysteryAudit.objects.select_related("template")
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    templates = AuditTemplate.objects.filter(is_active=True)
    context = {"page": page, "templates": templates, "nav_active": "audits"}
    return render(request, "programs/console/audits.html", context)


@login_required
@require_GET
def audit_detail(request, pk: int):
    require(request.user, "programs.view_mysteryaudit")
    audit = get_object_or_404(MysteryAudit.objects.select_related("template"), pk=pk)
    scores = audit.scores.select_related("item").prefetch_related("actions")
    context = {
        "audit": audit,
        "scores": scores,
        "low_share": audits.LOW_ITEM_SHARE,
        "nav_active": "audits",
    }
    return render(request, "programs/console/audit_detail.html", context)


@login_required
@require_GET
def store_scores(request):
    require(request.user, "programs.view_mysteryaudit")
    template = None
    if request.GET.get("template", "").isdigit():
        template = AuditTemplate.objects.filter(pk=int(request.GET["template"])).first()
    trend = selectors.monthly_trend(template)
    context = {
        "template": template,
        "templates": AuditTemplate.objects.all(),
        "averages": selectors.store_averages(template),
        "weakest": selectors.weakest_stores(template),
        "chart": charts.trend_chart(trend) if trend else "",
        "plotly_version": plotly.__version__,
        "nav_active": "audit_scores",
    }
    return render(request, "programs/console/scores.html", context)
