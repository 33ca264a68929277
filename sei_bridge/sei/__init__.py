"""The SEI side: SOAP client on zeep, fault classification, HTML rendering.

The public API: :class:`SeiClient` (typed calls), the values of :mod:`sei_bridge.sei.types`,
:mod:`sei_bridge.sei.html` for generated documents, and the bundled WSDL locations. The fake SEI
server is :mod:`sei_bridge.sandboxes.sei`.
"""

from __future__ import annotations

from sei_bridge.sei.client import SeiClient
from sei_bridge.sei.html import FragmentBuilder, escape_text, render_fragment
from sei_bridge.sei.wsdl import bundled_wsdl_path, server_wsdl_url, soap_encoding_path

__all__ = [
    "FragmentBuilder",
    "SeiClient",
    "bundled_wsdl_path",
    "escape_text",
    "render_fragment",
    "server_wsdl_url",
    "soap_encoding_path",
]
