"""Multiple-choice answers counted in SQL: one row per (option, responses choosing it).

A ``multiple`` answer is a JSON list inside ``Response.answers``; the list is unnested by the
database (PostgreSQL ``jsonb_array_elements_text``, SQLite ``json_each``) so no answer row
travels to Python. The question key and JSON path are bound parameters, never formatted in.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import QuerySet

from cxloop.surveys.models import Response

# {table} and {subquery} are filled from Django (the table name, the compiled queryset of the
# responses to count); user values (the key, the survey, dates) stay bound parameters.
_SQL = {
    # CASE: a non-list answer (a bad import) counts nothing instead of failing the page.
    "postgresql": (
        "SELECT e.value, COUNT(DISTINCT r.id) FROM {table} AS r CROSS JOIN LATERAL "
        "jsonb_array_elements_text(CASE WHEN jsonb_typeof(r.answers -> %s) = 'array' "
        "THEN r.answers -> %s ELSE '[]'::jsonb END) AS e(value) "
        "WHERE r.id IN ({subquery}) GROUP BY e.value"
    ),
    "sqlite": (
        "SELECT e.value, COUNT(DISTINCT r.id) FROM {table} AS r "
        "CROSS JOIN json_each(r.answers, %s) AS e "
        "WHERE json_type(r.answers, %s) = 'array' AND r.id IN ({subquery}) GROUP BY e.value"
    ),
}


# Responses whose answer to the question is a list (possibly empty: seen, nothing chosen).
_RESPONDENTS_SQL = {
    "postgresql": (
        "SELECT COUNT(*) FROM {table} AS r "
        "WHERE jsonb_typeof(r.answers -> %s) = 'array' AND r.id IN ({subquery})"
    ),
    "sqlite": (
        "SELECT COUNT(*) FROM {table} AS r "
        "WHERE json_type(r.answers, %s) = 'array' AND r.id IN ({subquery})"
    ),
}


def option_counts(*, responses: QuerySet, key: str) -> list[tuple[str, int]]:
    """(option value, responses choosing it) over the list answer ``answers[key]``.

    A response counts once per option however often its list repeats it.
    """
    rows = _run(_SQL, responses, key, twice=True)
    return [(str(value), n) for value, n in rows]


def respondent_count(*, responses: QuerySet, key: str) -> int:
    """How many of ``responses`` answered the question (with a list, possibly empty)."""
    return _run(_RESPONDENTS_SQL, responses, key, twice=False)[0][0]


def _run(templates: dict, responses: QuerySet, key: str, *, twice: bool) -> list[tuple]:
    subquery, params = responses.order_by().values("id").query.sql_with_params()
    table = connection.ops.quote_name(Response._meta.db_table)
    sql = templates[connection.vendor].format(table=table, subquery=subquery)
    path = key if connection.vendor == "postgresql" else f'$."{key}"'
    with connection.cursor() as cursor:
        cursor.execute(sql, [path, path, *params] if twice else [path, *params])
        return cursor.fetchall()
