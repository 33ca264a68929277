"""Where the bundled SEI WSDLs and the SOAP-ENC schema live, and how SEI URLs relate.

The files sit in the top-level ``wsdl/`` folder of the source tree (the product card fixes it).
``sei_bridge/data/wsdl`` is a symbolic link to that folder, so the files are found the same way
from a checkout, from an editable install (``pip install -e .``, what the README uses) and from a
regular install (setuptools copies the files behind the link into the wheel as package data of
``sei_bridge``, pattern ``data/**/*``).
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sei_bridge import errors

__all__ = [
    "SOAP_ENCODING_NAMESPACE",
    "WSDL_VERSIONS",
    "bundled_wsdl_path",
    "redact_url",
    "server_wsdl_url",
    "soap_encoding_path",
]

#: Namespace of the SOAP 1.1 encoding schema that SEI's WSDL imports (zeep would download it).
SOAP_ENCODING_NAMESPACE = "http://schemas.xmlsoap.org/soap/encoding/"

#: SEI version → bundled file. "4.1" is the contract sei-bridge is written to; "3.0" proves that
#: the client still works against servers publishing the older operations.
WSDL_VERSIONS: dict[str, str] = {"4.1": "sei.wsdl", "3.0": "sei-3.0.wsdl"}

_SOAP_ENCODING_FILE = "soap-encoding.xsd"


def _wsdl_dir() -> Path:
    # Installed (or linked) package data first; the source tree's own folder as a fallback for
    # checkouts where the symbolic link was not materialised (e.g. core.symlinks=false).
    packaged = Path(str(importlib.resources.files("sei_bridge"))) / "data" / "wsdl"
    if (packaged / WSDL_VERSIONS["4.1"]).is_file():
        return packaged
    source_tree = Path(__file__).resolve().parents[2] / "wsdl"
    if (source_tree / WSDL_VERSIONS["4.1"]).is_file():
        return source_tree
    raise errors.ConfigurationError(
        f"bundled SEI WSDL not found in {packaged} or {source_tree}: reinstall sei-bridge "
        "or set SEI_BRIDGE_SEI_WSDL to the server's WSDL URL"
    )


def bundled_wsdl_path(version: str = "4.1") -> Path:
    """Path of the bundled WSDL of SEI ``version`` ("4.1" or "3.0")."""
    try:
        name = WSDL_VERSIONS[version]
    except KeyError:
        known = ", ".join(sorted(WSDL_VERSIONS))
        raise ValueError(f"no bundled WSDL for SEI {version!r}; known versions: {known}") from None
    return _wsdl_dir() / name


def soap_encoding_path() -> Path:
    """Path of the bundled SOAP 1.1 encoding schema (served instead of downloading it)."""
    return _wsdl_dir() / _SOAP_ENCODING_FILE


def server_wsdl_url(endpoint_url: str) -> str:
    """The WSDL a SEI server publishes, from its endpoint URL.

    ``https://host/sei/ws/SeiWS.php`` → ``https://host/sei/controlador_ws.php?servico=sei``.
    """
    parts = urlsplit(endpoint_url)
    path = parts.path
    marker = "/ws/SeiWS.php"
    base = path[: -len(marker)] if path.endswith(marker) else path.rsplit("/", 1)[0]
    return urlunsplit((parts.scheme, parts.netloc, f"{base}/controlador_ws.php", "servico=sei", ""))


def redact_url(url: str) -> str:
    """``url`` without user information (``user:password@``), fit for messages and logs."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
