"""The HTTP transport under zeep for SEI.

A :class:`zeep.transports.Transport` that

- serves the SOAP-ENC schema from the bundled copy, so loading SEI's WSDL never downloads it
  (zeep would fetch ``http://schemas.xmlsoap.org/soap/encoding/`` and fail offline);
- always sends with a (connect, read) timeout — zeep's own default is none at all — and
  under a total *call deadline* (connection, sending and the whole answer) with a cap on the
  answer's size (:mod:`sei_bridge.bounded_http`): the answer is streamed into memory, never
  more than the cap, and a server that trickles bytes cannot hold a worker past the deadline;
- never logs envelopes: they carry the credentials (IdentificacaoServico) and citizen content;
- refuses HTTP answers that cannot be SEI's SOAP answer (anything but 200 and 500) before zeep
  tries to parse them, as :class:`zeep.exceptions.TransportError` with the status code, so that
  :mod:`sei_bridge.sei.faults` can classify them;
- re-encodes a response declared in another charset (ISO-8859-1 from older SEI installations)
  to UTF-8, because the charset in the HTTP header wins over the XML declaration (RFC 7303).

Translating errors into :mod:`sei_bridge.errors` is not done here but in ``faults.py``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any
from urllib.parse import urlsplit

import requests
import zeep.exceptions
import zeep.transports

from sei_bridge import __version__, bounded_http, config
from sei_bridge.sei import wsdl as bundled

__all__ = ["SeiTransport"]

log = logging.getLogger(__name__)

#: HTTP statuses SEI's web service answers with: 200 (result) and 500 (SOAP fault).
SOAP_STATUSES = frozenset({200, 500})

_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._:-]+)\"?", re.IGNORECASE)


def _is_soap_encoding(url: str) -> bool:
    parts = urlsplit(url)
    if parts.netloc != "schemas.xmlsoap.org":
        return False
    return parts.path.rstrip("/") == "/soap/encoding"


def declared_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, lower case, if any."""
    if not content_type:
        return None
    match = _CHARSET.search(content_type)
    return match.group(1).lower() if match else None


def reencode_as_utf8(body: bytes, charset: str) -> bytes:
    """``body`` (XML in ``charset``) as UTF-8 without its XML declaration.

    Raises ``LookupError`` for an unknown charset and ``UnicodeDecodeError`` for bytes that are
    not in it; the caller treats both as an unreadable answer.
    """
    text = _XML_DECLARATION.sub(b"", body, count=1).decode(charset)
    return text.encode("utf-8")


class SeiTransport(zeep.transports.Transport):
    """zeep transport with SEI's timeouts, the bundled SOAP-ENC schema and no envelope logging.

    ``connect_timeout`` bounds establishing the connection; ``read_timeout`` bounds each wait
    for bytes of the answer (requests' semantics); ``call_deadline`` bounds the whole call
    (connect, send, every byte of the answer) and ``max_response_bytes`` the answer's size, for
    WSDL loads and for operations alike. Past the deadline a call raises
    :class:`~sei_bridge.bounded_http.CallDeadlineExceeded` (``sent`` tells whether SEI may have
    received the request), and an answer over the cap
    :class:`~sei_bridge.bounded_http.ResponseTooLarge`; ``faults.translate`` classifies both.
    """

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        call_deadline: float = config.DEFAULT_SEI_CALL_DEADLINE,
        max_response_bytes: int = config.DEFAULT_SEI_MAX_RESPONSE_BYTES,
        session: requests.Session | None = None,
    ) -> None:
        if connect_timeout <= 0 or read_timeout <= 0:
            raise ValueError("SEI timeouts must be positive seconds")
        if not call_deadline > 0 or max_response_bytes < 1:
            raise ValueError("the SEI call deadline and response cap must be positive")
        timeouts = (connect_timeout, read_timeout)
        super().__init__(  # type: ignore[no-untyped-call]
            timeout=timeouts, operation_timeout=timeouts, session=session
        )
        self.call_deadline = float(call_deadline)
        self.max_response_bytes = int(max_response_bytes)
        bounded_http.install(self.session)
        self.session.headers["User-Agent"] = f"sei-bridge/{__version__}"
        # zeep's logger would print whole envelopes at DEBUG; ours never does, but keep zeep's
        # quiet too in case anything else of zeep's logs through it.
        logging.getLogger("zeep.transports").setLevel(logging.WARNING)

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds used for every request."""
        connect, read = self.operation_timeout
        return float(connect), float(read)

    def load(self, url: str) -> bytes:
        """Load a WSDL or schema document; the SOAP-ENC schema always from the bundled copy."""
        if _is_soap_encoding(url):
            return bundled.soap_encoding_path().read_bytes()
        content: bytes = super().load(url)  # type: ignore[no-untyped-call]
        return content

    def _load_remote_data(self, url: str) -> bytes:
        # Same as zeep's, minus its debug log line (the URL may carry a query we do not echo),
        # bounded like every call.
        with bounded_http.bounded(self.call_deadline) as deadline:
            response = bounded_http.send(
                lambda: self.session.get(url, timeout=self.load_timeout, stream=True)
            )
            try:
                response.raise_for_status()
                return bounded_http.read_body(
                    response, limit=self.max_response_bytes, deadline=deadline
                )
            finally:
                response.close()

    def post(self, address: str, message: bytes | str, headers: dict[str, str]) -> Any:
        """POST one envelope; return the response when it can be SEI's SOAP answer."""
        started = time.monotonic()
        with bounded_http.bounded(self.call_deadline) as deadline:
            response = bounded_http.send(
                lambda: self.session.post(
                    address,
                    data=message,
                    headers=headers,
                    timeout=self.operation_timeout,
                    # A redirected POST becomes a GET in requests; SEI's endpoint never
                    # redirects.
                    allow_redirects=False,
                    stream=True,
                )
            )
            try:
                if response.status_code not in SOAP_STATUSES:
                    # Not SEI's answer (a proxy, an overloaded front end, a wrong URL): never
                    # read it, never hand it to zeep, whose error would quote the body.
                    raise zeep.exceptions.TransportError(  # type: ignore[no-untyped-call]
                        f"HTTP {response.status_code}", status_code=response.status_code
                    )
                body = bounded_http.read_body(
                    response, limit=self.max_response_bytes, deadline=deadline
                )
            finally:
                response.close()
        response._content = body
        log.debug(
            "SEI answered HTTP %d in %.3fs (%d bytes)",
            response.status_code,
            time.monotonic() - started,
            len(body),
        )
        charset = declared_charset(response.headers.get("Content-Type"))
        if charset:
            try:
                response._content = reencode_as_utf8(body, charset)
            except (LookupError, UnicodeDecodeError) as exc:
                raise zeep.exceptions.TransportError(  # type: ignore[no-untyped-call]
                    f"answer not readable as declared charset {charset}",
                    status_code=response.status_code,
                ) from exc
            response.headers["Content-Type"] = "text/xml; charset=utf-8"
        return response
