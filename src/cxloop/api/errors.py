"""One error format for the whole API.

- ``{"detail": "message"}`` for 400/401/403/404/409/413/415/500;
- ``{"detail": "Invalid input", "errors": {"field.path": ["message", ...]}}`` for 422.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import NinjaAPI
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

logger = logging.getLogger("cxloop.api")
JSON_TYPES = ("application/json", "text/plain", "")  # text/plain: what curl -d sends by default


class InvalidInput(Exception):
    """Input that parsed but failed validation; ``errors`` maps a field path to messages."""

    def __init__(self, errors: Mapping[str, Iterable[str]], detail=None) -> None:
        self.errors = {field: [str(m) for m in messages] for field, messages in errors.items()}
        self.detail = detail or _("Invalid input")
        super().__init__(self.errors)


class Conflict(Exception):
    """The request clashes with what is stored (e.g. an event id reused for other data)."""


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
            return json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BodyParseError(_("The request body is not valid JSON: %s") % exc) from None


def field_errors(errors: list[dict]) -> dict[str, list[str]]:
    """Turn ninja/pydantic error dicts into ``{"field.path": ["message"]}``."""
    result: dict[str, list[str]] = {}
    for error in errors:
        result.setdefault(field_path(error.get("loc", ())), []).append(str(error.get("msg", "")))
    return result


def field_path(loc) -> str:
    """("body", "payload", "rows", 3, "email") → "rows.3.email"; query/path → the name."""
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] or ["body"]
    elif parts and parts[0] in {"query", "path", "header", "cookie", "form"}:
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
        return _json(api, request, 422, exc.detail, errors=exc.errors)

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

    @api.exception_handler(Conflict)
    def _conflict(request, exc: Conflict):
        return _json(api, request, 409, exc.args[0] if exc.args else _("Conflict."))

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
