"""``sei-bridge sync --until-idle`` as an operator runs it, over ~60 generated requests with
SEI misbehaving (lost answers after commit, resets, 503s, an outage, hangs past the read
timeout) and the SIGRC feed too (commit lag, re-deliveries, overload): it exits 0 and leaves
exactly the state SIGRC's events call for; then the auditors' and operators' commands."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sei_bridge import mapping
from sei_bridge.sandboxes.sei import FaultConfig, RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from tests.acceptance.conftest import (
    READ_TIMEOUT,
    BridgeFactory,
    assert_end_state,
    expected_state,
    kinds,
    wait_exit,
    wait_until,
)
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.db import migrated
from tests.support.traffic import malformed_midway

pytestmark = pytest.mark.slow

REQUESTS = 60
SEED = 2026

#: moderate SEI faults: each kind of trouble shows up several times in a run of ~500 calls
SEI_FAULTS = FaultConfig(
    http503=0.03,
    reset=0.02,
    lost=0.03,
    hang=0.01,
    hang_seconds=READ_TIMEOUT + 1.0,
    hang_commits=True,
)
#: every call fails for this long once SEI is busy (see the test)
OUTAGE_SECONDS = 1.5


@pytest.fixture
def sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    simulator = sigrc_simulator_factory(
        requests=REQUESTS,
        seed=SEED,
        lag_seconds=1.0,
        duplicate_rate=0.05,
        overload_rate=0.03,
    )
    # an interaction served malformed and followed by another one, closed later or not
    for closed in (True, False):
        extra = malformed_midway(SEED + 1, closed=closed)
        assert extra.protocolo not in simulator.state.protocolos()
        simulator.state.add_request(extra)
    return simulator


@pytest.fixture
def sei(sei_sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sei_sandbox_factory(seed=SEED)


def test_sync_until_idle_under_faults_reaches_the_exact_end_state(
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    tmp_path: Path,
    fazenda_mappings: mapping.Mappings,
) -> None:
    bridge = bridge_factory(sigrc, sei, migrated(sqlite_url))
    sei.faults.configure(SEI_FAULTS)

    sync = bridge.start("sync", "--until-idle", "--json", log_name="sync")
    # SEI goes down for a moment while the sync is busy with it
    wait_until(lambda: _calls(sei) >= 40, timeout=60, what="the sync to reach SEI")
    sei.faults.start_outage(OUTAGE_SECONDS)
    assert wait_exit(sync) == 0, (bridge.workdir / "sync.err").read_text()[-3000:]

    stderr = (bridge.workdir / "sync.err").read_text()
    assert "Traceback" not in stderr
    report = json.loads((bridge.workdir / "sync.out").read_text())
    assert report["idle"] is True and report["reason"] is None
    # the faults really happened, and the run went through them
    injected = sei.state.counters().faults
    for kind in ("http503", "reset", "lost", "outage"):
        assert injected.get(kind, 0) > 0, injected
    assert sum(sigrc.state.overloads.values()) > 0
    assert any(e.duplicate_of is not None for e in sigrc.state.written)
    assert report["attempts"].get("uncertain", 0) > 0, report["attempts"]

    sei.faults.clear()
    expected = expected_state(sigrc, sei, fazenda_mappings)
    # the traffic holds every case the end state must get right
    assert expected.unmapped and expected.malformed and expected.unknown and expected.refused
    assert expected.done["REABRIR"] > 0 and expected.done["CONCLUIR"] > 0
    assert_end_state(bridge, sigrc, sei)

    # status --json: its shape, and counts that agree with SEI
    status = bridge.status()
    assert set(status) >= {
        "generated_at",
        "inbox",
        "actions",
        "actions_by_state",
        "requests",
        "in_flight",
        "oldest_due_at",
        "quarantine",
        "attention",
        "cursors",
    }
    assert status["in_flight"] == 0 and status["attention"] == []
    assert status["actions_by_state"].get("PENDING", 0) == 0
    assert status["actions"]["OPEN"] == {"DONE": len(sei.state.processes())}
    documents = sum(len(p.documents) for p in sei.state.processes())
    doc_kinds = ("ANEXO", "SOLICITACAO_DOC", "INTERACAO_DOC", "FINALIZADO_DOC")
    assert sum(status["actions"][k].get("DONE", 0) for k in doc_kinds) == documents
    assert kinds(status["quarantine"]) >= {"unmapped", "attachment-refused"}
    assert status["cursors"]["sigrc"] > 0
    assert sum(report["inbox_by_state"].values()) == sum(status["inbox"].values())

    # the auditors: the audit trail verifies, reconciliation finds only what quarantine says
    audit = bridge.run("audit", "verify", "--json")
    assert audit.returncode == 0, audit.stdout + audit.stderr
    assert json.loads(audit.stdout)["ok"] is True

    # the generated traffic happened months ago: look far enough back to cover all of it
    reconcile = bridge.run(
        "reconcile", "--json", "--since-days", "3650", "--report", str(tmp_path / "report.json")
    )
    assert "Traceback" not in reconcile.stderr, reconcile.stderr
    data = json.loads(reconcile.stdout)
    findings = data["findings"]
    # every mapped request, and the unmapped ones sei-bridge quarantined
    assert data["requests_checked"] >= len(expected.processes)
    assert data["complete"] is True and data["findings_total"] == len(findings)
    assert [f for f in findings if not _explained(f, status)] == []
    # the refused PNGs are reported to the auditors, request by request
    refused = {q["protocolo"] for q in status["quarantine"] if q["kind"] == "ANEXO"}
    assert {
        f["protocolo"]
        for f in findings
        if f["kind"] == "quarantined" and f["detail"].startswith("action ")
    } == refused
    assert reconcile.returncode == (1 if findings else 0)
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["findings"] == (
        findings
    )

    # a second pass over a synced feed changes nothing in SEI
    before = sei.state.counters().calls.get("gerarProcedimento", 0), documents
    again = bridge.run("sync", "--until-idle", "--json")
    assert again.returncode == 0, again.stderr[-3000:]
    assert json.loads(again.stdout)["actions_planned"] == 0
    after = (
        sei.state.counters().calls.get("gerarProcedimento", 0),
        sum(len(p.documents) for p in sei.state.processes()),
    )
    assert after == before

    # the auditors' other formats, one protocolo, and --fix, as an operator runs them
    page = tmp_path / "report.html"
    as_csv = bridge.run("reconcile", "--csv", "--since-days", "3650", "--html", str(page))
    assert as_csv.returncode == reconcile.returncode, as_csv.stderr[-3000:]
    rows = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert rows[0][:2] == ["kind", "protocolo"] and len(rows) == len(findings) + 1
    html_text = page.read_text(encoding="utf-8")
    assert "<script" not in html_text and html_text.index('id="totals"') < html_text.index(
        'id="all"'
    )
    one = sorted(expected.processes)[0]
    single = bridge.run("reconcile", "--json", "--protocolo", one)
    assert single.returncode in (0, 1), single.stderr[-3000:]
    assert json.loads(single.stdout)["requests_checked"] == 1
    fixed = bridge.run("reconcile", "--fix", "--json", "--since-days", "3650")
    assert fixed.returncode == reconcile.returncode, fixed.stderr[-3000:]
    fixable = [f for f in findings if f["fixable"]]
    assert (json.loads(fixed.stdout)["repairs_enqueued"] > 0) == bool(fixable)
    assert bridge.run("sync", "--until-idle", "--json").returncode == 0
    later = json.loads(bridge.run("reconcile", "--json", "--since-days", "3650").stdout)
    assert [f for f in later["findings"] if f["fixable"]] == []


def _calls(sei: RunningSandbox) -> int:
    return sum(sei.state.counters().calls.values())


def _explained(finding: dict[str, Any], status: dict[str, Any]) -> bool:
    """A reconciliation finding the traffic explains: an item the quarantine holds (a refused
    attachment, an unmapped request, a malformed event), an interaction missing in SEI while its
    event waits in quarantine (malformed in the feed, nothing later brought it back), or an open
    request past its deadline (the generated requests are months old)."""
    entries = [q for q in status["quarantine"] if q["protocolo"] == finding["protocolo"]]
    if finding["kind"] == "quarantined":
        return bool(entries)
    if finding["kind"] == "interaction_missing":
        return any(q["what"] == "event" and q["kind"] == "solicitacao.interacao" for q in entries)
    return bool(finding["kind"] == "overdue_without_finalization")


def test_mappings_check_against_the_sandbox(
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    mappings_copy: Path,
) -> None:
    good = bridge_factory(sigrc, sei, sqlite_url).run("mappings", "check")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "every unit, process type, série and hipótese legal exists in SEI" in good.stdout

    path = mappings_copy / "fazenda.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["defaults"]["series"]["interacao"] = "999"  # a série SEI lacks
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    broken = bridge_factory(sigrc, sei, sqlite_url, mappings=mappings_copy, name="broken").run(
        "mappings", "check"
    )
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "Traceback" not in broken.stderr
    problems = [ln for ln in broken.stdout.splitlines() if ln.startswith("problem:")]
    assert problems, broken.stdout
    assert all("série interacao 999" in p and "listarSeries" in p for p in problems), problems
