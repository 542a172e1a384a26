"""Streaming CSV and XLSX export of customers and orders.

Rows are read with ``values_list().iterator(chunk_size=2000)`` and written as they come, so an
export of a million customers never holds them all in memory. Phone numbers and emails are masked
unless the reader may see personal data (``core.pii``). Headers are the import's field names, so
an exported file can be edited and imported back as it is.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import IO, Any

from django.db.models import F, QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit
from cxloop.core.pii import can_see_pii, mask_email, mask_phone
from cxloop.customers.models import Customer, Order
from cxloop.customers.services import CUSTOMER_FIELDS

KINDS = ("customers", "orders")
FORMATS = ("csv", "xlsx")
CHUNK_SIZE = 2000
CSV_BOM = "\ufeff"  # lets Excel open UTF-8 CSV with Chinese text correctly
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The upserted fields, so an exported file imports back unchanged; then when it was created.
CUSTOMER_COLUMNS = [*CUSTOMER_FIELDS, "created_at"]
ORDER_COLUMNS = [
    "external_id",
    "customer_external_id",
    "amount",
    "placed_at",
    "delivered_at",
    "channel",
    "store",
    "status",
]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def customers_queryset(filters: Mapping[str, Any] | None = None) -> QuerySet:
    """Customers filtered by region, store and registration date (``date_from``/``date_to``)."""
    filters = filters or {}
    queryset = Customer.objects.order_by("id")
    for name in ("region", "store"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("date_from"):
        queryset = queryset.filter(registered_at__gte=filters["date_from"])
    if filters.get("date_to"):
        queryset = queryset.filter(registered_at__lte=filters["date_to"])
    return queryset


def orders_queryset(filters: Mapping[str, Any] | None = None) -> QuerySet:
    """Orders by store, channel, status and local order date (``date_from``/``date_to``)."""
    filters = filters or {}
    queryset = Order.objects.order_by("id")
    for name in ("store", "channel", "status"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("date_from"):
        queryset = queryset.filter(placed_at__gte=_day_start(filters["date_from"]))
    if filters.get("date_to"):
        next_day = filters["date_to"] + dt.timedelta(days=1)
        queryset = queryset.filter(placed_at__lt=_day_start(next_day))
    return queryset


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def export_rows(
    *, kind: str, show_pii: bool, filters: Mapping[str, Any] | None = None
) -> tuple[list[str], Iterator[list]]:
    """The header and a lazy iterator over the rows of an export."""
    if kind == "customers":
        return CUSTOMER_COLUMNS, _customer_rows(customers_queryset(filters), show_pii)
    if kind == "orders":
        return ORDER_COLUMNS, _order_rows(orders_queryset(filters))
    raise ValueError(f"unknown export kind {kind!r}")


def _customer_rows(queryset: QuerySet, show_pii: bool) -> Iterator[list]:
    yes, no = _("yes"), _("no")
    for item in queryset.values(*CUSTOMER_COLUMNS).iterator(chunk_size=CHUNK_SIZE):
        if not show_pii:
            item["phone"] = mask_phone(item["phone"])
            item["email"] = mask_email(item["email"])
        item["consent_survey"] = yes if item["consent_survey"] else no
        item["consent_marketing"] = yes if item["consent_marketing"] else no
        item["tags"] = ",".join(item["tags"] or [])
        item["created_at"] = _local(item["created_at"])
        yield [item[name] for name in CUSTOMER_COLUMNS]


def _order_rows(queryset: QuerySet) -> Iterator[list]:
    queryset = queryset.annotate(customer_external_id=F("customer__external_id"))
    fields = [name for name in ORDER_COLUMNS if name != "amount"] + ["amount_fen"]
    for item in queryset.values(*fields).iterator(chunk_size=CHUNK_SIZE):
        item["amount"] = Decimal(item["amount_fen"]).scaleb(-2)  # 12850 → 128.50
        item["placed_at"] = _local(item["placed_at"])
        item["delivered_at"] = _local(item["delivered_at"])
        yield [item[name] for name in ORDER_COLUMNS]


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def safe_cell(value: Any) -> Any:
    """CSV text that a spreadsheet would run as a formula gets a leading quote (CSV injection).

    The importer drops that quote again, so an exported file imports back unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# --- writers -------------------------------------------------------------------------------


def csv_chunks(headers: list[str], rows: Iterable[list], *, batch: int = 500) -> Iterator[str]:
    """CSV text in chunks of ``batch`` rows, starting with a BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write(CSV_BOM)
    writer.writerow(headers)
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(value) for value in row])
        if count % batch == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def write_xlsx(headers: list[str], rows: Iterable[list], out: IO[bytes]) -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(out)


def _xlsx_cell(sheet, value: Any) -> Any:
    """openpyxl writes text starting with "=" as a formula; keep it a string cell instead."""
    if isinstance(value, str) and value.startswith("="):
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"
        return cell
    return value.isoformat() if isinstance(value, dt.date) else value


def write_export(
    *, kind: str, fmt: str, out: IO[bytes], show_pii: bool, filters: Mapping | None = None
) -> None:
    """Write an export to a binary file (used by the CLI)."""
    headers, rows = export_rows(kind=kind, show_pii=show_pii, filters=filters)
    if fmt == "xlsx":
        write_xlsx(headers, rows, out)
        return
    for chunk in csv_chunks(headers, rows):
        out.write(chunk.encode("utf-8"))


def export_response(*, kind: str, fmt: str, user, filters: Mapping | None = None):
    """A streaming download for the console, with an audit row saying who exported what."""
    show_pii = can_see_pii(user)
    headers, rows = export_rows(kind=kind, show_pii=show_pii, filters=filters)
    record_audit(
        actor=user,
        action="data.exported",
        object_type=f"customers.{kind}",
        after={"kind": kind, "format": fmt, "filters": dict(filters or {}), "pii": show_pii},
    )
    file_name = f"{kind}-{timezone.localdate():%Y%m%d}.{fmt}"
    return download_response(headers, rows, fmt=fmt, file_name=file_name)


def download_response(headers: list[str], rows: Iterable[list], *, fmt: str, file_name: str):
    """CSV streams row by row; XLSX is spooled to a temporary file first (a zip needs seeking)."""
    if fmt == "xlsx":
        spool = tempfile.TemporaryFile()  # noqa: SIM115 — FileResponse closes it
        write_xlsx(headers, rows, spool)
        spool.seek(0)
        return FileResponse(spool, as_attachment=True, filename=file_name, content_type=XLSX_TYPE)
    chunks = (chunk.encode("utf-8") for chunk in csv_chunks(headers, rows))
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response
