"""Hand-written SQL for the answer pages and the submit, which run at hundreds per second.

Measured with ``bench/bench_answer_load.py``: compiling these few ORM queries cost more CPU than
running them (about 4 of 10 ms per submit on the 2-core machine). The statements here are plain
SQL that SQLite and PostgreSQL both accept; values go through each model field's own
``get_db_prep_save``, so JSON, dates and time zones are stored exactly as the ORM stores them.
The test suite runs them on both databases (``surveys/tests/test_submit_sql.py``).
"""

# ruff: noqa: S608 - identifiers come from the models' metadata; every value is a parameter
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_date

from cxloop.customers.models import Customer, Order
from cxloop.surveys.models import Invitation, Response, RollupDirtyDay, Survey, SurveyVersion


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _prep(model, name: str, value: Any) -> Any:
    return model._meta.get_field(name).get_db_prep_save(value, connection)


def customer_with_spend(
    customer_id: int, *, since: dt.datetime, not_spent: tuple[str, ...]
) -> dict | None:
    """Region, store, birthday, registration date and spend (fen) on orders placed since."""
    placeholders = ", ".join(["%s"] * len(not_spent))
    sql = (
        f"SELECT c.{_column(Customer, 'region')}, c.{_column(Customer, 'store')}, "
        f"c.{_column(Customer, 'birthday')}, c.{_column(Customer, 'registered_at')}, "
        f"(SELECT COALESCE(SUM(o.{_column(Order, 'amount_fen')}), 0) FROM {_table(Order)} o "
        f"WHERE o.{_column(Order, 'customer')} = c.id "
        f"AND o.{_column(Order, 'status')} NOT IN ({placeholders}) "
        f"AND o.{_column(Order, 'placed_at')} >= %s) "
        f"FROM {_table(Customer)} c WHERE c.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*not_spent, _prep(Order, "placed_at", since), customer_id])
        row = cursor.fetchone()
    if row is None:
        return None
    region, store, birthday, registered_at, spend = row
    return {
        "region": region,
        "store": store,
        "birthday": _as_date(birthday),
        "registered_at": _as_date(registered_at),
        "spend": int(spend or 0),
    }


def _as_date(value) -> dt.date | None:
    return parse_date(value) if isinstance(value, str) else value


def submitted_exists(*, survey_id: int, exclude_id: int, customer_id: int, since: dt.datetime):
    """Whether the customer submitted another response to the survey since ``since``."""
    r = {name: _column(Response, name) for name in ("survey", "submitted_at", "customer")}
    sql = (
        f"SELECT 1 FROM {_table(Response)} WHERE {r['survey']} = %s "
        f"AND {r['customer']} = %s AND {r['submitted_at']} >= %s AND id <> %s LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [survey_id, customer_id, _prep(Response, "submitted_at", since), exclude_id]
        )
        return cursor.fetchone() is not None


def claim_submit(*, response_id: int, fields: Mapping[str, Any]) -> bool:
    """UPDATE the response with ``fields`` unless it is already submitted; True when it won."""
    assignments = ", ".join(f"{_column(Response, name)} = %s" for name in fields)
    values = [_prep(Response, name, value) for name, value in fields.items()]
    sql = (
        f"UPDATE {_table(Response)} SET {assignments} "
        f"WHERE id = %s AND {_column(Response, 'submitted_at')} IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, response_id])
        return cursor.rowcount == 1


def mark_invitation_answered(*, invitation_id: int, at: dt.datetime) -> None:
    sql = (
        f"UPDATE {_table(Invitation)} SET {_column(Invitation, 'status')} = %s, "
        f"{_column(Invitation, 'answered_at')} = %s WHERE id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [Invitation.Status.ANSWERED, _prep(Invitation, "answered_at", at), invitation_id],
        )


def mark_day_dirty(*, survey_id: int, day: dt.date, at: dt.datetime) -> None:
    """Upsert the (survey, day) mark, as ``rollups.mark_dirty`` does with the ORM."""
    survey, day_column = _column(RollupDirtyDay, "survey"), _column(RollupDirtyDay, "day")
    marked = _column(RollupDirtyDay, "marked_at")
    sql = (
        f"INSERT INTO {_table(RollupDirtyDay)} ({survey}, {day_column}, {marked}) "
        f"VALUES (%s, %s, %s) ON CONFLICT ({survey}, {day_column}) "
        f"DO UPDATE SET {marked} = excluded.{marked}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [survey_id, _prep(RollupDirtyDay, "day", day), _prep(RollupDirtyDay, "marked_at", at)],
        )


# --- the token lookup every answer page makes ---------------------------------------------

# (model, table alias, fields loaded): the invitation with its survey (no editor draft), the
# survey's current version and the invitation's response, if any, in one SELECT.
_ANSWER_JOIN = (
    (Invitation, "i", None),
    (Survey, "s", ("draft",)),
    (SurveyVersion, "v", None),
    (Response, "r", None),
)


@functools.cache
def _answer_plan(vendor: str) -> tuple[str, tuple]:
    """The SELECT and, per model, its fields with their converters (built once per process)."""
    groups = []
    for model, alias, skip in _ANSWER_JOIN:
        fields = [f for f in model._meta.concrete_fields if f.name not in (skip or ())]
        loaders = []
        for field in fields:
            column = field.get_col(alias)
            converters = connection.ops.get_db_converters(column)
            loaders.append((column, converters + column.get_db_converters(connection)))
        groups.append((model, tuple(f.attname for f in fields), tuple(loaders)))
    columns = ", ".join(
        f"{alias}.{connection.ops.quote_name(f.column)}"
        for model, alias, skip in _ANSWER_JOIN
        for f in model._meta.concrete_fields
        if f.name not in (skip or ())
    )
    sql = (
        f"SELECT {columns} FROM {_table(Invitation)} i "
        f"JOIN {_table(Survey)} s ON s.id = i.{_column(Invitation, 'survey')} "
        f"LEFT JOIN {_table(SurveyVersion)} v ON v.id = s.{_column(Survey, 'current_version')} "
        f"LEFT JOIN {_table(Response)} r ON r.{_column(Response, 'invitation')} = i.id "
        f"WHERE i.id = %s AND i.{_column(Invitation, 'nonce')} = %s"
    )
    return sql, tuple(groups)


def _instance(model, attnames: tuple, loaders: tuple, values):
    """A model instance from raw column values, converted as the ORM's compiler converts them."""
    converted = []
    for (column, converters), value in zip(loaders, values, strict=True):
        for converter in converters:
            value = converter(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, attnames, converted)


def invitation_for_answering(*, pk: int, nonce: str) -> Invitation | None:
    """The invitation with its survey, current version and response attached (None: no row).

    Equivalent to ``Invitation.objects.select_related("survey", "survey__current_version",
    "response").defer("survey__draft")``, which cost 2.7 ms of CPU per answer page to compile.
    """
    sql, groups = _answer_plan(connection.vendor)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk, nonce])
        row = cursor.fetchone()
    if row is None:
        return None
    instances, start = [], 0
    for model, attnames, loaders in groups:
        values = row[start : start + len(attnames)]
        start += len(attnames)
        found = values[0] is not None
        instances.append(_instance(model, attnames, loaders, values) if found else None)
    invitation, survey, version, response = instances
    Survey.current_version.field.set_cached_value(survey, version)
    Invitation.survey.field.set_cached_value(invitation, survey)
    Invitation.response.related.set_cached_value(invitation, response)
    if response is not None:
        Response.invitation.field.set_cached_value(response, invitation)
    return invitation
