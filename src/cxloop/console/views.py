"""Console shell: the home page, the loop sections still to come, and plotly.js."""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass

import plotly
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseNotModified
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET
from plotly.offline import get_plotlyjs

from cxloop.console import charts
from cxloop.console.selectors import home_data
from cxloop.console.understand import summary as understand_summary
from cxloop.core.roles import require


@dataclass(frozen=True)
class Section:
    title: str
    summary: str
    release: str
    items: tuple[str, ...]
    # Pages of this section that already exist: (URL name, label, permission needed).
    available: tuple[tuple[str, str, str], ...] = ()


SECTIONS = {
    "listen": Section(
        _("Listen"),
        _("Surveys, triggers, invitations and answer pages."),
        "",
        (
            _("Triggers after orders, deliveries, resolved cases and registrations"),
            _("Invitations by SMS, email and QR code in store, with quiet hours"),
            _("Mobile answer pages that take under three minutes, and data cleaning"),
            _("Complaints and ideas from the public forms and the API"),
        ),
        available=(
            ("surveys:list", _("Surveys"), "surveys.view_survey"),
            ("cases:new", _("New case"), "cases.add_case"),
            ("programs:ideas", _("Service ideas"), "programs.view_idea"),
            ("customers:imports", _("Imports"), "customers.import_data"),
        ),
    ),
    "understand": Section(
        _("Understand"),
        _("Metrics and insight from answers and feedback."),
        "",
        (
            _("CSI, CSAT, NPS and CES with trends"),
            _("Cross analysis by segment, region, store and channel"),
            _("KANO priorities and key drivers"),
            _("Sentiment and topics of open answers, low-score clusters"),
            _("Anomaly alerts and A/B tests"),
        ),
        available=(
            ("console:understand", _("Insight summary"), "core.view_dashboard"),
            ("surveys:list", _("Survey results"), "surveys.view_results"),
            ("alerts:list", _("KPI alerts"), "alerts.view_alert"),
            ("experiments:list", _("A/B tests"), "experiments.view_experiment"),
            ("case_metrics:clusters", _("Low-score clusters of cases"), "cases.view_case_metrics"),
        ),
    ),
    "act": Section(
        _("Act"),
        _("Complaint and feedback cases, closed in time."),
        "",
        (
            _("Case queue with owners and deadlines by severity"),
            _("SLA clocks on working days and Chinese public holidays"),
            _("Escalation to supervisors and departments"),
            _("Compensation with approval above the limit"),
            _("Callbacks and a satisfaction check after resolution"),
        ),
        available=(
            ("cases:home", _("Cases"), "cases.view_case"),
            ("case_metrics:page", _("Case metrics"), "cases.view_case_metrics"),
            ("programs:actions", _("Improvement actions"), "programs.view_improvementaction"),
            ("programs:audits", _("Mystery shopping"), "programs.view_mysteryaudit"),
        ),
    ),
    "retain": Section(
        _("Retain"),
        _("Segments, loyalty and churn warning."),
        "",
        (
            _("RFM segments and value tiers"),
            _("Churn early warning and win-back tasks"),
            _("Points, member levels and rewards"),
            _("Referrals"),
        ),
        available=(
            ("customers:list", _("Customers"), "customers.view_customer"),
            ("retention:segments", _("Segments"), "retention.view_customerscore"),
            ("retention:churn_model", _("Churn warning"), "retention.view_churnmodelrecord"),
            ("loyalty:index", _("Loyalty"), "loyalty.view_points"),
        ),
    ),
    "prove": Section(
        _("Prove"),
        _("Goals, programme plans and reports."),
        _("These arrive with the programmes release."),
        (
            _("Goals with baseline and target"),
            _("Campaign phases, tasks and improvement actions"),
            _("Monthly, quarterly and campaign reports"),
            _("Service star ranking and per-agent satisfaction"),
        ),
    ),
}


@login_required
def understand(request):
    """The insight summary: problem, place, since when, what to fix, did it work, actions."""
    require(request.user, "core.view_dashboard")
    survey_id = request.GET.get("survey", "")
    data = understand_summary(
        user=request.user, survey_id=int(survey_id) if survey_id.isdigit() else None
    )
    context = {"summary": data, "nav_active": "understand"}
    return render(request, "console/understand.html", context)


@login_required
def home(request):
    require(request.user, "core.view_dashboard")
    data = home_data()
    context = {
        "figures": data.figures,
        "computed_at": data.computed_at,
        "monthly_chart": charts.monthly_orders_chart(data.months),
        "region_chart": charts.region_chart(data.regions),
        "plotly_version": plotly.__version__,
    }
    return render(request, "console/home.html", context)


@login_required
def section(request, section: str):
    require(request.user, "core.view_dashboard")
    if section not in SECTIONS:
        raise Http404
    current = SECTIONS[section]
    available = [
        (reverse(url_name), label)
        for url_name, label, perm in current.available
        if request.user.has_perm(perm)
    ]
    return render(request, "console/section.html", {"section": current, "available": available})


@functools.cache
def _plotly_bundle() -> tuple[bytes, bytes, str]:
    """plotly.js from the installed plotly package: plain, gzipped, and its ETag."""
    body = get_plotlyjs().encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return body, gzip.compress(body, compresslevel=6), etag


@require_GET
def plotly_js(request):
    """Serve plotly.js once per browser: the URL carries the version, so cache it for a year."""
    body, compressed, etag = _plotly_bundle()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponseNotModified()
    elif "gzip" in request.headers.get("Accept-Encoding", ""):
        response = HttpResponse(compressed, content_type="text/javascript; charset=utf-8")
        response["Content-Encoding"] = "gzip"
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    patch_cache_control(response, public=True, max_age=365 * 24 * 3600, immutable=True)
    patch_vary_headers(response, ["Accept-Encoding"])
    return response
