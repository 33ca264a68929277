"""SOAP 1.1 rpc/encoded the way SEI's PHP server speaks it: requests in, responses and faults out.

Requests are decoded by element names, like PHP's decoder falling back on the WSDL: ``xsi:type``
and ``SOAP-ENC:arrayType`` are honoured when present and not required, array members may be
``<item>`` or anything else, nil is ``xsi:nil="true"``. A value is ``None`` (nil or absent),
a ``str``, a ``dict`` (struct, by element name) or a ``list`` (array). UTF-8 and ISO-8859-1
bodies are both read (the XML declaration, else the Content-Type charset).

Responses are written as text, byte for byte like the recorded answers of a real SEI 4.1.0:
namespace declarations in PHP's order, ``xsi:type`` on every element, arrays with
``SOAP-ENC:arrayType`` and ``<item>`` members, nil simple values as ``<X xsi:nil="true"/>`` and
nil structures with their type, faults with ``SOAP-ENV:Client`` and SEI's
``infra_tipo_excecao`` detail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from sei_bridge.sandboxes.sei.schema import ARRAY, STRUCT, Schema

__all__ = [
    "CLIENT",
    "SERVER",
    "Array",
    "Nil",
    "SoapCall",
    "SoapRequestError",
    "Struct",
    "Value",
    "parse_call",
    "render_fault",
    "render_response",
]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XMIME = "http://www.w3.org/2005/05/xmlmime"

#: faultcode of a request SEI refused; of a failure of the SOAP layer itself.
CLIENT = "SOAP-ENV:Client"
SERVER = "SOAP-ENV:Server"

_XSI_NIL = f"{{{XSI}}}nil"
_XSI_TYPE = f"{{{XSI}}}type"
_ARRAY_TYPE = f"{{{SOAP_ENC}}}arrayType"
_ENVELOPE = f"{{{SOAP_ENV}}}Envelope"
_BODY = f"{{{SOAP_ENV}}}Body"
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)[\"']")
_CHARSET = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9._-]+)", re.IGNORECASE)


class SoapRequestError(Exception):
    """The request is not a SOAP 1.1 call PHP would accept (PHP answers "Bad Request")."""


@dataclass(frozen=True, slots=True)
class SoapCall:
    """A decoded call: the operation and its parts by name (absent parts are missing)."""

    operation: str
    params: dict[str, Any]

    def text(self, name: str) -> str | None:
        """Part ``name`` as a string; None when absent, nil or empty (PHP's "não informado")."""
        value = self.params.get(name)
        return value if isinstance(value, str) and value != "" else None


def _parser(encoding: str | None) -> etree.XMLParser:
    # huge_tree: a 50 MB document travels as one base64 text node, beyond libxml2's 10 MB cap.
    return etree.XMLParser(
        encoding=encoding,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=True,
        remove_comments=True,
    )


def _decode(element: etree._Element, type_name: str | None, schema: Schema) -> Any:
    if element.get(_XSI_NIL) in ("true", "1"):
        return None
    given = element.get(_XSI_TYPE)
    if given and not given.startswith(("xsd:", "xs:")) and ":" in given:
        type_name = given.rpartition(":")[2]
    definition = schema.type(type_name)
    children = [child for child in element if isinstance(child.tag, str)]
    if definition.kind == ARRAY or element.get(_ARRAY_TYPE) is not None:
        return [_decode(child, definition.item, schema) for child in children]
    if definition.kind == STRUCT or children:
        return {
            etree.QName(child).localname: _decode(
                child, definition.field_type(etree.QName(child).localname), schema
            )
            for child in children
        }
    return element.text or ""


def parse_call(body: bytes, schema: Schema, *, content_type: str | None = None) -> SoapCall:
    """Decode a SOAP request ``body`` against ``schema`` (the served WSDL).

    Raises :class:`SoapRequestError` for anything that is not a SOAP 1.1 envelope with a call.
    """
    encoding = None
    if not _DECLARED_ENCODING.match(body[:200]):
        match = _CHARSET.search(content_type or "")
        encoding = match.group(1) if match else None
    try:
        root = etree.fromstring(body, _parser(encoding))
    except (etree.XMLSyntaxError, LookupError, ValueError) as exc:
        raise SoapRequestError("request body is not well-formed XML") from exc
    if root.tag != _ENVELOPE:
        raise SoapRequestError("request is not a SOAP 1.1 envelope")
    soap_body = root.find(_BODY)
    calls = [c for c in soap_body if isinstance(c.tag, str)] if soap_body is not None else []
    if not calls:
        raise SoapRequestError("SOAP body holds no call")
    call = calls[0]
    operation = etree.QName(call).localname
    parts = dict(schema.operations.get(operation, ()))
    params = {
        etree.QName(part).localname: _decode(part, parts.get(etree.QName(part).localname), schema)
        for part in call
        if isinstance(part.tag, str)
    }
    return SoapCall(operation=operation, params=params)


# --- responses --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Struct:
    """A structure of WSDL type ``type``; fields are rendered in the order given."""

    type: str
    fields: tuple[tuple[str, Value], ...]


@dataclass(frozen=True, slots=True)
class Array:
    """A ``SOAP-ENC:Array`` of WSDL type ``type`` (``ArrayOfX``) whose members are ``item``
    (a WSDL type, or ``string``)."""

    type: str
    item: str
    items: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Nil:
    """A nil value; ``type`` names the WSDL type of a nil structure (SEI writes it)."""

    type: str | None = None


Value = str | Struct | Array | Nil


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    return text


def _qualified(type_name: str) -> str:
    return "xsd:string" if type_name == "string" else f"ns1:{type_name}"


def _write(out: list[str], name: str, value: Value, schema: Schema) -> None:
    if isinstance(value, str):
        if value:
            out.append(f'<{name} xsi:type="xsd:string">{_escape(value)}</{name}>')
        else:
            out.append(f'<{name} xsi:type="xsd:string"/>')
    elif isinstance(value, Struct):
        out.append(f'<{name} xsi:type="ns1:{value.type}">')
        known = schema.types.get(value.type)
        allowed = known.field_names if known is not None and known.fields else None
        for field_name, field_value in value.fields:
            if allowed is None or field_name in allowed:
                _write(out, field_name, field_value, schema)
        out.append(f"</{name}>")
    elif isinstance(value, Array):
        head = (
            f'<{name} SOAP-ENC:arrayType="{_qualified(value.item)}[{len(value.items)}]" '
            f'xsi:type="ns1:{value.type}"'
        )
        if not value.items:
            out.append(head + "/>")
            return
        out.append(head + ">")
        for item in value.items:
            _write(out, "item", item, schema)
        out.append(f"</{name}>")
    elif value.type:
        out.append(f'<{name} xsi:nil="true" xsi:type="ns1:{value.type}"/>')
    else:
        out.append(f'<{name} xsi:nil="true"/>')


def _declaration(encoding: str) -> str:
    return f'<?xml version="1.0" encoding="{"UTF-8" if encoding == "utf-8" else "ISO-8859-1"}"?>\n'


def _encode(text: str, encoding: str) -> bytes:
    if encoding == "utf-8":
        return text.encode("utf-8", "surrogatepass")
    return text.encode("iso-8859-1", "xmlcharrefreplace")


def render_response(
    operation: str, value: Value, *, schema: Schema, encoding: str = "utf-8"
) -> bytes:
    """The body of SEI's answer to ``operation`` carrying ``value`` as ``parametros``."""
    namespace = _escape(schema.namespace).replace('"', "&quot;")
    # PHP declares namespaces in the order it first meets them: an array answer meets
    # SOAP-ENC (arrayType) before xsd/xsi.
    if isinstance(value, Array):
        declarations = (
            f'xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{namespace}" xmlns:SOAP-ENC="{SOAP_ENC}" '
            f'xmlns:xsd="{XSD}" xmlns:xsi="{XSI}" xmlns:xmime="{XMIME}"'
        )
    else:
        declarations = (
            f'xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:ns1="{namespace}" xmlns:xsd="{XSD}" '
            f'xmlns:xsi="{XSI}" xmlns:SOAP-ENC="{SOAP_ENC}" xmlns:xmime="{XMIME}"'
        )
    out = [
        _declaration(encoding),
        f'<SOAP-ENV:Envelope {declarations} SOAP-ENV:encodingStyle="{SOAP_ENC}">',
        f"<SOAP-ENV:Body><ns1:{operation}Response>",
    ]
    _write(out, "parametros", value, schema)
    out.append(f"</ns1:{operation}Response></SOAP-ENV:Body></SOAP-ENV:Envelope>\n")
    return _encode("".join(out), encoding)


def render_fault(
    faultstring: str, *, code: str = CLIENT, kind: str | None = None, encoding: str = "utf-8"
) -> bytes:
    """A SOAP fault like SEI's: ``kind`` (``INFRA_VALIDACAO``/``INFRA_ERRO``) goes in the
    detail as SEI's key/value item; PHP's own faults (``code`` Server) carry no detail."""
    detail = (
        f"<detail><item><key>infra_tipo_excecao</key><value>{_escape(kind)}</value></item></detail>"
        if kind
        else ""
    )
    text = (
        f"{_declaration(encoding)}"
        f'<SOAP-ENV:Envelope xmlns:SOAP-ENV="{SOAP_ENV}" xmlns:xmime="{XMIME}"><SOAP-ENV:Body>'
        f"<SOAP-ENV:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{_escape(faultstring)}</faultstring>{detail}</SOAP-ENV:Fault>"
        "</SOAP-ENV:Body></SOAP-ENV:Envelope>\n"
    )
    return _encode(text, encoding)
