"""A throw-away database for one benchmark run: a SQLite file, or a PostgreSQL database
created on the server of ``--database-url`` and dropped afterwards."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse, urlunparse


def prepare_database(url: str, data_dir: Path, name: str) -> str:
    """The database URL the benchmark should use (SQLite when ``url`` is empty)."""
    if not url:
        return f"sqlite:///{data_dir / 'bench.sqlite3'}"
    if urlparse(url).scheme not in {"postgres", "postgresql"}:
        raise SystemExit("--database-url must be a postgres:// URL (SQLite is the default)")
    drop_database(url, name)
    with _admin_connection(url) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


def drop_database(url: str, name: str) -> None:
    if url:
        with _admin_connection(url) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_connection(url: str):
    import psycopg

    admin_url = urlunparse(urlparse(url)._replace(path="/postgres", scheme="postgresql"))
    return psycopg.connect(admin_url, autocommit=True)


@contextlib.contextmanager
def django_for_bench(url: str, name: str, **extra_env: str) -> Iterator[tuple[Path, dict]]:
    """Django set up on a fresh data directory and database; both go away afterwards.

    Yields the data directory and the CXLOOP_* environment, for processes the bench starts.
    """
    data_dir = Path(tempfile.mkdtemp(prefix="cxloop-bench-"))
    env = {
        "DJANGO_SETTINGS_MODULE": "cxloop.settings",
        "CXLOOP_DATA_DIR": str(data_dir),
        "CXLOOP_DATABASE_URL": prepare_database(url, data_dir, name),
        "CXLOOP_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    os.environ.update(env)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    try:
        yield data_dir, env
    finally:
        from django.db import connection

        connection.close()
        drop_database(url, name)
