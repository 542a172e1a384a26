"""Write side of the API: hands bodies to the customer services and reports per field/row.

Values are validated by ``cxloop.customers.validation`` inside the services; this module only
checks what is specific to JSON (unknown fields, objects where a value belongs) and turns the
services' ``{row, column, value, reason}`` errors into the API's ``{"field": ["message"]}``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from pydantic import ValidationError as PydanticValidationError

from cxloop.api.errors import InvalidInput, PayloadTooLarge, field_errors
from cxloop.api.schemas import CustomerRow, OrderRow
from cxloop.core.events import DATABASE_REFUSALS
from cxloop.customers import services
from cxloop.customers.models import Customer, Order
from cxloop.customers.validation import as_text

NOT_A_VALUE = _("Expected a single value, not an object or a list.")
TOO_LARGE = _("Too large.")
NUL_CHARACTER = _("Contains a NUL character.")
OUT_OF_RANGE = _("A value is outside what can be stored (a number or time offset too large).")
# Last line of defence: values the validator let through but the database refuses.
STORAGE_ERRORS = DATABASE_REFUSALS
BIGINT_MAX = 2**63 - 1  # the largest amount_fen the database column holds
LIST_FIELDS = {"tags"}
# The validator names a missing amount after its yuan column; the API only knows amount_fen.
API_NAMES = {"amount": "amount_fen"}
KINDS = {
    "customers": (Customer, CustomerRow, services.bulk_upsert_customers),
    "orders": (Order, OrderRow, services.bulk_upsert_orders),
}


def row_errors(row: Any, row_model) -> dict[str, list[str]]:
    """JSON-level problems of one row: not an object, unknown fields, nested values."""
    if not isinstance(row, dict):
        return {"": [gettext("Each row must be a JSON object.")]}
    try:
        row_model.model_validate(row)
    except PydanticValidationError as exc:
        return field_errors([{**e, "loc": ("body", "row", *e["loc"])} for e in exc.errors()])
    nested = [
        name
        for name, value in row.items()
        if isinstance(value, dict | list) and not (name in LIST_FIELDS and isinstance(value, list))
    ]
    errors = {name: [str(NOT_A_VALUE)] for name in nested}
    errors.update({name: [str(NUL_CHARACTER)] for name, value in row.items() if _has_nul(value)})
    if "amount_fen" in row and "amount_fen" not in errors and _too_large(row["amount_fen"]):
        errors["amount_fen"] = [str(TOO_LARGE)]
    return errors


def _has_nul(value: Any) -> bool:
    # PostgreSQL text columns cannot hold U+0000; refuse it here instead of failing the insert.
    if isinstance(value, str):
        return "\x00" in value
    return isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value)


def _too_large(value: Any) -> bool:
    # The shared validator has no upper bound; past the column's range the insert would fail.
    try:
        return abs(int(as_text(value))) > BIGINT_MAX
    except (TypeError, ValueError):
        return False


def service_errors(errors: list[dict]) -> dict[int, dict[str, list[str]]]:
    """Group service errors by row, with the reason translated."""
    by_row: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for error in errors:
        column = API_NAMES.get(error["column"], error["column"])
        by_row[error["row"]][column].append(gettext(error["reason"]))
    return {row: dict(fields) for row, fields in by_row.items()}


def _raise_validation(exc: DjangoValidationError):
    errors = {
        API_NAMES.get(field, field): [gettext(str(message)) for message in messages]
        for field, messages in exc.message_dict.items()
    }
    raise InvalidInput(errors) from exc


def upsert_one(kind: str, *, external_id: str, data: dict, actor) -> tuple[Any, str]:
    """PUT one customer/order: the URL's id wins, a different id in the body is an error."""
    _model, row_model, _bulk = KINDS[kind]
    body_id = data.get("external_id")
    if body_id not in (None, "") and as_text(body_id) != external_id:
        raise InvalidInput({"external_id": [gettext("Does not match the id in the URL.")]})
    errors = row_errors({**data, "external_id": external_id}, row_model)
    if errors:
        raise InvalidInput(errors)
    upsert = services.upsert_customer if kind == "customers" else services.upsert_order
    try:
        return upsert(data={**data, "external_id": external_id}, actor=actor)
    except DjangoValidationError as exc:
        _raise_validation(exc)
    except STORAGE_ERRORS as exc:
        raise InvalidInput({"body": [str(OUT_OF_RANGE)]}) from exc


def _stamps(model, keys: set[str]) -> dict[str, Any]:
    rows = model.objects.filter(external_id__in=list(keys)).values_list("external_id", "updated_at")
    return dict(rows)


def bulk_upsert(kind: str, *, rows: list[Any], actor) -> dict:
    """Save the good rows, report every row: created / updated / unchanged / error."""
    model, row_model, bulk = KINDS[kind]
    errors: dict[int, dict[str, list[str]]] = {}
    good, numbers = [], []
    for index, row in enumerate(rows):
        found = row_errors(row, row_model)
        if found:
            errors[index] = found
        else:
            good.append(row)
            numbers.append(index)
    keys = {_key(row) for row in good}
    before = _stamps(model, keys)  # created/updated/unchanged per row, read from updated_at
    try:
        summary = bulk(rows=good, actor=actor, row_numbers=numbers)
    except STORAGE_ERRORS as exc:
        raise InvalidInput({"rows": [str(OUT_OF_RANGE)]}) from exc
    errors.update(service_errors(summary.errors))
    after = _stamps(model, keys)
    return _report(rows, errors, before, after)


def _report(rows, errors, before, after) -> dict:
    reports, counts = [], {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    for index, row in enumerate(rows):
        key = _key(row)
        if index in errors:
            result = "error"
            counts["failed"] += 1
        else:
            result = _result(key, before, after)
            counts[result] += 1
        reports.append(
            {"row": index, "external_id": key, "result": result, "errors": errors.get(index, {})}
        )
    return {"summary": counts, "rows": reports}


def _key(row: Any) -> str:
    value = row.get("external_id") if isinstance(row, dict) else None
    return "" if value is None or isinstance(value, dict | list) else as_text(value)[:100]


def _result(key: str, before: dict, after: dict) -> str:
    if key not in before:
        return "created"
    return "unchanged" if before[key] == after.get(key) else "updated"


def run_bulk(kind: str, *, rows: list[Any], limit: int, actor) -> dict:
    """A bulk request: 413 over ``limit`` rows, 422 (with the report) when no row is good."""
    if len(rows) > limit:
        raise PayloadTooLarge(
            _("At most %(limit)d rows per request; split the batch.") % {"limit": limit}
        )
    if not rows:
        raise InvalidInput({"rows": [gettext("Send at least one row.")]})
    report = bulk_upsert(kind, rows=rows, actor=actor)
    if report["summary"]["failed"] == len(rows):
        errors = {
            f"rows.{item['row']}.{field}" if field else f"rows.{item['row']}": messages
            for item in report["rows"]
            for field, messages in item["errors"].items()
        }
        raise InvalidInput(errors, detail=_("No row could be saved."), extra=report)
    return report
