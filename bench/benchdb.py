"""A throw-away database for one benchmark run: a SQLite file, or a PostgreSQL database
created on the server of ``--database-url`` and dropped afterwards."""

from __future__ import annotations

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
