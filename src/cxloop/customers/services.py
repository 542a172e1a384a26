"""Writes to customers and orders: single upserts, audited edits and the fast bulk upserts.

The bulk upserts are the one write path for imports, the REST API and the demo loader. Per batch
of ``BATCH_SIZE`` rows they run one query to learn which external ids exist (with their stored
values, so unchanged rows are not written at all) and one ``INSERT ... ON CONFLICT
(external_id) DO UPDATE`` for the new and changed rows. Every batch is its own transaction, so a
large import makes visible progress and a crash loses at most one batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cxloop.core.audit import build_audit, changed_only, record_audit, snapshot
from cxloop.core.models import AuditLog
from cxloop.customers import upsert_sql
from cxloop.customers.models import Customer, Order
from cxloop.customers.signals import order_status_changed
from cxloop.customers.validation import UNKNOWN_CUSTOMER, make_error, validate_row

BATCH_SIZE = 2000
CUSTOMER_FIELDS = [
    "external_id",
    "name",
    "phone",
    "email",
    "birthday",
    "registered_at",
    "region",
    "store",
    "consent_survey",
    "consent_marketing",
    "tags",
]
ORDER_FIELDS = [
    "external_id",
    "customer_id",
    "amount_fen",
    "placed_at",
    "delivered_at",
    "channel",
    "store",
    "status",
]
EDITABLE_CUSTOMER_FIELDS = CUSTOMER_FIELDS[1:]  # the external id is the integration key
CUSTOMER_DEFAULTS = {
    "name": "",
    "phone": "",
    "email": "",
    "birthday": None,
    "registered_at": None,
    "region": "",
    "store": "",
    "consent_survey": False,
    "consent_marketing": False,
    "tags": [],
}
ORDER_DEFAULTS = {
    "delivered_at": None,
    "channel": Order.Channel.STORE.value,
    "store": "",
    "status": Order.Status.PLACED.value,
}


@dataclass
class UpsertSummary:
    """What a bulk upsert did. ``errors`` are ``{row, column, value, reason}`` dicts."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    bad_rows: int = 0
    errors: list[dict] = field(default_factory=list)
    # Orders written as delivered: (external id, delivered or placed time), for survey triggers.
    delivered: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def processed(self) -> int:
        return self.created + self.updated + self.unchanged + self.bad_rows

    def add(self, other: UpsertSummary) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.bad_rows += other.bad_rows
        self.errors.extend(other.errors)


# --- single-row writes ---------------------------------------------------------------------


def upsert_customer(*, data: Mapping[str, Any], actor) -> tuple[Customer, str]:
    """Create or update one customer by ``external_id``; returns (customer, status).

    Raises ValidationError with the row's errors when a value is bad.
    """
    summary = bulk_upsert_customers(rows=[data], actor=actor)
    _raise_errors(summary)
    customer = Customer.objects.get(external_id=str(data["external_id"]).strip())
    return customer, _single_status(summary)


def upsert_order(*, data: Mapping[str, Any], actor) -> tuple[Order, str]:
    """Create or update one order by ``external_id``; returns (order, status)."""
    summary = bulk_upsert_orders(rows=[data], actor=actor)
    _raise_errors(summary)
    order = Order.objects.get(external_id=str(data["external_id"]).strip())
    return order, _single_status(summary)


def _raise_errors(summary: UpsertSummary) -> None:
    if summary.errors:
        raise ValidationError(
            {error["column"]: ValidationError(error["reason"]) for error in summary.errors}
        )


def _single_status(summary: UpsertSummary) -> str:
    if summary.created:
        return "created"
    return "updated" if summary.updated else "unchanged"


