"""Hourly submission limits of the public forms (cases feedback, service ideas), counted in
the shared cache (``CXLOOP_CACHE_URL``) so every web process sees the same counts."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

WINDOW_SECONDS = 3600


def key(scope: str, kind: str, value: str) -> str:
    """The cache key of one counter; the value (an address, a phone) is hashed, not stored."""
    digest = hashlib.sha256(f"{kind}:{value}".encode()).hexdigest()[:32]
    return f"cxloop:{scope}:{kind}:{digest}"


def limited(keys: list[str], limit: int) -> bool:
    counts = cache.get_many(keys)
    return any(int(counts.get(name) or 0) >= limit for name in keys)


def count(keys: list[str]) -> None:
    for name in keys:
        if not cache.add(name, 1, timeout=WINDOW_SECONDS):
            try:
                cache.incr(name)
            except ValueError:  # expired between add and incr
                cache.add(name, 1, timeout=WINDOW_SECONDS)


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless the deployment says how many proxies of its own append to
    X-Forwarded-For (``CXLOOP_TRUSTED_PROXY_COUNT``): entries left of those are the client's
    to invent, so only the one the outermost trusted proxy saw is used."""
    proxies = getattr(settings, "CXLOOP_TRUSTED_PROXY_COUNT", 0)
    forwarded = [p.strip() for p in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [p for p in forwarded if p]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "") or "unknown"
