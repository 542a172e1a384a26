"""The answer pages customers see (no login): intro → pages → thank-you, plain POST forms.

Two entries share one flow: a personal invitation link (``/s/i/<token>/``) and the public link of
a survey (``/s/p/<token>/``, also as a QR code). A public respondent is recognised by a random
cookie whose hash is ``Response.respondent_key``; it resumes a partial response and refuses a
second submission. Bad, expired or used links get a friendly page (404/410), never a 500.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_GET, require_http_methods

from cxloop.core.public_language import language_links, normalise_language
from cxloop.surveys import answering, responses, tokens
from cxloop.surveys.answer_pages import page_context, texts_context
from cxloop.surveys.models import Invitation, Response, Survey

COOKIE = "cxloop_respondent"
COOKIE_MAX_AGE = 365 * 24 * 3600


@dataclass
class Flow:
    """Who is answering which survey, and how its URLs are spelled."""

    kind: str  # "invitation" | "public"
    token: str
    survey: Survey
    invitation: Invitation | None = None
    respondent_key: str = ""
    new_cookie: str = ""  # set on the reply when the browser brought none
    channel: str = Invitation.Channel.LINK

    def url(self, step: str = "") -> str:
        return reverse(f"answer:{self.kind}{'_' + step if step else ''}", args=[self.token])

    def find(self) -> Response | None:
        return responses.find_response(
            survey=self.survey, invitation=self.invitation, respondent_key=self.respondent_key
        )


def _invitation_flow(request: HttpRequest, token: str, *, allow_answered=False) -> Flow:
    invitation = tokens.read_invitation_token(token, allow_answered=allow_answered)
    return Flow("invitation", token, invitation.survey, invitation, channel=invitation.channel)


def _public_flow(request: HttpRequest, token: str) -> Flow:
    survey = tokens.read_public_token(token)
    cookie = request.COOKIES.get(COOKIE, "")
    new_cookie = "" if 16 <= len(cookie) <= 64 else secrets.token_urlsafe(18)
    key = hashlib.sha256((new_cookie or cookie).encode()).hexdigest()
    via_qr = request.GET.get("via") == "qr"
    channel = Invitation.Channel.QR if via_qr else Invitation.Channel.LINK
    return Flow("public", token, survey, respondent_key=key, new_cookie=new_cookie, channel=channel)


def friendly_errors(view):
    """Links that cannot be answered render the "gone" page with the token error's status."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            reply = view(request, *args, **kwargs)
        except tokens.TokenError as exc:
            reply = _gone(request, exc, None)
        except responses.AlreadySubmitted:  # a second tab posting after the submit
            reply = _gone(request, tokens.AlreadyAnswered(), None)
        reply.headers.setdefault("Cache-Control", "no-store")
        return reply

    return wrapper


def _gone(request: HttpRequest, exc: tokens.TokenError, response: Response | None):
    language = _activate(request, response)
    context = {"message": exc.message, "languages": language_links(request, language)}
    return render(request, "surveys/answer/gone.html", context, status=exc.status)


# --- views --------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@friendly_errors
def invitation_intro(request: HttpRequest, token: str) -> HttpResponse:
    flow = _invitation_flow(request, token)
    responses.open_invitation(invitation=flow.invitation)
    return _intro(request, flow)


@require_http_methods(["GET", "POST"])
@friendly_errors
def invitation_answer(request: HttpRequest, token: str) -> HttpResponse:
    return _answer(request, _invitation_flow(request, token))


@require_GET
@friendly_errors
def invitation_thanks(request: HttpRequest, token: str) -> HttpResponse:
    return _thanks(request, _invitation_flow(request, token, allow_answered=True))


@require_http_methods(["GET", "POST"])
@friendly_errors
def public_intro(request: HttpRequest, token: str) -> HttpResponse:
    flow = _public_flow(request, token)
    return _with_cookie(_intro(request, flow), flow, request)


@require_http_methods(["GET", "POST"])
@friendly_errors
def public_answer(request: HttpRequest, token: str) -> HttpResponse:
    flow = _public_flow(request, token)
    if flow.new_cookie:  # no cookie, no response to continue: start at the intro
        return _with_cookie(redirect(flow.url()), flow, request)
    return _answer(request, flow)


@require_GET
@friendly_errors
def public_thanks(request: HttpRequest, token: str) -> HttpResponse:
    return _thanks(request, _public_flow(request, token))


@require_GET
@friendly_errors
def public_qr(request: HttpRequest, token: str, kind: str) -> HttpResponse:
    survey = tokens.read_public_token(token)
    image = tokens.qr_code(tokens.public_url(survey) + "?via=qr", kind=kind)
    content_type = "image/svg+xml" if kind == "svg" else "image/png"
    return HttpResponse(image, content_type=content_type)


