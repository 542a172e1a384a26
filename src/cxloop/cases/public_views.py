"""The customer's side of cases (no login): the feedback form ``/c/new/`` and the progress page
``/c/<token>/`` behind a signed link.

Plain POST forms with CSRF, mobile first, no JavaScript needed. The form has a honeypot field
and a per-IP and per-phone/email limit (Django cache, ``RATE_LIMIT`` per hour) against spam;
it opens the case through ``services.create_case`` like every other channel, with up to three
files (``attachments.open_case_with_files``). The progress page tells the customer what stage
the case is at, who is on it (a first name or "our service team", never a staff contact), when
to expect an answer, what was said in public and the files they sent; a merged case shows its
survivor. A bad link is a friendly 404 page, never a 500.
"""

from __future__ import annotations

import functools

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from cxloop.cases import attachments, lifecycle, tokens
from cxloop.cases.attachment_models import CaseAttachment
from cxloop.cases.forms import AttachmentsField
from cxloop.cases.models import Case, CaseEvent, Category, SlaRule
from cxloop.cases.services import CaseError
from cxloop.core import rate_limit
from cxloop.core.public_language import language_links, normalise_language
from cxloop.customers.models import Customer
from cxloop.customers.validation import Invalid, parse_email, parse_phone

RATE_LIMIT = 5  # cases per hour from one IP address, and for one phone number or email
MESSAGE_LIMIT = 20  # messages per hour on one case
MAX_DESCRIPTION = 2000
MAX_MESSAGE = 2000
MAX_PUBLIC_EVENTS = 200
MAX_FILES = 3  # attachments with the feedback form
S = Case.Status
K = CaseEvent.Kind
Target = SlaRule.Target


# --- language and friendly errors -----------------------------------------------------------


def _activate(request: HttpRequest) -> str:
    """``?lang=`` (remembered in the language cookie), else what LocaleMiddleware chose."""
    asked = normalise_language(request.GET.get("lang", ""))
    chosen = asked or normalise_language(translation.get_language() or "") or "zh-hans"
    translation.activate(chosen)
    request.LANGUAGE_CODE = chosen
    request.asked_language = asked
    return chosen


def public_page(view):
    """Language, no caching, no referrer to other sites (the link is the key); a bad link
    gets the "gone" page."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        language = _activate(request)
        try:
            reply = view(request, *args, language=language, **kwargs)
        except tokens.InvalidToken as exc:
            context = {"message": exc.message, "languages": language_links(request, language)}
            reply = render(request, "cases/public/gone.html", context, status=exc.status)
        if request.asked_language:
            reply.set_cookie(
                settings.LANGUAGE_COOKIE_NAME, request.asked_language,
                max_age=365 * 24 * 3600, samesite="Lax", secure=request.is_secure(),
            )  # fmt: skip
        reply.headers.setdefault("Cache-Control", "no-store")
        reply.headers["Referrer-Policy"] = (
            "same-origin"  # no-referrer would send Origin: null, failing CSRF
        )
        return reply

    return wrapper


# --- rate limit -------------------------------------------------------------------------------


def _key(kind: str, value: str) -> str:
    return rate_limit.key("cases:public", kind, value)


_limited, _count, _client_ip = rate_limit.limited, rate_limit.count, rate_limit.client_ip


# --- the feedback form ------------------------------------------------------------------------


class Kind:
    COMPLAINT, SUGGESTION, PRAISE = "complaint", "suggestion", "praise"
    CHOICES = [
        (COMPLAINT, gettext_lazy("Complaint")),
        (SUGGESTION, gettext_lazy("Suggestion")),
        (PRAISE, gettext_lazy("Praise")),
    ]


class PublicCaseForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What would you like to tell us?"),
        choices=Kind.CHOICES,
        initial=Kind.COMPLAINT,
        widget=forms.RadioSelect,
    )
    name = forms.CharField(label=gettext_lazy("Your name"), max_length=100, required=False)
    phone = forms.CharField(
        label=gettext_lazy("Mobile number"), max_length=32, required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )  # fmt: skip
    email = forms.CharField(
        label=gettext_lazy("Email"), max_length=254, required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )  # fmt: skip
    order_ref = forms.CharField(label=gettext_lazy("Order number"), max_length=64, required=False)
    category = forms.ModelChoiceField(
        label=gettext_lazy("Topic"), queryset=Category.objects.none(), required=False,
        empty_label=gettext_lazy("Not sure"),
    )  # fmt: skip
    description = forms.CharField(
        label=gettext_lazy("What happened?"), max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 6}),
    )  # fmt: skip
    files = AttachmentsField(label=gettext_lazy("Photos or documents"), max_files=MAX_FILES)
    consent = forms.BooleanField(label=gettext_lazy("Consent"))
    # The honeypot: hidden from people, filled in by robots.
    website = forms.CharField(required=False, label=gettext_lazy("Leave this field empty"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.filter(is_active=True).order_by("code")
        self.fields["website"].widget.attrs.update({"tabindex": "-1", "autocomplete": "off"})

    def clean_phone(self) -> str:
        return self._contact(parse_phone, self.cleaned_data.get("phone", ""))

    def clean_email(self) -> str:
        return self._contact(parse_email, self.cleaned_data.get("email", ""))

    @staticmethod
    def _contact(parse, value: str) -> str:
        if not value.strip():
            return ""
        try:
            return parse(value)
        except Invalid as bad:
            raise forms.ValidationError(_(bad.reason)) from None

    def clean_description(self) -> str:
        text = self.cleaned_data.get("description", "").strip()
        if len(text) < 5:
            raise forms.ValidationError(_("Please tell us a little more (at least 5 characters)."))
        return text

    def clean(self):
        data = super().clean()
        phone_ok = "phone" not in self.errors and data.get("phone")
        email_ok = "email" not in self.errors and data.get("email")
        if not (phone_ok or email_ok) and "phone" not in self.errors and "email" not in self.errors:
            self.add_error("phone", _("Give a mobile number or an email so we can reply."))
        return data


def _subject(kind: str, description: str) -> str:
    """ "Complaint: first words …" in the organisation's language, for the staff queue."""
    with translation.override(settings.LANGUAGE_CODE):
        label = str(dict(Kind.CHOICES).get(kind, ""))
        text = " ".join(description.split())
        text = text if len(text) <= 60 else text[:60] + "…"
        return _("%(kind)s: %(text)s") % {"kind": label, "text": text}


