"""The daemon's operations endpoint: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``.

A small threaded HTTP server from the standard library (three read-only paths do not need a
framework), bound to ``SEI_BRIDGE_METRICS_ADDR`` (default loopback) and
``SEI_BRIDGE_METRICS_PORT``. ``/healthz`` and ``/readyz`` answer 200 or 503 with a JSON body
naming each check; any other path is 404. A client that sends nothing is dropped after a few
seconds, so no scraper can hold a thread.
"""

from __future__ import annotations

import errno
import http.server
import json
import logging
import threading
from typing import Any

import prometheus_client

from sei_bridge import errors
from sei_bridge.ops.health import Health

__all__ = ["OpsServer"]

log = logging.getLogger(__name__)

#: seconds a client may take to send its request
_CLIENT_TIMEOUT = 5.0


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    timeout = _CLIENT_TIMEOUT
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        path = self.path.split("?", 1)[0]
        health = self.server.health
        if path == "/metrics":
            health.refresh_metrics()
            content = prometheus_client.generate_latest()
            self._send(200, prometheus_client.CONTENT_TYPE_LATEST, content, body)
        elif path in ("/healthz", "/readyz"):
            report = health.live() if path == "/healthz" else health.ready()
            content = json.dumps(report.to_dict(), sort_keys=True).encode() + b"\n"
            self._send(200 if report.ok else 503, "application/json", content, body)
        else:
            self._send(
                404, "text/plain; charset=utf-8", b"not found: /metrics, /healthz, /readyz\n", body
            )

    def _send(self, status: int, content_type: str, content: bytes, body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(content)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(content)

    def log_message(self, format: str, *args: Any) -> None:
        # a scrape every few seconds is not worth a line; the path is all a line could add
        log.debug("ops endpoint: %s", format % args)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    health: Health


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or type(exc).__name__


class OpsServer:
    """``/metrics``, ``/healthz``, ``/readyz`` on ``addr:port`` in a daemon thread. The port
    is bound when this is made (so a port in use stops the daemon before anything starts);
    requests are answered once :meth:`start` gives the checks."""

    def __init__(self, *, addr: str, port: int) -> None:
        try:
            self._server = _Server((addr, port), _Handler)
        except (OSError, OverflowError) as exc:
            in_use = getattr(exc, "errno", None) == errno.EADDRINUSE
            why = "is in use" if in_use else f"cannot be bound ({_reason(exc)})"
            raise errors.ConfigurationError(
                f"SEI_BRIDGE_METRICS_PORT={port}: {addr}:{port} {why}: choose a free port "
                "(or unset it to serve no metrics)"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sei-bridge-ops", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self, health: Health) -> OpsServer:
        self._server.health = health
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
