"""The ``cxloop`` command line: start the product, run the worker, import and export."""

from __future__ import annotations

import argparse
import os
import sys

from cxloop import __version__

DESCRIPTION = "cxloop — customer satisfaction: listen, understand, act, retain, prove."


def _setup_django() -> None:
    """Load settings; a bad CXLOOP_* value stops here with the variable's name."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cxloop.settings")
    from cxloop.conf import ConfigError

    try:
        import django

        django.setup()
    except ConfigError as error:
        sys.stderr.write(f"cxloop: configuration error in {error}\n")
        raise SystemExit(2) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cxloop", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"cxloop {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_running_commands(commands)
    _add_data_commands(commands)
    commands.add_parser("config", help="show the effective configuration (no secrets)")
    manage = commands.add_parser("manage", help="run a Django management command")
    manage.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def _add_running_commands(commands) -> None:
    """Commands that start or prepare cxloop's processes."""
    demo = commands.add_parser(
        "demo", help="set up, load demo data once, and start the web console and the worker"
    )
    demo.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
    demo.add_argument("--host", default="127.0.0.1", help="address to listen on")
    demo.add_argument("--no-worker", action="store_true", help="start only the web server")

    serve = commands.add_parser("serve", help="start the web console and API (production server)")
    serve.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--processes",
        type=int,
        default=None,
        help="web processes (default: CXLOOP_WEB_PROCESSES, else one per core, at least 2)",
    )
    serve.add_argument(
        "--threads", type=int, default=8, help="request threads per process (default 8)"
    )

    worker = commands.add_parser(
        "worker", help="run background jobs: outbox delivery, imports, periodic sweeps"
    )
    worker.add_argument("--threads", type=int, default=None, help="worker threads")

    commands.add_parser("migrate", help="create or upgrade the database and static files")

    admin = commands.add_parser("createadmin", help="create a CX manager login")
    admin.add_argument("--username", default="admin")
    admin.add_argument("--email", default="")
    admin.add_argument("--password", help="password (asked for when left out)")


def _add_data_commands(commands) -> None:
    """Commands that move data in and out."""
    importer = commands.add_parser("import", help="import customers or orders from CSV/XLSX")
    importer.add_argument("kind", choices=["customers", "orders"], help="what the file holds")
    importer.add_argument("file", help="path of a .csv or .xlsx file")
    importer.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=FIELD",
        help="map a file column to a field, e.g. --map 手机=phone (repeatable)",
    )
    importer.add_argument("--errors", metavar="FILE", help="write every bad row to this CSV")

    exporter = commands.add_parser("export", help="export customers or orders to CSV/XLSX")
    exporter.add_argument("kind", choices=["customers", "orders"])
    exporter.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    exporter.add_argument("-o", "--output", help="output file (default: standard output, CSV)")

    token = commands.add_parser("createtoken", help="create an API token for an integrator")
    token.add_argument("--user", required=True, help="username the token acts as")
    token.add_argument("--name", required=True, help="what the token is for")

    demo_data = commands.add_parser("loaddemo", help="load the demo company's data (once)")
    demo_data.add_argument("--seed", type=int, default=20261122)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_django()
    from cxloop import commands

    handler = getattr(commands, f"cmd_{args.command}")
    return int(handler(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
