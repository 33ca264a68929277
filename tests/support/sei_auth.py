"""What the authentication cases (tests/contract/test_auth.py, on the sandbox and on a real SEI)
use: a raw SOAP call that shows SEI's fault text and ``infra_tipo_excecao`` exactly as sent, and
the check that a secret leaked nowhere."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pytest
import requests
from lxml import etree

from sei_bridge.sei.client import SeiClient

SOAP_HEADERS = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": "SeiAction"}
_NIL = '<{0} xsi:nil="true"/>'


@dataclass(frozen=True)
class RawAnswer:
    status: int
    fault: str | None
    kind: str | None
    body: bytes


def _xml(name: str, value: object) -> str:
    if value is None:
        return _NIL.format(name)
    if isinstance(value, Mapping):
        return f"<{name}>{''.join(_xml(k, v) for k, v in value.items())}</{name}>"
    if isinstance(value, list):
        return f"<{name}>{''.join(_xml('item', v) for v in value)}</{name}>"
    return f"<{name}>{escape(str(value))}</{name}>"


def raw_call(
    endpoint: str,
    operation: str,
    sigla: str,
    identificacao: str,
    parts: Mapping[str, object] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> RawAnswer:
    """POST one call built by hand (what the client would refuse to send, such as sigiloso, or
    a header it never sends); SEI's fault text and kind as they came."""
    body = _xml("SiglaSistema", sigla) + _xml("IdentificacaoServico", identificacao)
    body += "".join(_xml(k, v) for k, v in (parts or {}).items())
    envelope = (
        '<?xml version="1.0" encoding="UTF-8"?><S:Envelope '
        'xmlns:S="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:ns1="Sei">'
        f"<S:Body><ns1:{operation}>{body}</ns1:{operation}></S:Body></S:Envelope>"
    ).encode()
    answer = requests.post(
        endpoint, data=envelope, headers={**SOAP_HEADERS, **(headers or {})}, timeout=60
    )
    fault = kind = None
    if answer.status_code == 500:
        root = etree.fromstring(answer.content)
        fault = root.findtext(".//faultstring")
        for item in root.iter("item"):
            if item.findtext("key") == "infra_tipo_excecao":
                kind = item.findtext("value")
    return RawAnswer(answer.status_code, fault, kind, answer.content)


def assert_secret_nowhere(
    secret: str,
    *,
    client: SeiClient,
    exc: BaseException | None = None,
    caplog: pytest.LogCaptureFixture | None = None,
) -> None:
    """``secret`` (a Chave de Acesso) in no repr, no exception text (the whole chain, as a
    logged traceback prints it) and no log record; nor its secret part (after the 8 characters
    that name the serviço)."""
    pieces = [repr(client), repr(client.soap), repr(client.transport)]
    if exc is not None:
        pieces += [str(exc), repr(exc), str(getattr(exc, "fault", ""))]
        pieces += traceback.format_exception(exc)
    if caplog is not None:
        for record in caplog.records:
            pieces.append(record.getMessage())
            if record.exc_info:
                pieces += traceback.format_exception(*record.exc_info)
    shown = "\n".join(pieces)
    assert secret not in shown
    assert secret[8:] not in shown


def debug_logging(caplog: pytest.LogCaptureFixture) -> None:
    """Capture every logger at DEBUG, as an operator debugging a problem would run."""
    caplog.set_level(logging.DEBUG)
