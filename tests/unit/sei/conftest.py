"""Fixtures of the SEI client's unit tests: a client and a mocked SEI endpoint (responses)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import responses

from sei_bridge.sei.client import SeiClient
from tests.unit.sei import recorded


@pytest.fixture
def client() -> SeiClient:
    """A client with the recordings' credentials, on the bundled 4.1 WSDL."""
    return SeiClient(
        endpoint_url=recorded.ENDPOINT,
        sigla_sistema=recorded.SIGLA,
        identificacao_servico=recorded.IDENTIFICACAO,
    )


@pytest.fixture
def sei_http() -> Iterator[responses.RequestsMock]:
    """SEI's HTTP endpoint, mocked (nothing leaves the process)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock
