"""The daemon's operations endpoint: ``/metrics`` (Prometheus), ``/healthz`` and ``/readyz``.

A small threaded HTTP server from the standard library (three read-only paths do not need a
framework), bound to ``SEI_BRIDGE_METRICS_ADDR`` (default loopback) and
``SEI_BRIDGE_METRICS_PORT``. ``/healthz`` and ``/readyz`` answer 200 or 503 with a JSON body
naming each check; any other path is 404. A client that sends nothing is dropped after a few
seconds, so no scraper can hold a thread.
"""

from __future__ import annotations

import http.server
import json
import logging
import threading
from typing import Any

import prometheus_client

from sei_bridge import serving
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

    def __init__(self, address: tuple[str, int], health: Health) -> None:
        self.health = health
        super().__init__(address, _Handler)


class OpsServer:
    """``/metrics``, ``/healthz``, ``/readyz`` on ``addr:port`` in a daemon thread."""

    def __init__(self, health: Health, *, addr: str, port: int) -> None:
        self._server = serving.listening(
            lambda: _Server((addr, port), health), addr, port, hint="set SEI_BRIDGE_METRICS_PORT"
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sei-bridge-ops", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> OpsServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
