"""The customer's idea form ``/programs/ideas/new/`` (no login), built like the feedback form of
cases: CSRF, honeypot, per-IP and per-contact hourly limit, ``?lang=`` zh/en."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from cxloop.cases.public_views import public_page
from cxloop.core import rate_limit
from cxloop.core.public_language import language_links
from cxloop.customers.models import Customer
from cxloop.programs import services
from cxloop.programs.forms import PublicIdeaForm
from cxloop.programs.models import Idea

RATE_LIMIT = 5  # ideas per hour from one IP address, and for one phone number or email
FIELD_OF = {"contact_phone": "phone", "contact_email": "email", "contact_name": "name"}


def _key(kind: str, value: str) -> str:
    return rate_limit.key("programs:idea", kind, value)


def _page(request, form, language, status=200, sent=False) -> HttpResponse:
    context = {"form": form, "sent": sent, "languages": language_links(request, language)}
    return render(request, "programs/public/idea_new.html", context, status=status)


def _submit(form: PublicIdeaForm) -> Idea:
    data = form.cleaned_data
    customer = None
    if data["phone"]:  # a known customer can be rewarded with points if the idea is chosen
        customer = Customer.objects.filter(phone=data["phone"]).order_by("id").first()
    idea, _created = services.submit_idea(
        title=data["title"],
        body=data["body"],
        channel=Idea.Channel.PUBLIC,
        customer=customer,
        contact_name=data["name"],
        contact_phone=data["phone"],
        contact_email=data["email"],
        store=data["store"],
    )
    return idea


@require_http_methods(["GET", "POST"])
@public_page
def new_idea(request: HttpRequest, *, language: str) -> HttpResponse:
    if request.method != "POST":
        return _page(request, PublicIdeaForm(), language, sent=request.GET.get("sent") == "1")
    form = PublicIdeaForm(request.POST)
    ip_key = _key("ip", rate_limit.client_ip(request))
    if request.POST.get("website"):  # a robot: nothing is created, and it counts
        rate_limit.count([ip_key])
        form.add_error(None, _("Your idea could not be sent. Please try again."))
        return _page(request, form, language, status=400)
    if not form.is_valid():
        return _page(request, form, language, status=400)
    contacts = [form.cleaned_data["phone"], form.cleaned_data["email"].lower()]
    keys = [ip_key, *(_key("contact", value) for value in contacts if value)]
    if rate_limit.limited(keys, RATE_LIMIT):
        form.add_error(
            None,
            _("We have received several ideas from you in the last hour. Please wait a while."),
        )
        return _page(request, form, language, status=429)
    try:
        _submit(form)
    except services.ProgramError as error:
        for name, messages in error.field_errors.items():
            field = FIELD_OF.get(name, name)
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return _page(request, form, language, status=400)
    rate_limit.count(keys)
    return redirect(f"{request.path}?sent=1")
