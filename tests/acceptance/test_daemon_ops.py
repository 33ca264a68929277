"""``sei-bridge run`` as operations see it, over real HTTP: ``/healthz``, ``/readyz`` and
``/metrics`` on the configured address, and a SIGRC that starts refusing our token while SEI
work is still pending — the daemon keeps sending that work to SEI, says it is not ready and why
(one ERROR line, a metric), and recovers by itself when the token is accepted again."""

from __future__ import annotations

import json
import re
import signal
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from sei_bridge.sandboxes.sei import FaultConfig, RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from tests.acceptance.conftest import (
    Bridge,
    BridgeFactory,
    assert_end_state,
    assert_one_line_error,
    fast_schedule,
    free_port,
    wait_exit,
    wait_until,
)
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.db import migrated

pytestmark = pytest.mark.slow


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def _metric(page: str, name: str, **labels: str) -> float | None:
    """The value of one series in a Prometheus text page (None when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "")
    match = re.search(rf"^{pattern} (\S+)$", page, re.MULTILINE)
    return float(match.group(1)) if match else None


class Daemon:
    def __init__(self, bridge: Bridge, tmp_path: Path) -> None:
        schedule = fast_schedule(tmp_path)
        self.port = free_port()
        bridge.env["SEI_BRIDGE_METRICS_PORT"] = str(self.port)
        self.process = bridge.start("run", "--schedule", str(schedule), log_name="daemon")
        self.log = bridge.workdir / "daemon.err"
        self.base = f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> tuple[int, str]:
        return _get(self.base + path)

    def ready(self) -> dict[str, dict[str, object]]:
        status, body = self.get("/readyz")
        checks: dict[str, dict[str, object]] = json.loads(body)["checks"]
        assert (status == 200) == all(c["ok"] for c in checks.values()), (status, body)
        return checks

    def metric(self, name: str, **labels: str) -> float | None:
        status, page = self.get("/metrics")
        assert status == 200
        return _metric(page, name, **labels)

    def answers(self) -> bool:
        try:
            return self.get("/healthz")[0] in (200, 503)
        except OSError:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            return False


def _only_sigrc_waits(bridge: Bridge) -> bool:
    """Every processo opened in SEI (during the refusal: SEI was down until then), and SIGRC's
    PUTs of the back-links still waiting. (Attachments come from SIGRC too, and each request's
    later documents wait behind its attachments: per-request order is kept.)"""
    actions = bridge.status()["actions"]
    sigrc_waits = actions.get("SIGRC_PROCESSO", {}).get("PENDING", 0) > 0
    return sigrc_waits and set(actions["OPEN"]) == {"DONE"}


def _pending_sei_work(daemon: Daemon) -> bool:
    pending = daemon.metric("sei_bridge_ledger_actions", state="PENDING") or 0
    return pending > 0


def test_the_daemon_reports_health_and_keeps_working_while_sigrc_refuses_the_token(
    sigrc_simulator_factory: SimulatorFactory,
    sei_sandbox_factory: SandboxFactory,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    sigrc: RunningSimulator = sigrc_simulator_factory(requests=12, seed=31, hard_case_rate=0.0)
    sei: RunningSandbox = sei_sandbox_factory(seed=31)
    sei.faults.configure(FaultConfig(http503=1.0))  # SEI down: the work waits, planned
    bridge = bridge_factory(sigrc, sei, migrated(sqlite_url), log_level="INFO")
    daemon = Daemon(bridge, tmp_path)
    wait_until(daemon.answers, timeout=60, what="the operations endpoint")

    assert daemon.get("/healthz")[0] == 200
    assert daemon.get("/nothing-here")[0] == 404
    wait_until(
        lambda: _pending_sei_work(daemon) and not daemon.ready()["sei_circuit"]["ok"],
        timeout=60,
        what="planned SEI work and the SEI circuit open",
    )
    assert daemon.ready()["poller"]["ok"] and daemon.ready()["sigrc_credentials"]["ok"]
    assert (
        daemon.metric("sei_bridge_sigrc_calls_total", endpoint="GET /v1/eventos", outcome="ok") or 0
    ) > 0
    assert (daemon.metric("sei_bridge_last_success_timestamp_seconds", step="poll") or 0) > 0
    assert daemon.metric("sei_bridge_poll_lock_held") == 1

    # SIGRC stops accepting our token; SEI comes back (soon: each failed attempt during the
    # outage lengthens that action's backoff)
    sigrc.accept_token("a-token-sei-bridge-does-not-have")
    wait_until(
        lambda: not daemon.ready()["sigrc_credentials"]["ok"],
        timeout=60,
        what="/readyz to report the refused token",
    )
    sei.faults.configure(FaultConfig())
    # the SEI work goes on
    wait_until(
        lambda: _only_sigrc_waits(bridge),
        timeout=120,
        what="every processo opened while SIGRC refuses the token",
    )
    assert daemon.process.poll() is None, "the daemon died of a refused token"
    assert daemon.metric("sei_bridge_sigrc_auth_failing") == 1
    assert daemon.get("/readyz")[0] == 503
    refusals = [line for line in daemon.log.read_text().splitlines() if " ERROR " in line]
    assert len([line for line in refusals if "401" in line]) == 1, refusals

    # the token is fixed: the daemon recovers by itself and finishes
    sigrc.accept_token(sigrc.token)
    wait_until(
        lambda: (
            daemon.get("/readyz")[0] == 200
            and (daemon.metric("sei_bridge_ledger_actions", state="PENDING") or 0) == 0
            and (daemon.metric("sei_bridge_ledger_actions", state="UNCERTAIN") or 0) == 0
        ),
        timeout=120,
        what="recovery after the token is accepted again",
    )
    assert daemon.metric("sei_bridge_sigrc_auth_failing") == 0
    assert "SIGRC accepts the token again" in daemon.log.read_text()
    bridge.close()
    assert_end_state(bridge, sigrc, sei)


def test_a_metrics_port_in_use_is_a_one_line_error(
    sigrc_simulator: RunningSimulator,
    sei_sandbox: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
) -> None:
    bridge = bridge_factory(sigrc_simulator, sei_sandbox, migrated(sqlite_url))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = bridge.run("run", env={"SEI_BRIDGE_METRICS_PORT": str(port)}, timeout=60)
    assert_one_line_error(result, f"127.0.0.1:{port}", "SEI_BRIDGE_METRICS_PORT")


def _wait_for_done(daemon: Daemon, count: int) -> None:
    wait_until(
        lambda: (daemon.metric("sei_bridge_ledger_actions", state="DONE") or 0) >= count,
        timeout=90,
        what=f"{count} actions done",
    )


@pytest.mark.parametrize(
    ("latency", "stop_seconds", "abandoned"),
    [
        pytest.param(0.2, 10.0, False, id="calls-finish"),
        pytest.param(4.0, 1.0, True, id="calls-abandoned"),
    ],
)
def test_sigterm_stops_the_daemon_within_its_stop_time_and_loses_nothing(
    sigrc_simulator_factory: SimulatorFactory,
    sei_sandbox_factory: SandboxFactory,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    tmp_path: Path,
    latency: float,
    stop_seconds: float,
    abandoned: bool,
) -> None:
    sigrc: RunningSimulator = sigrc_simulator_factory(requests=60, seed=41, hard_case_rate=0.0)
    sei: RunningSandbox = sei_sandbox_factory(seed=41)
    sei.faults.configure(FaultConfig(latency=latency))
    bridge = bridge_factory(
        sigrc,
        sei,
        migrated(sqlite_url),
        log_level="INFO",
        stop_seconds=stop_seconds,
        sei_read_timeout=latency + 5,
    )
    daemon = Daemon(bridge, tmp_path)
    wait_until(daemon.answers, timeout=60, what="the operations endpoint")
    _wait_for_done(daemon, 3)

    started = time.monotonic()
    daemon.process.send_signal(signal.SIGTERM)
    code = wait_exit(daemon.process, timeout=stop_seconds + 30)
    took = time.monotonic() - started
    log = daemon.log.read_text()
    assert code == 0, log[-3000:]
    assert took < stop_seconds + 5, f"stopped {took:.1f} s after SIGTERM"
    assert "signal 15: stopping" in log
    assert ("still running after" in log) is abandoned, log[-3000:]
    assert "Traceback" not in log

    # what the stopped daemon left is finished by the next worker: exactly once each
    sei.faults.configure(FaultConfig())
    result = bridge.run("sync", "--until-idle", "--max-seconds", "120")
    assert result.returncode == 0, result.stderr[-3000:]
    assert_end_state(bridge, sigrc, sei)


MAPPING_9999 = """
  "9999":
    tipo_procedimento: "100000345"
    assuntos: ["052.1"]
    concluir_ao_finalizar: true
