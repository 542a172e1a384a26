"""Masking of personal data for roles without the PII permission."""

from __future__ import annotations

import re

PII_PERMISSION = "customers.view_pii"
# A mainland mobile number typed into free text (comments, descriptions, answers).
MOBILE_IN_TEXT = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def mask_phone(phone: str) -> str:
    """138****1234: keep the first three and last four digits."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) <= 7:
        return "*" * len(digits)
    return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_email(email: str) -> str:
    """z***@example.com: keep the first character of the local part and the domain."""
    if not email or "@" not in email:
        return "*" * len(email or "")
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}***@{domain}"


def can_see_pii(user) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(PII_PERMISSION))


def mask_phones_in_text(text: str) -> str:
    """Free text with every mobile number in it masked as :func:`mask_phone` does."""
    return MOBILE_IN_TEXT.sub(lambda match: mask_phone(match.group()), text) if text else text
