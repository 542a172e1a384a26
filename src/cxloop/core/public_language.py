"""Language of the pages customers see without signing in (survey answers, case progress):
``?lang=`` switches between Simplified Chinese and English; links to switch keep the path."""

from __future__ import annotations

from django.http import HttpRequest

# Endonyms: a customer who cannot read the current language still finds their own.
LANGUAGES = (("zh-hans", "中文"), ("en", "English"))


def normalise_language(code: str) -> str:
    """``zh…`` → zh-hans, ``en…`` → en, anything else → "" (not a language we serve)."""
    code = code.lower()
    if code.startswith("zh"):
        return "zh-hans"
    return "en" if code.startswith("en") else ""


def language_links(request: HttpRequest, current: str) -> list[dict]:
    return [
        {
            "code": code,
            "name": name,
            "url": f"{request.path}?lang={code}",
            "current": code == current,
        }
        for code, name in LANGUAGES
    ]
