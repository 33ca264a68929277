"""The SIGRC simulator over real HTTP on 127.0.0.1: what a feed client sees."""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from sei_bridge import cli as sei_bridge_cli
from sei_bridge.sandboxes.sigrc import ManualClock, RunningSimulator
from sei_bridge.sandboxes.traffic import HardCase
from tests.fixtures.sigrc import SimulatorFactory

CLEAN = frozenset[HardCase]()


def _get(
    session: requests.Session, sim: RunningSimulator, path: str, **params: object
) -> requests.Response:
    return session.get(sim.base_url + path, params=params, timeout=10)  # type: ignore[arg-type]


def _read_all(session: requests.Session, sim: RunningSimulator, apos: int = 0) -> list[dict]:
    events: list[dict] = []
    while True:
        page = _get(session, sim, "/v1/eventos", apos=apos, limite=500).json()
        events += page["eventos"]
        if not page["ha_mais"]:
            return events
        apos = page["ultima_sequencia"]


def test_every_call_needs_the_bearer_token(sigrc_simulator: RunningSimulator) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": sigrc_simulator.token},
    ):
        answer = requests.get(sigrc_simulator.base_url + "/v1/eventos", headers=headers, timeout=10)
        assert answer.status_code == 401
        assert answer.json() == {"erro": "token ausente ou inválido"}
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    put = requests.put(
        sigrc_simulator.base_url + "/v1/solicitacoes/x/processo-sei", json={}, timeout=10
    )
    assert put.status_code == 401


def test_the_whole_feed_reads_in_order_with_every_request_snapshot(
    sigrc_simulator: RunningSimulator, sigrc_session: requests.Session
) -> None:
    events = _read_all(sigrc_session, sigrc_simulator)
    assert [e["sequencia"] for e in events] == list(
        range(1, len(sigrc_simulator.state.written) + 1)
    )
    assert len({e["id_evento"] for e in events}) == len(events)
    for protocolo in sigrc_simulator.state.protocolos():
        answer = _get(sigrc_session, sigrc_simulator, f"/v1/solicitacoes/{protocolo}")
        assert answer.status_code == 200
        snapshot = answer.json()
        summary = sigrc_simulator.state.request(protocolo)
        assert snapshot["protocolo"] == protocolo and summary is not None
        assert len(snapshot["interacoes"]) == summary["quantidade_interacoes"]


def test_text_survives_http_unchanged(
    sigrc_simulator_factory: SimulatorFactory,
) -> None:
    sim = sigrc_simulator_factory(
        hard_cases=frozenset({HardCase.UNICODE, HardCase.MARKUP, HardCase.LONG_TEXT}), requests=6
    )
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {sim.token}"
        served = {e["id_evento"]: e for e in _read_all(session, sim)}
    for written in sim.state.written:
        assert served[written.id_evento] == written.payload()
    descricoes = [e["solicitacao"]["descricao"] for e in served.values() if "solicitacao" in e]
    assert any("😀" in d or "🙏🏽" in d for d in descricoes)
    assert any("<script>alert(1)</script>" in d and "]]>" in d for d in descricoes)
    assert any(len(d) == 20_000 for d in descricoes)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/eventos", {"apos": "-1"}),
        ("/v1/eventos", {"apos": "x"}),
        ("/v1/eventos", {"limite": "0"}),
        ("/v1/eventos", {"limite": "501"}),
        ("/v1/solicitacoes", {"atualizadas_desde": "2026-01-01T00:00:00-03:00"}),
        ("/v1/solicitacoes", {"orgao": "SF"}),
        ("/v1/solicitacoes", {"orgao": "SF", "atualizadas_desde": "2026-01-01T00:00:00"}),
        ("/v1/solicitacoes", {"orgao": "SF", "atualizadas_desde": "ontem"}),
        (
            "/v1/solicitacoes",
            {"orgao": "SF", "atualizadas_desde": "2026-01-01T00:00:00Z", "pagina": "0"},
        ),
    ],
)
def test_bad_query_parameters_get_400_naming_the_parameter(
    sigrc_simulator: RunningSimulator,
    sigrc_session: requests.Session,
    path: str,
    params: dict[str, str],
) -> None:
    answer = _get(sigrc_session, sigrc_simulator, path, **params)
    assert answer.status_code == 400
    erro = answer.json()["erro"]
    assert any(
        f"'{name}'" in erro for name in ("apos", "limite", "orgao", "atualizadas_desde", "pagina")
    )


