"""What every outgoing channel shares: the error type, the registry, message templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import translation

if TYPE_CHECKING:
    from cxloop.core.models import OutboxMessage

TEMPLATE_DIR = "core/messages"


class DeliveryError(Exception):
    """A send failed. ``transient`` errors are retried with backoff; others give up at once."""

    def __init__(self, detail: str, *, transient: bool):
        super().__init__(detail)
        self.detail = detail
        self.transient = transient


class UnknownChannel(LookupError):
    pass


class Channel:
    """One way of delivering an :class:`OutboxMessage`; subclasses register by ``name``."""

    name: ClassVar[str] = ""

    def send(self, message: OutboxMessage) -> None:
        """Deliver ``message`` or raise :class:`DeliveryError`."""
        raise NotImplementedError


_REGISTRY: dict[str, type[Channel]] = {}


def register(channel_class: type[Channel]) -> type[Channel]:
    """Class decorator: make a channel available under its ``name``."""
    if not channel_class.name:
        raise ValueError(f"{channel_class.__name__} needs a name")
    _REGISTRY[channel_class.name] = channel_class
    return channel_class


def get_channel(name: str) -> Channel:
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise UnknownChannel(name) from None


def channel_names() -> list[str]:
    return sorted(_REGISTRY)


class RenderedMessage:
    """Subject and bodies of a message after its template (if any) has been applied."""

    def __init__(self, subject: str, text: str, html: str | None):
        self.subject = subject
        self.text = text
        self.html = html


def render_message(message: OutboxMessage) -> RenderedMessage:
    """Apply ``payload["template"]`` in ``payload["language"]``; else use subject/body as stored.

    Templates live in ``core/templates/core/messages/``: ``<name>.txt`` (required),
    ``<name>.html`` and ``<name>.subject.txt`` (both optional). The payload is the context.
    """
    payload = message.payload or {}
    template = payload.get("template")
    if not template:
        return RenderedMessage(message.subject, message.body, None)
    context = {**payload, "recipient": message.recipient, "message_id": message.pk}
    with translation.override(payload.get("language") or settings.LANGUAGE_CODE):
        try:
            text = render_to_string(f"{TEMPLATE_DIR}/{template}.txt", context)
        except TemplateDoesNotExist:
            # Retrying cannot help until a release ships the template: give up, retry by hand.
            raise DeliveryError(f"Unknown message template {template!r}", transient=False) from None
        html = _render_optional(f"{TEMPLATE_DIR}/{template}.html", context)
        subject = _render_optional(f"{TEMPLATE_DIR}/{template}.subject.txt", context)
    # A subject is one line: newlines in a header would break the email.
    subject = " ".join((subject or message.subject).split())
    return RenderedMessage(subject, text, html)


def _render_optional(name: str, context: dict) -> str | None:
    try:
        return render_to_string(name, context)
    except TemplateDoesNotExist:
        return None
