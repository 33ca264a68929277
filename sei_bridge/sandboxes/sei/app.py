"""The sandbox as a WSGI application: SEI's two URLs, the SOAP pipeline and the faults.

- ``GET /sei/controlador_ws.php?servico=sei`` (and ``/sei/ws/SeiWS.php?wsdl``): the served WSDL,
  its ``soap:address`` pointing at this server;
- ``POST /sei/ws/SeiWS.php``: decode the call (:mod:`~.soap`), draw its fate
  (:mod:`~.faults`), run it (:mod:`~.operations`), answer like SEI: 200 with the result,
  500 with a SOAP fault, or Apache's 503 page.

Faults that act on the connection itself (reset, lost answer, dropped hang) raise
:class:`ResetConnection`; the sandbox's own HTTP server (:mod:`~.server`) turns it into a TCP
reset. Under another WSGI server they would surface as that server's 500.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from sei_bridge.sandboxes.sei import auth, rules, soap
from sei_bridge.sandboxes.sei.config import SandboxConfig
from sei_bridge.sandboxes.sei.faults import FaultInjector, FaultKind, OutageMode
from sei_bridge.sandboxes.sei.operations import Operations
from sei_bridge.sandboxes.sei.schema import Schema
from sei_bridge.sandboxes.sei.state import SandboxState

__all__ = ["ENDPOINT_PATH", "WSDL_PATH", "ResetConnection", "SeiSandboxApp"]

log = logging.getLogger(__name__)

ENDPOINT_PATH = "/sei/ws/SeiWS.php"
WSDL_PATH = "/sei/controlador_ws.php"

StartResponse = Callable[..., Any]
_Headers = list[tuple[str, str]]

_APACHE_PAGE = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>{status}</title>\n'
    "</head><body>\n<h1>{title}</h1>\n<p>{text}</p>\n</body></html>\n"
)
_PAGES = {
    404: ("Not Found", "The requested URL was not found on this server."),
    405: ("Method Not Allowed", "The requested method is not allowed for this URL."),
    413: ("Request Entity Too Large", "The request is larger than this server accepts."),
    503: (
        "Service Unavailable",
        "The server is temporarily unable to service your\nrequest due to maintenance downtime "
        "or capacity\nproblems. Please try again later.",
    ),
}
_STATUS = {
    200: "200 OK",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Request Entity Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}


class ResetConnection(Exception):
    """Reset the client's TCP connection (SO_LINGER 0) without answering."""


