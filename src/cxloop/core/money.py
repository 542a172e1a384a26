"""Money is kept as integer fen (1 CNY = 100 fen); these helpers parse and format it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


def yuan_to_fen(value: str | int | float | Decimal) -> int:
    """Parse an amount in yuan ("128.50", "¥1,280", 99) into integer fen.

    Raises ValueError for anything that is not a finite amount with at most two decimals.
    """
    text = str(value).strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    fen = amount * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"more than two decimals: {value!r}")
    return int(fen.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_fen(fen: int | None) -> str:
    """12850 → "¥128.50"."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(int(fen)), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"