def test_unknown_things_get_404_and_wrong_methods_405(
    sigrc_simulator: RunningSimulator, sigrc_session: requests.Session
) -> None:
    protocolo = sigrc_simulator.state.protocolos()[0]
    for path in (
        "/v1/solicitacoes/2099-99999999",
        f"/v1/solicitacoes/{protocolo}/anexos/ANX-0",
        "/v2/eventos",
    ):
        answer = _get(sigrc_session, sigrc_simulator, path)
        assert answer.status_code == 404 and "erro" in answer.json()
    unknown = sigrc_session.put(
        sigrc_simulator.base_url + "/v1/solicitacoes/2099-99999999/processo-sei",
        json={"numero_processo": "6017.2026/0000001-1"},
        timeout=10,
    )
    assert unknown.status_code == 404
    wrong = sigrc_session.post(sigrc_simulator.base_url + "/v1/eventos", timeout=10)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "GET"


def test_attachments_are_served_with_their_type_length_and_sha256(
    sigrc_simulator: RunningSimulator, sigrc_session: requests.Session
) -> None:
    checked = 0
    for protocolo in sigrc_simulator.state.protocolos():
        snapshot = _get(sigrc_session, sigrc_simulator, f"/v1/solicitacoes/{protocolo}").json()
        anexos = snapshot["anexos"] + [a for i in snapshot["interacoes"] for a in i["anexos"]]
        for anexo in anexos:
            answer = _get(
                sigrc_session,
                sigrc_simulator,
                f"/v1/solicitacoes/{protocolo}/anexos/{anexo['id_anexo']}",
            )
            assert answer.status_code == 200
            assert answer.headers["Content-Type"] == anexo["tipo_conteudo"]
            assert (
                int(answer.headers["Content-Length"])
                == anexo["tamanho_bytes"]
                == len(answer.content)
            )
            assert hashlib.sha256(answer.content).hexdigest() == anexo["sha256"]
            checked += 1
    assert checked >= 10


def test_a_corrupted_attachment_is_right_on_the_retry(
    sigrc_simulator: RunningSimulator, sigrc_session: requests.Session
) -> None:
    protocolo, anexo = next(
        (p, a)
        for p in sigrc_simulator.state.protocolos()
        for a in _get(sigrc_session, sigrc_simulator, f"/v1/solicitacoes/{p}").json()["anexos"]
    )
    sigrc_simulator.state.corrupt_attachment(protocolo, anexo["id_anexo"], times=1)
    path = f"/v1/solicitacoes/{protocolo}/anexos/{anexo['id_anexo']}"
    first, second = (_get(sigrc_session, sigrc_simulator, path) for _ in range(2))
    assert hashlib.sha256(first.content).hexdigest() != anexo["sha256"]
    assert len(first.content) == anexo["tamanho_bytes"]
    assert hashlib.sha256(second.content).hexdigest() == anexo["sha256"]


def test_processo_sei_put_is_idempotent_and_conflicts_on_another_number(
    sigrc_simulator: RunningSimulator, sigrc_session: requests.Session
) -> None:
    protocolo = sigrc_simulator.state.protocolos()[1]
    url = f"{sigrc_simulator.base_url}/v1/solicitacoes/{protocolo}/processo-sei"
    body = {"numero_processo": "6017.2026/0001234-5", "link_acesso": "https://sei.example/p/1"}
    assert sigrc_session.put(url, json=body, timeout=10).status_code == 204
    again = sigrc_session.put(url, json=body, timeout=10)
    assert again.status_code == 204 and again.content == b""
    other = sigrc_session.put(url, json={"numero_processo": "6017.2026/0009999-9"}, timeout=10)
    assert other.status_code == 409 and "erro" in other.json()
    for bad in (b"", b"{", b'{"numero_processo": 5}', b'{"link_acesso": "x"}'):
        answer = sigrc_session.put(
            url, data=bad, headers={"Content-Type": "application/json"}, timeout=10
        )
        assert answer.status_code == 400
    snapshot = _get(sigrc_session, sigrc_simulator, f"/v1/solicitacoes/{protocolo}").json()
    assert snapshot["processo_sei"] == "6017.2026/0001234-5"
    assert [p.status for p in sigrc_simulator.state.puts(protocolo)] == [204, 204, 409]


