"""The cache is shared by every process of a deployment (CXLOOP_CACHE_URL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SRC = str(Path(__file__).resolve().parents[3])


def _run(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "PYTHONPATH": SRC,
        "DJANGO_SETTINGS_MODULE": "cxloop.settings",
        "CXLOOP_DATA_DIR": str(tmp_path),
        **env,
    }
    if "CXLOOP_CACHE_URL" not in env:
        environment.pop("CXLOOP_CACHE_URL", None)
    return subprocess.run(
        [sys.executable, "-c", code], env=environment, capture_output=True, text=True, timeout=60
    )


SHOW = (
    "from django.conf import settings; import json; print(json.dumps(settings.CACHES['default']))"
)


def _cache_config(tmp_path: Path, **env: str) -> dict:
    result = _run(SHOW, tmp_path, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_default_is_a_directory_in_the_data_dir(tmp_path):
    config = _cache_config(tmp_path)
    assert config["BACKEND"].endswith("FileBasedCache")
    assert config["LOCATION"] == str(tmp_path / "cache")


def test_redis_and_explicit_directory(tmp_path):
    redis = _cache_config(tmp_path, CXLOOP_CACHE_URL="redis://127.0.0.1:6379/1")
    assert redis == {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/1",
    }
    folder = _cache_config(tmp_path, CXLOOP_CACHE_URL=f"file://{tmp_path}/shared")
    assert folder["LOCATION"] == f"{tmp_path}/shared"


def test_unknown_scheme_stops_start_up_naming_the_variable(tmp_path):
    result = _run(SHOW, tmp_path, CXLOOP_CACHE_URL="memcached://127.0.0.1:11211")
    assert result.returncode != 0
    assert "CXLOOP_CACHE_URL" in result.stderr


def test_trusted_proxy_count_comes_from_the_environment(tmp_path):
    code = "from django.conf import settings; print(settings.CXLOOP_TRUSTED_PROXY_COUNT)"
    assert _run(code, tmp_path, CXLOOP_TRUSTED_PROXY_COUNT="2").stdout.strip() == "2"
    refused = _run(code, tmp_path, CXLOOP_TRUSTED_PROXY_COUNT="-1")
    assert refused.returncode != 0
    assert "CXLOOP_TRUSTED_PROXY_COUNT" in refused.stderr


COUNT = """
import django; django.setup()
from cxloop.cases import public_views
keys = [public_views._key("ip", "203.0.113.9")]
public_views._count(keys)
print(public_views._limited(keys, {limit}))
"""


@pytest.mark.parametrize("url", ["file", "redis"])
def test_rate_limit_counts_are_shared_between_processes(tmp_path, url):
    """Two web processes (here two interpreters) count submissions against one limit."""
    if url == "redis":
        pytest.importorskip("redis")
        import redis

        try:
            redis.Redis.from_url("redis://127.0.0.1:6379/15").flushdb()
        except redis.exceptions.ConnectionError:
            pytest.skip("no Redis at 127.0.0.1:6379")
    env = {"CXLOOP_CACHE_URL": "redis://127.0.0.1:6379/15" if url == "redis" else "file://"}
    first = _run(COUNT.format(limit=2), tmp_path, **env)
    second = _run(COUNT.format(limit=2), tmp_path, **env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "False"  # one submission so far: under the limit of 2
    assert second.stdout.strip() == "True", second.stderr  # the other process saw the first
