"""The SEI client against real sockets on 127.0.0.1 that misbehave the ways networks do.

A raw HTTP server (port 0) reads the SOAP request, then hangs, resets, truncates or refuses;
the client must say whether the request can be resent (SeiNotSentError) or its outcome is
unknown (SeiOutcomeUnknownError) — the distinction the ledger's UNCERTAIN state depends on.
These are the failure modes ``responses`` can only imitate; here the kernel produces them.
"""

from __future__ import annotations

import contextlib
import http.server
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from sei_bridge import errors
from sei_bridge.sei import wsdl
from sei_bridge.sei.client import SeiClient

Behaviour = Callable[[socket.socket, bytes], None]


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return body


class RawServer:
    """Accepts connections on 127.0.0.1 and applies ``behaviour`` to each request."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.stop = threading.Event()
        self.requests: list[bytes] = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self._listener.settimeout(0.1)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/sei/ws/SeiWS.php"

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            with conn:
                body = _read_request(conn)
                self.requests.append(body)
                self.behaviour(conn, body)

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=5)
        self._listener.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[[Behaviour], RawServer]]:
    servers: list[RawServer] = []

    def start(behaviour: Behaviour) -> RawServer:
        server = RawServer(behaviour)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def _client(endpoint: str, *, read_timeout: float = 5.0) -> SeiClient:
    return SeiClient(
        endpoint_url=endpoint,
        sigla_sistema="SEI_BRIDGE",
        identificacao_servico="sandbox-key",
        connect_timeout=1.0,
        read_timeout=read_timeout,
    )


def _conclude(client: SeiClient) -> errors.SeiError:
    with pytest.raises(errors.SeiError) as caught:
        client.concluir_processo(id_unidade="110000001", protocolo_procedimento="1.2/3")
    assert caught.value.operation == "concluirProcesso"
    assert "sandbox-key" not in str(caught.value)
    return caught.value


def test_connection_refused_is_not_sent() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there any more
    exc = _conclude(_client(f"http://127.0.0.1:{port}/sei/ws/SeiWS.php"))
    assert type(exc) is errors.SeiNotSentError


def test_hang_longer_than_the_read_timeout_leaves_the_outcome_unknown(
    raw_server: Callable[[Behaviour], RawServer],
) -> None:
    def hang(conn: socket.socket, body: bytes) -> None:
        server.stop.wait(10)  # answer nothing until the test ends

    server = raw_server(hang)
    started = time.monotonic()
    exc = _conclude(_client(server.endpoint, read_timeout=0.5))
    elapsed = time.monotonic() - started
    assert type(exc) is errors.SeiOutcomeUnknownError
    assert server.requests and b"concluirProcesso" in server.requests[0]  # it was sent
    assert 0.4 < elapsed < 5  # bounded by the read timeout, not by the server


def test_reset_after_the_request_leaves_the_outcome_unknown(
    raw_server: Callable[[Behaviour], RawServer],
) -> None:
    def reset(conn: socket.socket, body: bytes) -> None:
        # SO_LINGER 0: close() sends RST instead of FIN
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    server = raw_server(reset)
    exc = _conclude(_client(server.endpoint))
    assert type(exc) is errors.SeiOutcomeUnknownError
    assert server.requests


def test_truncated_answer_leaves_the_outcome_unknown(
    raw_server: Callable[[Behaviour], RawServer],
) -> None:
    def truncate(conn: socket.socket, body: bytes) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
            b"Content-Length: 2000\r\nConnection: close\r\n\r\n"
            b'<?xml version="1.0" encoding="UTF-8"?><SOAP-ENV:Envelope'
        )

    server = raw_server(truncate)
    assert type(_conclude(_client(server.endpoint))) is errors.SeiOutcomeUnknownError


def test_close_without_answer_leaves_the_outcome_unknown(
    raw_server: Callable[[Behaviour], RawServer],
) -> None:
    server = raw_server(lambda conn, body: None)  # read the request, close without a word
    assert type(_conclude(_client(server.endpoint))) is errors.SeiOutcomeUnknownError


def test_503_from_a_front_end_is_not_sent(raw_server: Callable[[Behaviour], RawServer]) -> None:
    def busy(conn: socket.socket, body: bytes) -> None:
        page = b"<html><body>Service Unavailable</body></html>"
        conn.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\n"
            b"Retry-After: 30\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (len(page), page)
        )

    server = raw_server(busy)
    assert type(_conclude(_client(server.endpoint))) is errors.SeiNotSentError


def test_connect_timeout_is_not_sent() -> None:
    # A listener that never accepts, its accept queue filled: further SYNs are dropped, so the
    # client's connect times out on loopback (no non-loopback address needed).
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(3):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # the handshake completes in the kernel
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    try:
        client = SeiClient(
            endpoint_url=f"http://127.0.0.1:{port}/sei/ws/SeiWS.php",
            sigla_sistema="SEI_BRIDGE",
            identificacao_servico="sandbox-key",
            connect_timeout=0.3,
            read_timeout=5.0,
        )
        started = time.monotonic()
        assert type(_conclude(client)) is errors.SeiNotSentError
        assert time.monotonic() - started < 3
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# --- the WSDL over HTTP ------------------------------------------------------------------------


@pytest.fixture
def wsdl_server() -> Iterator[str]:
    """Serves the bundled 4.1 WSDL at /sei/controlador_ws.php?servico=sei; 404 elsewhere."""
    content = wsdl.bundled_wsdl_path("4.1").read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/sei/controlador_ws.php?servico=sei":
                self.send_response(200)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)
            else:
                self.send_error(404)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_wsdl_loads_from_the_servers_url(wsdl_server: str) -> None:
    client = SeiClient(
        endpoint_url=f"{wsdl_server}/sei/ws/SeiWS.php",
        sigla_sistema="SEI_BRIDGE",
        identificacao_servico="sandbox-key",
        wsdl=wsdl.server_wsdl_url(f"{wsdl_server}/sei/ws/SeiWS.php"),
    )
    assert "gerarProcedimento" in client.load()


@pytest.mark.parametrize("path", ["/sei/missing.wsdl", None])
def test_unreachable_or_missing_wsdl_url_is_a_configuration_error(
    wsdl_server: str, path: str | None
) -> None:
    if path is None:  # nothing listens
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/sei/controlador_ws.php?servico=sei"
        probe.close()
    else:
        url = wsdl_server + path
    client = SeiClient(
        endpoint_url=f"{wsdl_server}/sei/ws/SeiWS.php",
        sigla_sistema="SEI_BRIDGE",
        identificacao_servico="sandbox-key",
        wsdl=url,
    )
    with pytest.raises(errors.ConfigurationError) as caught:
        client.load()
    message = str(caught.value)
    assert url in message and "SEI_BRIDGE_SEI_WSDL" in message
    assert "\n" not in message