"""


def _unmapped_quarantine(bridge: Bridge) -> set[str]:
    return {
        q["protocolo"]
        for q in bridge.status()["quarantine"]
        if q["what"] == "request" and str(q["reason"]).startswith("unmapped")
    }


def test_a_running_daemon_picks_up_changed_mappings_and_keeps_them_when_broken(
    sigrc_simulator_factory: SimulatorFactory,
    sei_sandbox: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    mappings_copy: Path,
    tmp_path: Path,
) -> None:
    # every hard case (the unmapped service among them) is in 10 requests at least once
    sigrc: RunningSimulator = sigrc_simulator_factory(requests=10, seed=3156)
    bridge = bridge_factory(
        sigrc, sei_sandbox, migrated(sqlite_url), mappings=mappings_copy, log_level="INFO"
    )
    daemon = Daemon(bridge, tmp_path)
    wait_until(lambda: bool(_unmapped_quarantine(bridge)), timeout=60, what="unmapped requests")
    unmapped = _unmapped_quarantine(bridge)
    version = bridge.status()["mappings_version"]
    assert daemon.metric("sei_bridge_mappings_info", version=version) == 1

    # a broken edit: reported once, the mappings in use stay
    fazenda = mappings_copy / "fazenda.yaml"
    good = fazenda.read_text(encoding="utf-8")
    fazenda.write_text(good + '\n  "9999": [not, a, mapping\n', encoding="utf-8")
    daemon.process.send_signal(signal.SIGHUP)
    wait_until(
        lambda: "mappings not reloaded" in daemon.log.read_text(), timeout=30, what="the refusal"
    )
    # several planning rounds later (each checks the folder first): still one line
    rounds: list[float] = []

    def planned_again() -> bool:
        at = daemon.metric("sei_bridge_last_success_timestamp_seconds", step="plan")
        if at is not None and at not in rounds:
            rounds.append(at)
        return len(rounds) >= 3

    wait_until(planned_again, timeout=30, what="three more planning rounds")
    assert daemon.log.read_text().count("mappings not reloaded") == 1
    assert daemon.metric("sei_bridge_mappings_info", version=version) == 1

    # the operator maps the service and replays: the daemon plans them with the new mappings
    fazenda.write_text(good + MAPPING_9999, encoding="utf-8")
    wait_until(lambda: "mappings reloaded" in daemon.log.read_text(), timeout=30, what="reload")
    replay = bridge.run("replay", "--reason", "unmapped")
    assert replay.returncode == 0, replay.stderr
    wait_until(
        lambda: all(sei_sandbox.state.process(f"SP156-{p}") for p in unmapped),
        timeout=90,
        what="processes for the requests of the newly mapped service",
    )
    assert not _unmapped_quarantine(bridge)
    new_version = bridge.status()["mappings_version"]
    assert new_version != version
    assert daemon.metric("sei_bridge_mappings_info", version=new_version) == 1
    assert daemon.metric("sei_bridge_mappings_info", version=version) is None
