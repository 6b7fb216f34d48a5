"""Counters out: Prometheus text over a tiny HTTP server, and a log line when they move."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)

HELP = {
    "relayed_total": ("counter", "MQTT messages relayed into Kafka and acknowledged"),
    "deadlettered_total": ("counter", "MQTT messages refused and written to deadletter"),
    "retried_total": ("counter", "Kafka produce attempts repeated after a failure"),
    "in_flight": ("gauge", "MQTT messages received and not yet confirmed by Kafka"),
    "kafka_up": ("gauge", "1 when Kafka answered the last check"),
}


def render(snapshot: dict[str, int], prefix: str = "evbridge_") -> str:
    lines = []
    for name, value in snapshot.items():
        kind, text = HELP.get(name, ("gauge", name))
        lines += [f"# HELP {prefix}{name} {text}", f"# TYPE {prefix}{name} {kind}",
                  f"{prefix}{name} {value}"]
    return "\n".join(lines) + "\n"


def summary(snapshot: dict[str, int]) -> str:
    return ("relayed {relayed_total}, dead-lettered {deadlettered_total}, retried "
            "{retried_total}, in flight {in_flight}, Kafka {up}").format(
                up="up" if snapshot["kafka_up"] else "down", **snapshot)


class Reporter:
    """Logs :func:`summary` every ``every`` seconds when the counters changed."""

    def __init__(self, snapshot: Callable[[], dict[str, int]], every: float = 10.0) -> None:
        self._snapshot, self._every = snapshot, every
        self._last: dict[str, int] | None = None
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reporter", daemon=True)

    def start(self) -> Reporter:
        self._last = self._snapshot()
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._closed.wait(self._every):
            self.report()

    def report(self) -> None:
        now = self._snapshot()
        if now != self._last:
            log.info("%s", summary(now))
            self._last = now

    def stop(self) -> None:
        self._closed.set()


def serve(host: str, port: int, snapshot: Callable[[], dict[str, int]]) -> ThreadingHTTPServer:
    """GET /metrics (or /) answers the Prometheus text; the server runs in a thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path not in ("/", "/metrics"):
                self.send_error(404)
                return
            body = render(snapshot()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
