"""``sei-bridge run`` as operations see it, over real HTTP: ``/healthz``, ``/readyz`` and
``/metrics`` on the configured address, and a SIGRC that starts refusing our token while SEI
work is still pending — the daemon keeps sending that work to SEI, says it is not ready and why
(one ERROR line, a metric), and recovers by itself when the token is accepted again."""

from __future__ import annotations

import json
import re
import socket
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
    wait_until,
)
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory

pytestmark = pytest.mark.slow

SCHEDULE = """\
defaults: {coalesce: true, max_instances: 1, misfire_grace_time: 30}
jobs:
  poll: {trigger: {type: interval, seconds: 1}}
  plan: {trigger: {type: interval, seconds: 1}}
  dispatch: {trigger: {type: interval, seconds: 1}, options: {max_seconds: 30}}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
        schedule = tmp_path / "schedule.yaml"
        schedule.write_text(SCHEDULE)
        self.port = _free_port()
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
    bridge = bridge_factory(sigrc, sei, sqlite_url, log_level="INFO")
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
    bridge = bridge_factory(sigrc_simulator, sei_sandbox, sqlite_url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = bridge.run("run", env={"SEI_BRIDGE_METRICS_PORT": str(port)}, timeout=60)
    assert_one_line_error(result, f"127.0.0.1:{port}", "SEI_BRIDGE_METRICS_PORT")
