"""The recorded exchanges with a real SEI 4.1.0 (tests/data/real-sei-4.1.0)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from lxml import etree

RECORDINGS = "real-sei-4.1.0"
ENDPOINT = "http://127.0.0.1:9/sei/ws/SeiWS.php"
SIGLA = "ADAPTER"
IDENTIFICACAO = "ADAPTER_WS"
UNIDADE = "110000001"
PROCESSO = "99990.000001/2026-53"


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers["Content-Type"]


def read_request(reference_dir: str, name: str) -> bytes:
    path = os.path.join(reference_dir, RECORDINGS, f"{name}.request.xml")
    with open(path, "rb") as fh:
        return fh.read()


def read_response(reference_dir: str, name: str) -> Response:
    path = os.path.join(reference_dir, RECORDINGS, f"{name}.response.xml")
    with open(path, "rb") as fh:
        raw = fh.read().replace(b"\r\n", b"\n")
    head, body = raw.split(b"\n\n", 1)
    lines = head.decode("ascii").split("\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    return Response(status=status, headers=headers, body=body.strip())


_QNAME_VALUED = {
    "{http://www.w3.org/2001/XMLSchema-instance}type",
    "{http://schemas.xmlsoap.org/soap/encoding/}arrayType",
}


def _resolve(value: str, nsmap: dict[str | None, str]) -> str:
    prefix, _, local = value.rpartition(":")
    return f"{{{nsmap.get(prefix or None, '')}}}{local}" if prefix else value


def _shape(element: etree._Element) -> tuple[object, ...]:
    attributes = tuple(
        sorted(
            (name, _resolve(value, element.nsmap) if name in _QNAME_VALUED else value)
            for name, value in element.attrib.items()
        )
    )
    text = (element.text or "").strip() if len(element) else element.text or ""
    return (element.tag, attributes, text, tuple(_shape(child) for child in element))


def canonical(xml: bytes) -> tuple[object, ...]:
    """A comparable form of an envelope: element names, attributes (QName values such as
    ``xsi:type`` resolved), text and order; the root's namespace declarations too.

    (C14N would do, but libxml2 refuses SEI's relative namespace URI "Sei".)
    """
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True))
    return (tuple(sorted((k or "", v) for k, v in root.nsmap.items())), _shape(root))
