"""``cxloop import`` and ``cxloop export``: the console's import/export paths, in a terminal."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from tqdm import tqdm

from cxloop.customers.exporting import write_export
from cxloop.customers.importing import import_path
from cxloop.customers.models import ImportJob

SHOWN_ERRORS = 20


def parse_mapping(mapping_args: list[str]) -> dict[str, str]:
    """["手机=phone", …] → {"手机": "phone"}; raises ValueError naming a malformed item."""
    mapping = {}
    for item in mapping_args:
        column, sep, field = item.partition("=")
        if not sep or not column.strip() or not field.strip():
            raise ValueError(f"--map expects COLUMN=FIELD, got {item!r}")
        mapping[column.strip()] = field.strip()
    return mapping


def import_file(*, kind: str, path: str, mapping_args: list[str], errors: str | None) -> int:
    if not Path(path).is_file():
        print(f"cxloop: no such file: {path}", file=sys.stderr)
        return 2
    try:
        mapping = parse_mapping(mapping_args)
    except ValueError as error:
        print(f"cxloop: {error}", file=sys.stderr)
        return 2
    error_log = _ErrorLog(errors)
    with tqdm(total=0, unit="rows", desc=f"import {kind}", file=sys.stderr) as bar:

        def progress(processed: int, total: int) -> None:
            bar.total = max(total, processed)
            bar.update(processed - bar.n)

        job = import_path(
            kind=kind, path=path, mapping=mapping, progress=progress, on_errors=error_log.write
        )
    error_log.close()
    return _report(job, errors)


class _ErrorLog:
    """Writes every bad row (uncapped) to a CSV file when --errors is given."""

    def __init__(self, path: str | None):
        self.handle = open(path, "w", newline="", encoding="utf-8-sig") if path else None  # noqa: SIM115
        self.writer = csv.writer(self.handle) if self.handle else None
        if self.writer:
            self.writer.writerow(["row", "column", "value", "reason"])

    def write(self, errors: list[dict]) -> None:
        if self.writer:
            for error in errors:
                self.writer.writerow(
                    [error.get(k, "") for k in ("row", "column", "value", "reason")]
                )

    def close(self) -> None:
        if self.handle:
            self.handle.close()


def _report(job: ImportJob, errors_path: str | None) -> int:
    if job.status == ImportJob.Status.FAILED:
        print(f"cxloop: import failed: {job.message}", file=sys.stderr)
        return 1
    print(
        f"{job.kind}: {job.created_count} created, {job.updated_count} updated, "
        f"{job.unchanged_count} unchanged, {job.error_count} bad rows"
    )
    for error in job.errors[:SHOWN_ERRORS]:
        print(f"  row {error['row']}, column {error['column']}: {error['reason']}")
    if job.error_count > SHOWN_ERRORS:
        more = f"  … {job.error_count - SHOWN_ERRORS} more"
        print(more + (f" (all in {errors_path})" if errors_path else " (use --errors FILE)"))
    return 0


def export_file(*, kind: str, fmt: str, output: str | None) -> int:
    # The command line is the operator's own tool: exports are unmasked, as in the database.
    if output is None:
        if fmt == "xlsx":
            print("cxloop: XLSX needs an output file (-o FILE)", file=sys.stderr)
            return 2
        write_export(kind=kind, fmt=fmt, out=sys.stdout.buffer, show_pii=True)
        return 0
    with open(output, "wb") as out:
        write_export(kind=kind, fmt=fmt, out=out, show_pii=True)
    print(f"wrote {output}", file=sys.stderr)
    return 0