def _matching_customer(phone: str) -> Customer | None:
    return Customer.objects.filter(phone=phone).order_by("id").first() if phone else None


def _create(form: PublicCaseForm) -> Case:
    data = form.cleaned_data
    return attachments.open_case_with_files(
        files=data["files"], via=CaseAttachment.Via.PUBLIC,
        channel="web_form", actor=None, subject=_subject(data["kind"], data["description"]),
        description=data["description"], customer=_matching_customer(data["phone"]),
        contact_name=data["name"].strip(), contact_phone=data["phone"],
        contact_email=data["email"], category=data["category"],
        order_ref=data["order_ref"].strip(),
    )  # fmt: skip


FIELD_OF = {"contact_phone": "phone", "contact_email": "email", "subject": "description"}


def _attach(form: forms.Form, error: CaseError) -> None:
    for name, messages in error.field_errors.items():
        field = FIELD_OF.get(name, name)
        for message in messages:
            form.add_error(field if field in form.fields else None, message)
    if not error.field_errors:
        form.add_error(None, error.message)


CONSENT_TEXT = gettext_lazy(
    "I agree that my contact details are used to handle this feedback and to ask me "
    "afterwards whether the problem was solved."
)


def _form_page(request, form, language, status=200) -> HttpResponse:
    context = {
        "form": form,
        "consent_text": CONSENT_TEXT,
        "languages": language_links(request, language),
        # A browser never fills a file input again: say so when the form comes back.
        "files_again": form.is_bound and bool(form.errors) and bool(request.FILES),
        "files_help": _("Up to %(count)s photos, PDF or text files, %(mb)s MB each.")
        % {"count": MAX_FILES, "mb": settings.CXLOOP_ATTACHMENT_MAX_MB},
    }
    return render(request, "cases/public/new.html", context, status=status)