def update_customer(*, customer: Customer, changes: Mapping[str, Any], actor) -> Customer:
    """Apply already-clean values (e.g. from the console form) and audit what changed."""
    unknown = set(changes) - set(EDITABLE_CUSTOMER_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    before = snapshot(customer, changes)
    for name, value in changes.items():
        setattr(customer, name, value)
    before, after = changed_only(before, snapshot(customer, changes))
    if not after:
        return customer
    customer.updated_at = timezone.now()
    with transaction.atomic():
        customer.save(update_fields=[*after, "updated_at"])
        record_audit(
            actor=actor, action="customer.updated", target=customer, before=before, after=after
        )
    return customer


# --- bulk upserts --------------------------------------------------------------------------


def bulk_upsert_customers(
    *,
    rows: Sequence[Mapping[str, Any]],
    actor,
    row_numbers: Sequence[int] | None = None,
    columns: Mapping[str, str] | None = None,
) -> UpsertSummary:
    """Validate and upsert customers by ``external_id``; bad rows are reported, not written.

    ``rows`` map field names (see ``validation.CUSTOMER_FIELDS``) to raw values. Errors name
    ``row_numbers[i]`` (default: the 0-based index in ``rows``) and ``columns[field]``
    (default: the field name). Created and changed customers get an audit row each.
    """
    summary = UpsertSummary()
    for start in range(0, len(rows), BATCH_SIZE):
        numbers = _numbers(row_numbers, start, len(rows[start : start + BATCH_SIZE]))
        good = _validated("customers", rows[start : start + BATCH_SIZE], numbers, columns, summary)
        merged = _merge_duplicates(good, summary)
        if merged:
            with transaction.atomic():
                _write_customers(merged, actor, summary)
    return summary


def bulk_upsert_orders(
    *,
    rows: Sequence[Mapping[str, Any]],
    actor,
    row_numbers: Sequence[int] | None = None,
    columns: Mapping[str, str] | None = None,
) -> UpsertSummary:
    """Validate and upsert orders by ``external_id`` (see ``bulk_upsert_customers``).

    Orders name their customer by ``customer_external_id``; an unknown customer is an error
    for that row. Orders are not audited one by one (an import job has its own audit row).
    """
    summary = UpsertSummary()
    for start in range(0, len(rows), BATCH_SIZE):
        numbers = _numbers(row_numbers, start, len(rows[start : start + BATCH_SIZE]))
        good = _validated("orders", rows[start : start + BATCH_SIZE], numbers, columns, summary)
        with transaction.atomic():
            good = _resolve_customers(good, columns, summary)
            merged = _merge_duplicates(good, summary)
            if merged:
                # Read before writing: the write turns values into database text in place.
                summary.delivered.extend(
                    (key, row.get("delivered_at") or row.get("placed_at"))
                    for key, row in merged.items()
                    if row.get("status") == Order.Status.DELIVERED
                )
                _write_orders(merged, summary)
    return summary


def _numbers(row_numbers: Sequence[int] | None, start: int, count: int) -> Sequence[int]:
    if row_numbers is None:
        return range(start, start + count)
    return row_numbers[start : start + count]


def _validated(kind, rows, numbers, columns, summary: UpsertSummary) -> list[tuple[int, dict]]:
    good = []
    for number, raw in zip(numbers, rows, strict=True):
        clean, errors = validate_row(kind, raw, row=number, columns=columns)
        if errors:
            summary.bad_rows += 1
            summary.errors.extend(errors)
        else:
            good.append((number, clean))
    return good


def _merge_duplicates(good: list[tuple[int, dict]], summary: UpsertSummary) -> dict[str, dict]:
    """One entry per external id; a later row with the same id updates the earlier one."""
    merged: dict[str, dict] = {}
    for _number, clean in good:
        previous = merged.get(clean["external_id"])
        if previous is None:
            merged[clean["external_id"]] = clean
        elif all(previous.get(key) == value for key, value in clean.items()):
            summary.unchanged += 1
        else:
            previous.update(clean)
            summary.updated += 1
    return merged


def _diff(merged: dict[str, dict], existing: dict[str, dict], defaults: dict, summary):
    """Split into new rows and changed rows (complete values, without ``id``).

    Also returns, in the same order (new rows first), ``(stored values or None, changes)``.
    """
    new_rows: list[dict] = []
    changed_rows: list[dict] = []
    new_changes: list[tuple[None, dict]] = []
    changes: list[tuple[dict, dict]] = []
    for key, clean in merged.items():
        old = existing.get(key)
        if old is None:
            new_rows.append({**defaults, **clean})
            new_changes.append((None, clean))
            continue
        changed = {name: value for name, value in clean.items() if old[name] != value}
        if changed:
            row = {**old, **changed}
            row.pop("id", None)
            changed_rows.append(row)
            changes.append((old, changed))
    summary.created += len(new_rows)
    summary.updated += len(changed_rows)
    summary.unchanged += len(merged) - len(new_rows) - len(changed_rows)
    return new_rows, changed_rows, new_changes + changes


def _write_customers(merged: dict[str, dict], actor, summary: UpsertSummary) -> None:
    existing = {
        row["external_id"]: row
        for row in Customer.objects.filter(external_id__in=list(merged)).values(
            "id", *CUSTOMER_FIELDS
        )
    }
    new_rows, changed_rows, changes = _diff(merged, existing, CUSTOMER_DEFAULTS, summary)
    if not changes:
        return
    now = timezone.now()
    objects = [Customer(**row, created_at=now, updated_at=now) for row in new_rows + changed_rows]
    # ON CONFLICT ... DO UPDATE also returns the ids of updated rows (PostgreSQL, SQLite).
    Customer.objects.bulk_create(
        objects,
        update_conflicts=True,
        unique_fields=["external_id"],
        update_fields=[*CUSTOMER_FIELDS[1:], "updated_at"],
    )
    AuditLog.objects.bulk_create(
        [
            _customer_audit(actor, customer, old, new)
            for customer, (old, new) in zip(objects, changes, strict=True)
        ]
    )


def _customer_audit(actor, customer: Customer, old: dict | None, new: dict) -> AuditLog:
    if old is None:
        return build_audit(actor=actor, action="customer.created", target=customer, after=new)
    before = {name: old[name] for name in new}
    return build_audit(
        actor=actor, action="customer.updated", target=customer, before=before, after=new
    )


def _resolve_customers(good, columns, summary: UpsertSummary) -> list[tuple[int, dict]]:
    """Swap ``customer_external_id`` for ``customer_id``; unknown customers are row errors."""
    wanted = list({clean["customer_external_id"] for _number, clean in good})
    stored = upsert_sql.stored_rows(Customer, ["external_id", "id"], wanted)
    known = {key: row[1] for key, row in stored.items()}
    column = (columns or {}).get("customer_external_id", "customer_external_id")
    resolved = []
    for number, clean in good:
        external_id = clean.pop("customer_external_id")
        customer_id = known.get(external_id)
        if customer_id is None:
            summary.bad_rows += 1
            summary.errors.append(make_error(number, column, external_id, UNKNOWN_CUSTOMER))
            continue
        clean["customer_id"] = customer_id
        resolved.append((number, clean))
    return resolved


def _write_orders(merged: dict[str, dict], summary: UpsertSummary) -> None:
    """Insert new orders, upsert changed ones, skip the rest.

    New values are put in database form first and compared with the stored row as the
    database returns it, so an unchanged re-import costs one SELECT per batch and no write.
    """
    stored = upsert_sql.stored_rows(Order, ORDER_FIELDS, list(merged))
    converters = upsert_sql.converters(Order, ORDER_FIELDS)
    defaults = tuple(ORDER_DEFAULTS.get(name) for name in ORDER_FIELDS)
    new_rows, changed_rows = [], []
    for key, clean in merged.items():
        for name, convert in converters:
            if name in clean:
                clean[name] = convert(clean[name])
        old = stored.get(key)
        # Each field: the given value, else the stored one (or the default for a new row).
        row = tuple(map(clean.get, ORDER_FIELDS, defaults if old is None else old))
        if old is None:
            new_rows.append(row)
        elif row != old:
            changed_rows.append(row)
    summary.created += len(new_rows)
    summary.updated += len(changed_rows)
    summary.unchanged += len(merged) - len(new_rows) - len(changed_rows)
    upsert_sql.write_rows(Order, ORDER_FIELDS, new_rows, changed_rows)
    _send_status_changes(stored, new_rows + changed_rows)


_STATUS = ORDER_FIELDS.index("status")


def _send_status_changes(stored: dict, written: list[tuple]) -> None:
    """Tell listeners (loyalty points) which orders changed status, in this transaction."""
    changes = []
    for row in written:
        old = stored.get(row[0])
        old_status = old[_STATUS] if old is not None else None
        if row[_STATUS] != old_status:
            changes.append((row[0], old_status, row[_STATUS]))
    if changes:
        order_status_changed.send(sender=Order, changes=changes)