def test_overload_answers_carry_retry_after(
    sigrc_simulator: RunningSimulator, sigrc_session: requests.Session
) -> None:
    sigrc_simulator.state.fail_next(1, status=429, retry_after=2)
    sigrc_simulator.state.fail_next(1, status=503, retry_after=0)
    first, second, third = (_get(sigrc_session, sigrc_simulator, "/v1/eventos") for _ in range(3))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert (second.status_code, second.headers["Retry-After"]) == (503, "0")
    assert "erro" in first.json() and third.status_code == 200
    assert sigrc_simulator.state.overloads == {429: 1, 503: 1}


def test_commit_lag_over_http_loses_events_for_a_naive_reader_only(
    sigrc_simulator_factory: SimulatorFactory, manual_clock: ManualClock
) -> None:
    sim = sigrc_simulator_factory(
        clock=manual_clock, lag_seconds=5.0, lagged_fraction=0.5, hard_cases=CLEAN
    )
    total = len(sim.state.written)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {sim.token}"
        naive = _read_all(session, sim)
        assert 0 < len(naive) < total
        assert _get(session, sim, "/v1/eventos").json()["atraso_maximo_segundos"] == 5
        highest = naive[-1]["sequencia"]
        manual_clock.advance(5.0)
        # Asking only after the highest sequence seen misses the late commits...
        after = _read_all(session, sim, apos=highest)
        assert len(naive) + len(after) < total
        # ...re-reading a window of the lag finds them all.
        ids = {e["id_evento"] for e in naive} | {e["id_evento"] for e in _read_all(session, sim)}
    assert len(ids) == total


def test_progressive_writing_over_http(
    sigrc_simulator_factory: SimulatorFactory, manual_clock: ManualClock
) -> None:
    sim = sigrc_simulator_factory(clock=manual_clock, write_rate=4.0, requests=3, hard_cases=CLEAN)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {sim.token}"
        assert _read_all(session, sim) == []
        manual_clock.advance(1.0)
        assert [e["sequencia"] for e in _read_all(session, sim)] == [1, 2, 3, 4]
        manual_clock.advance(1000.0)
        assert len(_read_all(session, sim)) == len(sim.state.written) > 4


def test_duplicates_over_http_share_the_id_evento(
    sigrc_simulator_factory: SimulatorFactory,
) -> None:
    sim = sigrc_simulator_factory(duplicate_rate=0.3, hard_cases=CLEAN)
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {sim.token}"
        first = _read_all(session, sim)
        later = _read_all(session, sim, apos=first[-1]["sequencia"])
    first_ids = {e["id_evento"] for e in first}
    assert later and {e["id_evento"] for e in later} <= first_ids
    redelivered = sim.state.served_count(later[0]["id_evento"])
    assert redelivered == 2


def test_concurrent_readers_get_consistent_pages(
    sigrc_simulator: RunningSimulator,
) -> None:
    def read(_: int) -> list[int]:
        with requests.Session() as session:
            session.headers["Authorization"] = f"Bearer {sigrc_simulator.token}"
            return [e["sequencia"] for e in _read_all(session, sigrc_simulator)]

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(read, range(12)))
    assert all(r == results[0] for r in results) and results[0]


def test_stop_releases_the_port(sigrc_simulator_factory: SimulatorFactory) -> None:
    sim = sigrc_simulator_factory(requests=1)
    url = sim.base_url + "/v1/eventos"
    sim.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=2)
    sim.stop()  # idempotent


def test_the_sandbox_command_is_wired_to_this_module() -> None:
    modules = {name: module for name, module, _ in sei_bridge_cli.SANDBOX_COMMANDS}
    assert modules["sigrc"] == "sei_bridge.sandboxes.sigrc.cli"


@pytest.fixture
def cli_process() -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "SEI_BRIDGE_SIGRC_TOKEN": "from-environment"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sei_bridge.sandboxes.sigrc.cli", "--port", "0", "--requests", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait(10)


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def test_the_command_serves_until_sigterm_with_the_environment_token(
    cli_process: subprocess.Popen[str],
) -> None:
    lines = _lines(cli_process)
    deadline = time.monotonic() + 60
    output: list[str] = []
    while not any(line.startswith("SIGRC simulator: ") for line in output):
        output.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
    base_url = output[-1].split(": ", 1)[1].strip()
    answer = requests.get(
        base_url + "/v1/eventos", headers={"Authorization": "Bearer from-environment"}, timeout=10
    )
    assert answer.status_code == 200 and answer.json()["eventos"]
    cli_process.send_signal(signal.SIGTERM)
    assert cli_process.wait(30) == 0
    while not lines.empty():
        output.append(lines.get())
    text = "".join(output)
    assert "from-environment" not in text  # a real token is never printed
    assert "stopped:" in text
