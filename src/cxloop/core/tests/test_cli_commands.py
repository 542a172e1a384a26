"""The cxloop commands a new user runs first: createadmin, createtoken and demo itself."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from django.contrib.auth import get_user_model

from cxloop.api.models import ApiToken, hash_token
from cxloop.cli import main
from cxloop.core.models import AuditLog


@pytest.mark.django_db
def test_createadmin_makes_an_audited_cx_manager(capsys):
    assert main(["createadmin", "--username", "boss", "--password", "s3cret-Pass!"]) == 0
    boss = get_user_model().objects.get(username="boss")
    assert boss.check_password("s3cret-Pass!")
    assert boss.has_perm("customers.view_pii") and boss.has_perm("core.manage_settings")
    assert AuditLog.objects.filter(action="user.created", object_id=str(boss.pk)).exists()


@pytest.mark.django_db
def test_createtoken_prints_a_working_token_once(owner, capsys):
    assert main(["createtoken", "--user", "owner", "--name", "ERP"]) == 0
    raw = capsys.readouterr().out.strip()
    assert ApiToken.objects.get(key_hash=hash_token(raw)).user == owner
    assert main(["createtoken", "--user", "nobody", "--name", "x"]) == 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 300) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"cxloop demo exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def _wait_for_line(log, text: str, seconds: float = 60) -> str:
    """The log so far, once it holds ``text`` (the worker starts beside the web server)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        log.seek(0)
        output = log.read()
        if text in output:
            return output
        time.sleep(0.3)
    raise AssertionError(f"{text!r} not in the demo's output:\n{output}")


def _assert_process_ends(pid: int, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, 9)
    raise AssertionError(f"the demo's worker (pid {pid}) outlived the demo")


def test_demo_starts_web_and_worker_with_demo_data(tmp_path):
    """The README's first command, minus the venv: a fresh data directory to a working login."""
    port = _free_port()
    environment = {**os.environ, "CXLOOP_DATA_DIR": str(tmp_path), "CXLOOP_DATABASE_URL": ""}
    for name in ("DJANGO_SETTINGS_MODULE", "CXLOOP_QUEUE_IMMEDIATE", "CXLOOP_QUEUE_URL"):
        environment.pop(name, None)
    log = (tmp_path / "demo.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "cxloop.cli", "demo", "--port", str(port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/login/", process) == 200
        output = _wait_for_line(log, "Huey consumer started")
    finally:
        process.terminate()
        process.wait(timeout=30)
    worker_pid = re.search(r"Huey consumer started with \d+ thread, PID (\d+)", output)
    assert worker_pid, output
    _assert_process_ends(int(worker_pid.group(1)))
    assert "2,000 customers, 20,000 orders" in output
    assert "Loaded demo surveys: 3 surveys" in output
    assert f"http://127.0.0.1:{port}/" in output
    assert re.search(r"sign in as admin / \S+", output)
    assert "Huey consumer started" in output
