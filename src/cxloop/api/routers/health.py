"""/api/v1/health: for load balancers and monitoring; needs no token."""

from __future__ import annotations

import functools
from importlib.metadata import PackageNotFoundError, version

from django.db import DatabaseError, connection
from django.http import HttpRequest
from ninja import Router, Status

from cxloop.api.schemas import Health

router = Router(tags=["health"])


@functools.cache
def _version() -> str:  # package metadata is read from disk: once per process
    try:
        return version("cxloop")
    except PackageNotFoundError:
        return "unknown"


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


@router.get("", auth=None, response={200: Health, 503: Health}, summary="Service health")
def health(request: HttpRequest):
    ok = database_reachable()
    body = {"status": "ok" if ok else "degraded", "database": ok, "version": _version()}
    return Status(200 if ok else 503, body)
