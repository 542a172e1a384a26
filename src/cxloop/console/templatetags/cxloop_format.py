"""Template filters for numbers people read: money in fen, percentages.

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
