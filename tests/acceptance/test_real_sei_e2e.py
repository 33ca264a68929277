"""``sei-bridge sync --until-idle`` end to end into a REAL SEI 4.1, through the fault proxy.

At least 50 generated requests with the hard cases (plus an interaction served malformed in the
middle of a request, closed later or not) go from the SIGRC simulator into a real SEI, with the
fault proxy (:mod:`sei_bridge.sandboxes.proxy`) between sei-bridge and SEI losing answers after
SEI committed, resetting connections, answering 503 and going down for a moment. Then the end
state is checked exactly by reading SEI back from its database
(:class:`tests.support.real_sei.RealSeiHoldings`): one process per mapped request and none for
an unmapped one, every document once and in order, every generated text intact as SEI stored
it, concluded exactly when it must be; and the ledger (``status --json``) likewise.

Skipped unless a real SEI is configured (CI has none): ``SEI_BRIDGE_TEST_REAL_SEI_URL`` (its base,
e.g. ``http://127.0.0.1:8080/sei``) and ``SEI_BRIDGE_TEST_REAL_SEI_DB`` (the MariaDB defaults file
of its database), as for the contract suite (tests/contract/targets.py). The real SEI must hold
the reference database's catalog (the ids in :func:`_mapping`) and accept ``ADAPTER`` /
``ADAPTER_WS`` from this address.

Other people may use the same SEI at the same time: the run's processes are told apart by their
interessado's Sigla ``SP156-<protocolo>`` of the requests this run generated. SEI keeps what
earlier runs left, so the traffic's seed is the first from :data:`BASE_SEED` whose protocolos SEI
has never seen (``SEI_BRIDGE_TEST_REAL_SEI_SEED`` forces one).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from sei_bridge import mapping
from sei_bridge.sandboxes.proxy import RunningProxy, start_proxy
from sei_bridge.sandboxes.sei.faults import FaultConfig
from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.sei.client import SeiClient
from tests.acceptance.conftest import MAPPINGS_DIR, BridgeFactory, SeiAt, wait_exit, wait_until
from tests.fixtures.sigrc import SimulatorFactory
from tests.support import end_state
from tests.support.db import migrated
from tests.support.real_sei import MariaDb, RealSeiHoldings
from tests.support.traffic import malformed_midway

URL_VARIABLE = "SEI_BRIDGE_TEST_REAL_SEI_URL"
DB_VARIABLE = "SEI_BRIDGE_TEST_REAL_SEI_DB"
SEED_VARIABLE = "SEI_BRIDGE_TEST_REAL_SEI_SEED"
CREDENTIALS = ("ADAPTER", "ADAPTER_WS")


def _missing() -> str | None:
    if not os.environ.get(URL_VARIABLE) or not os.environ.get(DB_VARIABLE):
        return (
            f"no real SEI configured: set {URL_VARIABLE} (e.g. http://127.0.0.1:8080/sei) and "
            f"{DB_VARIABLE} (its MariaDB defaults file)"
        )
    if shutil.which("mariadb") is None:
        return "the mariadb client is not installed (needed to read what the real SEI stored)"
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_missing() is not None, reason=_missing() or ""),
]

REQUESTS = 56
#: the traffic's seed when SEI has seen none of its protocolos (else the next such seed)
BASE_SEED = 41_000
#: seeds tried before giving up (each earlier run of this test uses one)
SEEDS_TRIED = 200

#: a real SEI answers in ~85 ms (p90 220 ms); a creation with documents takes longer
READ_TIMEOUT = 30.0
#: the whole sync; a run takes about a minute, far below this
COMMAND_TIMEOUT = 240.0
#: per-call faults: each kind shows up several times in a run of ~400 calls. No hang: a hang
#: costs a whole read timeout (30 s) against a real SEI.
SEI_FAULTS = FaultConfig(http503=0.03, reset=0.03, lost=0.04)
#: every call fails for this long once the sync is busy with SEI
OUTAGE_SECONDS = 3.0
OUTAGE_AFTER_CALLS = 60
FAULT_SEED = 156

#: the reference database's catalog (see tests/contract/targets.py: Ids)
UNIDADE = "110000001"  # TESTE
OUTRA_UNIDADE = "110000002"  # TESTE_1_1
TIPO = "100000341"
ASSUNTO = "019.113"
HIPOTESE = "4"  # Informação Pessoal, restrito
SERIES = {"solicitacao": "83", "interacao": "83", "anexo": "263", "finalizado": "283"}


def _base() -> str:
    return os.environ[URL_VARIABLE].rstrip("/")


def _client(**changes: Any) -> SeiClient:
    """A client of the real SEI itself (no proxy)."""
    settings: dict[str, Any] = {
        "endpoint_url": f"{_base()}/ws/SeiWS.php",
        "sigla_sistema": CREDENTIALS[0],
        "identificacao_servico": CREDENTIALS[1],
        "wsdl": f"{_base()}/controlador_ws.php?servico=sei",
        "connect_timeout": 5.0,
        "read_timeout": 60.0,
        **changes,
    }
    return SeiClient(**settings)


def _mapping(target: Path) -> Path:
    """mappings/fazenda.yaml's services and structure with the real SEI's ids, in ``target``:
    the same service codes (9999 still unmapped), concluir_ao_finalizar as there, the services
    the Fazenda opens in another unit opened in the other reference unit."""
    data = yaml.safe_load((MAPPINGS_DIR / "fazenda.yaml").read_text(encoding="utf-8"))
    default_unit = data["sei"]["unidade"]
    assert data["sei"]["numero_protocolo"] == "SP156-{protocolo}"
    data["sei"]["unidade"] = UNIDADE
    data["defaults"]["hipotese_legal"] = HIPOTESE
    data["defaults"]["series"] = dict(SERIES)
    for servico in data["servicos"].values():
        servico["tipo_procedimento"] = TIPO
        servico["assuntos"] = [ASSUNTO]
        if servico.get("unidade", default_unit) != default_unit:
            servico["unidade"] = OUTRA_UNIDADE
    assert "9999" not in data["servicos"]
    target.mkdir(parents=True, exist_ok=True)
    (target / "fazenda.yaml").write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    return target


def _fresh_simulator(factory: SimulatorFactory, db: MariaDb) -> RunningSimulator:
    """The simulator of the first seed whose requests SEI has never seen a process for."""
    forced = os.environ.get(SEED_VARIABLE)
    seeds = [int(forced)] if forced else range(BASE_SEED, BASE_SEED + SEEDS_TRIED)
    for seed in seeds:
        simulator = factory(
            requests=REQUESTS,
            seed=seed,
            lag_seconds=1.0,
            duplicate_rate=0.05,
            overload_rate=0.03,
        )
        # an interaction served malformed and followed by another one, closed later or not
        for closed in (True, False):
            extra = malformed_midway(seed + 1, closed=closed)
            if extra.protocolo not in simulator.state.protocolos():
                simulator.state.add_request(extra)
        seen = RealSeiHoldings(db.defaults_file, simulator.state.protocolos()).process_ids()
        if not seen:
            return simulator
        simulator.stop()
        if forced:
            pytest.fail(f"{SEED_VARIABLE}={forced}: SEI already has {len(seen)} of its processes")
    pytest.fail(f"SEI already has processes for every seed from {BASE_SEED} ({SEEDS_TRIED} tried)")


@pytest.fixture
def proxy() -> Any:
    with start_proxy(
        _base(), faults=SEI_FAULTS, seed=FAULT_SEED, timeout=READ_TIMEOUT * 3
    ) as running:
        yield running


def test_sync_until_idle_into_a_real_sei_through_faults(
    sigrc_simulator_factory: SimulatorFactory,
    proxy: RunningProxy,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    db = MariaDb(os.environ[DB_VARIABLE])
    mappings_dir = _mapping(tmp_path / "mappings")
    mappings = mapping.load_mappings(mappings_dir)
    sigrc = _fresh_simulator(sigrc_simulator_factory, db)
    protocolos = sigrc.state.protocolos()
    before = db.max_id_protocolo()

    # the mapping against the real SEI itself: every id exists
    direct = SeiAt(f"{_base()}/ws/SeiWS.php", CREDENTIALS)
    checked = bridge_factory(
        sigrc,
        direct,
        sqlite_url,
        mappings=mappings_dir,
        name="check",
        sei_wsdl=f"{_base()}/controlador_ws.php?servico=sei",
        sei_read_timeout=READ_TIMEOUT,
    ).run("mappings", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr

    bridge = bridge_factory(
        sigrc,
        SeiAt(proxy.endpoint_url, CREDENTIALS),
        migrated(sqlite_url),
        mappings=mappings_dir,
        # the WSDL straight from SEI (its address is not used: SEI_BRIDGE_SEI_URL is)
        sei_wsdl=f"{_base()}/controlador_ws.php?servico=sei",
        sei_read_timeout=READ_TIMEOUT,
        sei_connect_timeout=5.0,
    )
    started = time.monotonic()
    sync = bridge.start("sync", "--until-idle", "--json", log_name="sync")
    wait_until(
        lambda: proxy.stats().requests >= OUTAGE_AFTER_CALLS,
        timeout=120,
        what="the sync to reach SEI",
    )
    proxy.faults.start_outage(OUTAGE_SECONDS)
    code = wait_exit(sync, timeout=COMMAND_TIMEOUT)
    duration = time.monotonic() - started
    stderr = (bridge.workdir / "sync.err").read_text()
    assert code == 0, stderr[-3000:]
    assert "Traceback" not in stderr
    report = json.loads((bridge.workdir / "sync.out").read_text())
    stats = proxy.stats()
    proxy.faults.clear()

    # the faults really happened, and the run went through them
    for kind in ("http503", "reset", "lost", "outage"):
        assert stats.count(kind) > 0, stats.as_json()
    assert report["idle"] is True and report["reason"] is None, report
    assert report["attempts"].get("uncertain", 0) > 0, report["attempts"]

    expected = end_state.expected_end_state(
        sigrc.state.written, mappings, allowed_extension=_allowed_extensions()
    )
    assert len(expected.processes) >= 50
    assert expected.unmapped and expected.malformed and expected.refused
    assert expected.done["REABRIR"] > 0 and expected.done["CONCLUIR"] > 0

    holdings = RealSeiHoldings(db.defaults_file, protocolos)
    processes = holdings.processes()
    assert all(int(p.id_procedimento) > before for p in processes)
    problems = end_state.check_sei(expected, holdings, sigrc=sigrc.state)
    problems += end_state.check_status(expected, bridge.status())
    problems += _open_units_as_sei_says(processes)
    documents = sum(len(p.documents) for p in processes)
    _record(
        tmp_path,
        {
            "seed": sigrc.config.seed,
            "requests": len(protocolos),
            "processes": len(processes),
            "documents": documents,
            "expected_processes": len(expected.processes),
            "expected_documents": sum(len(p.documents) for p in expected.processes.values()),
            "unmapped": len(expected.unmapped),
            "refused_attachments": expected.refused_count,
            "malformed_events": len(expected.malformed),
            "faults": {k: stats.count(k) for k in ("lost", "reset", "http503", "outage")},
            "proxy_requests": stats.requests,
            "attempts": report["attempts"],
            "duration_seconds": round(duration, 1),
            "problems": problems,
        },
    )
    assert problems == [], f"{len(problems)} discrepancies:\n" + "\n".join(problems)

    # a second pass over a synced feed plans nothing, and SEI holds the same
    again = bridge.run("sync", "--until-idle", "--json", timeout=COMMAND_TIMEOUT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["actions_planned"] == 0
    after = holdings.processes()
    assert [(p.id_procedimento, len(p.documents)) for p in after] == [
        (p.id_procedimento, len(p.documents)) for p in processes
    ]


def _allowed_extensions() -> Any:
    """Whether the real SEI accepts an extension, as it lists them itself."""
    listed = {e.extensao.lower() for e in _client().listar_extensoes_permitidas()}
    assert "pdf" in listed and "png" not in listed, sorted(listed)
    return lambda ext: ext in listed


def _open_units_as_sei_says(processes: list[Any]) -> list[str]:
    """The units the database shows a process open in must be consultarProcedimento's
    UnidadesProcedimentoAberto (what RealSeiHoldings relies on for "concluded")."""
    client = _client()
    problems: list[str] = []
    for process in processes:
        answer = client.consultar_procedimento(
            id_unidade=process.id_unidade_geradora,
            protocolo_procedimento=process.procedimento_formatado,
        )
        said = sorted(u.id_unidade for u in answer.unidades_aberto)
        if said != sorted(process.unidades_abertas):
            problems.append(
                f"process {process.procedimento_formatado}: the database shows it open in "
                f"{sorted(process.unidades_abertas)}, consultarProcedimento in {said}"
            )
    return problems


def _record(tmp_path: Path, numbers: dict[str, Any]) -> None:
    """The run's numbers, printed (pytest -s) and kept beside the test's files."""
    text = json.dumps(numbers, indent=2, ensure_ascii=False)
    (tmp_path / "real-sei-run.json").write_text(text, encoding="utf-8")
    print(f"\nreal SEI end-to-end run:\n{text}")
