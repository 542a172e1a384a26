"""Signed JSON webhooks: the road to SMS, WeChat and chat gateways.

Each POST carries these headers::

    X-Cxloop-Timestamp: 1718000000            (Unix seconds when the request was signed)
    X-Cxloop-Event: sms.send                  (payload["event"], default "notification")
    X-Cxloop-Message-Id: 42                   (the same on every retry: dedupe by it)
    X-Cxloop-Signature: sha256=<hex>          (HMAC-SHA256 of "<timestamp>.<raw body>")

The HMAC key is ``CXLOOP_WEBHOOK_SECRET``. Gateways check requests with
:func:`verify_signature` (or its few lines ported to their language).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from cxloop.core.channels.base import Channel, DeliveryError, register, render_message
from cxloop.core.models import OutboxMessage

SIGNATURE_PREFIX = "sha256="
DEFAULT_EVENT = "notification"
# Payload keys that steer delivery and are not part of the data sent on.
_CONTROL_KEYS = {"url", "template", "event"}


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Cxloop-Signature`` value for ``body`` sent at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes | str,
    header: str,
    tolerance: int = 300,
    *,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs ``body`` with ``secret`` and ``timestamp`` is recent.

    For gateway authors: pass the raw request body (bytes, before JSON parsing), the
    ``X-Cxloop-Timestamp`` and ``X-Cxloop-Signature`` headers. Requests older (or newer)
    than ``tolerance`` seconds are refused so a captured request cannot be replayed later.
    """
    if not secret or not header:
        return False
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False
    raw = body.encode() if isinstance(body, str) else body
    return hmac.compare_digest(sign(secret, sent_at, raw), header.strip())


@register
class WebhookChannel(Channel):
    name = OutboxMessage.Channel.WEBHOOK.value
    timeout_seconds = 10.0

    def send(self, message: OutboxMessage) -> None:
        url = (message.payload or {}).get("url") or settings.CXLOOP_WEBHOOK_URL
        secret = settings.CXLOOP_WEBHOOK_SECRET
        # Missing configuration is transient: once it is set, waiting messages go out.
        if not url:
            raise DeliveryError("No webhook URL: set CXLOOP_WEBHOOK_URL", transient=True)
        if not secret:
            raise DeliveryError("CXLOOP_WEBHOOK_SECRET is not set", transient=True)
        body = self.body(message)
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "cxloop-webhook/1",
            "X-Cxloop-Timestamp": str(timestamp),
            "X-Cxloop-Event": self.event(message),
            "X-Cxloop-Message-Id": str(message.pk),
            "X-Cxloop-Signature": sign(secret, timestamp, body),
        }
        check_response(self.post(url, body, headers))

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            return httpx.post(url, content=body, headers=headers, timeout=self.timeout_seconds)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise DeliveryError(f"Bad webhook URL {url!r}: {exc}", transient=False) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}", transient=True) from exc

    @staticmethod
    def event(message: OutboxMessage) -> str:
        return str((message.payload or {}).get("event") or DEFAULT_EVENT)

    def body(self, message: OutboxMessage) -> bytes:
        rendered = render_message(message)
        payload = message.payload or {}
        document = {
            "id": str(message.pk),
            "event": self.event(message),
            "recipient": message.recipient,
            "subject": rendered.subject,
            "text": rendered.text,
            "data": {k: v for k, v in payload.items() if k not in _CONTROL_KEYS},
            "created_at": message.created_at,
        }
        return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False).encode()


def check_response(response: httpx.Response) -> None:
    """2xx is delivered; 408, 429 and 5xx are retried; any other answer is final."""
    status = response.status_code
    if 200 <= status < 300:
        return
    detail = f"HTTP {status}: {response.text[:500]}"
    transient = status in (408, 429) or status >= 500
    raise DeliveryError(detail, transient=transient)
