"""The zh-Hans catalog is complete and its placeholders match the English originals."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

import cxloop

CATALOG = Path(cxloop.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def _messages():
    with CATALOG.open("rb") as handle:
        return [message for message in read_po(handle) if message.id]


def _texts(value) -> list[str]:
    return list(value) if isinstance(value, tuple | list) else [value]


def test_every_message_is_translated():
    missing = [
        message.id for message in _messages() if message.fuzzy or not all(_texts(message.string))
    ]
    assert missing == []


def test_placeholders_survive_translation():
    wrong = []
    for message in _messages():
        expected = sorted(PLACEHOLDER.findall(_texts(message.id)[0]))
        for text in _texts(message.string):
            if sorted(PLACEHOLDER.findall(text)) != expected and len(_texts(message.id)) == 1:
                wrong.append(message.id)
    assert wrong == []
