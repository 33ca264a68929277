"""A fault-injecting reverse proxy in front of any SEI: ``sei-bridge sandbox proxy``.

The SEI sandbox's fault model (:mod:`sei_bridge.sei.sandbox.faults`, the same ``--faults``
spec and seeded draws) applied to a real SEI, so an integrator can rehearse lost answers,
resets, 503s and outages against their own homologation SEI::

    from sei_bridge.sandboxes.proxy import start_proxy
    from sei_bridge.sei.sandbox.faults import FaultConfig

    with start_proxy("https://sei-homolog.example.gov.br/sei", faults=FaultConfig(lost=0.05)) as p:
        p.endpoint_url      # http://127.0.0.1:PORT/sei/ws/SeiWS.php  (SEI_BRIDGE_SEI_URL)
        p.wsdl_url          # http://127.0.0.1:PORT/sei/controlador_ws.php?servico=sei
        p.faults.schedule("lost", operation="gerarProcedimento")  # the next one, exactly
        p.stats()           # what it did, per operation and outcome

What each fault means here (the operation is the first element of the SOAP Body):

- ``http503``, ``reset``, ``infra_erro`` (HTTP 500, faultcode Client, ``infra_tipo_excecao``
  INFRA_ERRO, exactly as the sandbox answers it): answered by the proxy, NOTHING reaches SEI;
- ``lost``: forwarded, SEI's whole answer awaited (the effect committed), then the client's
  connection reset;
- ``hang``: the client held ``hang_seconds`` then dropped; forwarded first only with
  ``hang_commits=yes``;
- ``latency`` (+ jitter): a delay, then forwarded;
- an outage window: every request, the WSDL too, gets a 503 or a reset.

GETs (the WSDL) are never given per-call faults, only outages; a POST whose operation cannot be
read is forwarded as it is. The WSDL's ``soap:address`` is rewritten to point at the proxy, so a
client that takes the endpoint from the WSDL stays behind it.

When SEI itself gives no usable answer the proxy says so in a way clients classify safely:
**502** only when nothing reached SEI (connection refused, unknown host, connect timeout, TLS
failure) — sei-bridge reads 502 as "not sent, safe to resend" — and **504** when the request went
out (timeout, reset or cut answer, answer over the size limit): its outcome is unknown.

``GET /_proxy/stats`` serves the counts as JSON. Logs carry operation names, outcomes and
timings, never bodies (citizens' personal data, the IdentificacaoServico credential).
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs

from lxml import etree

from sei_bridge import errors
from sei_bridge.sandboxes.proxy_stats import Counters, Outcome, ProxyStats
from sei_bridge.sandboxes.proxy_upstream import VIA, Upstream, UpstreamError, UpstreamTarget

# The sandbox's pieces, reused as they are: its fault model, its HTTP server (which turns
# ResetConnection into a TCP reset), its Apache pages and SOAP fault, its WSDL address rewrite.
from sei_bridge.sei.sandbox import rules
from sei_bridge.sei.sandbox import soap as sandbox_soap
from sei_bridge.sei.sandbox.app import _APACHE_PAGE, _PAGES, _STATUS, ResetConnection, SeiSandboxApp
from sei_bridge.sei.sandbox.config import SandboxConfig
from sei_bridge.sei.sandbox.faults import FaultConfig, FaultInjector, FaultKind, OutageMode
from sei_bridge.sei.sandbox.schema import rewrite_address
from sei_bridge.sei.sandbox.server import _HttpServer

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_PORT",
    "DEFAULT_SEED",
    "DEFAULT_TIMEOUT",
    "STATS_PATH",
    "Outcome",
    "ProxyConfig",
    "ProxyStats",
    "RunningProxy",
    "start_proxy",
]

log = logging.getLogger(__name__)

#: ``sei-bridge sandbox proxy`` listens here unless told otherwise (the sandbox is on 8157).
DEFAULT_PORT = 8158
DEFAULT_SEED = 156
#: Seconds to connect to SEI (TLS included).
DEFAULT_CONNECT_TIMEOUT = 5.0
#: Seconds for a whole exchange with SEI: above sei-bridge's 60 s read timeout, so that the
#: client's own timeout is what a slow SEI meets first.
DEFAULT_TIMEOUT = 120.0
#: Largest body either way: SEI's default limit for an external documento is 50 MB
#: (SEI_TAM_MB_DOC_EXTERNO), about 67 MB once base64-encoded in the envelope.
DEFAULT_MAX_BODY_BYTES = 96 * 1024 * 1024
#: Where the proxy answers for itself; no SEI URL starts with it.
STATS_PATH = "/_proxy/stats"

_SOAP_BODIES = frozenset(
    {
        "{http://schemas.xmlsoap.org/soap/envelope/}Body",
        "{http://www.w3.org/2003/05/soap-envelope}Body",
    }
)
#: (status line, headers, body)
_Answer = tuple[str, list[tuple[str, str]], bytes]
_GATEWAY = {502: "502 Bad Gateway", 504: "504 Gateway Timeout"}


@dataclass(frozen=True)
class ProxyConfig:
    """How a proxy is set up (immutable, with named defaults)."""

    #: SEI's origin, base (``…/sei``) or SOAP endpoint (see UpstreamTarget.parse)
    upstream: str
    faults: FaultConfig = field(default_factory=FaultConfig)
    seed: int = DEFAULT_SEED
    host: str = "127.0.0.1"
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    timeout: float = DEFAULT_TIMEOUT
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    def __post_init__(self) -> None:
        UpstreamTarget.parse(self.upstream)
        if self.connect_timeout <= 0 or self.timeout <= 0:
            raise errors.ConfigurationError("fault proxy: timeouts must be positive seconds")
        if self.max_body_bytes < 1:
            raise errors.ConfigurationError("fault proxy: the body size limit must be positive")

    @property
    def target(self) -> UpstreamTarget:
        return UpstreamTarget.parse(self.upstream)


def soap_operation(body: bytes) -> str | None:
    """The SOAP operation of a request body: the first element inside the SOAP Body (the
    rest of the body is not read); None when there is none to read."""
    depth = 0
    in_body = False
    try:
        parser = etree.iterparse(
            io.BytesIO(body), events=("start", "end"), resolve_entities=False, no_network=True
        )
        for event, element in parser:
            if event == "end":
                depth -= 1
                continue
            depth += 1
            if in_body and depth == 3:
                return str(etree.QName(element).localname)
            in_body = depth == 2 and element.tag in _SOAP_BODIES
    except etree.LxmlError:
        return None
    return None


def _wants_wsdl(path: str, query: str) -> bool:
    params = parse_qs(query, keep_blank_values=True)
    return path.endswith("/controlador_ws.php") or "wsdl" in {k.lower() for k in params}


def _request_headers(environ: Mapping[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers.append((key[5:].replace("_", "-").title(), str(value)))
    if environ.get("CONTENT_TYPE"):
        headers.append(("Content-Type", str(environ["CONTENT_TYPE"])))
    return headers


class ProxyApp:
    """The proxy as a WSGI application for the sandbox's HTTP server (see the module doc)."""

    def __init__(
        self,
        *,
        config: ProxyConfig,
        upstream: Upstream,
        faults: FaultInjector,
        endpoint_url: Callable[[], str],
    ) -> None:
        self.config = config
        self.upstream = upstream
        self.faults = faults
        self.counters = Counters()
        self._endpoint_url = endpoint_url
        #: set when the server stops: held requests and latencies end at once
        self.stopping = threading.Event()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        status, headers, body = self._respond(environ)
        start_response(status, headers)
        return [body]

    def _respond(self, environ: dict[str, Any]) -> _Answer:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        path = str(environ.get("PATH_INFO", ""))
        if path == STATS_PATH:
            body = json.dumps(self.counters.snapshot().as_json(), sort_keys=True).encode()
            return _STATUS[200], [("Content-Length", str(len(body))), ("Content-Type", _JSON)], body
        with self.counters.in_flight():
            started = time.monotonic()
            label = method
            try:
                label, outcome, answer = self._proxy(environ, method, path)
            except ResetConnection:
                raise
            except Exception as exc:  # the request boundary: never a crash of the proxy
                # The type only: a message might quote what was being handled.
                log.error("fault proxy failed on %s: %s", label, type(exc).__name__)
                # 504, not 502: the request may have gone out before it failed.
                outcome, answer = Outcome.UPSTREAM_FAILED, _gateway(504, "proxy error")
                self.counters.record(label, outcome)
            log.debug(
                "%s %s: %s %s in %.3fs",
                method,
                label,
                outcome.value,
                answer[0],
                time.monotonic() - started,
            )
            return answer

    def _proxy(
        self, environ: dict[str, Any], method: str, path: str
    ) -> tuple[str, Outcome, _Answer]:
        query = str(environ.get("QUERY_STRING", ""))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        too_large = length > self.config.max_body_bytes
        body = environ["wsgi.input"].read(length) if length > 0 and not too_large else b""
        operation = (soap_operation(body) if method == "POST" else None) or method
        if (outage := self.faults.outage()) is not None:
            self._record(operation, Outcome.OUTAGE, outage.value)
            if outage is OutageMode.RESET:
                raise ResetConnection
            return operation, Outcome.OUTAGE, _page(503)
        if too_large:
            self._record(operation, Outcome.TOO_LARGE, f"{length} bytes")
            return operation, Outcome.TOO_LARGE, _page(413)
        target = path + (f"?{query}" if query else "")
        headers = _request_headers(environ)
        if operation == method:  # not a SOAP call: GETs and unreadable bodies pass through
            return operation, *self._forward(operation, method, target, headers, body, path)
        decision = self.faults.decide(operation)
        if decision.delay:
            self.counters.delayed(operation)
            self._hold(decision.delay)
        kind = decision.kind
        if kind is None:
            return operation, *self._forward(operation, method, target, headers, body, path)
        outcome = Outcome(kind.value)
        self._record(operation, outcome)
        if kind is FaultKind.HTTP503:
            return operation, outcome, _page(503)
        if kind is FaultKind.INFRA_ERRO:
            return operation, outcome, _infra_erro()
        if kind is FaultKind.LOST or (kind is FaultKind.HANG and decision.commits):
            self._forward_and_forget(operation, method, target, headers, body)
        self._hold(decision.hold)  # 0 but for hangs
        raise ResetConnection

    def _record(self, operation: str, outcome: Outcome, detail: str = "") -> None:
        self.counters.record(operation, outcome)
        if outcome is not Outcome.FORWARDED:
            log.info(
                "fault proxy: %s %s%s", operation, outcome.value, f" ({detail})" * bool(detail)
            )

    def _hold(self, seconds: float) -> None:
        if seconds > 0:
            self.stopping.wait(seconds)

    def _forward(
        self,
        operation: str,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        path: str,
    ) -> tuple[Outcome, _Answer]:
        try:
            answer = self.upstream.forward(method, target, headers, body)
        except UpstreamError as exc:
            outcome = Outcome.UPSTREAM_FAILED if exc.sent else Outcome.UNREACHABLE
            self._record(operation, outcome, exc.reason)
            return outcome, _gateway(504 if exc.sent else 502, exc.reason)
        self._record(operation, Outcome.FORWARDED)
        payload = answer.body
        if method == "GET" and answer.status == 200 and _wants_wsdl(path, target.partition("?")[2]):
            payload = rewrite_address(payload, self._endpoint_url())
        headers_out = [*answer.headers, ("Via", VIA), ("Content-Length", str(len(payload)))]
        return Outcome.FORWARDED, (f"{answer.status} {answer.reason}", headers_out, payload)

    def _forward_and_forget(
        self, operation: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        """For ``lost`` and committing hangs: SEI's whole answer is awaited, then dropped."""
        try:
            answer = self.upstream.forward(method, target, headers, body)
        except UpstreamError as exc:
            log.warning(
                "fault proxy: %s forwarded, but SEI gave no answer: %s", operation, exc.reason
            )
        else:
            log.debug("fault proxy: %s answered HTTP %d, answer dropped", operation, answer.status)


_JSON = "application/json; charset=utf-8"


def _page(status: int) -> _Answer:
    title, text = _PAGES[status]
    body = _APACHE_PAGE.format(status=_STATUS[status], title=title, text=text).encode()
    headers = [
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("Content-Type", "text/html; charset=iso-8859-1"),
    ]
    return _STATUS[status], headers, body


def _infra_erro() -> _Answer:
    body = sandbox_soap.render_fault(rules.INFRA_ERRO_INJECTED, kind=rules.INFRA_ERRO)
    headers = [
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("Content-Type", "text/xml; charset=utf-8"),
    ]
    return _STATUS[500], headers, body


def _gateway(status: int, reason: str) -> _Answer:
    body = f"{_GATEWAY[status]}\nsei-bridge fault proxy: upstream SEI: {reason}\n".encode()
    headers = [
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("Content-Type", "text/plain; charset=utf-8"),
    ]
    return _GATEWAY[status], headers, body


class RunningProxy:
    """A fault proxy serving on a local port; a context manager that stops it on exit.

    ``faults`` is the :class:`FaultInjector`, adjustable while it runs (``configure``,
    ``schedule``, ``start_outage``, ``clear``).
    """

    def __init__(
        self,
        config: ProxyConfig,
        *,
        port: int = 0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.target = config.target
        self.faults = FaultInjector(config.faults, seed=config.seed, clock=clock or time.monotonic)
        upstream = Upstream(
            self.target,
            connect_timeout=config.connect_timeout,
            timeout=config.timeout,
            max_body_bytes=config.max_body_bytes,
        )
        # The sandbox's server reads only these of a SandboxConfig: the address, keep-alive
        # like Apache's and the request size limit.
        server_config = SandboxConfig(host=config.host, max_body_bytes=config.max_body_bytes)
        self._server = _HttpServer((config.host, port), server_config)
        self.port = self._server.port
        host = f"[{config.host}]" if ":" in config.host else config.host
        self.url = f"http://{host}:{self.port}"
        self.app = ProxyApp(
            config=config,
            upstream=upstream,
            faults=self.faults,
            endpoint_url=lambda: self.endpoint_url,
        )
        # The server only calls its app as a WSGI application.
        self._server.app = cast(SeiSandboxApp, self.app)
        self._server.stopping = self.app.stopping
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sei-fault-proxy-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False
        log.info(
            "fault proxy on %s for %s, faults %s (seed %d)",
            self.url,
            self.target.base_url,
            config.faults.describe(),
            config.seed,
        )

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:PORT/sei/ws/SeiWS.php``: give it as SEI_BRIDGE_SEI_URL."""
        return f"{self.url}/sei/ws/SeiWS.php"

    @property
    def wsdl_url(self) -> str:
        """``http://127.0.0.1:PORT/sei/controlador_ws.php?servico=sei`` (SEI_BRIDGE_SEI_WSDL)."""
        return f"{self.url}/sei/controlador_ws.php?servico=sei"

    @property
    def stats_url(self) -> str:
        return f"{self.url}{STATS_PATH}"

    def stats(self) -> ProxyStats:
        """What the proxy did so far (as served at ``/_proxy/stats``)."""
        return self.app.counters.snapshot()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, end held requests, drop open connections, release the port
        (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self.app.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections(timeout)
        self._thread.join(timeout)
        log.info("fault proxy on %s stopped: %s", self.url, self.stats().summary())

    def __enter__(self) -> RunningProxy:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return (
            f"RunningProxy({self.url!r} -> {self.target.base_url!r}, "
            f"faults={self.faults.config.describe()!r})"
        )


def start_proxy(
    upstream: str,
    *,
    faults: FaultConfig | None = None,
    seed: int = DEFAULT_SEED,
    host: str = "127.0.0.1",
    port: int = 0,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    timeout: float = DEFAULT_TIMEOUT,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    clock: Callable[[], float] | None = None,
) -> RunningProxy:
    """Serve a fault proxy for ``upstream`` on ``host:port`` (0: a free port) until ``stop()``.

    ``clock`` (monotonic seconds) times the ``outage=START+DURATION`` window; tests pass their
    own to move through it without waiting.
    """
    config = ProxyConfig(
        upstream=upstream,
        faults=faults or FaultConfig(),
        seed=seed,
        host=host,
        connect_timeout=connect_timeout,
        timeout=timeout,
        max_body_bytes=max_body_bytes,
    )
    return RunningProxy(config, port=port, clock=clock)
