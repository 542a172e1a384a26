"""Template filters for values people read: money in fen, percentages, aspect names.

Usage: ``{% load cxloop_format %}`` then ``{{ order.amount_fen|fen }}`` → ¥128.50.
"""

from __future__ import annotations

from django import template

from cxloop.core.money import format_fen

register = template.Library()


@register.filter
def fen(value) -> str:
    """Integer fen as ¥ with thousands separators; empty for None."""
    if value is None or value == "":
        return ""
    return format_fen(int(value))


@register.filter
def percent(value, digits: int = 1) -> str:
    """0.4567 → 45.7 %; empty for None."""
    if value is None:
        return ""
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def aspect_names(keys) -> list[str]:
    """Aspect keys (``["logistics", …]``) → their labels in the reader's language."""
    from cxloop.surveys.text import aspect_labels

    labels = aspect_labels()
    return [str(labels.get(key, key)) for key in keys or []]
