"""The real task queue: SqliteHuey on a file and RedisHuey on the local Redis, run by the worker."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import threading
import time
import uuid

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured
from huey import RedisHuey, SqliteHuey
from huey.contrib import djhuey

from cxloop.core import outbox, tasks, worker
from cxloop.core.models import OutboxMessage
from cxloop.core.tests.webhook_server import WebhookServer

REDIS_URL = os.environ.get("CXLOOP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _require_redis() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError as exc:
        reason = f"Redis is not reachable at {REDIS_URL} ({exc})"
        if os.environ.get("CXLOOP_TEST_REQUIRE_REDIS"):
            pytest.fail(f"{reason}; CXLOOP_TEST_REQUIRE_REDIS is set")
        pytest.skip(f"{reason}; set CXLOOP_TEST_REQUIRE_REDIS=1 to make this a failure")


@pytest.fixture
def sqlite_huey(tmp_path):
    return SqliteHuey(name=f"cxloop-test-{uuid.uuid4().hex}", filename=str(tmp_path / "q.sqlite3"))


@pytest.fixture
def redis_huey():
    _require_redis()
    queue = RedisHuey(name=f"cxloop-test-{uuid.uuid4().hex}", url=REDIS_URL)
    yield queue
    queue.storage.flush_all()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def any_huey(request):
    return request.getfixturevalue(f"{request.param}_huey")


@pytest.fixture
def restore_process_state():
    """The consumer installs signal handlers and the worker retargets logging: undo both."""
    signals = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    loggers = [logging.getLogger(name) for name in ("huey", "cxloop")]
    saved = [(lg, list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    yield
    for sig, handler in signals.items():
        signal.signal(sig, handler)
    for lg, handlers, propagate, level in saved:
        lg.handlers[:] = handlers
        lg.propagate, lg.level = propagate, level


def test_sqlite_queue_enqueue_dequeue_execute(sqlite_huey):
    multiply = sqlite_huey.task(name="multiply")(lambda a, b: a * b)
    result = multiply(6, 7)
    assert sqlite_huey.pending_count() == 1  # stored in the file, not run yet
    task = sqlite_huey.dequeue()
    assert sqlite_huey.pending_count() == 0
    sqlite_huey.execute(task)
    assert result.get() == 42


@pytest.mark.redis
def test_redis_queue_enqueue_dequeue_execute(redis_huey):
    multiply = redis_huey.task(name="multiply")(lambda a, b: a * b)
    result = multiply(6, 7)
    assert redis_huey.pending_count() == 1
    redis_huey.execute(redis_huey.dequeue())
    assert result.get() == 42
    assert redis_huey.pending_count() == 0


@pytest.mark.django_db
def test_outbox_task_through_a_real_queue(sqlite_huey, settings):
    server = WebhookServer().start()
    try:
        settings.CXLOOP_WEBHOOK_URL = server.url
        settings.CXLOOP_WEBHOOK_SECRET = "queue-test-secret"
        message = OutboxMessage.objects.create(channel="webhook", recipient="13800138000")
        deliver = sqlite_huey.task(name="deliver_message")(tasks.deliver_message_task.call_local)
        result = deliver(message.pk)
        sqlite_huey.execute(sqlite_huey.dequeue())
        assert result.get() == outbox.SENT
        assert server.message_ids == [str(message.pk)]
    finally:
        server.stop()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT


def test_run_worker_consumes_the_configured_queue(any_huey, monkeypatch, restore_process_state):
    done = threading.Event()
    greet = any_huey.task(name="greet")(lambda name: done.set() or f"hello {name}")
    result = greet("worker")
    monkeypatch.setattr(djhuey, "HUEY", any_huey)

    plain_handler = signal.getsignal(signal.SIGINT)

    def stop_when_done():
        done.wait(timeout=10)
        # The consumer installs its handler after starting the workers: wait for it.
        deadline = time.monotonic() + 5
        while signal.getsignal(signal.SIGINT) is plain_handler and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does: a graceful stop

    threading.Thread(target=stop_when_done, daemon=True).start()
    worker.run_worker(threads=2)
    assert done.is_set()
    assert result.get(blocking=True, timeout=5) == "hello worker"


def test_create_consumer_uses_threads_and_periodic(sqlite_huey, monkeypatch, settings):
    monkeypatch.setattr(djhuey, "HUEY", sqlite_huey)
    consumer = worker.create_consumer(threads=3)
    assert (consumer.workers, consumer.worker_type, consumer.periodic) == (3, "thread", True)
    default_threads = settings.HUEY["consumer"]["workers"]  # CXLOOP_WORKER_THREADS
    assert worker.create_consumer().workers == default_threads


def test_worker_refuses_immediate_mode():
    assert djhuey.HUEY.immediate  # the test settings run tasks inline
    with pytest.raises(ImproperlyConfigured, match="CXLOOP_QUEUE_IMMEDIATE"):
        worker.create_consumer()


def test_periodic_tasks_are_registered():
    any_minute = dt.datetime(2025, 3, 4, 10, 7)
    purge_time = dt.datetime(2025, 3, 4, 19, 30)  # UTC: 03:30 in Shanghai
    due = {type(task).__name__ for task in djhuey.HUEY.read_periodic(any_minute)}
    assert "deliver_outbox" in due and "purge_sent_messages" not in due
    due = {type(task).__name__ for task in djhuey.HUEY.read_periodic(purge_time)}
    assert {"deliver_outbox", "purge_sent_messages"} <= due


@pytest.mark.django_db
def test_periodic_sweep_delivers_due_messages(settings):
    server = WebhookServer().start()
    try:
        settings.CXLOOP_WEBHOOK_URL = server.url
        settings.CXLOOP_WEBHOOK_SECRET = "queue-test-secret"
        OutboxMessage.objects.create(channel="webhook", recipient="13800138000")
        assert tasks.deliver_outbox.call_local() == 1
        assert tasks.deliver_outbox.call_local() == 0  # idempotent: nothing left to do
    finally:
        server.stop()
    assert tasks.deliver_message_task.call_local(987654) == outbox.SKIPPED
