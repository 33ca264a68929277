"""A hostile HTTP server on loopback: answers each path with exactly the bytes a test scripts.

For what the SIGRC simulator will not produce because it keeps to its contract: a ``sequencia``
past 64 bits, JSON nested thousands deep, bytes that are not UTF-8, a ``Retry-After`` of 400
digits or in Arabic-Indic digits, an HTTP-date in the year 9999.

    with HostileServer() as server:
        server.script("/sigrc/v1/eventos", Answer(200, body=b"..."))
        client = SigrcClient(base_url=server.url + "/sigrc", token="t")

Answers for a path are served in order; the last one is repeated. Requests to a path without
a script get 404. ``server.hits[path]`` counts the requests.
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["Answer", "HostileServer", "json_answer"]


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_answer(data: Any, *, status: int = 200) -> Answer:
    """An answer whose body is ``data`` as JSON (ASCII escapes: any code point travels)."""
    return Answer(status, json.dumps(data).encode("ascii"))


class HostileServer:
    def __init__(self) -> None:
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._answer(self)

            do_PUT = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, path: str, *answers: Answer) -> None:
        with self._lock:
            self._scripts[path] = list(answers)

    def _answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = urllib.parse.urlsplit(handler.path).path
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        with self._lock:
            self.hits[path] += 1
            queue = self._scripts.get(path)
            answer = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else Answer(404)
        handler.send_response(answer.status)
        handler.send_header("Content-Type", answer.content_type)
        handler.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(answer.body)

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
