"""One error format for the whole API.

- ``{"detail": "message"}`` for 400/401/403/404/409/413/415/500;
- ``{"detail": "Invalid input", "errors": {"field.path": ["message", ...]}}`` for 422.
"""

from __future__ import annotations

import functools
import json
import logging
import math
from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from cxloop.core.events import EventConflict, EventInvalid

logger = logging.getLogger("cxloop.api")
JSON_TYPES = ("application/json", "text/plain", "")  # text/plain: what curl -d sends by default


class InvalidInput(Exception):
    """Input that parsed but failed validation; ``errors`` maps a field path to messages."""

    def __init__(
        self, errors: Mapping[str, Iterable[str]], detail=None, extra: dict | None = None
    ) -> None:
        self.errors = {field: [str(m) for m in messages] for field, messages in errors.items()}
        self.detail = detail or _("Invalid input")
        self.extra = extra or {}  # more of the answer, e.g. a bulk request's row report
        super().__init__(self.errors)


class PayloadTooLarge(Exception):
    pass


class BodyParseError(Exception):
    """Why the body could not be read; ninja wraps it in a 400 and we keep the reason."""

    def __init__(self, message, status: int = 400) -> None:
        self.message = message
        self.status = status
        super().__init__(message)


class JsonParser(Parser):
    def parse_body(self, request: HttpRequest):
        content_type = request.content_type or ""
        if content_type not in JSON_TYPES and not content_type.endswith("+json"):
            raise BodyParseError(_("Send the body as JSON (Content-Type: application/json)."), 415)
        try:
            body = request.body
        except RequestDataTooBig:
            raise BodyParseError(_("The request body is too large."), 413) from None
        try:
            data = json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise BodyParseError(_("The request body is not valid JSON: %s") % exc) from None
        if b"\\u" in body and _has_lone_surrogate(data):
            raise BodyParseError(_("The request body has invalid Unicode (a lone surrogate)."))
        return data


def _no_constant(name: str):
    # Python's json accepts NaN and Infinity; JSON (and PostgreSQL's jsonb) does not.
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400 would otherwise become infinity
        raise ValueError(f"{text[:20]} is out of range")
    return number


def _has_lone_surrogate(data) -> bool:
    # JSON may escape half a UTF-16 pair ("\ud800"); such text cannot be stored or sent on.
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


# Our wording for the pydantic errors a client meets most; others keep pydantic's message.
FRIENDLY = {
    "missing": _("This value is required."),
    "extra_forbidden": _("Unknown field."),
}


def not_found(request, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/v1/ answer in JSON too."""
    return JsonResponse({"detail": str(_("No such endpoint."))}, status=404)


def with_json_405(patterns: list) -> list:
    """ninja answers a wrong method in plain text; make it the API's JSON error."""
    for pattern in patterns:
        pattern.callback = _json_405(pattern.callback)
    return patterns


def _json_405(view):
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").endswith("json"):
            return response
        allowed = response.get("Allow", "")
        response = JsonResponse({"detail": str(_("Method not allowed."))}, status=405)
        response["Allow"] = allowed
        return response

    wrapped.csrf_exempt = True  # as ninja's own views: tokens, not cookies, guard writes
    return wrapped


def field_errors(errors: list[dict]) -> dict[str, list[str]]:
    """Turn ninja/pydantic error dicts into ``{"field.path": ["message"]}``."""
    result: dict[str, list[str]] = {}
    for error in errors:
        message = FRIENDLY.get(error.get("type", ""), error.get("msg", ""))
        result.setdefault(field_path(error.get("loc", ())), []).append(str(message))
    return result


def field_path(loc) -> str:
    """("body", "payload", "rows", 3, "email") → "rows.3.email"; query/path → the name."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] or ["body"]
    elif parts and parts[0] in {"query", "path", "header", "cookie", "form", "file"}:
        parts = parts[1:] or parts
    return ".".join(parts) or "body"


def _json(api: NinjaAPI, request, status: int, detail, **extra) -> HttpResponse:
    return api.create_response(request, {"detail": str(detail), **extra}, status=status)


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ValidationError)
    def _validation(request, exc: ValidationError):
        return _json(api, request, 422, _("Invalid input"), errors=field_errors(exc.errors))

    @api.exception_handler(InvalidInput)
    def _invalid(request, exc: InvalidInput):
        return _json(api, request, 422, exc.detail, errors=exc.errors, **exc.extra)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request, exc):
        response = _json(api, request, 401, _("Send a valid API token: Authorization: Bearer …"))
        response["WWW-Authenticate"] = 'Bearer realm="cxloop"'
        return response

    @api.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        cause = exc.__cause__
        if isinstance(cause, BodyParseError):
            return _json(api, request, cause.status, cause.message)
        return _json(api, request, exc.status_code, exc.message)

    @api.exception_handler(Http404)
    def _not_found(request, exc):
        return _json(api, request, 404, exc.args[0] if exc.args else _("Not found."))

    @api.exception_handler(PermissionDenied)
    def _forbidden(request, exc):
        return _json(api, request, 403, _("You do not have permission to do this."))

    @api.exception_handler(EventInvalid)
    def _event_invalid(request, exc: EventInvalid):
        return _json(api, request, 422, _("Invalid input"), errors=exc.errors)

    @api.exception_handler(EventConflict)
    def _conflict(request, exc: EventConflict):
        return _json(api, request, 409, exc.args[0])

    @api.exception_handler(PayloadTooLarge)
    def _too_large(request, exc):
        return _json(api, request, 413, exc.args[0] if exc.args else _("Too large."))

    @api.exception_handler(RequestDataTooBig)
    def _body_too_large(request, exc):
        return _json(api, request, 413, _("The request body is too large."))

    @api.exception_handler(Exception)
    def _server_bug(request, exc: Exception):
        # Only true bugs get here: everything a client can send is answered above with a 4xx.
        logger.exception("API error on %s %s", request.method, request.path)
        return _json(api, request, 500, _("Server error. It has been logged."))
