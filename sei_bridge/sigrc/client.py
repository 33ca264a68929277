"""HTTP client of SIGRC's feed API (../shared/contracts/sigrc-feed.openapi.yaml), on requests.

The one seam between sei-bridge and SIGRC. Every call:

- carries ``Authorization: Bearer <token>`` and a (connect, read) timeout, and runs under a total
  call deadline (connect, send, the whole answer — an attachment download included) enforced by
  :mod:`sei_bridge.bounded_http`, so no job can hang on a server that trickles bytes;
- reads JSON answers streamed and only up to a cap (``max_response_bytes``); a feed page over it
  is asked again with half the ``limite`` (the contract's ``limite`` is a maximum, and the
  feed reader continues from the page's ``ultima_sequencia``), down to one event;
- is retried after the server's ``Retry-After`` on 429 and 503, a bounded number of times and
  never waiting longer than ``max_retry_after`` in total (tenacity; the sleep is injectable);
- has its failures translated here, in :meth:`SigrcClient._send`, into the
  :mod:`sei_bridge.errors` hierarchy: 401/403 → :class:`~sei_bridge.errors.SigrcAuthError`
  (configuration, never retried), 404 → :class:`~sei_bridge.errors.SigrcNotFound`, 409 →
  :class:`~sei_bridge.errors.SigrcConflict`, overload/5xx/network →
  :class:`~sei_bridge.errors.SigrcUnavailable`, a body off the contract →
  :class:`~sei_bridge.errors.SigrcInvalidResponse`.

The token never appears in logs, reprs or messages; neither do bodies (they carry personal data).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import http.client
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import requests
import tenacity

from sei_bridge import bounded_http, chars, config, errors, scrub
from sei_bridge.ops import metrics
from sei_bridge.sigrc import attachments, models, parsing

__all__ = [
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_RETRY_AFTER",
    "DEFAULT_READ_TIMEOUT",
    "MAX_PAGE_SIZE",
    "SigrcClient",
]

log = logging.getLogger(__name__)

DEFAULT_CONNECT_TIMEOUT: Final = config.DEFAULT_SIGRC_CONNECT_TIMEOUT
DEFAULT_READ_TIMEOUT: Final = config.DEFAULT_SIGRC_READ_TIMEOUT
#: longest total wait for an overloaded SIGRC within one call (seconds); a longer Retry-After
#: is raised to the caller at once (the engine holds the feed that long, and `sync` with a
#: time budget stops rather than wait past it)
DEFAULT_MAX_RETRY_AFTER: Final = 30.0
#: tries of one call while SIGRC answers 429/503
DEFAULT_MAX_ATTEMPTS: Final = 4
#: the contract's largest ``limite``
MAX_PAGE_SIZE: Final = 500
#: wait before retrying a 429/503 that came without a usable Retry-After (doubles per try)
_FALLBACK_RETRY_AFTER = 2.0
_ERRO_MAX = 200
#: bytes of an error answer read for its ``erro`` text
_ERROR_BODY_MAX = 64 * 1024
#: the longest server-given delay believed at all (seconds); anything longer is this long
_MAX_SERVER_DELAY = 24 * 3600
_DELTA_SECONDS = re.compile(r"[0-9]+", re.ASCII)
#: the longest link_acesso handed to SIGRC
_MAX_LINK = 2048


class _Overloaded(errors.SigrcUnavailable):
    """A 429/503 worth retrying within the call (internal to the retry loop)."""

    def __init__(self, message: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.status = status


def _retry_after(response: requests.Response) -> float | None:
    """Retry-After in seconds (delta-seconds or HTTP-date), None when absent or unreadable,
    at most :data:`_MAX_SERVER_DELAY` (the engine's policy clamps it further)."""
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if _DELTA_SECONDS.fullmatch(value):
        # ASCII digits only ("²" and "٣" pass str.isdigit()); 400 digits must not overflow
        digits = value.lstrip("0") or "0"
        delta = int(digits) if len(digits) <= 9 else _MAX_SERVER_DELAY
        return float(min(delta, _MAX_SERVER_DELAY))
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return min(max(0.0, seconds), float(_MAX_SERVER_DELAY))


class _TooLarge(errors.SigrcInvalidResponse):
    """An answer over ``max_response_bytes`` (internal: fetch_events asks for fewer events)."""


class _NotJson(Exception):
    """A body that is not UTF-8 JSON; the message says which way, never quoting it."""


def _decode_json(content: bytes) -> Any:
    """A body as JSON, strictly: UTF-8 (RFC 8259; requests would swap bad bytes for U+FFFD
    and let them into SEI) and nested no deeper than Python's parser can go."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise _NotJson("not UTF-8") from None
    try:
        return json.loads(text)
    except RecursionError:
        raise _NotJson("nested too deep") from None
    except ValueError:
        raise _NotJson("malformed") from None


def _erro(response: requests.Response, token: str) -> str:
    """SIGRC's own one-line ``erro`` text, scrubbed (one that echoes the request — a CPF, our
    token — must not carry it into our logs and store) and its control characters escaped (it
    reaches logs and the operator's terminal)."""
    try:
        body = _decode_json(response.content)
    except _NotJson:
        return ""
    text = body.get("erro") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        return ""
    line = chars.escape_controls(" ".join(text.split()))
    return ": " + scrub.scrub(line, secrets=(token,), limit=_ERRO_MAX)


def _check_token(token: str) -> str:
    if not token or not token.strip():
        raise errors.ConfigurationError("SEI_BRIDGE_SIGRC_TOKEN is empty: set it to the token")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in token):
        # requests would quote the whole header, token included, in its error message
        raise errors.ConfigurationError(
            "SEI_BRIDGE_SIGRC_TOKEN contains spaces or control characters: set the bare token"
        )
    return token


