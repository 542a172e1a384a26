"""Panels of the one-page customer profile, contributed by other apps.

The customers app knows no other app: each one registers its panels from its own
``profile_panels`` module, imported in its ``AppConfig.ready()``::

    register_panel(
        "cases",
        template="cases/profile/_panel.html",
        context=cases_context,          # (request, customer) -> dict, or None to hide it
        order=30,
        permission="cases.view_case",
    )

The profile renders, in ``order``, every panel whose permission the user holds and whose
``context`` returns a dict; the template gets that dict as ``panel`` (plus the page context).
Panels ordered below ``TOP_ORDER`` appear above the orders, the others below them.
Registering a key again replaces the panel, so a reloaded module does not show it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from cxloop.customers.models import Customer

TOP_ORDER = 100
PanelContext = Callable[[HttpRequest, Customer], dict | None]


@dataclass(frozen=True)
class Panel:
    key: str
    template: str
    context: PanelContext
    order: int
    permission: str | None


_PANELS: dict[str, Panel] = {}


def register_panel(
    key: str,
    *,
    template: str,
    context: PanelContext,
    order: int,
    permission: str | None = None,
) -> Panel:
    panel = Panel(key, template, context, order, permission)
    _PANELS[key] = panel
    return panel


def unregister_panel(key: str) -> None:
    _PANELS.pop(key, None)


def registered_panels() -> list[Panel]:
    return sorted(_PANELS.values(), key=lambda panel: (panel.order, panel.key))


def panels_for(request: HttpRequest, customer: Customer) -> list[Panel]:
    """The panels ``request.user`` may see, in display order."""
    user = request.user
    return [p for p in registered_panels() if p.permission is None or user.has_perm(p.permission)]


@dataclass(frozen=True)
class RenderedPanel:
    key: str
    order: int
    html: SafeString


def render_panels(request: HttpRequest, customer: Customer, page: dict) -> list[RenderedPanel]:
    """Each visible panel rendered with ``panel`` = its context and the page's context."""
    rendered = []
    for panel in panels_for(request, customer):
        data = panel.context(request, customer)
        if data is None:
            continue
        html = render_to_string(panel.template, {**page, "panel": data}, request=request)
        rendered.append(RenderedPanel(panel.key, panel.order, mark_safe(html)))  # noqa: S308 - our templates
    return rendered
