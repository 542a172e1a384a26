"""A real HTTP server on 127.0.0.1 for outbox tests: scripted answers, records every request."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class WebhookServer:
    """Answers with ``script`` statuses in order, then ``default_status``."""

    def __init__(self, script: list[int] | None = None, default_status: int = 200):
        self.script = list(script or [])
        self.default_status = default_status
        self.delay_seconds = 0.0
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/hook"

    @property
    def message_ids(self) -> list[str]:
        return [r.headers["X-Cxloop-Message-Id"] for r in self.received]

    def start(self) -> WebhookServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _next_status(self, received: Received) -> int:
        with self._lock:
            self.received.append(received)
            return self.script.pop(0) if self.script else self.default_status

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = server._next_status(Received(dict(self.headers.items()), body))
                if server.delay_seconds:
                    time.sleep(server.delay_seconds)
                answer = f"answer {status}".encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler


def closed_port() -> int:
    """A local port nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
