"""Configuration: typed CXLOOP_* readers, and a bad value stops start-up by name."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from cxloop import conf


@pytest.fixture
def env(monkeypatch):
    for name in list(os.environ):
        if name.startswith("CXLOOP_TESTVAR"):
            monkeypatch.delenv(name)
    return monkeypatch


def test_defaults_apply_when_unset_or_blank(env):
    env.setenv("CXLOOP_TESTVAR_BLANK", "  ")
    assert conf.env_int("CXLOOP_TESTVAR_MISSING", 7) == 7
    assert conf.env_bool("CXLOOP_TESTVAR_BLANK", True) is True
    assert conf.env_str("CXLOOP_TESTVAR_MISSING", "x") == "x"


@pytest.mark.parametrize("raw,expected", [("1", True), ("yes", True), ("OFF", False), ("0", False)])
def test_env_bool_accepts_common_spellings(env, raw, expected):
    env.setenv("CXLOOP_TESTVAR", raw)
    assert conf.env_bool("CXLOOP_TESTVAR", not expected) is expected


@pytest.mark.parametrize(
    "reader,raw",
    [
        (lambda: conf.env_bool("CXLOOP_TESTVAR", False), "maybe"),
        (lambda: conf.env_int("CXLOOP_TESTVAR", 1), "ten"),
        (lambda: conf.env_int("CXLOOP_TESTVAR", 1, minimum=1), "0"),
        (lambda: conf.env_time_zone("CXLOOP_TESTVAR", "UTC"), "Mars/Olympus"),
        (lambda: conf.env_choice("CXLOOP_TESTVAR", "en", ("en", "zh-hans")), "fr"),
        (lambda: conf.env_url("CXLOOP_TESTVAR", "sqlite://", ("sqlite", "postgres")), "mysql://x"),
    ],
)
def test_bad_values_raise_naming_the_variable(env, reader, raw):
    env.setenv("CXLOOP_TESTVAR", raw)
    with pytest.raises(conf.ConfigError) as caught:
        reader()
    assert caught.value.name == "CXLOOP_TESTVAR"
    assert "CXLOOP_TESTVAR" in str(caught.value)


def _cxloop_config(data_dir, **variables) -> subprocess.CompletedProcess:
    """Run `cxloop config` in a fresh process, as a user would, with these variables set."""
    environment = {**os.environ, "CXLOOP_DATA_DIR": str(data_dir), **variables}
    environment.pop("DJANGO_SETTINGS_MODULE", None)
    command = [sys.executable, "-m", "cxloop.cli", "config"]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "name,value",
    [
        ("CXLOOP_TIME_ZONE", "Mars/Olympus"),
        ("CXLOOP_DATABASE_URL", "mysql://root@localhost/x"),
        ("CXLOOP_LANGUAGE", "klingon"),
        ("CXLOOP_SECRET_KEY", "short"),
        ("CXLOOP_WORKER_THREADS", "many"),
    ],
)
def test_cli_refuses_to_start_with_a_bad_value(tmp_path, name, value):
    result = _cxloop_config(tmp_path, **{name: value})
    assert result.returncode == 2
    assert name in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_config_runs_with_defaults(tmp_path):
    result = _cxloop_config(tmp_path, CXLOOP_DATABASE_URL="")
    assert result.returncode == 0, result.stderr
    assert "Asia/Shanghai" in result.stdout
    assert (tmp_path / "secret_key").exists()


def test_cli_help_lists_the_commands():
    result = subprocess.run(
        [sys.executable, "-m", "cxloop.cli", "--help"], capture_output=True, text=True, timeout=60
    )
    for command in ["demo", "serve", "worker", "migrate", "createadmin", "import", "export"]:
        assert command in result.stdout
