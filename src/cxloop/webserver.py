"""The production web server behind ``cxloop serve`` and ``cxloop demo``.

On Linux and macOS it is gunicorn with several processes, each with a few threads: one Python
process can use only one core (the GIL), so a single-process server leaves the other cores idle.
On Windows, where gunicorn does not run, it is waitress (threads in one process).
"""

from __future__ import annotations

import os
import sys


def default_processes() -> int:
    """One process per core, at least two, so one slow request never blocks the rest."""
    return max(2, os.cpu_count() or 1)


def run_web(*, host: str, port: int, processes: int, threads: int) -> None:
    from django.db import connections

    from cxloop.wsgi import application

    connections.close_all()  # never hand an open database connection to forked processes
    if sys.platform == "win32" or processes < 1:
        from waitress import serve

        serve(application, host=host, port=port, threads=threads, ident="cxloop")
        return
    _gunicorn(application, bind=_bind(host, port), processes=processes, threads=threads).run()


def _bind(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _gunicorn(application, *, bind: str, processes: int, threads: int):
    from gunicorn.app.base import BaseApplication

    class CxloopServer(BaseApplication):
        def load_config(self):
            options = {
                "bind": bind,
                "workers": processes,
                "threads": threads,
                "worker_class": "gthread",
                "proc_name": "cxloop",
                "timeout": 60,
                "graceful_timeout": 20,
                "keepalive": 5,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "control_socket_disable": True,
            }
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self):
            return application

    return CxloopServer()