class SeiSandboxApp:
    """WSGI application of one sandbox (see the module doc)."""

    def __init__(
        self,
        *,
        config: SandboxConfig,
        state: SandboxState,
        operations: Operations,
        faults: FaultInjector,
        schema: Schema,
        wsdl: Callable[[], bytes],
    ) -> None:
        self.config = config
        self.state = state
        self.operations = operations
        self.faults = faults
        self.schema = schema
        self._wsdl = wsdl
        self._encoding = config.response_encoding.value
        self._content_type = f"text/xml; charset={self._encoding}"
        #: set when the server stops: held requests and latencies end at once
        self.stopping = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        status, headers, body = self._respond(environ)
        start_response(_STATUS.get(status, f"{status} Unknown"), headers)
        return [body]

    # --- routing -------------------------------------------------------------------------------

    def _respond(self, environ: dict[str, Any]) -> tuple[int, _Headers, bytes]:
        outage = self.faults.outage()
        if outage is not None:
            self.state.count_fault("outage")
            if outage is OutageMode.RESET:
                raise ResetConnection
            return self._page(503)
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        wants_wsdl = (path == WSDL_PATH and query.get("servico") == ["sei"]) or (
            path == ENDPOINT_PATH and "wsdl" in {k.lower() for k in query}
        )
        if wants_wsdl:
            if method not in ("GET", "HEAD"):
                return self._page(405, allow="GET")
            body = self._wsdl()
            headers = [
                ("Content-Length", str(len(body))),
                ("Content-Type", "text/xml; charset=utf-8"),
            ]
            return 200, headers, body
        if path != ENDPOINT_PATH:
            return self._page(404)
        if method != "POST":
            return self._page(405, allow="POST")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.config.max_body_bytes:
            return self._page(413)
        body = environ["wsgi.input"].read(length) if length > 0 else b""
        # SEI authenticates by the caller's address and trusts X-Forwarded-For (see auth.py)
        client = auth.Client(
            environ.get("REMOTE_ADDR") or "", environ.get("HTTP_X_FORWARDED_FOR") or None
        )
        return self._soap(body, environ.get("CONTENT_TYPE"), client)

    def _page(self, status: int, *, allow: str | None = None) -> tuple[int, _Headers, bytes]:
        title, text = _PAGES[status]
        body = _APACHE_PAGE.format(status=_STATUS[status], title=title, text=text).encode()
        headers = [("Content-Length", str(len(body))), ("Connection", "close")]
        if allow:
            headers.append(("Allow", allow))
        headers.append(("Content-Type", "text/html; charset=iso-8859-1"))
        return status, headers, body

    def _fault(
        self, message: str, *, kind: str | None, code: str = soap.CLIENT
    ) -> tuple[int, _Headers, bytes]:
        body = soap.render_fault(message, code=code, kind=kind, encoding=self._encoding)
        # SEI's faults came with "Connection: close" (seen on 4.1.0).
        headers = [
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("Content-Type", self._content_type),
        ]
        return 500, headers, body

    # --- the SOAP pipeline ---------------------------------------------------------------------

    def _hold(self, seconds: float) -> None:
        if seconds > 0:
            self.stopping.wait(seconds)

    def _soap(
        self, body: bytes, content_type: str | None, client: auth.Client
    ) -> tuple[int, _Headers, bytes]:
        try:
            call = soap.parse_call(body, self.schema, content_type=content_type)
        except soap.SoapRequestError:
            return self._fault("Bad Request", kind=None)
        operation = call.operation
        if operation not in self.schema.operations:
            return self._fault(rules.procedure_not_present(operation), kind=None, code=soap.SERVER)
        self.state.count_call(operation)
        decision = self.faults.decide(operation)
        if decision.delay:
            self.state.count_fault("latency")
            self._hold(decision.delay)
        kind = decision.kind
        if kind is not None:
            self.state.count_fault(kind.value)
        if kind is FaultKind.HTTP503:
            return self._page(503)
        if kind is FaultKind.INFRA_ERRO:
            return self._fault(rules.INFRA_ERRO_INJECTED, kind=rules.INFRA_ERRO)
        if kind is FaultKind.RESET or (kind is FaultKind.HANG and not decision.commits):
            self._hold(decision.hold)
            raise ResetConnection
        answer = self._execute(call, client)
        if kind is FaultKind.LOST:
            raise ResetConnection
        if kind is FaultKind.HANG:
            self._hold(decision.hold)
            raise ResetConnection
        return answer

    def _execute(self, call: soap.SoapCall, client: auth.Client) -> tuple[int, _Headers, bytes]:
        operation = call.operation
        if operation not in self.operations.handlers:
            return self._fault(
                f"Operação [{operation}] não implementada no sandbox do SEI.",
                kind=rules.INFRA_ERRO,
            )
        try:
            value = self.operations.execute(call, client=client)
        except rules.SeiFault as fault:
            self.state.count_soap_fault(operation)
            return self._fault(fault.message, kind=fault.kind)
        except Exception:  # the request boundary: answer like PHP does and keep serving
            log.exception("SEI sandbox failed on %s", operation)
            self.state.count_soap_fault(operation)
            return self._fault("Erro interno do sandbox do SEI.", kind=rules.INFRA_ERRO)
        body = soap.render_response(operation, value, schema=self.schema, encoding=self._encoding)
        return 200, [("Content-Length", str(len(body))), ("Content-Type", self._content_type)], body
