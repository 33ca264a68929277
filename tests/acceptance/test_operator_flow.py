"""What an operator does with ``sei-bridge`` when something needs a person:

- a service without mapping is quarantined; the operator adds the mapping, replays
  ``--reason unmapped``, and the next sync puts its processes and documents into SEI;
- a process creation whose answer was lost, with no ``sei.numero_protocolo`` to look it up,
  waits for a person with the evidence; the operator finds the process in SEI and records it
  with ``resolve``, and the rest of the request proceeds;
- wrong settings (SEI credentials or permissions, the SIGRC token) and wrong operator input end
  with exit 2 and one line saying what is wrong and how to fix it, never a traceback.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from sei_bridge.sandboxes.sei import FaultKind, ProcessView, RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.sandboxes.traffic import HardCase
from tests.acceptance.conftest import (
    BridgeFactory,
    assert_end_state,
    assert_one_line_error,
)
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory

SEED = 3156
UNMAPPED = "9999"
#: appended to the copy of mappings/fazenda.yaml (servicos is its last section)
MAPPING_9999 = f"""
  "{UNMAPPED}":
    tipo_procedimento: "100000345"
    assuntos: ["052.1"]
    concluir_ao_finalizar: true
"""


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr[-3000:])
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture
def sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    # every hard case (the unmapped service among them) is in 10 requests at least once
    return sigrc_simulator_factory(requests=10, seed=SEED)


def test_wrong_settings_then_unmapped_service_mapped_and_replayed(
    sigrc: RunningSimulator,
    sei_sandbox: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    mappings_copy: Path,
) -> None:
    bridge = bridge_factory(sigrc, sei_sandbox, sqlite_url)

    wrong_key = bridge.run(
        "sync", "--until-idle", env={"SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": "not-the-key"}
    )
    line = assert_one_line_error(
        wrong_key, "SEI refused the credentials", "não encontrado", "SEI_BRIDGE_SEI_"
    )
    assert "not-the-key" not in wrong_key.stderr, line  # the secret is never printed
    assert sei_sandbox.state.processes() == []

    bad_token = bridge.run("sync", "--until-idle", env={"SEI_BRIDGE_SIGRC_TOKEN": "bad-token"})
    assert_one_line_error(bad_token, "401", "SEI_BRIDGE_SIGRC_TOKEN")
    assert "bad-token" not in bad_token.stderr

    _ok(bridge.run("sync", "--until-idle"))
    assert_end_state(bridge, sigrc, sei_sandbox)
    status = bridge.status()
    unmapped = {
        q["protocolo"]
        for q in status["quarantine"]
        if q["what"] == "request" and q["reason"].startswith("unmapped")
    }
    assert unmapped == set(sigrc.state.protocolos_with(HardCase.UNMAPPED_SERVICE)) != set()
    assert not any(sei_sandbox.state.process(f"SP156-{p}") for p in unmapped)

    # the operator maps the service and puts its requests back to work
    with (mappings_copy / "fazenda.yaml").open("a", encoding="utf-8") as fh:
        fh.write(MAPPING_9999)
    mapped = bridge_factory(sigrc, sei_sandbox, sqlite_url, mappings=mappings_copy, name="mapped")
    _ok(mapped.run("mappings", "check"))
    replay = _ok(mapped.run("replay", "--reason", "unmapped"))
    assert "back to work" in replay.stdout
    _ok(mapped.run("sync", "--until-idle"))

    assert_end_state(mapped, sigrc, sei_sandbox, mappings=mappings_copy)
    for protocolo in unmapped:
        process = sei_sandbox.state.process(f"SP156-{protocolo}")
        assert process is not None and process.documents, protocolo
    assert not [q for q in mapped.status()["quarantine"] if q["what"] == "request"]
    assert mapped.run("replay", "--reason", "unmapped").returncode == 2  # nothing left


def test_lost_creation_without_numero_protocolo_is_settled_by_a_person(
    sigrc: RunningSimulator,
    sei_sandbox: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    mappings_copy: Path,
) -> None:
    path = mappings_copy / "fazenda.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["sei"]["numero_protocolo"]  # SEI numbers the processes itself
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bridge = bridge_factory(sigrc, sei_sandbox, sqlite_url, mappings=mappings_copy)
    # the first process creation commits in SEI, and its answer is lost
    sei_sandbox.faults.schedule(FaultKind.LOST, operation="gerarProcedimento")

    first = bridge.run("sync", "--until-idle", "--json")
    # idle, but only a person can move on: its own exit status, and a line saying so
    assert first.returncode == 4, (first.returncode, first.stderr[-3000:])
    assert "1 effect(s) need a person" in first.stderr and "Traceback" not in first.stderr
    assert json.loads(first.stdout)["attempts"].get("needs_person") == 1

    status = bridge.status()
    [waiting] = status["attention"]
    assert (waiting["kind"], waiting["state"]) == ("OPEN", "NEEDS_PERSON")
    evidence = waiting["evidence"]
    assert evidence["sigla"] == f"SP156-{waiting['protocolo']}"
    assert "sei-bridge resolve" in evidence["how_to_resolve"]
    # the request's other effects wait behind its process; no second process was opened
    protocolo = waiting["protocolo"]
    [created] = [p for p in sei_sandbox.state.processes() if evidence["sigla"] in _siglas(p)]
    assert created.documents == ()

    # the operator finds the process of that interessado in SEI and records it
    resolved = _ok(
        bridge.run(
            "resolve",
            str(waiting["action_id"]),
            "--done",
            "--processo",
            created.procedimento_formatado,
            "--id-procedimento",
            created.id_procedimento,
            "--actor",
            "auditor",
        )
    )
    assert "is now DONE" in resolved.stdout
    again = bridge.run("resolve", str(waiting["action_id"]), "--absent", "--actor", "auditor")
    assert_one_line_error(again, f"action {waiting['action_id']} is DONE")

    _ok(bridge.run("sync", "--until-idle"))
    assert_end_state(bridge, sigrc, sei_sandbox, mappings=mappings_copy)
    assert sigrc.state.processo_sei(protocolo) == created.procedimento_formatado
    audit = bridge.run("audit", "verify", "--json")
    assert audit.returncode == 0 and json.loads(audit.stdout)["ok"] is True


def _siglas(process: ProcessView) -> set[str]:
    return {c.sigla or "" for c in process.interessados}


def test_refused_access_and_bad_operator_input_are_one_line_errors(
    sigrc: RunningSimulator,
    sei_sandbox_factory: SandboxFactory,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
) -> None:
    # the serviço accepts its identificação from another host only: SEI's "Acesso negado."
    sei = sei_sandbox_factory(allowed_hosts=("sei-bridge.prefeitura.example",))
    bridge = bridge_factory(sigrc, sei, sqlite_url)

    denied = bridge.run("mappings", "check")
    assert_one_line_error(denied, "Acesso negado", "SEI_BRIDGE_SEI_SIGLA_SISTEMA")

    assert_one_line_error(
        bridge.run("resolve", "999", "--absent", "--actor", "auditor"),
        "action 999 does not exist",
    )
    assert_one_line_error(bridge.run("replay", "--reason", "nothing-like-this"), "status")
    usage = bridge.run("resolve", "1", "--done")  # --actor missing: argparse's own usage error
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    assert "--actor" in usage.stderr
    broken = bridge.run("status", env={"SEI_BRIDGE_SEI_CONCURRENCY": "many"})
    assert_one_line_error(broken, "SEI_BRIDGE_SEI_CONCURRENCY")
