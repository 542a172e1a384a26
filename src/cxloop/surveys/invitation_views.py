"""Console pages: a survey's invitations (their whole life), its triggers, sample campaigns."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cxloop.core.pii import can_see_pii, mask_phone
from cxloop.core.roles import require
from cxloop.surveys.invitation_forms import SampleForm, TriggerForm
from cxloop.surveys.invitations import status_note
from cxloop.surveys.models import Invitation, Survey, Trigger
from cxloop.surveys.tasks import run_sample_campaign_task
from cxloop.surveys.triggers import create_trigger, update_trigger

PAGE_SIZE = 50
Status = Invitation.Status


@dataclass(frozen=True)
class InvitationRow:
    """One list row; the phone is masked for users without the PII permission."""

    invitation: Invitation
    customer: str
    phone: str
    reason: str


def _rows(page, *, show_pii: bool) -> list[InvitationRow]:
    rows = []
    for invitation in page:
        customer = invitation.customer
        phone = customer.phone if customer else ""
        rows.append(
            InvitationRow(
                invitation=invitation,
                customer=str(customer) if customer else _("Anonymous"),
                phone=phone if show_pii else mask_phone(phone),
                reason=status_note(invitation),
            )
        )
    return rows


def status_counts(survey: Survey) -> dict[str, int]:
    """Invitations per status and in total, in one aggregate query."""
    counts = {status.value: Count("id", filter=Q(status=status)) for status in Status}
    return Invitation.objects.filter(survey=survey).aggregate(total=Count("id"), **counts)


@login_required
def invitation_list(request, survey_id: int):
    require(request.user, "surveys.view_invitation")
    survey = get_object_or_404(Survey, pk=survey_id)
    status = request.GET.get("status", "")
    invitations = Invitation.objects.filter(survey=survey).select_related("customer", "trigger")
    if status in Status.values:
        invitations = invitations.filter(status=status)
    page = Paginator(invitations.order_by("-scheduled_for", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    counts = status_counts(survey)
    context = {
        "survey": survey,
        "page": page,
        "rows": _rows(page, show_pii=can_see_pii(request.user)),
        "counts": counts,
        "statuses": [(value, label, counts[value]) for value, label in Status.choices],
        "status": status if status in Status.values else "",
    }
    return render(request, "surveys/invitations/list.html", context)


@login_required
def trigger_list(request, survey_id: int):
    require(request.user, "surveys.view_survey", "surveys.view_invitation")
    survey = get_object_or_404(Survey, pk=survey_id)
    triggers = survey.triggers.annotate(invited=Count("invitations")).order_by("id")
    return render(
        request, "surveys/invitations/triggers.html", {"survey": survey, "triggers": triggers}
    )


@login_required
def trigger_create(request, survey_id: int):
    require(request.user, "surveys.change_survey")
    survey = get_object_or_404(Survey, pk=survey_id)
    form = TriggerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        create_trigger(survey=survey, data=form.cleaned_data, actor=request.user)
        messages.success(request, _("Trigger saved."))
        return redirect("surveys:triggers", survey_id=survey.pk)
    context = {"survey": survey, "form": form, "trigger": None}
    return render(request, "surveys/invitations/trigger_form.html", context)


@login_required
def trigger_edit(request, trigger_id: int):
    require(request.user, "surveys.change_survey")
    trigger = get_object_or_404(Trigger.objects.select_related("survey"), pk=trigger_id)
    form = TriggerForm(request.POST or None, instance=Trigger.objects.get(pk=trigger.pk))
    if request.method == "POST" and form.is_valid():
        update_trigger(trigger=trigger, data=form.cleaned_data, actor=request.user)
        messages.success(request, _("Trigger saved."))
        return redirect("surveys:triggers", survey_id=trigger.survey_id)
    context = {"survey": trigger.survey, "form": form, "trigger": trigger}
    return render(request, "surveys/invitations/trigger_form.html", context)


@login_required
@require_POST
def trigger_toggle(request, trigger_id: int):
    require(request.user, "surveys.change_survey")
    trigger = get_object_or_404(Trigger, pk=trigger_id)
    update_trigger(trigger=trigger, data={"enabled": not trigger.enabled}, actor=request.user)
    message = _("Trigger enabled.") if trigger.enabled else _("Trigger paused.")
    messages.success(request, message)
    return redirect("surveys:triggers", survey_id=trigger.survey_id)


@login_required
def sample_campaign(request, survey_id: int):
    require(request.user, "surveys.add_invitation")
    survey = get_object_or_404(Survey, pk=survey_id)
    form = SampleForm(request.POST or None, survey=survey)
    if request.method == "POST" and form.is_valid():
        run_sample_campaign_task(
            survey.pk, form.quotas, form.cleaned_data["channel"], request.user.pk
        )
        messages.success(request, _("Sample drawn: invitations are being created."))
        return redirect("surveys:invitations", survey_id=survey.pk)
    return render(request, "surveys/invitations/sample.html", {"survey": survey, "form": form})
