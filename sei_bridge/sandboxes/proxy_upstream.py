"""The fault proxy's side towards SEI: where the upstream is, and one bounded call to it.

Every call opens its own connection (``Connection: close``, no pool): a stale pooled connection
would blur the one thing a failure must say — whether the request can have reached SEI. That is
why an :class:`UpstreamError` carries ``sent``: False (connection refused, unknown host, connect
timeout, TLS handshake failed) means nothing reached SEI; True (a timeout, a reset or a cut
answer after the request went out, an answer over the size limit) means SEI may have committed.

Each call is bounded: ``connect_timeout`` for the connection (TLS included), ``timeout`` for the
whole exchange (every socket operation gets what is left of it), ``max_body_bytes`` for the
answer. Bodies are never logged nor quoted in errors: they carry citizens' personal data and the
IdentificacaoServico credential.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from sei_bridge import errors

__all__ = ["Upstream", "UpstreamAnswer", "UpstreamError", "UpstreamTarget"]

#: Hop-by-hop headers (RFC 9110 §7.6.1), never passed on, plus the ones the proxy sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_REQUEST_OWN = frozenset({"host", "content-length", "expect", "accept-encoding"})
#: The proxy's HTTP server writes its own Date, Server and Content-Length.
_RESPONSE_OWN = frozenset({"content-length", "date", "server"})
VIA = "1.1 sei-bridge-proxy"
_CHUNK = 256 * 1024
_SEI_SUFFIXES = ("/sei/ws/SeiWS.php", "/sei/controlador_ws.php", "/sei")


@dataclass(frozen=True, slots=True)
class UpstreamTarget:
    """Where SEI is: ``scheme://host:port`` and the path before ``/sei`` (usually "").

    The proxy is path-transparent: a client calls the proxy at SEI's own paths
    (``/sei/ws/SeiWS.php``, ``/sei/controlador_ws.php?servico=sei``) and each request goes to
    ``prefix`` + the same path on the upstream.
    """

    scheme: str
    host: str
    port: int
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> UpstreamTarget:
        """Read ``--upstream``: SEI's origin (``http://host:8080``), its base
        (``https://host/sei``) or its SOAP endpoint (``https://host/sei/ws/SeiWS.php``)."""
        hint = (
            "give SEI's base (http://HOST:PORT/sei), its SOAP endpoint "
            "(http://HOST:PORT/sei/ws/SeiWS.php) or just http://HOST:PORT"
        )
        try:
            parts = urlsplit(url.strip())
            port = parts.port
        except ValueError:
            raise errors.ConfigurationError(f"--upstream {url!r} is not a URL: {hint}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise errors.ConfigurationError(f"--upstream {url!r} is not an http(s) URL: {hint}")
        if parts.username is not None or parts.password is not None:
            raise errors.ConfigurationError(
                "--upstream must not carry user:password@ (it would be printed); the clients' "
                "own Authorization header is passed on"
            )
        if parts.query or parts.fragment:
            raise errors.ConfigurationError(f"--upstream takes no ?query or #fragment: {hint}")
        path = parts.path.rstrip("/")
        for suffix in _SEI_SUFFIXES:
            if path.endswith(suffix):
                path = path[: -len(suffix)]
                break
        else:
            if path:
                raise errors.ConfigurationError(
                    f"--upstream path {parts.path!r} is not SEI's: {hint}"
                )
        host = parts.hostname
        return cls(
            scheme=parts.scheme,
            host=host,
            port=port or (443 if parts.scheme == "https" else 80),
            prefix=path,
        )

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """SEI's base, ``http://host:port[/prefix]/sei``."""
        return f"{self.origin}{self.prefix}/sei"

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    """SEI's whole answer: status, end-to-end headers (hop-by-hop removed) and body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes


class UpstreamError(errors.SeiBridgeError):
    """No usable answer from SEI. ``sent``: the request may have reached SEI (then it may have
    committed); ``reason``: what happened, without bodies."""

    def __init__(self, reason: str, *, sent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.sent = sent


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names a ``Connection`` header lists: hop-by-hop for this one message."""
    tokens: set[str] = set()
    for name, value in headers:
        if name.lower() == "connection":
            tokens.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tokens


def end_to_end(
    headers: Iterable[tuple[str, str]], *, drop: frozenset[str]
) -> list[tuple[str, str]]:
    """``headers`` without hop-by-hop ones, those ``Connection`` names, and ``drop``."""
    headers = list(headers)
    unwanted = HOP_BY_HOP | drop | _connection_tokens(headers)
    return [(n, v) for n, v in headers if n.lower() not in unwanted]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


class Upstream:
    """Calls to one SEI, each on a fresh connection and bounded (see the module doc)."""

    def __init__(
        self,
        target: UpstreamTarget,
        *,
        connect_timeout: float,
        timeout: float,
        max_body_bytes: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.target = target
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        self._ssl = ssl_context

    def _connection(self) -> http.client.HTTPConnection:
        target = self.target
        if target.scheme == "https":
            context = self._ssl or ssl.create_default_context()
            return http.client.HTTPSConnection(
                target.host, target.port, timeout=self.connect_timeout, context=context
            )
        return http.client.HTTPConnection(target.host, target.port, timeout=self.connect_timeout)

    def forward(
        self, method: str, target: str, headers: Iterable[tuple[str, str]], body: bytes
    ) -> UpstreamAnswer:
        """Send ``method target`` (path and query as the client asked) with the client's
        end-to-end ``headers`` and ``body``; return SEI's whole answer or raise UpstreamError."""
        deadline = time.monotonic() + self.timeout
        connection = self._connection()
        try:
            try:
                connection.connect()
            except (OSError, http.client.HTTPException) as exc:  # ssl.SSLError is an OSError
                raise UpstreamError(f"cannot connect ({_describe(exc)})", sent=False) from exc
            sock = connection.sock
            assert isinstance(sock, socket.socket)
            try:
                return self._exchange(connection, sock, deadline, method, target, headers, body)
            except (OSError, http.client.HTTPException) as exc:
                if isinstance(exc, TimeoutError):
                    reason = f"no whole answer within {self.timeout:g}s"
                else:
                    reason = f"connection broke ({_describe(exc)})"
                raise UpstreamError(reason, sent=True) from exc
        finally:
            connection.close()

    def _exchange(
        self,
        connection: http.client.HTTPConnection,
        sock: socket.socket,
        deadline: float,
        method: str,
        target: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
    ) -> UpstreamAnswer:
        def bound() -> None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            # ``sock`` stays usable after http.client closes its own reference: the response
            # still reads through a file made from it.
            sock.settimeout(left)

        bound()
        connection.putrequest(method, self.target.prefix + target, skip_accept_encoding=True)
        for name, value in end_to_end(headers, drop=_REQUEST_OWN):
            connection.putheader(name, value)
        # Identity only: the answer is relayed as it is, and a WSDL's address rewritten.
        connection.putheader("Accept-Encoding", "identity")
        connection.putheader("Via", VIA)
        connection.putheader("Connection", "close")
        if body or method in ("POST", "PUT"):
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)  # sendall: bounded by the timeout as a whole
        bound()
        response = connection.getresponse()
        length = response.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > self.max_body_bytes:
            raise UpstreamError(
                f"answer of {int(length)} bytes, over the limit of {self.max_body_bytes}",
                sent=True,
            )
        chunks: list[bytes] = []
        size = 0
        while not response.isclosed():  # closed once the whole body is read
            bound()
            chunk = response.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > self.max_body_bytes:
                raise UpstreamError(
                    f"answer over the limit of {self.max_body_bytes} bytes", sent=True
                )
            chunks.append(chunk)
        return UpstreamAnswer(
            status=response.status,
            reason=response.reason,
            headers=end_to_end(response.getheaders(), drop=_RESPONSE_OWN),
            body=b"".join(chunks),
        )
