"""``sei-bridge sync`` against a hostile SEI (real HTTP): a 1 MB fault that echoes a CPF, a CNPJ,
a bearer token, the serviço's identificação and our own SIGRC token. None of them may reach the
log, ``last_error``, the quarantine reason (``status --json``), the audit trail or anything
else in the store; each of those stays bounded, and still says what SEI said."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.store import ActionKind, ActionState, Store
from tests.acceptance.conftest import BridgeFactory, SeiAt
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.db import migrated
from tests.support.hostile_sei import HostileSei, fault_envelope

pytestmark = pytest.mark.slow

#: secrets of ours, shaped so that no generic pattern masks them: only passing the configured
#: secrets to the scrubber does
SIGRC_TOKEN = "segredo-do-sigrc-fazenda"
SERVICO = "identificacao-do-servico"
CPF, CPF_BARE, CNPJ = "123.456.789-09", "98765432100", "12.345.678/0001-95"
BEARER = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz"
LEAKS = (SIGRC_TOKEN, SERVICO, CPF, CPF_BARE, CNPJ, "eyJhbGciOiJIUzI1NiJ9", "c2lnbmF0dXJl")
MEGABYTE = 1024 * 1024


def _hostile(opening: str) -> str:
    echoed = (
        f"{opening} interessado CPF {CPF} ({CPF_BARE}), empresa CNPJ {CNPJ}, pedido com "
        f"Authorization: Bearer {BEARER} e X-Token {SIGRC_TOKEN}, serviço {SERVICO}. "
    )
    return echoed + "x" * MEGABYTE + " " + echoed


def _assert_clean(what: str, text: str) -> None:
    for leak in LEAKS:
        assert leak not in text, f"{leak!r} in {what}"


def test_a_hostile_fault_leaves_no_personal_data_or_secret_anywhere(
    sigrc_simulator_factory: SimulatorFactory,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    sigrc: RunningSimulator = sigrc_simulator_factory(
        token=SIGRC_TOKEN, requests=4, seed=7, hard_case_rate=0.0
    )
    answers = [
        # first an infrastructure fault (retried: last_error, a log line), then a refusal
        (500, fault_envelope(_hostile("Falha ao gravar:"), "INFRA_ERRO")),
        (500, fault_envelope(_hostile("Interessado inválido:"), "INFRA_VALIDACAO")),
    ]
    with HostileSei(answers) as sei:
        bridge = bridge_factory(
            sigrc,
            SeiAt(sei.endpoint_url, ("SEI_BRIDGE", SERVICO)),
            migrated(sqlite_url),
            log_level="INFO",
        )
        result = bridge.run("sync", "--until-idle", "--max-seconds", "60")
        assert sei.calls >= 2, result.stderr
        status = bridge.run("status", "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    assert status.returncode == 0, status.stderr

    # the log
    _assert_clean("the sync's log", result.stderr + result.stdout)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert any("Falha ao gravar:" in line for line in lines), result.stderr[-3000:]
    assert max(len(line) for line in lines) < 2000

    # the quarantine reason, as the operator sees it
    _assert_clean("status --json", status.stdout)
    quarantine = json.loads(status.stdout)["quarantine"]
    reasons = [str(q["reason"]) for q in quarantine if str(q["reason"]).startswith("sei-refused")]
    assert reasons, quarantine
    for reason in reasons:
        assert "SEI refused gerarProcedimento: Interessado inválido: interessado CPF [CPF]" in (
            reason
        )
        assert "characters cut]" in reason and len(reason) < 1500

    # last_error and the audit trail
    store = Store.from_url(sqlite_url)
    try:
        opened = [
            a
            for protocolo in sigrc.state.protocolos()
            for a in store.actions_of(protocolo)
            if a.kind is ActionKind.OPEN
        ]
        assert opened and {a.state for a in opened} == {ActionState.QUARANTINED}
        for action in opened:
            assert action.last_error is not None and len(action.last_error) < 1500
            _assert_clean("last_error", action.last_error)
        trail = json.dumps([e.to_dict() for e in store.audit_trail()], ensure_ascii=False)
        assert store.audit_verify().ok
    finally:
        store.close()
    _assert_clean("the audit trail", trail)
    assert "attempt 1: SEI failed gerarProcedimento on its side (INFRA_ERRO): Falha ao" in trail
    assert "Interessado inválido:" in trail
    assert all(len(json.dumps(e)) < 4000 for e in json.loads(trail))

    # nor anywhere else in the store's files (the events SIGRC sent hold their own CPFs)
    database = Path(sqlite_url.removeprefix("sqlite:///"))
    stored = b"".join(
        p.read_bytes() for p in database.parent.glob(database.name + "*") if p.is_file()
    )
    for leak in (SIGRC_TOKEN, SERVICO, CPF, CNPJ, "eyJhbGciOiJIUzI1NiJ9"):
        assert leak.encode() not in stored, f"{leak!r} stored"
