"""Console pages of the outbox: what was sent, what waits, what gave up and why."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from cxloop.core.models import OutboxMessage
from cxloop.core.outbox import OutboxError, retry_message
from cxloop.core.pii import can_see_pii, mask_email, mask_phone
from cxloop.core.roles import require

PAGE_SIZE = 50
ATTEMPTS_SHOWN = 100
Status = OutboxMessage.Status


class OutboxFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All"))] + Status.choices
    )
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("All"))] + OutboxMessage.Channel.choices,
    )


def shown_recipient(recipient: str, show_pii: bool) -> str:
    """Recipients are emails or phone numbers: personal data, masked without the permission."""
    if show_pii:
        return recipient
    return mask_email(recipient) if "@" in recipient else mask_phone(recipient)


def status_counts(queryset) -> dict[str, int]:
    """Messages per status in one aggregate query."""
    totals = queryset.aggregate(
        **{value: Count("id", filter=Q(status=value)) for value in Status.values}
    )
    return {value: totals[value] or 0 for value in Status.values}


def _filtered(form: OutboxFilterForm):
    queryset = OutboxMessage.objects.all()
    data = {}
    if form.is_bound:
        form.is_valid()  # an unknown value drops only its own field; valid filters still apply
        data = form.cleaned_data
    if data.get("channel"):
        queryset = queryset.filter(channel=data["channel"])
    counts = status_counts(queryset)
    if data.get("status"):
        queryset = queryset.filter(status=data["status"])
    return queryset, counts


@login_required
def outbox_list(request):
    require(request.user, "core.view_outboxmessage")
    form = OutboxFilterForm(request.GET or None)
    queryset, counts = _filtered(form)
    page = Paginator(queryset.order_by("-created_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    show_pii = can_see_pii(request.user)
    for message in page.object_list:
        message.shown_recipient = shown_recipient(message.recipient, show_pii)
    counts_by_label = [(value, label, counts[value]) for value, label in Status.choices]
    context = {"form": form, "page": page, "counts": counts_by_label}
    return render(request, "core/outbox_list.html", context)


@login_required
def outbox_detail(request, message_id: int):
    require(request.user, "core.view_outboxmessage")
    message = get_object_or_404(OutboxMessage, pk=message_id)
    show_pii = can_see_pii(request.user)
    context = {
        "message": message,
        "recipient": shown_recipient(message.recipient, show_pii),
        "show_pii": show_pii,
        "attempts": message.attempts.all()[:ATTEMPTS_SHOWN],
        "attempts_shown": ATTEMPTS_SHOWN,
        "can_retry": message.status == Status.FAILED and request.user.has_perm("core.retry_outbox"),
    }
    return render(request, "core/outbox_detail.html", context)


@login_required
@require_POST
def outbox_retry(request, message_id: int):
    require(request.user, "core.retry_outbox")
    message = get_object_or_404(OutboxMessage, pk=message_id)
    try:
        retry_message(message=message, actor=request.user)
    except OutboxError:
        messages.error(request, _("Only messages that gave up can be retried."))
    else:
        messages.success(request, _("The message will be sent again shortly."))
    return redirect("core:outbox_detail", message_id=message.pk)
