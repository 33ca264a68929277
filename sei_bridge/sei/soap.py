"""One SEI WSDL loaded with zeep, bound to the configured endpoint, and the raw call.

:class:`SoapService` is the only object that touches zeep's client: it loads the WSDL (on first
use, once, thread-safely), binds its operations to ``endpoint_url`` whatever address the WSDL
names, builds values of the WSDL's types, and runs an operation with every input part filled —
``Nil`` for those not given, nothing for those this WSDL does not have — inside
:func:`sei_bridge.sei.faults.translate`. The typed API above it is :mod:`sei_bridge.sei.client`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
import zeep
import zeep.exceptions
import zeep.xsd
import zeep.xsd.valueobjects
from lxml import etree

from sei_bridge import bounded_http, chars, errors
from sei_bridge.sei import encoding, faults
from sei_bridge.sei import wsdl as bundled
from sei_bridge.sei.transport import SeiTransport

__all__ = ["Nil", "SoapService"]

log = logging.getLogger(__name__)

#: The value for a part or element sent as ``xsi:nil`` (an empty array for array types).
Nil: Any = zeep.xsd.Nil

_HINT = "set SEI_BRIDGE_SEI_WSDL to the server's WSDL URL or unset it for the bundled one"


@dataclass(frozen=True)
class _Loaded:
    client: Any  # zeep.Client
    service: Any  # zeep ServiceProxy bound to endpoint_url
    parts: Mapping[str, tuple[str, ...]]  # operation → its input part names, in order
    namespace: str  # the WSDL's target namespace ("Sei")


class SoapService:
    """SEI's web service as described by one WSDL (a URL or a path), called at ``endpoint_url``.

    ``credentials`` (SiglaSistema, IdentificacaoServico) are added to every call that has those
    parts; they are never logged. ``secrets``: other values of ours (the SIGRC token) that,
    like the IdentificacaoServico, must never come back out in a fault SEI echoes them in.
    """

    def __init__(
        self,
        *,
        endpoint_url: str,
        wsdl: str,
        transport: SeiTransport,
        credentials: Mapping[str, str],
        secrets: Sequence[str] = (),
    ) -> None:
        self.endpoint_url = endpoint_url
        self.wsdl = wsdl
        self._transport = transport
        self._credentials = dict(credentials)
        self._secrets = (
            *(value for name, value in credentials.items() if name == "IdentificacaoServico"),
            *secrets,
        )
        self._lock = threading.Lock()
        self._loaded: _Loaded | None = None

    def __repr__(self) -> str:
        return (
            f"SoapService(endpoint_url={bundled.redact_url(self.endpoint_url)!r}, "
            f"wsdl={bundled.redact_url(self.wsdl)!r})"
        )

    @property
    def operations(self) -> frozenset[str]:
        """Operations of the WSDL (loading it if needed)."""
        return frozenset(self._load().parts)

    def _load(self) -> _Loaded:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._read_wsdl()
            return self._loaded

    def _read_wsdl(self) -> _Loaded:
        shown = bundled.redact_url(self.wsdl)
        try:
            client = zeep.Client(  # type: ignore[no-untyped-call]
                self.wsdl,
                transport=self._transport,
                plugins=[encoding.PhpSoapEncoding()],
                settings=zeep.Settings(strict=True, forbid_dtd=True),
            )
            binding_name = next(iter(client.wsdl.bindings))
            service = client.create_service(  # type: ignore[no-untyped-call]
                binding_name, self.endpoint_url
            )
            parts = {
                name: tuple(element.name for _n, element in operation.input.body.type.elements)
                for name, operation in service._binding.all().items()
            }
            namespace = etree.QName(binding_name).namespace or ""
        except (
            requests.RequestException,
            OSError,
            bounded_http.CallDeadlineExceeded,
            bounded_http.ResponseTooLarge,
        ) as exc:
            raise errors.SeiEndpointError(
                f"cannot load the SEI WSDL from {shown} ({type(exc).__name__}): {_HINT}"
            ) from exc
        except (
            zeep.exceptions.Error,
            etree.LxmlError,
            StopIteration,
            AttributeError,
            KeyError,
            ValueError,
            NotImplementedError,
        ) as exc:
            raise errors.SeiEndpointError(
                f"{shown} is not a usable SEI WSDL ({type(exc).__name__}): {_HINT}"
            ) from exc
        log.info("SEI WSDL loaded from %s: %d operations", shown, len(parts))
        return _Loaded(client=client, service=service, parts=parts, namespace=namespace)

    def has_element(self, type_name: str, element: str) -> bool:
        """True when WSDL type ``type_name`` has an element called ``element``."""
        xsd_type = self._type(type_name)
        return any(el.name == element for _n, el in xsd_type.elements)

    def _type(self, name: str) -> Any:
        loaded = self._load()
        return loaded.client.get_type(f"{{{loaded.namespace}}}{name}")

    def struct(self, type_name: str, fields: Mapping[str, Any]) -> Any:
        """A value of WSDL type ``type_name``; fields the type lacks and None values omitted."""
        xsd_type = self._type(type_name)
        known = {element.name for _n, element in xsd_type.elements}
        return xsd_type(**{k: v for k, v in fields.items() if k in known and v is not None})

    def array(self, type_name: str, items: Sequence[Any]) -> Any:
        """A value of array type ``type_name``; Nil (sent as ``X[0]``) when ``items`` is empty,
        because zeep cannot render an empty array."""
        return self._type(type_name)(list(items)) if items else Nil

    def call(self, operation: str, values: Mapping[str, Any]) -> Any:
        """Run ``operation`` with ``values`` by part name; None values go as Nil.

        Every failure leaves as a :mod:`sei_bridge.errors` exception carrying ``operation``.
        """
        with faults.translate(operation, secrets=self._secrets):
            try:
                loaded = self._load()
            except errors.SeiEndpointError as exc:
                exc.operation = exc.operation or operation
                raise
            names = loaded.parts.get(operation)
            if names is None:
                raise errors.SeiEndpointError(
                    f"the SEI WSDL in use has no operation {operation}: set SEI_BRIDGE_SEI_WSDL "
                    "to the server's own WSDL",
                    operation=operation,
                )
            given = {**self._credentials, **values}
            kwargs = {name: Nil if given.get(name) is None else given[name] for name in names}
            _refuse_unencodable(operation, kwargs)
            started = time.monotonic()
            try:
                result = getattr(loaded.service, operation)(**kwargs)
            except ValueError as exc:
                # lxml refused a string ("All strings must be XML compatible") or a lone
                # surrogate could not be encoded while zeep built the envelope: not sent
                if not isinstance(exc, UnicodeEncodeError) and "XML compatible" not in str(exc):
                    raise
                raise _unencodable(operation, "a value") from exc
            log.debug("SEI %s answered in %.3fs", operation, time.monotonic() - started)
            return result


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every (path, string) inside a call's values: parts, zeep structures, arrays."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, str):
            yield where, current
        elif isinstance(current, zeep.xsd.valueobjects.CompoundValue):
            stack.extend((v, f"{where}.{k}") for k, v in current.__values__.items())
        elif isinstance(current, Mapping):
            stack.extend((v, f"{where}.{k}") for k, v in current.items())
        elif isinstance(current, list | tuple):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(current))


def _unencodable(operation: str, where: str) -> errors.SeiRequestInvalid:
    return errors.SeiRequestInvalid(
        f"{operation} request not sent: {where} holds a character XML cannot carry; fix the "
        "data at its source and replay",
        operation=operation,
        fault=f"unencodable character in {where}",
    )


def _refuse_unencodable(operation: str, kwargs: Mapping[str, Any]) -> None:
    """SeiRequestInvalid (not sent) when a string XML 1.0 cannot carry would go to SEI: the
    envelope could never be built, and retrying it would loop forever. Names the field, never
    the value."""
    for name, value in kwargs.items():
        for where, text in _strings(value, name):
            bad = chars.xml_forbidden(text)
            if bad is not None:
                raise _unencodable(operation, f"{where} ({chars.describe(bad)})")