# --- the steps shared by both entries ----------------------------------------------------


def _intro(request: HttpRequest, flow: Flow) -> HttpResponse:
    existing = flow.find()
    if existing is not None and existing.submitted_at is not None:
        return _already_answered(request, flow, existing)
    if request.method == "POST":
        language = _activate(request, existing)
        responses.start_or_resume(
            survey=flow.survey,
            version=flow.survey.current_version,
            invitation=flow.invitation,
            respondent_key=flow.respondent_key,
            language=language,
            channel=flow.channel,
        )
        return redirect(flow.url("answer"))
    if existing is not None and existing.answers:
        return redirect(flow.url("answer"))
    language = _activate(request, existing)
    version = existing.version if existing else flow.survey.current_version
    context = texts_context(answering.definition_for(version), language)
    context.update(flow=flow, languages=language_links(request, language))
    return render(request, "surveys/answer/intro.html", context)


def _answer(request: HttpRequest, flow: Flow) -> HttpResponse:
    response = flow.find()
    if response is None:
        return redirect(flow.url())
    if response.submitted_at is not None:
        return _already_answered(request, flow, response)
    language = _activate(request, response)
    if request.method == "POST" and request.POST.get("action") == "back":
        responses.go_back(response=response, page_index=_posted_page(request, response))
        return redirect(flow.url("answer"))
    if request.method == "POST":
        page = _posted_page(request, response)
        try:
            result = responses.save_page(
                response=response, page_index=page, data=request.POST, submit_when_done=True
            )
        except responses.IncompleteResponse:
            return redirect(flow.url("answer"))  # current_page now points at the page to finish
        if not result.complete:
            return _render_page(request, flow, response, language, page, result)
        if response.submitted_at is not None:
            return redirect(flow.url("thanks"))
    page = _page_to_show(response)
    if page is None:
        return _submit(flow, response)
    if request.method == "POST":
        return redirect(flow.url("answer"))
    return _render_page(request, flow, response, language, page, None)


def _page_to_show(response: Response) -> int | None:
    """The current page, or the next one with something visible; None once all are done."""
    definition = answering.definition_for(response.version)
    return answering.next_page(definition, response.current_page - 1, response.answers)


def _submit(flow: Flow, response: Response) -> HttpResponse:
    try:
        responses.submit_response(response=response)
    except responses.IncompleteResponse:
        return redirect(flow.url("answer"))  # current_page now points at the page to finish
    return redirect(flow.url("thanks"))


def _thanks(request: HttpRequest, flow: Flow) -> HttpResponse:
    response = flow.find()
    if response is None or response.submitted_at is None:
        return redirect(flow.url())
    language = _activate(request, response)
    context = texts_context(answering.definition_for(response.version), language)
    context.update(flow=flow, languages=language_links(request, language))
    return render(request, "surveys/answer/thanks.html", context)


def _already_answered(request: HttpRequest, flow: Flow, response: Response) -> HttpResponse:
    if flow.kind == "invitation":
        return redirect(flow.url("thanks"))
    return _gone(request, tokens.AlreadyAnswered(), response)


def _render_page(request, flow, response, language, page_index, result) -> HttpResponse:
    definition = answering.definition_for(response.version)
    context = page_context(definition, response, language, page_index, result)
    context.update(answer_url=flow.url("answer"), languages=language_links(request, language))
    return render(request, "surveys/answer/page.html", context)


def _posted_page(request: HttpRequest, response: Response) -> int:
    """The page the form was for; a stale or forged number falls back to the current page."""
    pages = len(answering.definition_for(response.version).pages)
    try:
        page = int(request.POST.get("page", ""))
    except ValueError:
        return min(response.current_page, pages - 1)
    return page if 0 <= page < pages else min(response.current_page, pages - 1)


def _activate(request: HttpRequest, response: Response | None) -> str:
    """``?lang=`` first, then the response's language, then the browser's (Accept-Language)."""
    asked = normalise_language(request.GET.get("lang", ""))
    if asked and response is not None and response.language != asked:
        response.language = asked
        response.save(update_fields=["language"])
    chosen = asked or (response.language if response is not None else "")
    chosen = chosen or normalise_language(translation.get_language() or "") or "zh-hans"
    translation.activate(chosen)
    request.LANGUAGE_CODE = chosen
    return chosen


def _with_cookie(reply: HttpResponse, flow: Flow, request: HttpRequest) -> HttpResponse:
    if flow.new_cookie:
        reply.set_cookie(
            COOKIE,
            flow.new_cookie,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return reply
