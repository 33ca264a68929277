"""A hostile SEI over real HTTP: answers every SOAP call with the envelopes it is given.

The SEI sandbox is faithful to SEI; this one is not. It plays what a broken or malicious
endpoint could send — a megabyte-long fault echoing a CPF and credentials, an answer with a
DOCTYPE and entities — so the client's translation of it can be proven over a real socket.

``HostileSei(answers)``: each POST gets the next ``(status, body)`` of ``answers``; the last
one repeats. ``calls`` counts the POSTs (operation names in ``operations``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from xml.sax.saxutils import escape

__all__ = ["DTD_ANSWER", "ENTITY_ANSWER", "HostileSei", "fault_envelope"]

_ENVELOPE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/">'
    "<SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>"
)

#: an answer declaring a DTD (zeep refuses it unparsed: forbid_dtd)
DTD_ANSWER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE SOAP-ENV:Envelope SYSTEM "http://127.0.0.1:9/evil.dtd">\n'
    + _ENVELOPE.split("\n", 1)[1].format(body="<ns1:listarUnidadesResponse xmlns:ns1='Sei'/>")
).encode()
#: an answer declaring an entity, the billion-laughs opening (forbid_entities)
ENTITY_ANSWER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>\n'
    + _ENVELOPE.split("\n", 1)[1].format(
        body="<ns1:listarUnidadesResponse xmlns:ns1='Sei'>&lol2;</ns1:listarUnidadesResponse>"
    )
).encode()


def fault_envelope(faultstring: str, kind: str | None = "INFRA_VALIDACAO") -> bytes:
    """A SOAP fault as SEI 4.1 writes it, with ``faultstring`` (escaped) and, when given,
    ``infra_tipo_excecao`` = ``kind`` in its detail."""
    detail = (
        f"<detail><item><key>infra_tipo_excecao</key><value>{kind}</value></item></detail>"
        if kind
        else ""
    )
    body = (
        "<SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode>"
        f"<faultstring>{escape(faultstring)}</faultstring>{detail}</SOAP-ENV:Fault>"
    )
    return _ENVELOPE.format(body=body).encode("utf-8")


_OPERATION = re.compile(rb"<(?:[\w-]+:)?(\w+)[\s>/]")


class HostileSei:
    """The server, on a free loopback port while in its ``with`` block."""

    def __init__(self, answers: Sequence[tuple[int, bytes]]) -> None:
        if not answers:
            raise ValueError("give at least one answer")
        self._answers = list(answers)
        self._lock = threading.Lock()
        self.operations: list[str] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = self.rfile.read(length)
                status, body = owner._next(request)
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _next(self, request: bytes) -> tuple[int, bytes]:
        body = request.split(b"Body>", 1)[-1]
        match = _OPERATION.search(body)
        with self._lock:
            self.operations.append(match.group(1).decode() if match else "?")
            index = min(len(self.operations), len(self._answers)) - 1
            return self._answers[index]

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.operations)

    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/sei/ws/SeiWS.php"

    def __enter__(self) -> HostileSei:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