def _check_base_url(base_url: str) -> str:
    parsed = urllib.parse.urlsplit(base_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise errors.SigrcEndpointError(
            "SEI_BRIDGE_SIGRC_URL must be an http(s) URL such as http://host:8156/sigrc"
        )
    return base_url.rstrip("/")


class SigrcClient:
    """Calls SIGRC's feed API with a bearer token. Thread-safe when ``session`` is not shared
    with other code that changes it."""

    def __init__(
        self,
        *,
        base_url: str,
        token: str,
        orgao: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        call_deadline: float = config.DEFAULT_SIGRC_CALL_DEADLINE,
        max_response_bytes: int = config.DEFAULT_SIGRC_MAX_RESPONSE_BYTES,
        session: requests.Session | None = None,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise errors.ConfigurationError("SEI_BRIDGE_SIGRC_*_TIMEOUT must be positive seconds")
        if not call_deadline > 0 or max_response_bytes < 1:
            raise errors.ConfigurationError(
                "SEI_BRIDGE_SIGRC_CALL_DEADLINE and SEI_BRIDGE_SIGRC_MAX_RESPONSE_BYTES must be "
                "positive"
            )
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = _check_base_url(base_url)
        self._token = _check_token(token)
        self.orgao = orgao or None
        self._timeout = (connect_timeout, read_timeout)
        self._owns_session = session is None
        self._session = bounded_http.install(session if session is not None else requests.Session())
        self._deadline = float(call_deadline)
        self._max_bytes = int(max_response_bytes)
        self._max_retry_after = max_retry_after
        self._max_attempts = max_attempts
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: config.Settings) -> SigrcClient:
        """A client for ``settings.sigrc_url`` / ``sigrc_token`` / ``sigrc_orgao``."""
        settings.require("sigrc_url", "sigrc_token")
        assert settings.sigrc_url is not None and settings.sigrc_token is not None
        return cls(
            base_url=settings.sigrc_url,
            token=settings.sigrc_token,
            orgao=settings.sigrc_orgao,
            connect_timeout=settings.sigrc_connect_timeout,
            read_timeout=settings.sigrc_read_timeout,
            call_deadline=settings.sigrc_call_deadline,
            max_response_bytes=settings.sigrc_max_response_bytes,
        )

    def __repr__(self) -> str:
        return f"SigrcClient(base_url={self.base_url!r}, token='[secure]', orgao={self.orgao!r})"

    def close(self) -> None:
        """Close the HTTP session when this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> SigrcClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the API ------------------------------------------------------------------------------

    def fetch_events(self, *, apos: int, limite: int = MAX_PAGE_SIZE) -> models.EventPage:
        """One page of events with ``sequencia > apos`` (of ``orgao`` when set).

        Every event is parsed: a malformed one comes back as a QuarantinedEvent, an unknown tipo
        as an UnknownEvent; only a malformed page envelope raises SigrcInvalidResponse.
        """
        if apos < 0 or not 1 <= limite <= MAX_PAGE_SIZE:
            raise ValueError(f"apos must be >= 0 and limite within 1..{MAX_PAGE_SIZE}")
        while True:
            params: dict[str, Any] = {"apos": apos, "limite": limite}
            if self.orgao:
                params["orgao"] = self.orgao
            try:
                response = self._call("GET", "/v1/eventos", params=params, subject="the event feed")
            except _TooLarge as exc:
                if limite == 1:
                    raise errors.SigrcInvalidResponse(
                        f"{exc} even for a single event (apos={apos}): raise "
                        "SEI_BRIDGE_SIGRC_MAX_RESPONSE_BYTES or report it to the SIGRC team",
                        path="eventos",
                    ) from None
                limite = max(1, limite // 2)
                log.warning("%s; asking again for %d event(s)", exc, limite)
                continue
            return parsing.parse_event_page(self._json(response, "GET /v1/eventos"))

    def get_solicitacao(self, protocolo: str) -> models.Solicitacao:
        """The current full state of one request, with every interaction."""
        path = f"/v1/solicitacoes/{_segment(protocolo)}"
        response = self._call("GET", path, subject=f"solicitação {protocolo}")
        return parsing.parse_solicitacao(self._json(response, "GET /v1/solicitacoes/{protocolo}"))

    def list_solicitacoes(
        self, *, atualizadas_desde: dt.datetime, orgao: str | None = None
    ) -> Iterator[models.SolicitacaoResumo]:
        """Summaries of every request of ``orgao`` (default: the client's) changed since
        ``atualizadas_desde`` (timezone-aware), all pages, in SIGRC's order (by protocolo).

        Pages are numbered, so a request changed while the pages are read may be seen twice or
        on a page already passed: reconciliation tolerates both (it is run again later).
        """
        if atualizadas_desde.tzinfo is None:
            raise ValueError("atualizadas_desde must be timezone-aware")
        sigla = orgao or self.orgao
        if not sigla:
            raise errors.ConfigurationError(
                "listing SIGRC requests needs an órgão: set SEI_BRIDGE_SIGRC_ORGAO"
            )
        pagina = 1
        while True:
            page = self.solicitacoes_page(
                atualizadas_desde=atualizadas_desde, pagina=pagina, orgao=sigla
            )
            yield from page.resumos
            if pagina >= page.total_paginas or not page.resumos:
                return
            pagina += 1

    def solicitacoes_page(
        self, *, atualizadas_desde: dt.datetime, pagina: int, orgao: str | None = None
    ) -> models.SolicitacoesPage:
        """Page ``pagina`` of :meth:`list_solicitacoes`, for a reader that keeps its own budget
        of pages (SIGRC's ``total_paginas`` is what it announces, not a promise)."""
        if atualizadas_desde.tzinfo is None:
            raise ValueError("atualizadas_desde must be timezone-aware")
        if pagina < 1:
            raise ValueError("pagina must be >= 1")
        sigla = orgao or self.orgao
        if not sigla:
            raise errors.ConfigurationError(
                "listing SIGRC requests needs an órgão: set SEI_BRIDGE_SIGRC_ORGAO"
            )
        params = {
            "orgao": sigla,
            "atualizadas_desde": atualizadas_desde.isoformat(),
            "pagina": pagina,
            "limite": MAX_PAGE_SIZE,
        }
        response = self._call("GET", "/v1/solicitacoes", params=params, subject="the list")
        resumos, _, total = parsing.parse_solicitacoes_page(
            self._json(response, "GET /v1/solicitacoes")
        )
        return models.SolicitacoesPage(resumos, pagina, total)

    def download_anexo(self, protocolo: str, anexo: models.Anexo, dest_dir: Path) -> Path:
        """Download one attachment into ``dest_dir``, verified against its size and sha256.

        Streams in 64 KiB chunks (bounded memory), retries a mismatch, then raises
        AttachmentIntegrityError; the file appears at the returned path only once verified.
        """
        path = f"/v1/solicitacoes/{_segment(protocolo)}/anexos/{_segment(anexo.id_anexo)}"
        subject = f"attachment {anexo.id_anexo} of solicitação {protocolo}"

        @contextlib.contextmanager
        def source() -> Iterator[Iterator[bytes]]:
            # one deadline for the whole download, not only until its headers
            with bounded_http.bounded(self._deadline) as deadline:
                response = self._call("GET", path, subject=subject, stream=True, accept="*/*")
                try:
                    yield self._chunks(response, subject, deadline)
                finally:
                    response.close()

        return attachments.download(source, anexo, dest_dir, protocolo=protocolo)

    def put_processo_sei(
        self, protocolo: str, numero_processo: str, link_acesso: str | None = None
    ) -> None:
        """Record in SIGRC the SEI process of a request. Idempotent: repeating the same number
        succeeds; a different number already recorded raises SigrcConflict (409)."""
        body: dict[str, str] = {"numero_processo": numero_processo}
        if link_acesso:
            problem = chars.http_url_problem(link_acesso, max_length=_MAX_LINK)
            if problem is None:
                body["link_acesso"] = link_acesso
            else:
                # SIGRC shows the link to the citizen: a javascript: or file: one never goes
                log.warning(
                    "solicitação %s: the SEI link %s: not sent to SIGRC", protocolo, problem
                )
        path = f"/v1/solicitacoes/{_segment(protocolo)}/processo-sei"
        self._call("PUT", path, subject=f"solicitação {protocolo}", json=body).close()

    # --- transport: the one place where requests' failures become ours ----------------------

    def _call(
        self,
        method: str,
        path: str,
        *,
        subject: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        stream: bool = False,
        accept: str = "application/json",
    ) -> requests.Response:
        """Send with the Retry-After policy; a 2xx response or an error from the hierarchy."""
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Overloaded),
            wait=_wait_for_server,
            stop=self._stop,
            sleep=self._sleep,
            reraise=True,
        )
        calls = metrics.SIGRC_CALLS
        endpoint = f"{method} {_template(path)}"
        try:
            response: requests.Response = retrying(
                self._send, method, path, subject, params, json, stream=stream, accept=accept
            )
        except _Overloaded as exc:
            calls.labels(endpoint=endpoint, outcome="overloaded").inc()
            raise errors.SigrcUnavailable(
                f"SIGRC kept answering {exc.status} (overloaded or in maintenance) to {method} "
                f"{_template(path)}; retry later",
                retry_after=exc.retry_after,
            ) from exc
        except errors.SeiBridgeError as exc:
            calls.labels(endpoint=endpoint, outcome=type(exc).__name__).inc()
            raise
        calls.labels(endpoint=endpoint, outcome="ok").inc()
        return response

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        # bounded by tries and by the total time we agree to wait for SIGRC
        return (
            state.attempt_number >= self._max_attempts
            or state.idle_for + state.upcoming_sleep > self._max_retry_after
        )

    def _send(
        self,
        method: str,
        path: str,
        subject: str,
        params: Mapping[str, Any] | None,
        json: Any,
        *,
        stream: bool,
        accept: str,
    ) -> requests.Response:
        where = f"{method} {_template(path)}"
        headers = {"Authorization": f"Bearer {self._token}", "Accept": accept}
        with bounded_http.bounded(self._deadline) as deadline:
            try:
                response = self._session.request(
                    method,
                    self.base_url + path,
                    params=params,
                    json=json,
                    headers=headers,
                    timeout=self._timeout,
                    # always streamed: a body is read only under the size cap
                    stream=True,
                    # never followed: the contract has none, requests would resend a PUT's
                    # body to wherever a Location points, and a 2xx from there is no record
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException as exc:
                raise self._unavailable(exc, where, deadline) from exc
            log.debug("SIGRC %s → %d", where, response.status_code)
            status = response.status_code
            if 200 <= status < 300:
                if stream:
                    return response  # the caller reads it under its own deadline
                try:
                    response._content = bounded_http.read_body(
                        response, limit=self._max_bytes, deadline=deadline
                    )
                except bounded_http.ResponseTooLarge as exc:
                    raise _TooLarge(
                        f"SIGRC's answer to {where} is larger than the {exc.limit} bytes "
                        "allowed (SEI_BRIDGE_SIGRC_MAX_RESPONSE_BYTES)",
                        path="body",
                    ) from None
                except (
                    requests.exceptions.RequestException,
                    bounded_http.CallDeadlineExceeded,
                ) as exc:
                    raise self._unavailable(exc, where, deadline) from exc
                finally:
                    response.close()
                return response
            try:
                # only the start of an error answer is worth reading (its one-line erro)
                response._content = bounded_http.read_body(
                    response, limit=_ERROR_BODY_MAX, deadline=deadline
                )
            except (
                requests.exceptions.RequestException,
                bounded_http.ResponseTooLarge,
                bounded_http.CallDeadlineExceeded,
            ):
                response._content = b""
            try:
                self._raise_for(response, status, where, subject)
            finally:
                response.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def _unavailable(
        self, exc: BaseException, where: str, deadline: bounded_http.CallDeadline
    ) -> errors.SigrcError:
        """The error for a request that failed on the network (or past its deadline)."""
        if (
            deadline.fired
            or bounded_http.fired() is not None
            or isinstance(exc, bounded_http.CallDeadlineExceeded)
        ):
            return errors.SigrcUnavailable(
                f"SIGRC did not finish answering {where} within the {self._deadline:g} s call "
                "deadline (SEI_BRIDGE_SIGRC_CALL_DEADLINE); retry later"
            )
        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return errors.SigrcUnavailable(
                f"SIGRC did not accept a connection within {self._timeout[0]} s ({where}); "
                "retry later or check SEI_BRIDGE_SIGRC_URL"
            )
        if isinstance(exc, requests.exceptions.ReadTimeout):
            return errors.SigrcUnavailable(
                f"SIGRC did not answer {where} within {self._timeout[1]} s; retry later"
            )
        if isinstance(exc, requests.exceptions.InvalidURL | requests.exceptions.TooManyRedirects):
            return errors.SigrcEndpointError(
                f"{where} failed ({type(exc).__name__}): check SEI_BRIDGE_SIGRC_URL"
            )
        return errors.SigrcUnavailable(
            f"cannot reach SIGRC for {where} ({type(exc).__name__}); retry later"
        )

    def _raise_for(
        self, response: requests.Response, status: int, where: str, subject: str
    ) -> None:
        if 300 <= status < 400:
            elsewhere = _redirect_target(self.base_url, response.headers.get("Location"))
            raise errors.SigrcEndpointError(
                f"SIGRC answered {where} with a redirect (HTTP {status}) to {elsewhere}, which "
                "sei-bridge does not follow: nothing was done; set SEI_BRIDGE_SIGRC_URL to the "
                "feed API's own address"
            )
        if status in (429, 503):
            retry_after = _retry_after(response)
            after = "?" if retry_after is None else f"{retry_after:g}"
            message = f"SIGRC answered {status} to {where}; retry after {after} s"
            if retry_after is not None and retry_after > self._max_retry_after:
                raise errors.SigrcUnavailable(message, retry_after=retry_after)
            raise _Overloaded(message, status=status, retry_after=retry_after)
        if status == 401:
            raise errors.SigrcAuthError(
                "SIGRC refused the token (401): set SEI_BRIDGE_SIGRC_TOKEN to a valid token"
            )
        if status == 403:
            raise errors.SigrcAuthError(
                f"SIGRC refused {where} (403): the token lacks that permission; check "
                "SEI_BRIDGE_SIGRC_TOKEN and SEI_BRIDGE_SIGRC_ORGAO"
            )
        if status == 404 and "{protocolo}" in where:
            raise errors.SigrcNotFound(f"SIGRC has no {subject} (404)")
        if status in (404, 405):
            raise errors.SigrcEndpointError(
                f"SIGRC answered {status} to {where}: SEI_BRIDGE_SIGRC_URL does not point at "
                "the feed API (it ends in /sigrc)"
            )
        if status == 409:
            raise errors.SigrcConflict(
                f"SIGRC already holds a different SEI process for {subject} (409): compare "
                "them with `sei-bridge reconcile` and correct one by hand"
            )
        if status >= 500:
            raise errors.SigrcUnavailable(f"SIGRC failed {where} with HTTP {status}; retry later")
        raise errors.SigrcError(
            f"SIGRC rejected {where} with HTTP {status}{_erro(response, self._token)}"
        )

    @staticmethod
    def _json(response: requests.Response, where: str) -> Any:
        try:
            return _decode_json(response.content)
        except _NotJson as exc:
            raise errors.SigrcInvalidResponse(
                f"SIGRC answered {where} with a body that is not JSON ({exc}); check "
                "SEI_BRIDGE_SIGRC_URL or report it to the SIGRC team"
            ) from None
        finally:
            response.close()

    def _chunks(
        self, response: requests.Response, subject: str, deadline: bounded_http.CallDeadline
    ) -> Iterator[bytes]:
        try:
            yield from response.iter_content(chunk_size=attachments.CHUNK_SIZE)
        except requests.exceptions.RequestException as exc:
            if deadline.fired or bounded_http.fired() is not None:
                raise attachments.BodyBrokeOff(
                    f"the download of {subject} did not finish within the {self._deadline:g} s "
                    "call deadline (SEI_BRIDGE_SIGRC_CALL_DEADLINE)"
                ) from exc
            if _cut_short(exc):
                raise attachments.BodyCutShort(
                    f"the download of {subject} ended before its Content-Length"
                ) from exc
            raise attachments.BodyBrokeOff(
                f"the download of {subject} broke off ({type(exc).__name__})"
            ) from exc
        if deadline.fired:
            # a body delimited by the connection's close just "ends" when its socket is shut
            raise attachments.BodyBrokeOff(
                f"the download of {subject} did not finish within the {self._deadline:g} s "
                "call deadline (SEI_BRIDGE_SIGRC_CALL_DEADLINE)"
            )


def _cut_short(exc: BaseException) -> bool:
    """True when ``exc`` (requests' ChunkedEncodingError, ...) comes from a body that ended
    cleanly before its Content-Length (urllib3's IncompleteRead), not from a reset."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, http.client.IncompleteRead):
            return True
        stack.extend(arg for arg in current.args if isinstance(arg, BaseException))
        stack.extend(c for c in (current.__cause__, current.__context__) if c is not None)
    return False


def _wait_for_server(state: tenacity.RetryCallState) -> float:
    """The server's Retry-After, or a doubling fallback when it sent none."""
    exc = state.outcome.exception() if state.outcome is not None else None
    if isinstance(exc, errors.SigrcUnavailable) and exc.retry_after is not None:
        return exc.retry_after
    return float(_FALLBACK_RETRY_AFTER * 2 ** (state.attempt_number - 1))


def _redirect_target(base_url: str, location: str | None) -> str:
    """Where a redirect points, as a message may say it: never the URL itself (it may carry
    a token or a protocolo), only whether it is another host."""
    if not location:
        return "no Location"
    try:
        target = urllib.parse.urlsplit(urllib.parse.urljoin(base_url + "/", location))
        ours = urllib.parse.urlsplit(base_url)
    except ValueError:
        return "an invalid Location"
    if (target.hostname, target.port) != (ours.hostname, ours.port):
        return "another host"
    return "another path of the same host"


def _segment(value: str) -> str:
    """A path segment: protocolos and ids are opaque strings and may hold '/'."""
    return urllib.parse.quote(value, safe="")


def _template(path: str) -> str:
    """The path with its ids replaced by the contract's placeholders (for messages and logs)."""
    parts = path.split(" ", 1)
    prefix, rest = (parts[0] + " ", parts[1]) if len(parts) == 2 else ("", parts[0])
    segments = rest.split("/")
    if len(segments) > 3 and segments[1:3] == ["v1", "solicitacoes"]:
        segments[3] = "{protocolo}"
        if len(segments) > 5 and segments[4] == "anexos":
            segments[5] = "{id_anexo}"
    return prefix + "/".join(segments)
