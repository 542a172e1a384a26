"""The CSV/XLSX import pipeline: read a file as a stream of rows, map its columns, upsert.

Entry points:
- ``start_import`` (console): store the file, create an ImportJob, queue the Huey task.
- ``import_path`` (CLI): create an ImportJob for a file on disk and run it right away.
- ``run_import``: the pipeline itself, used by both; it validates and upserts in batches through
  ``services.bulk_upsert_*``, keeps the job's progress and its report of bad rows current.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import logging
import operator
import re
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cxloop.core.audit import record_audit
from cxloop.customers.models import ImportJob
from cxloop.customers.services import (
    BATCH_SIZE,
    UpsertSummary,
    bulk_upsert_customers,
    bulk_upsert_orders,
)
from cxloop.customers.signals import orders_imported
from cxloop.customers.validation import FIELD_LABELS, FIELD_SPECS, REQUIRED_TARGETS

logger = logging.getLogger(__name__)

MAX_STORED_ERRORS = 1000
CHUNK_SIZE = 5 * BATCH_SIZE  # rows per transaction and per progress update
ALLOWED_SUFFIXES = {".csv", ".xlsx"}
Progress = Callable[[int, int], None]

# Normalised header (see ``normalise_header``) → field, per kind.
HEADER_ALIASES: dict[str, dict[str, list[str]]] = {
    "customers": {
        "external_id": [
            "externalid",
            "id",
            "customerid",
            "客户编号",
            "客户id",
            "客户号",
            "会员号",
            "会员编号",
            "会员id",
            "编号",
            "顾客编号",
        ],
        "name": ["name", "customername", "姓名", "客户姓名", "名字", "客户名称", "会员姓名"],
        "phone": [
            "phone",
            "mobile",
            "tel",
            "telephone",
            "cellphone",
            "手机",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "电话号码",
        ],
        "email": ["email", "mail", "emailaddress", "邮箱", "电子邮箱", "电子邮件", "邮件"],
        "birthday": ["birthday", "birthdate", "dateofbirth", "dob", "生日", "出生日期"],
        "registered_at": [
            "registeredat",
            "registered",
            "registrationdate",
            "signupdate",
            "注册日期",
            "注册时间",
            "入会日期",
            "开卡日期",
        ],
        "region": ["region", "area", "区域", "地区", "大区", "片区"],
        "store": ["store", "shop", "门店", "店铺", "所属门店", "归属门店"],
        "consent_survey": [
            "consentsurvey",
            "surveyconsent",
            "同意调研",
            "同意调查",
            "接受调研",
            "调研授权",
        ],
        "consent_marketing": [
            "consentmarketing",
            "marketingconsent",
            "同意营销",
            "接受营销",
            "营销授权",
        ],
        "tags": ["tags", "tag", "labels", "标签", "客户标签", "需求标签"],
    },
    "orders": {
        "external_id": [
            "externalid",
            "orderid",
            "orderno",
            "ordernumber",
            "id",
            "订单号",
            "订单编号",
            "订单id",
            "单号",
        ],
        "customer_external_id": [
            "customerexternalid",
            "customerid",
            "customer",
            "memberid",
            "客户编号",
            "客户id",
            "客户号",
            "会员号",
            "会员编号",
            "会员id",
        ],
        "amount": [
            "amount",
            "total",
            "amountyuan",
            "金额",
            "订单金额",
            "金额元",
            "实付金额",
            "支付金额",
            "消费金额",
        ],
        "amount_fen": ["amountfen", "金额分", "订单金额分"],
        "placed_at": [
            "placedat",
            "orderdate",
            "ordertime",
            "orderedat",
            "createdat",
            "下单时间",
            "下单日期",
            "订单时间",
            "订单日期",
            "购买时间",
            "交易时间",
        ],
        "delivered_at": [
            "deliveredat",
            "deliverytime",
            "deliverydate",
            "送达时间",
            "送达日期",
            "签收时间",
            "收货时间",
            "配送完成时间",
        ],
        "channel": ["channel", "saleschannel", "渠道", "销售渠道", "下单渠道", "购买渠道"],
        "store": ["store", "shop", "门店", "店铺", "下单门店"],
        "status": ["status", "orderstatus", "状态", "订单状态"],
    },
}
_HEADER_NOISE = re.compile(r"[\s_\-*:：()（）\[\]【】/.#]+")


def normalise_header(header: object) -> str:
    return _HEADER_NOISE.sub("", str(header or "")).lower()


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, Sequence]]  # (row number as the user sees it, cell values)
    estimated_rows: int


class ImportFileError(Exception):
    """The file cannot be read as a table (message is shown to the user)."""


# --- column mapping ------------------------------------------------------------------------


def field_choices(kind: str) -> list[str]:
    return list(FIELD_SPECS[kind])


def detect_mapping(headers: Sequence[str], kind: str) -> dict[str, str]:
    """header → field for the headers we recognise; the first header for a field wins."""
    lookup = {
        alias: name for name, aliases in HEADER_ALIASES[kind].items() for alias in [name, *aliases]
    }
    lookup.update({normalise_header(name): name for name in FIELD_SPECS[kind]})
    mapping: dict[str, str] = {}
    for header in headers:
        key = normalise_header(header)
        # "订单金额（元）", "amount (yuan)": a unit in yuan is what the plain name means.
        name = lookup.get(key) or lookup.get(key.removesuffix("元").removesuffix("yuan"))
        if name and name not in mapping.values() and header not in mapping:
            mapping[header] = name
    return mapping


def effective_mapping(headers: Sequence[str], kind: str, explicit: dict | None) -> dict[str, str]:
    """Automatic mapping overridden by ``explicit`` (header → field, "" to ignore a column)."""
    explicit = explicit or {}
    chosen = {field for field in explicit.values() if field}
    mapping = {
        header: name
        for header, name in detect_mapping(headers, kind).items()
        if header not in explicit and name not in chosen
    }
    for header, name in explicit.items():
        if name and header in headers and name in FIELD_SPECS[kind]:
            mapping[header] = name
    return mapping


def missing_fields(kind: str, mapping: dict[str, str]) -> list[str]:
    """Required fields that no column is mapped to."""
    mapped = set(mapping.values())
    return [
        sources[0]
        for sources in REQUIRED_TARGETS[kind].values()
        if not any(source in mapped for source in sources)
    ]


# --- reading files -------------------------------------------------------------------------


@contextlib.contextmanager
def open_table(path: str | Path) -> Iterator[Table]:
    """Open a .csv or .xlsx file as a Table; raises ImportFileError when it cannot."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ImportFileError(_("Only .csv and .xlsx files can be imported."))
    opener = _open_xlsx if suffix == ".xlsx" else _open_csv
    with opener(path) as table:
        yield table


