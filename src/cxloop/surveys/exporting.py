"""Streaming CSV and XLSX export of a survey's submitted responses.

One row per response, one column per question key over all published versions (a matrix gives
one column per row, ``dims.efficiency``; a KANO pair two). Rows are read with
``values_list().iterator()`` and written as they come. The customer's phone and email, and
mobile numbers typed into open answers, are masked unless the reader may see personal data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import IO, Any

from django.utils import timezone

from cxloop.core.audit import record_audit
from cxloop.core.pii import can_see_pii, mask_email, mask_phone, mask_phones_in_text
from cxloop.customers.exporting import csv_chunks, download_response, write_xlsx
from cxloop.surveys.models import Response, Survey

FORMATS = ("csv", "xlsx")
CHUNK_SIZE = 2000
FIXED_COLUMNS = [
    "response_id", "submitted_at", "version", "customer", "customer_phone", "customer_email",
    "channel", "region", "store", "age_band", "segment", "duration_seconds",
    "nps", "csat", "ces", "csi", "excluded", "flags",
]  # fmt: skip
_FIELDS = [
    "id", "submitted_at", "version__number", "customer__external_id", "customer__phone",
    "customer__email", "channel", "region", "store", "age_band", "segment", "duration_seconds",
    "nps", "csat", "ces", "csi", "excluded", "flags", "answers",
]  # fmt: skip


def answer_columns(survey: Survey) -> list[tuple[str, str, str | None]]:
    """(header, question key, sub-key) for every question of every version, in order."""
    columns: dict[str, tuple[str, str, str | None]] = {}
    for definition in survey.versions.order_by("number").values_list("definition", flat=True):
        for page in (definition or {}).get("pages") or []:
            for question in page.get("questions") or []:
                for column in _question_columns(question):
                    columns.setdefault(column[0], column)
    return list(columns.values())


def _question_columns(question: dict) -> list[tuple[str, str, str | None]]:
    key = question.get("key")
    if not isinstance(key, str):
        return []
    if question.get("type") == "matrix":
        rows = [r["key"] for r in question.get("rows") or [] if isinstance(r, dict) and "key" in r]
        return [(f"{key}.{row}", key, row) for row in rows]
    if question.get("type") == "kano":
        return [(f"{key}.{part}", key, part) for part in ("functional", "dysfunctional")]
    return [(key, key, None)]


def _cell(answer: Any, sub: str | None, show_pii: bool) -> Any:
    if sub is not None:
        answer = answer.get(sub) if isinstance(answer, dict) else None
    if isinstance(answer, list):
        answer = "; ".join(str(item) for item in answer)
    if isinstance(answer, str) and not show_pii:
        answer = mask_phones_in_text(answer)
    return "" if answer is None else answer


def _flag_text(flags: Any) -> str:
    items = flags if isinstance(flags, list) else []
    return "; ".join(
        str(f.get("reason") or f.get("code") or f) if isinstance(f, dict) else str(f) for f in items
    )


def export_rows(*, survey: Survey, show_pii: bool) -> tuple[list[str], Iterator[list]]:
    columns = answer_columns(survey)
    headers = FIXED_COLUMNS + [header for header, _key, _sub in columns]
    queryset = (
        Response.objects.filter(survey=survey, submitted_at__isnull=False)
        .order_by("submitted_at", "id")
        .values_list(*_FIELDS)
    )

    def rows() -> Iterator[list]:
        for values in queryset.iterator(chunk_size=CHUNK_SIZE):
            item = dict(zip(_FIELDS, values, strict=True))
            answers = item["answers"] if isinstance(item["answers"], dict) else {}
            phone, email = item["customer__phone"] or "", item["customer__email"] or ""
            yield [
                item["id"], _local(item["submitted_at"]), item["version__number"],
                item["customer__external_id"] or "", phone if show_pii else mask_phone(phone),
                email if show_pii else mask_email(email), item["channel"], item["region"],
                item["store"], item["age_band"], item["segment"], item["duration_seconds"],
                item["nps"], item["csat"], item["ces"],
                None if item["csi"] is None else round(item["csi"], 2),
                "yes" if item["excluded"] else "", _flag_text(item["flags"]),
            ] + [_cell(answers.get(key), sub, show_pii) for _h, key, sub in columns]  # fmt: skip

    return headers, rows()


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def write_export(*, survey: Survey, fmt: str, out: IO[bytes], show_pii: bool) -> None:
    headers, rows = export_rows(survey=survey, show_pii=show_pii)
    if fmt == "xlsx":
        write_xlsx(headers, rows, out)
        return
    for chunk in csv_chunks(headers, rows):
        out.write(chunk.encode("utf-8"))


def export_response(*, survey: Survey, fmt: str, user):
    """A streaming download (CSV) or a spooled workbook (XLSX), audited."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    show_pii = can_see_pii(user)
    headers, rows = export_rows(survey=survey, show_pii=show_pii)
    record_audit(
        actor=user,
        action="data.exported",
        target=survey,
        after={"kind": "survey_responses", "format": fmt, "pii": show_pii},
    )
    file_name = f"{survey.key}-responses-{timezone.localdate():%Y%m%d}.{fmt}"
    return download_response(headers, rows, fmt=fmt, file_name=file_name)
