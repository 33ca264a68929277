"""Suite-wide fixtures and guards.

- Any connection outside loopback fails the test (zeep's own suite does the same): the tests
  talk only to the sandbox, the simulator and local databases.
- ``postgres_url`` gives a real PostgreSQL or skips with the reason.
- ``reference_dir`` is tests/data: what a real SEI 4.1.0 sent and answered, and its WSDL.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["tests.fixtures.sei", "tests.fixtures.sigrc", "tests.fixtures.db"]

#: Recordings of a real SEI 4.1.0 and its WSDL, copied into the repository (see its README.md).
REFERENCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if isinstance(address, tuple) and not _is_loopback(str(address[0])):
        raise RuntimeError(f"test tried to reach {address[0]!r}: only loopback is allowed")
    return _real_connect(self, address)


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    yield


@pytest.fixture(scope="session")
def reference_dir() -> str:
    """tests/data: ``real-sei-4.1.0/`` (recorded exchanges) and ``sei-4.1.0.wsdl``. Part of the
    repository, so a test that needs them runs in any checkout instead of skipping."""
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL URL from SEI_BRIDGE_TEST_POSTGRES_URL (default: local trust server,
    database test), or skip with the reason when no server answers."""
    url = os.environ.get(
        "SEI_BRIDGE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    try:
        import psycopg

        conninfo = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, connect_timeout=3):
            pass
    except Exception as exc:  # any failure means: no usable server here
        pytest.skip(f"no PostgreSQL at {url.split('@')[-1]}: {type(exc).__name__}")
    return url