@contextlib.contextmanager
def _open_csv(path: Path) -> Iterator[Table]:
    encoding, line_count = _sniff_csv(path)
    with open(path, encoding=encoding, newline="", errors="replace") as handle:
        first_line = handle.readline()
        handle.seek(0)
        delimiter = _delimiter(first_line)
        reader = csv.reader(handle, delimiter=delimiter)
        headers = [cell.strip() for cell in next(reader, [])]
        if not any(headers):
            raise ImportFileError(_("The file is empty."))
        rows = ((n, row) for n, row in enumerate(reader, start=2) if any(row))
        yield Table(headers, rows, max(line_count - 1, 0))


def _sniff_csv(path: Path) -> tuple[str, int]:
    """Pick the encoding (UTF-8 with or without BOM, UTF-16, else GB18030) and count lines.

    The whole file is checked, not just its start: a GBK file may be plain ASCII for
    thousands of rows before its first Chinese name.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    encoding, lines = "utf-8-sig", 0
    with open(path, "rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            encoding = "utf-16"  # Excel's "Unicode text" export
        handle.seek(0)
        for chunk in _chunks(handle):
            lines += chunk.count(b"\n")
            if encoding == "utf-8-sig":
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError:
                    encoding = "gb18030"
    return encoding, lines


def _chunks(handle) -> Iterator[bytes]:
    while chunk := handle.read(1 << 20):
        yield chunk


def _delimiter(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", "\t", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


@contextlib.contextmanager
def _open_xlsx(path: Path) -> Iterator[Table]:
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError):
        raise ImportFileError(_("The file is not a valid Excel (.xlsx) workbook.")) from None
    try:
        sheet = workbook.worksheets[0]
        cells = sheet.iter_rows(values_only=True)
        headers = ["" if cell is None else str(cell).strip() for cell in next(cells, ())]
        if not any(headers):
            raise ImportFileError(_("The file is empty."))
        rows = ((n, row) for n, row in enumerate(cells, start=2) if _has_value(row))
        yield Table(headers, rows, max((sheet.max_row or 1) - 1, 0))
    finally:
        workbook.close()


def _has_value(row: Sequence) -> bool:
    return any(cell is not None and cell != "" for cell in row)


def read_headers(path: str | Path) -> list[str]:
    with open_table(path) as table:
        return table.headers


# --- running an import ---------------------------------------------------------------------


def run_import(
    *,
    job: ImportJob,
    path: str | Path | None = None,
    actor=None,
    progress: Progress | None = None,
    on_errors: Callable[[list[dict]], None] | None = None,
) -> ImportJob:
    """Import ``path`` (default: the job's stored file) into ``job.kind``.

    Good rows are upserted, bad rows are reported in ``job.errors`` (the first
    ``MAX_STORED_ERRORS``; ``job.error_count`` counts every bad row). ``progress(processed,
    total)`` is called after each batch; ``on_errors`` gets every batch's errors, uncapped.
    """
    try:
        with open_table(path or job.file_path) as table:
            mapping = effective_mapping(table.headers, job.kind, job.mapping)
            missing = missing_fields(job.kind, mapping)
            if missing:
                job.mapping = mapping
                names = ", ".join(f"{FIELD_LABELS[name]} ({name})" for name in missing)
                message = _("No column for the required field(s): %(fields)s.")
                return fail_job(job, message % {"fields": names})
            _mark_started(job, table.estimated_rows, mapping)
            summary = _import_rows(job, table, mapping, actor, progress, on_errors)
    except ImportFileError as exc:
        return fail_job(job, str(exc))
    except (UnicodeError, csv.Error) as exc:
        logger.warning("import %s: unreadable file: %s", job.pk, exc)
        return fail_job(job, _("The file could not be read: %(error)s") % {"error": exc})
    _finish(job, summary, actor)
    return job


def _import_rows(job, table: Table, mapping, actor, progress, on_errors) -> UpsertSummary:
    upsert = bulk_upsert_customers if job.kind == ImportJob.Kind.CUSTOMERS else bulk_upsert_orders
    positions = [(table.headers.index(header), name) for header, name in mapping.items()]
    columns = {name: header for header, name in mapping.items()}
    summary = UpsertSummary()
    for numbers, raws in _batches(table.rows, positions):
        # One transaction per chunk (the upsert queries go by BATCH_SIZE inside it): fewer
        # commits, and the progress the console polls moves with the committed rows.
        with transaction.atomic():
            part = upsert(rows=raws, actor=actor, row_numbers=numbers, columns=columns)
            if part.delivered:
                # Surveys listen: a freshly delivered order may trigger an invitation.
                orders_imported.send(sender=ImportJob, delivered=part.delivered)
            if on_errors is not None and part.errors:
                on_errors(part.errors)
            summary.add(_capped(part, room=MAX_STORED_ERRORS - len(summary.errors)))
            job.total_rows = max(table.estimated_rows, summary.processed)
            _save_progress(job, summary)
        if progress is not None:
            progress(summary.processed, job.total_rows)
    return summary


def _batches(rows, positions) -> Iterator[tuple[list[int], list[dict]]]:
    """Rows as field → raw value dicts, ``CHUNK_SIZE`` at a time."""
    numbers: list[int] = []
    raws: list[dict] = []
    names = [name for _index, name in positions]
    indexes = [index for index, _name in positions]
    pick = operator.itemgetter(*indexes, indexes[0])  # always a tuple, the extra is dropped
    for number, cells in rows:
        try:
            values = pick(cells)
        except IndexError:  # a short row: the missing cells are blank
            values = [cells[i] if i < len(cells) else None for i in indexes]
        raws.append(dict(zip(names, values, strict=False)))  # drops the extra value
        numbers.append(number)
        if len(raws) >= CHUNK_SIZE:
            yield numbers, raws
            numbers, raws = [], []
    if raws:
        yield numbers, raws


def _capped(part: UpsertSummary, *, room: int) -> UpsertSummary:
    part.errors = part.errors[: max(room, 0)]
    return part


def _mark_started(job: ImportJob, estimated_rows: int, mapping: dict) -> None:
    job.status = ImportJob.Status.RUNNING
    job.total_rows = estimated_rows
    job.mapping = mapping
    job.save(update_fields=["status", "total_rows", "mapping"])


def _save_progress(job: ImportJob, summary: UpsertSummary) -> None:
    job.processed_rows = summary.processed
    job.created_count = summary.created
    job.updated_count = summary.updated
    job.unchanged_count = summary.unchanged
    job.error_count = summary.bad_rows
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now(),
        total_rows=job.total_rows,
        processed_rows=job.processed_rows,
        created_count=job.created_count,
        updated_count=job.updated_count,
        unchanged_count=job.unchanged_count,
        error_count=job.error_count,
    )


def _finish(job: ImportJob, summary: UpsertSummary, actor) -> None:
    job.total_rows = summary.processed
    _save_progress(job, summary)
    job.errors = summary.errors
    job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.message = _summary_message(summary)
    job.save(update_fields=["errors", "status", "finished_at", "message"])
    record_audit(actor=actor, action="import.finished", target=job, after=_audit_counts(job))
    _discard_upload(job)


def _summary_message(summary: UpsertSummary) -> str:
    text = _("%(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(bad)s bad rows.")
    message = text % {
        "created": summary.created,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "bad": summary.bad_rows,
    }
    if summary.bad_rows and len(summary.errors) >= MAX_STORED_ERRORS:
        message += " " + _("Only the first %(count)s errors are kept.") % {
            "count": MAX_STORED_ERRORS
        }
    return message


def fail_job(job: ImportJob, message: str) -> ImportJob:
    job.status = ImportJob.Status.FAILED
    job.message = message
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at", "mapping"])
    record_audit(actor=job.created_by, action="import.failed", target=job, after=_audit_counts(job))
    _discard_upload(job)
    return job


def _audit_counts(job: ImportJob) -> dict:
    return {
        "kind": job.kind,
        "file_name": job.file_name,
        "status": job.status,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "bad_rows": job.error_count,
    }


# --- starting an import --------------------------------------------------------------------


def upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "imports"


def store_file(*, source, file_name: str) -> Path:
    """Copy an uploaded file (or an open binary file) into MEDIA_ROOT/imports/."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ImportFileError(_("Only .csv and .xlsx files can be imported."))
    target = upload_dir() / f"{uuid.uuid4().hex}{suffix}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "wb") as out:
        if hasattr(source, "chunks"):
            for chunk in source.chunks():
                out.write(chunk)
        else:
            shutil.copyfileobj(source, out)
    return target


def _discard_upload(job: ImportJob) -> None:
    """Delete a stored upload once imported: it holds personal data we no longer need."""
    stored = Path(job.file_path) if job.file_path else None
    if stored and stored.parent == upload_dir() and stored.exists():
        stored.unlink()


def start_import(
    *,
    kind: str,
    actor,
    uploaded_file=None,
    path: str | Path | None = None,
    mapping: dict | None = None,
    file_name: str | None = None,
) -> ImportJob:
    """Store the file (an UploadedFile, or a path on disk) and queue the import job."""
    if uploaded_file is not None:
        file_name = file_name or uploaded_file.name
        stored = store_file(source=uploaded_file, file_name=file_name)
    else:
        path = Path(path)
        file_name = file_name or path.name
        if path.parent == upload_dir():
            stored = path  # already stored (the console's two-step upload)
        else:
            with open(path, "rb") as source:
                stored = store_file(source=source, file_name=file_name)
    job = ImportJob.objects.create(
        kind=kind,
        file_name=file_name[:255],
        file_path=str(stored),
        mapping=mapping or {},
        created_by=_user_or_none(actor),
    )
    transaction.on_commit(lambda: _enqueue(job))
    return job


def _enqueue(job: ImportJob) -> None:
    from cxloop.customers.tasks import run_import_task

    try:
        run_import_task(job.pk)
    except Exception:  # the queue is down: say so on the job instead of a server error
        logger.exception("import %s: could not be queued", job.pk)
        job.refresh_from_db()
        if job.status == ImportJob.Status.PENDING:
            fail_job(job, _("The import could not be queued; please try again later."))


def import_path(
    *,
    kind: str,
    path: str | Path,
    mapping: dict | None = None,
    actor=None,
    progress: Progress | None = None,
    on_errors: Callable[[list[dict]], None] | None = None,
) -> ImportJob:
    """Import a file on disk now, in this process (the CLI); the file is left in place."""
    path = Path(path).resolve()
    job = ImportJob.objects.create(
        kind=kind,
        file_name=path.name[:255],
        file_path=str(path),
        mapping=mapping or {},
        status=ImportJob.Status.RUNNING,
        created_by=_user_or_none(actor),
    )
    return run_import(job=job, actor=actor, progress=progress, on_errors=on_errors)


def _user_or_none(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
