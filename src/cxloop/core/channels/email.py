"""Email through Django's configured backend (SMTP in production)."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMultiAlternatives

from cxloop.core.channels.base import Channel, DeliveryError, register, render_message
from cxloop.core.models import OutboxMessage


@register
class EmailChannel(Channel):
    name = OutboxMessage.Channel.EMAIL.value

    def send(self, message: OutboxMessage) -> None:
        rendered = render_message(message)
        email = EmailMultiAlternatives(
            subject=rendered.subject,
            body=rendered.text,
            to=[message.recipient],
            headers={"X-Cxloop-Message-Id": str(message.pk)},
        )
        if rendered.html:
            email.attach_alternative(rendered.html, "text/html")
        try:
            email.send()
        except Exception as exc:
            raise classify_smtp_error(exc) from exc


def classify_smtp_error(exc: Exception) -> DeliveryError:
    """5xx answers about this message are final; outages, 4xx and login problems are retried.

    A wrong SMTP password (535) is retried: the operator fixes the configuration and the
    waiting messages go out, instead of all of them being given up.
    """
    detail = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _text in exc.recipients.values()]
        return DeliveryError(detail, transient=not all(500 <= code < 600 for code in codes))
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return DeliveryError(detail, transient=True)
    if isinstance(exc, smtplib.SMTPResponseException):
        return DeliveryError(detail, transient=not 500 <= exc.smtp_code < 600)
    if isinstance(exc, ValueError):
        # Django refuses malformed addresses with ValueError before talking to the server.
        return DeliveryError(detail, transient=False)
    return DeliveryError(detail, transient=True)
