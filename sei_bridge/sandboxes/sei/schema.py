"""What the sandbox needs from the WSDL it serves: operations with their parts, and the types.

PHP's SOAP server decodes a request by ``xsi:type`` when the client sent it and falls back on
the WSDL otherwise; the sandbox does the same with this schema, and renders each answer
with the fields the served WSDL's type has (a 3.0 WSDL has fewer than 4.1). It also rewrites
``soap:address`` so the served WSDL points at the sandbox itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

__all__ = ["ARRAY", "SIMPLE", "STRUCT", "Schema", "TypeDef", "load_schema", "rewrite_address"]

_WSDL = "http://schemas.xmlsoap.org/wsdl/"
_XSD = "http://www.w3.org/2001/XMLSchema"
_NS = {"wsdl": _WSDL, "xsd": _XSD}
_ARRAY_TYPE = f"{{{_WSDL}}}arrayType"

STRUCT = "struct"
ARRAY = "array"
SIMPLE = "simple"

_ADDRESS = re.compile(rb'(<(?:\w+:)?address\b[^>]*\blocation=")([^"]*)(")')


@dataclass(frozen=True, slots=True)
class TypeDef:
    """A named type of the WSDL: a struct (fields in order), an array (item type) or simple."""

    name: str
    kind: str
    fields: tuple[tuple[str, str], ...] = ()  #: (element name, local type name) for structs
    item: str = "string"  #: local type name of the members, for arrays

    def field_type(self, name: str) -> str | None:
        for field_name, type_name in self.fields:
            if field_name == name:
                return type_name
        return None

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(name for name, _ in self.fields)


_STRING = TypeDef("string", SIMPLE)


@dataclass(frozen=True)
class Schema:
    """Operations (name → input parts in order) and types (local name → definition)."""

    operations: dict[str, tuple[tuple[str, str], ...]]
    types: dict[str, TypeDef]
    namespace: str

    def type(self, name: str | None) -> TypeDef:
        if not name:
            return _STRING
        return self.types.get(name, _STRING)

    def has_part(self, operation: str, part: str) -> bool:
        return any(name == part for name, _ in self.operations.get(operation, ()))


def _local(qname: str | None) -> str:
    if not qname:
        return "string"
    return qname.rpartition(":")[2]


def _complex_type(element: etree._Element) -> TypeDef:
    name = element.get("name", "")
    restriction = element.find(".//xsd:restriction", _NS)
    if restriction is not None and _local(restriction.get("base")) == "Array":
        attribute = restriction.find("xsd:attribute", _NS)
        array_type = attribute.get(_ARRAY_TYPE, "") if attribute is not None else ""
        return TypeDef(name, ARRAY, item=_local(array_type.removesuffix("[]")))
    fields = tuple(
        (child.get("name", ""), _local(child.get("type")))
        for child in element.iterfind(".//xsd:element", _NS)
        if child.get("name")
    )
    return TypeDef(name, STRUCT, fields=fields)


def load_schema(wsdl: bytes) -> Schema:
    """The schema of a SEI WSDL (rpc/encoded: message parts carry types)."""
    root = etree.fromstring(wsdl, etree.XMLParser(resolve_entities=False, no_network=True))
    types = {
        t.name: t for t in (_complex_type(e) for e in root.iterfind(".//xsd:complexType", _NS))
    }
    messages = {
        message.get("name", ""): tuple(
            (part.get("name", ""), _local(part.get("type")))
            for part in message
            if isinstance(part.tag, str) and etree.QName(part).localname == "part"
        )
        for message in root.iterfind("wsdl:message", _NS)
    }
    operations: dict[str, tuple[tuple[str, str], ...]] = {}
    for port_type in root.iterfind("wsdl:portType", _NS):
        for operation in port_type.iterfind("wsdl:operation", _NS):
            entry = operation.find("wsdl:input", _NS)
            message = _local(entry.get("message")) if entry is not None else ""
            operations[operation.get("name", "")] = messages.get(message, ())
    return Schema(operations=operations, types=types, namespace=root.get("targetNamespace", ""))


def read_wsdl(path: Path) -> bytes:
    """The bytes of a WSDL file (kept apart so the caller names the file in its error)."""
    return path.read_bytes()


def rewrite_address(wsdl: bytes, endpoint_url: str) -> bytes:
    """``wsdl`` with every ``soap:address location`` replaced by ``endpoint_url``."""
    location = endpoint_url.replace("&", "&amp;").replace('"', "&quot;").encode("utf-8")
    return _ADDRESS.sub(lambda m: m.group(1) + location + m.group(3), wsdl)
