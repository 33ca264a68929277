"""Make zeep's rpc/encoded requests look like PHP SoapClient's, which is what SEI expects.

zeep renders an rpc/encoded body as plain literal XML: no ``SOAP-ENV:encodingStyle``, no
``xsi:type``, array members named after their type and empty arrays impossible (zeep only
accepts ``Nil`` for them). SEI runs on PHP ext/soap, whose decoder falls back on the WSDL when
type information is missing, but a careful client sends what PHP itself sends (compare the
recorded ``*.request.xml`` of a real SEI 4.1.0):

- the envelope declares ``SOAP-ENV``, ``ns1`` (the service namespace), ``xsd``, ``xsi`` and
  ``SOAP-ENC`` and carries ``SOAP-ENV:encodingStyle``;
- every element has ``xsi:type`` (``xsd:string``, ``ns1:Procedimento``, ``ns1:ArrayOfX``), except
  nil ones, which carry only ``xsi:nil="true"``;
- arrays carry ``SOAP-ENC:arrayType="ns1:X[n]"`` (or ``xsd:string[n]``) and ``<item>`` members;
- an array passed as ``Nil`` goes out as an empty array (``X[0]``), as PHP sends ``array()``.

:class:`PhpSoapEncoding` is a zeep egress plugin doing that rewrite from the loaded WSDL's types,
so it follows whichever WSDL (4.1, 3.0, the server's own) the client loaded.
"""

from __future__ import annotations

from typing import Any

import zeep
import zeep.xsd
from lxml import etree

__all__ = ["PhpSoapEncoding", "encode_envelope", "is_array_type"]

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
XSD = "http://www.w3.org/2001/XMLSchema"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

_XSI_TYPE = f"{{{XSI}}}type"
_XSI_NIL = f"{{{XSI}}}nil"
_ARRAY_TYPE = f"{{{SOAP_ENC}}}arrayType"
_ENCODING_STYLE = f"{{{SOAP_ENV}}}encodingStyle"


#: Fallback type for elements the WSDL does not describe.
_STRING: Any = zeep.xsd.String()  # type: ignore[no-untyped-call]


def is_array_type(xsd_type: Any) -> bool:
    """True for a ``SOAP-ENC:Array`` restriction (``ArrayOfX``) of the loaded WSDL."""
    return getattr(xsd_type, "_array_type", None) is not None


def _array_item_type(xsd_type: Any) -> Any:
    # zeep models the members as one xsd:any restricted to the wsdl:arrayType's item type.
    for _name, element in getattr(xsd_type, "elements", []):
        restrict = getattr(element, "restrict", None)
        if restrict is not None:
            return restrict
    return _STRING


def _element_types(xsd_type: Any) -> dict[str, Any]:
    return {element.name: element.type for _name, element in getattr(xsd_type, "elements", [])}


class _Encoder:
    def __init__(self, service_namespace: str) -> None:
        self.service_namespace = service_namespace

    def type_name(self, xsd_type: Any) -> str:
        qname = getattr(xsd_type, "qname", None)
        if qname is None:
            return "xsd:string"
        qname = etree.QName(qname)
        if qname.namespace == XSD:
            return f"xsd:{qname.localname}"
        if qname.namespace == self.service_namespace:
            return f"ns1:{qname.localname}"
        return f"xsd:{qname.localname}"

    def encode(
        self, source: etree._Element, parent: etree._Element, tag: str, xsd_type: Any
    ) -> None:
        target = etree.SubElement(parent, tag)
        nil = source.get(_XSI_NIL) in ("true", "1")
        if is_array_type(xsd_type):
            item_type = _array_item_type(xsd_type)
            members = [] if nil else list(source)
            target.set(_ARRAY_TYPE, f"{self.type_name(item_type)}[{len(members)}]")
            target.set(_XSI_TYPE, self.type_name(xsd_type))
            for member in members:
                self.encode(member, target, "item", item_type)
            return
        if nil:
            target.set(_XSI_NIL, "true")
            return
        children = _element_types(xsd_type)
        if children:
            target.set(_XSI_TYPE, self.type_name(xsd_type))
            for child in source:
                name = etree.QName(child).localname
                self.encode(child, target, name, children.get(name, _STRING))
            return
        target.set(_XSI_TYPE, self.type_name(xsd_type))
        target.text = source.text


def encode_envelope(envelope: etree._Element, operation: Any) -> etree._Element:
    """A new envelope with the body of ``envelope`` re-encoded the way PHP SoapClient does.

    ``operation`` is zeep's binding operation (its input message gives the parts' types).
    """
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) == 0:
        return envelope
    call = body[0]
    service_namespace = etree.QName(call).namespace or ""
    nsmap = {
        "SOAP-ENV": SOAP_ENV,
        "ns1": service_namespace,
        "xsd": XSD,
        "xsi": XSI,
        "SOAP-ENC": SOAP_ENC,
    }
    new_envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap=nsmap)
    new_envelope.set(_ENCODING_STYLE, SOAP_ENC)
    header = envelope.find(f"{{{SOAP_ENV}}}Header")
    if header is not None and len(header):
        new_envelope.append(header)
    new_body = etree.SubElement(new_envelope, f"{{{SOAP_ENV}}}Body")
    new_call = etree.SubElement(new_body, call.tag)
    part_types = _element_types(operation.input.body.type)
    encoder = _Encoder(service_namespace)
    for part in call:
        name = etree.QName(part).localname
        encoder.encode(part, new_call, name, part_types.get(name, _STRING))
    return new_envelope


class PhpSoapEncoding(zeep.Plugin):
    """zeep egress plugin: re-encode every request like PHP SoapClient (see module doc)."""

    def egress(
        self,
        envelope: etree._Element,
        http_headers: dict[str, str],
        operation: Any,
        binding_options: Any,
    ) -> tuple[etree._Element, dict[str, str]]:
        return encode_envelope(envelope, operation), http_headers
