"""The SIGRC feed API over real HTTP: a WSGI application on a threaded waitress server.

Implements every endpoint of ``sigrc-feed.openapi.yaml`` under a base path (default
``/sigrc``): bearer authentication (401), query validation (400), 404 for unknown requests and
attachments, 409 for a different SEI number, and the overload answers (429/503 with
Retry-After) the state decides to play. Checks run in that order: route, method, token,
overload, parameters.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, unquote

from waitress.server import create_server

from sei_bridge.sandboxes.sigrc.config import Clock, SimulatorConfig
from sei_bridge.sandboxes.sigrc.state import SimulatorState
from sei_bridge.sandboxes.traffic import iter_traffic

__all__ = ["RunningSimulator", "SigrcApp", "start_simulator"]

log = logging.getLogger(__name__)

_MAX_LIMITE = 500
_MAX_BODY = 64 * 1024
_CHUNK = 256 * 1024
_JSON = "application/json; charset=utf-8"

StartResponse = Callable[..., Any]
_Headers = list[tuple[str, str]]


class _HttpError(Exception):
    """An answer other than success, raised from anywhere in a handler."""

    def __init__(self, status: int, message: str, headers: _Headers | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or []


_REASONS = {
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _status_line(status: int) -> str:
    return f"{status} {_REASONS.get(status, 'Unknown')}"


def _query(environ: Mapping[str, Any]) -> dict[str, str]:
    parsed = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


def _int_param(
    query: Mapping[str, str], name: str, default: int, *, low: int, high: int | None = None
) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bounds = f"entre {low} e {high}" if high is not None else f">= {low}"
        raise _HttpError(400, f"parâmetro '{name}' deve ser um inteiro {bounds}")
    return value


def _moment_param(query: Mapping[str, str], name: str) -> dt.datetime:
    raw = query.get(name)
    if raw is None:
        raise _HttpError(400, f"parâmetro '{name}' é obrigatório (data-hora ISO 8601)")
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _HttpError(
            400,
            f"parâmetro '{name}' deve ser data-hora ISO 8601 com fuso, "
            "ex. 2026-03-01T00:00:00-03:00 (codifique '+' como %2B)",
        )
    return moment


class SigrcApp:
    """The WSGI application over a :class:`SimulatorState`."""

    def __init__(self, state: SimulatorState, config: SimulatorConfig) -> None:
        self.state = state
        self.config = config
        self._expected = f"Bearer {config.token}".encode()

    def accept_token(self, token: str) -> None:
        """From now on only ``token`` is accepted (SIGRC rotated or revoked ours)."""
        self._expected = f"Bearer {token}".encode()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, headers, body = self._dispatch(environ)
        except _HttpError as exc:
            status, headers, body = self._error(exc.status, exc.message, exc.headers)
        except Exception:  # the request boundary: answer 500 and keep serving
            log.exception("SIGRC simulator failed on %s", environ.get("PATH_INFO"))
            status, headers, body = self._error(500, "erro interno do simulador")
        start_response(_status_line(status), headers)
        return body

    def _error(
        self, status: int, message: str, extra: _Headers | None = None
    ) -> tuple[int, _Headers, Iterable[bytes]]:
        data = json.dumps({"erro": message}, ensure_ascii=False).encode()
        headers = [("Content-Type", _JSON), ("Content-Length", str(len(data))), *(extra or [])]
        return status, headers, [data]

    @staticmethod
    def _json(data: bytes, status: int = 200) -> tuple[int, _Headers, Iterable[bytes]]:
        return status, [("Content-Type", _JSON), ("Content-Length", str(len(data)))], [data]

    def _route(self, path: str) -> tuple[str, list[str]]:
        """``(endpoint, path arguments)``; raises 404 for paths outside the contract."""
        base = self.config.base_path + "/v1/"
        if not path.startswith(base):
            raise _HttpError(404, "recurso não encontrado")
        parts = [unquote(p) for p in path[len(base) :].split("/")]
        if parts == ["eventos"]:
            return "eventos", []
        if parts == ["solicitacoes"]:
            return "solicitacoes", []
        if len(parts) == 2 and parts[0] == "solicitacoes" and parts[1]:
            return "solicitacao", parts[1:]
        if len(parts) == 4 and parts[0] == "solicitacoes" and parts[2] == "anexos" and parts[1]:
            return "anexo", [parts[1], parts[3]]
        if len(parts) == 3 and parts[0] == "solicitacoes" and parts[2] == "processo-sei":
            return "processo-sei", [parts[1]]
        raise _HttpError(404, "recurso não encontrado")

    def _dispatch(self, environ: dict[str, Any]) -> tuple[int, _Headers, Iterable[bytes]]:
        # WSGI hands the path over as latin-1 text; protocolos may be any UTF-8.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        endpoint, args = self._route(path)
        method = environ.get("REQUEST_METHOD", "GET")
        allowed = "PUT" if endpoint == "processo-sei" else "GET"
        if method != allowed:
            raise _HttpError(405, f"método {method} não permitido", [("Allow", allowed)])
        given = environ.get("HTTP_AUTHORIZATION", "").encode("latin-1")
        if not hmac.compare_digest(given, self._expected):
            raise _HttpError(
                401, "token ausente ou inválido", [("WWW-Authenticate", 'Bearer realm="SIGRC"')]
            )
        overload = self.state.take_overload()
        if overload is not None:
            message = "serviço sobrecarregado" if overload.status == 429 else "em manutenção"
            raise _HttpError(overload.status, message, [("Retry-After", str(overload.retry_after))])
        query = _query(environ)
        if endpoint == "eventos":
            return self._eventos(query)
        if endpoint == "solicitacoes":
            return self._solicitacoes(query)
        if endpoint == "solicitacao":
            return self._solicitacao(args[0])
        if endpoint == "anexo":
            return self._anexo(args[0], args[1])
        return self._processo_sei(args[0], environ)

    def _eventos(self, query: Mapping[str, str]) -> tuple[int, _Headers, Iterable[bytes]]:
        apos = _int_param(query, "apos", 0, low=0)
        limite = _int_param(query, "limite", 100, low=1, high=_MAX_LIMITE)
        orgao = query.get("orgao") or None
        page = self.state.events_page(apos=apos, limite=limite, orgao=orgao)
        return self._json(page.to_json_bytes())

    def _solicitacoes(self, query: Mapping[str, str]) -> tuple[int, _Headers, Iterable[bytes]]:
        orgao = query.get("orgao")
        if not orgao:
            raise _HttpError(400, "parâmetro 'orgao' é obrigatório (sigla, ex. SF)")
        since = _moment_param(query, "atualizadas_desde")
        pagina = _int_param(query, "pagina", 1, low=1)
        limite = _int_param(query, "limite", 100, low=1, high=_MAX_LIMITE)
        items, pages = self.state.summaries(orgao=orgao, since=since, pagina=pagina, limite=limite)
        body = {"solicitacoes": items, "pagina": pagina, "total_paginas": pages}
        return self._json(json.dumps(body, ensure_ascii=False).encode())

    def _solicitacao(self, protocolo: str) -> tuple[int, _Headers, Iterable[bytes]]:
        snapshot = self.state.snapshot(protocolo)
        if snapshot is None:
            raise _HttpError(404, "solicitação não encontrada")
        return self._json(json.dumps(snapshot, ensure_ascii=False).encode())

    def _anexo(self, protocolo: str, id_anexo: str) -> tuple[int, _Headers, Iterable[bytes]]:
        attachment = self.state.fetch_attachment(protocolo, id_anexo)
        if attachment is None:
            raise _HttpError(404, "anexo não encontrado")
        content = attachment.content
        headers = [
            ("Content-Type", attachment.tipo_conteudo),
            ("Content-Length", str(len(content))),
        ]
        # cut short: waitress closes the connection when the body ends before Content-Length
        sent = content[: len(content) // 2] if attachment.short else content
        chunks = (sent[i : i + _CHUNK] for i in range(0, len(sent), _CHUNK))
        return 200, headers, chunks

    def _processo_sei(
        self, protocolo: str, environ: Mapping[str, Any]
    ) -> tuple[int, _Headers, Iterable[bytes]]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= _MAX_BODY:
            raise _HttpError(400, 'corpo JSON obrigatório: {"numero_processo": "..."}')
        try:
            body = json.loads(environ["wsgi.input"].read(length))
        except (ValueError, UnicodeDecodeError):
            body = None
        numero = body.get("numero_processo") if isinstance(body, dict) else None
        link = body.get("link_acesso") if isinstance(body, dict) else None
        if (
            not isinstance(numero, str)
            or not numero.strip()
            or not (link is None or isinstance(link, str))
        ):
            raise _HttpError(
                400, "corpo deve ser JSON com 'numero_processo' (texto) e 'link_acesso' opcional"
            )
        status = self.state.record_processo_sei(protocolo, numero, link)
        if status == 404:
            raise _HttpError(404, "solicitação não encontrada")
        if status == 409:
            raise _HttpError(409, "a solicitação já tem outro processo SEI registrado")
        return 204, [], []


class RunningSimulator:
    """A simulator serving on a local port; a context manager that stops it on exit."""

    def __init__(self, state: SimulatorState, config: SimulatorConfig, port: int) -> None:
        self.state = state
        self.config = config
        self._app = SigrcApp(state, config)
        self._server = cast(
            Any,
            create_server(
                self._app,
                host=config.host,
                port=port,
                threads=config.threads,
                ident="SIGRC simulator",
                channel_timeout=30,
            ),
        )
        self.port: int = int(self._server.effective_port)
        self._thread = threading.Thread(
            target=self._server.run, name=f"sigrc-simulator-{self.port}", daemon=True
        )
        self._thread.start()
        self._stopped = False

    @property
    def base_url(self) -> str:
        """E.g. ``http://127.0.0.1:8156/sigrc``."""
        return f"http://{self.config.host}:{self.port}{self.config.base_path}"

    @property
    def token(self) -> str:
        return self.config.token

    def accept_token(self, token: str) -> None:
        """Accept only ``token`` from now on (as when SIGRC rotates or revokes a token);
        ``accept_token(self.token)`` restores the configured one."""
        self._app.accept_token(token)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and release the port (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        server = self._server

        def close_all() -> None:  # runs inside the server's own loop thread
            for channel in list(server._map.values()):
                channel.close()
            server._map.clear()

        server.trigger.pull_trigger(close_all)
        self._thread.join(timeout)
        server.task_dispatcher.shutdown(timeout=timeout)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSimulator({self.base_url!r}, events={len(self.state.written)})"


def start_simulator(
    config: SimulatorConfig | None = None, *, port: int = 0, clock: Clock | None = None
) -> RunningSimulator:
    """Generate ``config.requests`` Fazenda requests (seeded), load them, and serve the feed on
    ``config.host:port`` (0: a free port). Use as a context manager, or call ``stop()``."""
    config = config or SimulatorConfig()
    state = SimulatorState(config, clock=clock)
    state.load(iter_traffic(config.seed, config.requests, config.traffic_options()))
    return RunningSimulator(state, config, port)
