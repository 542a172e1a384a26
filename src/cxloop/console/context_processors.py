"""Template context shared by every console page."""

from __future__ import annotations

from django.conf import settings
from django.utils.functional import SimpleLazyObject

# view name (or namespace) → the navigation entry it belongs to, for aria-current.
_NAV_BY_VIEW = {
    "console:home": "home",
    "customers:imports": "imports",
    "customers:import_upload": "imports",
    "customers:import_detail": "imports",
    "customers:import_progress": "imports",
    "core:settings": "settings",
    "core:users": "users",
    "core:user_edit": "users",
    "core:audit": "audit",
}
_NAV_BY_NAMESPACE = {
    "customers": "customers",
    "core": "outbox",
    "api_tokens": "tokens",
    "surveys": "surveys",
}


def nav_entry(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    if match.view_name == "console:section":
        return match.kwargs.get("section", "")
    if match.view_name in _NAV_BY_VIEW:
        return _NAV_BY_VIEW[match.view_name]
    return _NAV_BY_NAMESPACE.get(match.namespace, "")


def _organisation_name() -> str:
    from cxloop.core.settings_registry import ORGANISATION_NAME, get_setting

    return get_setting(ORGANISATION_NAME)


def console(request) -> dict:
    return {
        "cxloop_languages": settings.LANGUAGES,
        "nav_active": nav_entry(request),
        # Lazy: only pages that show the name pay for the query.
        "organisation_name": SimpleLazyObject(_organisation_name),
    }
