#!/usr/bin/env python3
"""The two commands of the README, for a fresh machine with Python 3.11 and pip.

    python3 dev.py demo   # set up, load demo data, start the console and the worker
    python3 dev.py test   # set up and run the whole test suite (SQLite and PostgreSQL at once)

Both create ``.venv`` beside this file and reinstall only when pyproject.toml changes.
Only the standard library is used here, because nothing else is installed yet.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".cxloop-installed"
CHROMIUM = "/usr/bin/chromium"
POSTGRES_URL = os.environ.get("CXLOOP_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: str, env: dict | None = None) -> None:
    result = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})})
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (this file may run on an older Python)
        raise SystemExit("cxloop needs Python 3.11 or newer")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        say("creating .venv")
        venv.create(VENV, with_pip=True)
    say(f"installing cxloop{extras} and its dependencies (first run takes a minute)")
    run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(str(BIN / "python"), "-m", "pip", "install", "--quiet", "-e", f".{extras}")
    STAMP.write_text(wanted)


def ensure_chromium() -> None:
    """The browser tests drive Debian's chromium; install it when it is missing."""
    if os.environ.get("CXLOOP_SKIP_BROWSER") == "1" or Path(CHROMIUM).exists():
        return
    say("installing Debian's chromium for the browser tests")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    if shutil.which("apt-get") is None:
        raise SystemExit(
            "chromium is missing and apt-get is not available; "
            "install chromium or set CXLOOP_SKIP_BROWSER=1"
        )
    run(*prefix, "apt-get", "update", "-qq")
    run(
        *prefix,
        "apt-get",
        "install",
        "-y",
        "-qq",
        "chromium",
        env={"DEBIAN_FRONTEND": "noninteractive"},
    )


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def demo(argv: list[str]) -> None:
    ensure_venv("")
    os.execv(str(BIN / "cxloop"), [str(BIN / "cxloop"), "demo", *argv])  # noqa: S606


def test(argv: list[str]) -> None:
    ensure_venv("[dev]")
    ensure_chromium()
    say("ruff (lint and format)")
    run(str(BIN / "ruff"), "check", ".")
    run(str(BIN / "ruff"), "format", "--check", ".")
    say("translations compile")
    run(str(BIN / "python"), "scripts/compile_messages.py", "--check")
    runs = {"SQLite": ""}
    if postgres_reachable():
        runs["PostgreSQL"] = POSTGRES_URL
    elif os.environ.get("CXLOOP_TEST_REQUIRE_POSTGRES") == "1":
        raise SystemExit("PostgreSQL is not reachable on 127.0.0.1:5432")
    else:
        say("PostgreSQL not reachable on 127.0.0.1:5432: only the SQLite run")
    failed = run_suites(runs, argv)
    if failed:
        raise SystemExit(f"tests failed on {', '.join(failed)}")
    say("all tests passed")


def run_suites(runs: dict[str, str], argv: list[str]) -> list[str]:
    """Each database's suite in its own process, side by side (one core each): the runs share
    nothing but the machine: own data directory, own pytest temp directory, own log. The logs
    are printed whole, one after the other, when both are done."""
    started = {}
    for name, url in runs.items():
        work = ROOT / "var" / f"test-{name.lower()}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        env = {**os.environ, "CXLOOP_DATABASE_URL": url, "CXLOOP_DATA_DIR": str(work / "data")}
        command = [str(BIN / "python"), "-m", "pytest", "-q", f"--basetemp={work / 'tmp'}", *argv]
        log = (work / "pytest.log").open("w+")
        say(f"test suite on {name}{f' ({url})' if url else ''}: started")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        started[name] = (process, log)
    failed = []
    for name, (process, log) in started.items():
        code = process.wait()
        log.seek(0)
        say(f"test suite on {name}: {'passed' if code == 0 else f'FAILED ({code})'}")
        sys.stdout.write(log.read())
        sys.stdout.flush()
        log.close()
        if code != 0:
            failed.append(name)
    return failed


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"demo", "test"}:
        raise SystemExit(__doc__)
    {"demo": demo, "test": test}[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
