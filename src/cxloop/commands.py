"""What each ``cxloop`` sub-command does (Django is set up before these run)."""

from __future__ import annotations

import getpass
import secrets
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

DEMO_ADMIN = "admin"


def cmd_migrate(args=None, *, verbosity: int = 1) -> int:
    call_command("migrate", interactive=False, verbosity=verbosity)
    call_command("collectstatic", interactive=False, verbosity=0)
    return 0


def _ensure_static() -> None:
    if not (Path(settings.STATIC_ROOT) / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)


def cmd_serve(args) -> int:
    from cxloop.webserver import run_web

    _ensure_static()
    _check_port(args.host, args.port)
    processes = _web_processes(args)
    print(
        f"cxloop console: http://{_url_host(args.host)}:{args.port}/ "
        f"({processes} processes × {args.threads} threads)",
        flush=True,
    )
    run_web(host=args.host, port=args.port, processes=processes, threads=args.threads)
    return 0


def _web_processes(args) -> int:
    from cxloop.webserver import default_processes

    chosen = getattr(args, "processes", None) or settings.CXLOOP_WEB_PROCESSES
    return chosen or default_processes()


def _check_port(host: str, port: int) -> None:
    """Stop with a plain message, not a traceback, when the port is taken."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            sys.stderr.write(
                f"cxloop: cannot listen on {host}:{port} ({error.strerror}); "
                "choose another port with --port\n"
            )
            raise SystemExit(2) from None


def _url_host(host: str) -> str:
    return "127.0.0.1" if host in {"0.0.0.0", ""} else host  # noqa: S104


def cmd_worker(args) -> int:
    from cxloop.core.worker import run_worker

    run_worker(threads=args.threads)
    return 0


def cmd_createadmin(args) -> int:
    from cxloop.core.services import create_user

    password = args.password or getpass.getpass("Password: ")
    if not password:
        print("cxloop: a password is required", file=sys.stderr)
        return 2
    from cxloop.core.roles import CX_MANAGER

    create_user(
        username=args.username,
        email=args.email,
        password=password,
        roles=[CX_MANAGER],
        actor=None,
    )
    print(f"Created CX manager {args.username!r}.")
    return 0


def cmd_loaddemo(args) -> int:
    from cxloop.customers.demo import load_demo_data

    summary = load_demo_data(seed=args.seed)
    print(summary)
    return 0


def cmd_demo(args) -> int:
    from cxloop.customers.demo import load_demo_data

    _check_port(args.host, args.port)
    print("Preparing the database …", flush=True)
    cmd_migrate(verbosity=0)
    print(load_demo_data(), flush=True)
    username, password = _demo_admin()
    worker = None if args.no_worker else _start_worker()
    print(
        f"\n  cxloop is running: http://{_url_host(args.host)}:{args.port}/\n"
        f"  sign in as {username} / {password}\n  (Ctrl-C stops web and worker)\n",
        flush=True,
    )
    # SIGTERM (systemd, a test, `kill`) must stop the worker too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    try:
        from cxloop.webserver import run_web

        run_web(host=args.host, port=args.port, processes=_web_processes(args), threads=8)
    except KeyboardInterrupt:
        pass
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)
    return 0


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt


def _demo_admin() -> tuple[str, str]:
    """The demo's CX manager; its password is made once and kept in the data directory."""
    from django.contrib.auth import get_user_model

    from cxloop.core.roles import CX_MANAGER
    from cxloop.core.services import create_user

    password_file = Path(settings.DATA_DIR) / "demo_admin_password"
    if not password_file.exists():
        password_file.write_text(secrets.token_urlsafe(9))
        password_file.chmod(0o600)
    password = password_file.read_text().strip()
    user = get_user_model().objects.filter(username=DEMO_ADMIN).first()
    if user is None:
        create_user(
            username=DEMO_ADMIN,
            email="admin@example.com",
            password=password,
            roles=[CX_MANAGER],
            actor=None,
        )
    return DEMO_ADMIN, password


def _start_worker() -> subprocess.Popen:
    worker = subprocess.Popen([sys.executable, "-m", "cxloop.cli", "worker"])
    threading.Thread(target=worker.wait, daemon=True).start()
    return worker


def cmd_import(args) -> int:
    from cxloop.customers.cli_io import import_file

    return import_file(kind=args.kind, path=args.file, mapping_args=args.map, errors=args.errors)


def cmd_export(args) -> int:
    from cxloop.customers.cli_io import export_file

    return export_file(kind=args.kind, fmt=args.format, output=args.output)


def cmd_createtoken(args) -> int:
    from django.contrib.auth import get_user_model

    from cxloop.api.services import create_token

    user = get_user_model().objects.filter(username=args.user).first()
    if user is None:
        print(f"cxloop: no user named {args.user!r}", file=sys.stderr)
        return 2
    token, raw = create_token(user=user, name=args.name, actor=None)
    print(raw)
    print(
        f"(token {token.key_hint}… for {user.username}; shown once, keep it safe)", file=sys.stderr
    )
    return 0


def cmd_config(args) -> int:
    database = settings.DATABASES["default"]
    rows = {
        "data directory": settings.DATA_DIR,
        "database": f"{database['ENGINE'].rsplit('.', 1)[-1]} {database.get('NAME')}",
        "queue": settings.HUEY.get("huey_class"),
        "time zone": settings.TIME_ZONE,
        "language": settings.LANGUAGE_CODE,
        "email": settings.EMAIL_BACKEND.rsplit(".", 2)[-2],
        "webhook gateway": settings.CXLOOP_WEBHOOK_URL or "(not set)",
    }
    for name, value in rows.items():
        print(f"{name:16} {value}")
    return 0


def cmd_manage(args) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["cxloop manage", *args.args])
    return 0
