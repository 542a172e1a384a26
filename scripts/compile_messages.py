#!/usr/bin/env python3
"""Compile the .po translation catalogs into the .mo files Django loads.

The .mo files are committed so a fresh install needs no GNU gettext. ``--check`` fails when a
.mo file is out of date with its .po file (CI runs it).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "src" / "cxloop" / "locale"


def compiled(po_path: Path) -> bytes:
    with po_path.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for po_path in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        data = compiled(po_path)
        if mo_path.exists() and mo_path.read_bytes() == data:
            continue
        if check:
            stale.append(str(mo_path))
        else:
            mo_path.write_bytes(data)
            print(f"compiled {mo_path}")
    if stale:
        print("out of date (run python scripts/compile_messages.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
