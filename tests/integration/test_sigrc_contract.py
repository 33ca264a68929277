"""The simulator's real HTTP answers validated against the contract with openapi-core.

The contract is ../shared/contracts/sigrc-feed.openapi.yaml; the package keeps a byte-identical
copy (sei_bridge/sandboxes/sigrc/openapi.yaml) used here when ../shared is absent.

Two places where the contract cannot be applied literally, both checked explicitly instead:
- the attachment endpoint declares ``application/octet-stream`` but its description says the
  Content-Type is the anexo's ``tipo_conteudo``; the simulator follows the description, so the
  body is validated as octet-stream after checking the header against the anexo (and handed
  to openapi-core as latin-1 text: its OpenAPI 3.1 validator rejects bytes for
  ``format: binary``);
- ``GET /v1/solicitacoes`` and the PUT list no 400, yet bad parameters or bodies must be
  refused; those 400s are checked in test_sigrc_simulator.py, not against the schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse

from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.sandboxes.traffic import ALL_HARD_CASES, HardCase
from tests.fixtures.sigrc import SimulatorFactory

SHARED_SPEC = (
    Path(__file__).resolve().parents[3] / "shared" / "contracts" / "sigrc-feed.openapi.yaml"
)
PACKAGED_SPEC = (
    Path(__file__).resolve().parents[2] / "sei_bridge" / "sandboxes" / "sigrc" / "openapi.yaml"
)
#: The server of the contract: requests are validated as if sent there.
SPEC_HOST = "http://127.0.0.1:8156"
#: Malformed events break the schema on purpose; every other hard case must validate.
VALID_HARD_CASES = ALL_HARD_CASES - {HardCase.MALFORMED}


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(str(SHARED_SPEC if SHARED_SPEC.is_file() else PACKAGED_SPEC))


def test_the_packaged_copy_is_the_shared_contract() -> None:
    if not SHARED_SPEC.is_file():
        pytest.skip(f"shared contract not found at {SHARED_SPEC}: nothing to compare the copy with")
    assert PACKAGED_SPEC.read_bytes() == SHARED_SPEC.read_bytes()


class Checker:
    """Sends real HTTP to a simulator and validates each answer against the contract."""

    def __init__(self, openapi: OpenAPI, sim: RunningSimulator) -> None:
        self.openapi = openapi
        self.sim = sim
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {sim.token}"
        self.statuses: set[tuple[str, int]] = set()

    def call(
        self, method: str, path: str, *, token: str | None = "default", **kwargs: object
    ) -> requests.Response:
        headers = (
            {} if token == "default" else {"Authorization": f"Bearer {token}"} if token else {}
        )
        session = self.session if token == "default" else requests
        answer = session.request(
            method, self.sim.base_url + path, headers=headers, timeout=30, **kwargs
        )  # type: ignore[arg-type]
        self.validate(answer)
        return answer

    def validate(self, answer: requests.Response, *, binary: bool = False) -> None:
        url = urlsplit(answer.url)
        base_path = urlsplit(self.sim.base_url).path
        assert base_path == "/sigrc"  # the contract's server path
        request = MockRequest(
            SPEC_HOST,
            answer.request.method or "GET",
            url.path,
            args=dict(parse_qsl(url.query, keep_blank_values=True)),
            headers=dict(answer.request.headers),
            data=answer.request.body if isinstance(answer.request.body, bytes) else None,
        )
        response = MockResponse(
            answer.content.decode("latin-1") if binary else answer.content,  # type: ignore[arg-type]
            status_code=answer.status_code,
            headers=dict(answer.headers),
            content_type=(
                "application/octet-stream" if binary else answer.headers.get("Content-Type", "")
            ),
        )
        self.openapi.validate_response(request, response)
        self.statuses.add((url.path.removeprefix(base_path), answer.status_code))


@pytest.fixture
def checker(openapi: OpenAPI, sigrc_simulator_factory: SimulatorFactory) -> Checker:
    sim = sigrc_simulator_factory(requests=40, hard_cases=VALID_HARD_CASES)
    return Checker(openapi, sim)


def test_every_event_page_matches_the_contract(checker: Checker) -> None:
    apos, seen = 0, 0
    while True:
        page = checker.call("GET", "/v1/eventos", params={"apos": apos, "limite": 37}).json()
        seen += len(page["eventos"])
        if not page["ha_mais"]:
            break
        apos = page["ultima_sequencia"]
    assert seen == len(checker.sim.state.written)
    tipos = {e.tipo for e in checker.sim.state.written}
    assert "solicitacao.encaminhada" in tipos and "solicitacao.reaberta" in tipos
    checker.call("GET", "/v1/eventos", params={"apos": apos})  # the empty page
    checker.call("GET", "/v1/eventos", params={"orgao": "SF", "limite": 500})


def test_every_request_and_attachment_matches_the_contract(checker: Checker) -> None:
    attachments = 0
    for protocolo in checker.sim.state.protocolos():
        snapshot = checker.call("GET", f"/v1/solicitacoes/{protocolo}").json()
        anexos = snapshot["anexos"] + [a for i in snapshot["interacoes"] for a in i["anexos"]]
        for anexo in anexos[:2]:
            path = f"{checker.sim.base_url}/v1/solicitacoes/{protocolo}/anexos/{anexo['id_anexo']}"
            answer = checker.session.get(path, timeout=30)
            assert answer.status_code == 200
            assert answer.headers["Content-Type"] == anexo["tipo_conteudo"]
            checker.validate(answer, binary=True)
            attachments += 1
    assert attachments >= 10


def test_summaries_match_the_contract_on_every_page(checker: Checker) -> None:
    params = {"orgao": "SF", "atualizadas_desde": "2026-01-01T00:00:00-03:00", "limite": 15}
    first = checker.call("GET", "/v1/solicitacoes", params=params).json()
    assert first["total_paginas"] == 3
    for pagina in range(2, first["total_paginas"] + 2):  # and one past the end
        checker.call("GET", "/v1/solicitacoes", params={**params, "pagina": pagina})


def test_every_error_status_matches_the_contract(checker: Checker) -> None:
    sim = checker.sim
    protocolo = sim.state.protocolos()[0]
    put_path = f"/v1/solicitacoes/{protocolo}/processo-sei"
    expected = {
        ("GET", "/v1/eventos", 400): {"params": {"limite": 501}},
        ("GET", "/v1/eventos", 401): {"token": None},
        ("GET", "/v1/solicitacoes", 401): {"token": "wrong", "params": {"orgao": "SF"}},
        ("GET", f"/v1/solicitacoes/{protocolo}", 401): {"token": None},
        ("GET", "/v1/solicitacoes/2099-99999999", 404): {},
        ("GET", f"/v1/solicitacoes/{protocolo}/anexos/ANX-nenhum", 404): {},
        ("PUT", put_path, 204): {"json": {"numero_processo": "6017.2026/0000001-1"}},
        ("PUT", put_path, 409): {"json": {"numero_processo": "6017.2026/0000002-2"}},
        ("PUT", "/v1/solicitacoes/2099-99999999/processo-sei", 404): {
            "json": {"numero_processo": "1"}
        },
        ("PUT", put_path, 401): {"token": None, "json": {"numero_processo": "1"}},
    }
    for (method, path, status), kwargs in expected.items():
        answer = checker.call(method, path, **kwargs)  # type: ignore[arg-type]
        assert answer.status_code == status, (method, path, answer.text)
    for status in (429, 503):
        for method, path, kwargs in (
            ("GET", "/v1/eventos", {}),
            (
                "GET",
                "/v1/solicitacoes",
                {"params": {"orgao": "SF", "atualizadas_desde": "2026-01-01T00:00:00Z"}},
            ),
            ("GET", f"/v1/solicitacoes/{protocolo}", {}),
            ("PUT", put_path, {"json": {"numero_processo": "6017.2026/0000001-1"}}),
        ):
            sim.state.fail_next(status=status, retry_after=3)
            answer = checker.call(method, path, **kwargs)  # type: ignore[arg-type]
            assert answer.status_code == status and answer.headers["Retry-After"] == "3"
    statuses = {status for _, status in checker.statuses}
    assert statuses >= {204, 400, 401, 404, 409, 429, 503}


def test_only_the_malformed_events_break_the_contract(
    openapi: OpenAPI, sigrc_simulator_factory: SimulatorFactory
) -> None:
    sim = sigrc_simulator_factory(
        requests=30, hard_cases=frozenset({HardCase.MALFORMED}), hard_case_rate=0.3
    )
    invalid: set[int] = set()
    for written in sim.state.written:
        body = json.dumps(
            {"eventos": [written.payload()], "ha_mais": False, "atraso_maximo_segundos": 0}
        )
        request = MockRequest(SPEC_HOST, "GET", "/sigrc/v1/eventos")
        try:
            openapi.validate_response(request, MockResponse(body.encode(), status_code=200))
        except Exception:  # openapi-core raises one of several validation errors
            invalid.add(written.sequencia)
    malformed = [e for e in sim.state.written if e.intact is not None]
    assert invalid == {e.sequencia for e in malformed}
    # Both kinds are there: the missing date and the impossible one (caught as date-time format).
    assert {"ocorrida_em" in e.payload()["interacao"] for e in malformed} == {True, False}
