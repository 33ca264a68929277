"""The sandbox's HTTP/1.1 server and :func:`start_sandbox`.

A small threaded WSGI server (one thread per connection, keep-alive like Apache's
``Keep-Alive: timeout=5, max=100``) rather than a general one, because the faults must act on
the TCP connection itself: :class:`~.app.ResetConnection` from the application becomes a reset
(``SO_LINGER`` 0, then close), so a client sees "connection reset by peer" and no answer —
before the operation ran (``reset``) or after it committed (``lost``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, cast

from sei_bridge import errors
from sei_bridge.sandboxes.sei.app import ENDPOINT_PATH, WSDL_PATH, ResetConnection, SeiSandboxApp
from sei_bridge.sandboxes.sei.config import SandboxConfig
from sei_bridge.sandboxes.sei.faults import FaultInjector
from sei_bridge.sandboxes.sei.operations import Operations
from sei_bridge.sandboxes.sei.schema import load_schema, rewrite_address
from sei_bridge.sandboxes.sei.state import SandboxState
from sei_bridge.sei import wsdl as bundled

__all__ = ["RunningSandbox", "start_sandbox"]

log = logging.getLogger(__name__)

SERVER_HEADER = "Apache/2.4.71 (Debian) SEI-sandbox"
_MAX_LINE = 65536
_MAX_HEADERS = 100
#: How long a started request may take to arrive whole.
_REQUEST_TIMEOUT = 60.0
_REASONS = {400: "Bad Request", 500: "Internal Server Error"}


class _BadRequest(Exception):
    pass


def _read_headers(rfile: BinaryIO) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    while True:
        line = rfile.readline(_MAX_LINE + 1)
        if not line or len(line) > _MAX_LINE:
            raise _BadRequest
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep or len(headers) >= _MAX_HEADERS:
            raise _BadRequest
        headers.append((name.strip().lower(), value.strip()))


def _read_chunked(rfile: BinaryIO, limit: int) -> bytes:
    out = bytearray()
    while True:
        size_line = rfile.readline(_MAX_LINE + 1)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _BadRequest from None
        if size == 0:
            _read_headers(rfile)  # trailers
            return bytes(out)
        if len(out) + size > limit:
            raise _BadRequest
        out += rfile.read(size)
        rfile.readline(_MAX_LINE + 1)


class _Handler(socketserver.BaseRequestHandler):
    server: _HttpServer

    def handle(self) -> None:
        sock: socket.socket = self.request
        server = self.server
        rfile = cast(BinaryIO, sock.makefile("rb", buffering=65536))
        served = 0
        try:
            while not server.stopping.is_set():
                sock.settimeout(server.config.keepalive_timeout)
                try:
                    line = rfile.readline(_MAX_LINE + 1)
                except (TimeoutError, OSError):
                    return
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    continue
                sock.settimeout(_REQUEST_TIMEOUT)
                served += 1
                try:
                    keep_alive = self._one(sock, rfile, line, served)
                except ResetConnection:
                    rfile.close()
                    _reset(sock)
                    return
                except _BadRequest:
                    self._simple(sock, 400)
                    return
                except OSError:
                    return
                if not keep_alive:
                    return
        finally:
            rfile.close()

    def _simple(self, sock: socket.socket, status: int) -> None:
        body = f"{status} {_REASONS[status]}\n".encode()
        head = (
            f"HTTP/1.1 {status} {_REASONS[status]}\r\nDate: {_date()}\r\n"
            f"Server: {SERVER_HEADER}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            sock.sendall(head.encode("latin-1") + body)

    def _one(self, sock: socket.socket, rfile: BinaryIO, line: bytes, served: int) -> bool:
        parts = line.decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest
        method, target, version = parts
        headers = _read_headers(rfile)
        lookup = dict(headers)
        config = self.server.config
        if lookup.get("expect", "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = b""
        length_text = lookup.get("content-length")
        if "chunked" in lookup.get("transfer-encoding", "").lower():
            body = _read_chunked(rfile, config.max_body_bytes)
            length_text = str(len(body))
        elif length_text:
            if not length_text.isdigit():
                raise _BadRequest
            if int(length_text) <= config.max_body_bytes:
                body = rfile.read(int(length_text))
        path, _, query = target.partition("?")
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": lookup.get("content-type", ""),
            "CONTENT_LENGTH": length_text or "",
            "SERVER_NAME": self.server.host,
            "SERVER_PORT": str(self.server.port),
            "SERVER_PROTOCOL": version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers:
            key = "HTTP_" + name.upper().replace("-", "_")
            if key not in ("HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
                environ[key] = value
        answer: dict[str, Any] = {}

        def start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = status, response_headers
            return lambda data: None

        app = self.server.app
        if app is None:
            raise _BadRequest
        result = app(environ, start_response)
        payload = b"".join(result)
        connection = lookup.get("connection", "").lower()
        keep_alive = (
            (connection != "close" if version == "HTTP/1.1" else connection == "keep-alive")
            and served <= config.keepalive_max
            and not any(
                n.lower() == "connection" and v.lower() == "close" for n, v in answer["headers"]
            )
        )
        out = [f"HTTP/1.1 {answer['status']}", f"Date: {_date()}", f"Server: {SERVER_HEADER}"]
        rest = []
        for name, value in answer["headers"]:
            if name.lower() == "content-length":
                out.append(f"{name}: {value}")
            elif name.lower() != "connection":
                rest.append(f"{name}: {value}")
        if keep_alive:
            remaining = config.keepalive_max - served + 1
            timeout = int(config.keepalive_timeout)
            out.append(f"Keep-Alive: timeout={timeout}, max={remaining}")
            out.append("Connection: Keep-Alive")
        else:
            out.append("Connection: close")
        head = "\r\n".join([*out, *rest, "", ""]).encode("latin-1")
        sock.sendall(head if method == "HEAD" else head + payload)
        return keep_alive


_date_cache: tuple[int, str] = (0, "")


def _date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of FIN: the client sees a reset and no answer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class _HttpServer(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], config: SandboxConfig) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.config = config
        self.host = address[0]
        self.port = int(self.server_address[1])
        self.app: SeiSandboxApp | None = None
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._workers: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve,
            args=(request, client_address),
            daemon=True,
            name=f"sei-sandbox-{self.port}-conn",
        )
        with self._lock:
            self._connections.add(request)
            self._workers.add(thread)
        thread.start()

    def _serve(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._lock:
                self._connections.discard(request)
                self._workers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.exception("SEI sandbox connection failed")

    def close_connections(self, timeout: float) -> None:
        with self._lock:
            connections, threads = list(self._connections), list(self._workers)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _wsdl_source(config: SandboxConfig) -> tuple[Path, bytes]:
    path = (
        Path(config.wsdl_path)
        if config.wsdl_path is not None
        else bundled.bundled_wsdl_path(config.wsdl_version)
    )
    try:
        return path, path.read_bytes()
    except OSError as exc:
        raise errors.ConfigurationError(
            f"SEI sandbox: cannot read the WSDL {path} ({exc.strerror}): check --wsdl-version "
            "or the path given"
        ) from exc


class RunningSandbox:
    """A SEI sandbox serving on a local port; a context manager that stops it on exit.

    ``state`` holds what SEI holds (and the counters); ``faults`` is adjustable while it runs.
    """

    def __init__(
        self, config: SandboxConfig, *, port: int = 0, clock: Callable[[], float] | None = None
    ) -> None:
        self.config = config
        path, wsdl = _wsdl_source(config)
        try:
            schema = load_schema(wsdl)
        except Exception as exc:  # lxml's errors vary; any of them means an unusable file
            raise errors.ConfigurationError(
                f"SEI sandbox: {path} is not a readable WSDL ({type(exc).__name__})"
            ) from exc
        self.state = SandboxState(
            config.catalog,
            path=config.state_path,
            keep_content=config.keep_content,
            first_contact_id=config.first_contact_id,
        )
        self.faults = FaultInjector(config.faults, seed=config.seed)
        try:
            self._server = _HttpServer((config.host, port), config)
        except OSError:
            self.state.close()
            raise
        self.port = self._server.port
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.base_url = f"http://{host}:{self.port}"
        served_wsdl = rewrite_address(wsdl, self.endpoint_url)
        link_base = config.link_base or self.base_url
        self.operations = Operations(
            self.state, config, clock=clock or time.time, link_base=lambda: link_base
        )
        self.app = SeiSandboxApp(
            config=config,
            state=self.state,
            operations=self.operations,
            faults=self.faults,
            schema=schema,
            wsdl=lambda: served_wsdl,
        )
        self._server.app = self.app
        self._server.stopping = self.app.stopping
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sei-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT/sei/ws/SeiWS.php`` (SEI_BRIDGE_SEI_URL)."""
        return f"{self.base_url}{ENDPOINT_PATH}"

    @property
    def wsdl_url(self) -> str:
        """``http://127.0.0.1:PORT/sei/controlador_ws.php?servico=sei`` (SEI_BRIDGE_SEI_WSDL)."""
        return f"{self.base_url}{WSDL_PATH}?servico=sei"

    @property
    def credentials(self) -> tuple[str, str]:
        """``(SiglaSistema, IdentificacaoServico)`` this sandbox accepts."""
        return self.config.credentials()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, drop open connections, release the port, close the journal
        (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.app.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections(timeout)
        self._thread.join(timeout)
        self.state.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSandbox({self.endpoint_url!r}, faults={self.faults.config.describe()!r})"


def start_sandbox(
    config: SandboxConfig | None = None,
    *,
    port: int = 0,
    clock: Callable[[], float] | None = None,
) -> RunningSandbox:
    """Serve a SEI sandbox on ``config.host:port`` (0: a free port) until ``stop()``.

    ``clock`` (POSIX seconds, default ``time.time``) dates processos, documentos and andamentos.
    """
    return RunningSandbox(config or SandboxConfig(), port=port, clock=clock)