@require_http_methods(["GET", "POST"])
@attachments.capped_uploads
@public_page
def new_case(request: HttpRequest, *, language: str) -> HttpResponse:
    if request.method != "POST":
        return _form_page(request, PublicCaseForm(), language)
    form = PublicCaseForm(request.POST, request.FILES)
    ip_key = _key("ip", _client_ip(request))
    if request.POST.get("website"):  # a robot: nothing is created, and it counts
        _count([ip_key])
        form.add_error(None, _("Your feedback could not be sent. Please try again."))
        return _form_page(request, form, language, status=400)
    if not form.is_valid():
        return _form_page(request, form, language, status=400)
    contacts = [form.cleaned_data["phone"], form.cleaned_data["email"].lower()]
    keys = [ip_key, *(_key("contact", value) for value in contacts if value)]
    if _limited(keys, RATE_LIMIT):
        form.add_error(None, _("We have received several messages from you in the last hour. "
                               "Please wait a while, or call our hotline."))  # fmt: skip
        return _form_page(request, form, language, status=429)
    try:
        case = _create(form)
    except CaseError as error:
        _attach(form, error)
        return _form_page(request, form, language, status=400)
    except ValidationError as error:  # a file refused after the form's own check
        form.add_error("files", error)
        return _form_page(request, form, language, status=400)
    _count(keys)
    return redirect(f"{tokens.progress_path(case)}?new=1")


# --- the progress page --------------------------------------------------------------------------

STEPS = (
    ("new", gettext_lazy("Received")),
    ("handling", gettext_lazy("Being handled")),
    ("waiting", gettext_lazy("Waiting on you")),
    ("resolved", gettext_lazy("Resolved")),
    ("confirmed", gettext_lazy("Confirmed")),
)
STEP_OF = {
    S.NEW: 0, S.ASSIGNED: 1, S.RESPONDED: 1, S.WAITING: 2, S.RESOLVED: 3,
    S.CALLBACK_DONE: 4, S.CLOSED: 4, S.MERGED: 1,
}  # fmt: skip
STAGE_TEXT = {
    "new": gettext_lazy("We have received your feedback and will pass it to the right team."),
    "handling": gettext_lazy("We are working on your case."),
    "waiting": gettext_lazy(
        "We need something from you: please read our last message and reply below."
    ),  # fmt: skip
    "resolved": gettext_lazy(
        "We have solved the problem. We will contact you to make sure you are satisfied."
    ),  # fmt: skip
    "confirmed": gettext_lazy("You confirmed the result. Thank you!"),
}
OPEN_KINDS = (Target.FIRST_RESPONSE, Target.ESCALATION_ANSWER, Target.RESOLUTION)


def stepper(case: Case) -> tuple[str, list[dict]]:
    """The current stage's key and each step with its state: done, current, todo or skipped
    (we never had to wait on the customer)."""
    index = STEP_OF.get(case.status, 1)
    if case.status in (S.CALLBACK_DONE, S.CLOSED):
        index = len(STEPS)  # confirmed: every step done
    waited = index > 2 and case.events.filter(kind=K.STATUS, to_status=S.WAITING).exists()
    steps = []
    for position, (key, label) in enumerate(STEPS):
        state = "done" if position < index else "current" if position == index else "todo"
        if key == "waiting" and state == "done" and not waited:
            state = "skipped"
        steps.append({"key": key, "label": label, "state": state, "number": position + 1})
    return STEPS[min(index, len(STEPS) - 1)][0], steps


def handler_of(case: Case) -> dict:
    """Who is on it, as the customer may see it: a first name and the department, no contact."""
    first_name = (case.owner.first_name or "").strip() if case.owner_id else ""
    return {
        "name": first_name or _("our service team"),
        "department": case.department.name if case.department_id else "",
    }


def expected_answer(case: Case, now=None) -> dict | None:
    """When the customer can expect the next step: the nearest open deadline, local time."""
    if case.status == S.WAITING:
        return None
    kinds = OPEN_KINDS if case.is_open else (Target.CALLBACK,) if case.status == S.RESOLVED else ()
    if not kinds:
        return None
    target = (
        case.targets.filter(kind__in=kinds, met_at__isnull=True, cycle=case.resolution_cycle)
        .order_by("due_at")
        .first()
    ) or case.targets.filter(kind__in=kinds, met_at__isnull=True).order_by("due_at").first()
    if target is None:
        return None
    local = timezone.localtime(target.due_at)
    return {
        "kind": target.kind,
        "at": local.strftime("%Y-%m-%d %H:%M"),
        "iso": local.isoformat(),
        "overdue": target.due_at <= (now or timezone.now()),
        "callback": target.kind == Target.CALLBACK,
    }


def _status_title(event: CaseEvent) -> str:
    return {
        S.WAITING: _("We need something from you"),
        S.RESOLVED: _("Resolved"),
        S.CALLBACK_DONE: _("Result confirmed with you"),
        S.CLOSED: _("Case closed"),
        S.ASSIGNED: _("Back in progress"),
        S.RESPONDED: _("Back in progress"),
    }.get(event.to_status, _("Status changed"))


