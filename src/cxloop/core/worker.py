"""The queue worker behind ``cxloop worker``: a Huey consumer for the configured queue."""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules
from huey.consumer import Consumer

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_LOGGERS = ("huey", "cxloop")


def create_consumer(*, threads: int | None = None, periodic: bool = True) -> Consumer:
    """A consumer with ``threads`` worker threads (default ``CXLOOP_WORKER_THREADS``)."""
    from huey.contrib.djhuey import HUEY

    if HUEY.immediate:
        raise ImproperlyConfigured(
            "The queue runs tasks immediately (CXLOOP_QUEUE_IMMEDIATE is set): "
            "unset it to run a worker."
        )
    autodiscover_modules("tasks")  # registers every app's tasks, periodic ones included
    options = dict(getattr(settings, "HUEY", {}).get("consumer", {}))
    if threads is not None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        options["workers"] = threads
    options.update(worker_type="thread", periodic=periodic)
    return HUEY.create_consumer(**options)


def run_worker(*, threads: int | None = None, periodic: bool = True) -> None:
    """Run the consumer until SIGINT (graceful) or SIGTERM; logs go to stdout."""
    log_to_stdout()
    create_consumer(threads=threads, periodic=periodic).run()


def log_to_stdout() -> None:
    """Send the queue's and cxloop's logs to stdout, once, without doubling via the root."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if any(getattr(h, "_cxloop_worker", False) for h in logger.handlers):
            continue
        handler._cxloop_worker = True
        logger.addHandler(handler)
        logger.propagate = False
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.getLogger().level or logging.INFO)
