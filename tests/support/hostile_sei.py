"""A hostile SEI over real HTTP: answers every SOAP call with the envelopes it is given.

The SEI sandbox is faithful to SEI; this one is not. It plays what a broken or malicious
endpoint could send — a megabyte-long fault echoing a CPF and credentials, an answer with a
DOCTYPE and entities — so the client's translation of it can be proven over a real socket.

``HostileSei(answers)``: each POST gets the next answer of ``answers`` — a ``(status, body)``,
a :class:`Drip` (the answer trickled a byte at a time) or a :class:`Huge` (a body of any size,
generated as it is sent) —; the last one repeats. ``calls`` counts the POSTs (operation names
in ``operations``); ``bytes_sent`` counts what was written of :class:`Huge` bodies.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from xml.sax.saxutils import escape

from tests.support.hostile_http import AnswerCount

__all__ = ["DTD_ANSWER", "ENTITY_ANSWER", "Drip", "HostileSei", "Huge", "fault_envelope"]

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


@dataclass(frozen=True)
class Drip:
    """``body`` with ``status``, one byte every ``every`` seconds; ``whole``: the status line and
    the headers too (the client waits for its answer's headers), else only the body."""

    status: int
    body: bytes
    every: float = 1.0
    whole: bool = False


@dataclass(frozen=True)
class Huge:
    """``size`` bytes of body (an envelope opening, then filler), generated while sent;
    ``declared``: with its Content-Length, else delimited by closing the connection."""

    size: int
    status: int = 200
    declared: bool = True


_HUGE_OPENING = _ENVELOPE.split("{body}")[0].encode() + b"<ns1:listarUnidadesResponse>"
_MIB = 1024 * 1024

Answer = tuple[int, bytes] | Drip | Huge


_OPERATION = re.compile(rb"<(?:[\w-]+:)?(\w+)[\s>/]")


class HostileSei:
    """The server, on a free loopback port while in its ``with`` block."""

    def __init__(self, answers: Sequence[Answer]) -> None:
        if not answers:
            raise ValueError("give at least one answer")
        self._answers = list(answers)
        self._lock = threading.Lock()
        self.operations: list[str] = []
        self.bytes_sent = 0
        #: answers the server is done with (written whole, or the client left)
        self.answered = AnswerCount()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = self.rfile.read(length)
                answer = owner._next(request)
                try:
                    if isinstance(answer, Drip):
                        self._drip(answer)
                    elif isinstance(answer, Huge):
                        self._huge(answer)
                    else:
                        status, body = answer
                        self._head(status, len(body))
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up: what it should do
                finally:
                    owner.answered.finished()

            def _head(self, status: int, length: int | None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                if length is None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                else:
                    self.send_header("Content-Length", str(length))
                self.end_headers()

            def _drip(self, answer: Drip) -> None:
                if answer.whole:
                    head = (
                        f"HTTP/1.1 {answer.status} OK\r\nContent-Type: text/xml; "
                        f"charset=utf-8\r\nContent-Length: {len(answer.body)}\r\n\r\n"
                    ).encode()
                else:
                    self._head(answer.status, len(answer.body))
                    self.wfile.flush()
                    head = b""
                for i in range(len(head + answer.body)):
                    self.wfile.write((head + answer.body)[i : i + 1])
                    self.wfile.flush()
                    time.sleep(answer.every)

            def _huge(self, answer: Huge) -> None:
                self._head(answer.status, answer.size if answer.declared else None)
                filler = b" " * _MIB
                left = answer.size
                first = _HUGE_OPENING[:left]
                self.wfile.write(first)
                left -= len(first)
                while left > 0:
                    piece = filler[: min(left, _MIB)]
                    self.wfile.write(piece)
                    left -= len(piece)
                    with owner._lock:
                        owner.bytes_sent += len(piece)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _next(self, request: bytes) -> Answer:
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