FIXED_TITLES = {
    K.CREATED: gettext_lazy("We received your feedback"),
    K.ASSIGNED: gettext_lazy("Passed to a handler"),
    K.RESPONSE: gettext_lazy("Reply from us"),
    K.CUSTOMER_MESSAGE: gettext_lazy("Your message"),
    K.REOPENED: gettext_lazy("Reopened: we are working on it again"),
    K.MERGED: gettext_lazy("Joined with another case about the same problem"),
}
BODY_SHOWN = (K.RESPONSE, K.CUSTOMER_MESSAGE)  # and the text of waiting / resolved moves


def _entry(event: CaseEvent) -> dict:
    if event.kind == K.STATUS:
        title = _status_title(event)
    else:
        title = FIXED_TITLES.get(event.kind) or dict(K.choices).get(event.kind, event.kind)
    shown = event.kind in BODY_SHOWN or (
        event.kind == K.STATUS and event.to_status in (S.WAITING, S.RESOLVED)
    )
    local = timezone.localtime(event.at)
    return {
        "kind": event.kind,
        "title": str(title),
        "body": event.body if shown else "",
        "mine": event.kind == K.CUSTOMER_MESSAGE,
        "at": local.strftime("%Y-%m-%d %H:%M"),
        "iso": local.isoformat(),
    }


def public_timeline(case: Case) -> list[dict]:
    """The public events, oldest first, as title + the text the customer may read."""
    newest = case.events.filter(public=True).order_by("-at", "-id")[:MAX_PUBLIC_EVENTS]
    return [_entry(event) for event in reversed(list(newest))]


def customer_files(case: Case, token: str) -> list[dict]:
    """The files the customer sent with this case (``CaseAttachment.shown_to_customer``),
    each with its link under the progress link."""
    rows = case.attachments.filter(uploaded_via=CaseAttachment.Via.PUBLIC)
    return [
        {
            "name": row.original_name,
            "size": attachments.human_size(row.size_bytes),
            "image": row.is_inline_image,
            "url": reverse("case_public:attachment", args=[token, row.pk]),
        }
        for row in rows
    ]


class MessageForm(forms.Form):
    message = forms.CharField(
        label=gettext_lazy("Send us a message"), max_length=MAX_MESSAGE,
        widget=forms.Textarea(attrs={"rows": 4}),
    )  # fmt: skip


def _progress_context(request, original: Case, case: Case, language: str) -> dict:
    stage, steps = stepper(case)
    return {
        "case": case,
        "merged_from": original if original.pk != case.pk else None,
        "stage": stage,
        "stage_text": STAGE_TEXT[stage],
        "steps": steps,
        "handler": handler_of(case),
        "expected": expected_answer(case),
        "timeline": public_timeline(case),
        "can_write": case.status != S.CLOSED,
        "just_filed": request.GET.get("new") == "1",
        "sent": request.GET.get("sent") == "1",
        "link": settings.CXLOOP_PUBLIC_URL + request.path,
        "action": request.path,
        "languages": language_links(request, language),
    }


@require_http_methods(["GET", "POST"])
@public_page
def progress(request: HttpRequest, token: str, *, language: str) -> HttpResponse:
    original = tokens.read_progress_token(token)
    case = tokens.survivor_of(original)
    case = Case.objects.select_related("owner", "department").get(pk=case.pk)
    form = MessageForm()
    status = 200
    if request.method == "POST":
        form, status = _post_message(request, case)
        if status == 302:
            return redirect(f"{request.path}?sent=1#messages")
    context = _progress_context(request, original, case, language)
    context["form"] = form
    context["attachments"] = customer_files(original, token)
    return render(request, "cases/public/progress.html", context, status=status)


def _post_message(request: HttpRequest, case: Case) -> tuple[MessageForm, int]:
    form = MessageForm(request.POST)
    if case.status == S.CLOSED:
        form.add_error(None, _("This case is closed. Please send new feedback instead."))
        return form, 400
    if not form.is_valid():
        return form, 400
    keys = [_key("message", str(case.pk))]
    if _limited(keys, MESSAGE_LIMIT):
        form.add_error(
            None, _("You have sent many messages in the last hour. Please wait a while.")
        )
        return form, 429
    try:
        lifecycle.customer_message(case=case, body=form.cleaned_data["message"])
    except CaseError as error:
        for message in error.field_errors.get("body", [error.message]):
            form.add_error("message", message)
        return form, 400
    _count(keys)
    return form, 302
