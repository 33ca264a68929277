"""``sei-bridge sync --until-idle`` — and the daemon, ``sei-bridge run`` — killed with SIGKILL at
seeded random moments, over and over, while it polls, plans and talks to SEI, and restarted each
time; then left to finish.

The end state must be the same exact one as an uninterrupted run: a kill that lands while a
SOAP call is in flight leaves an effect in SEI that the ledger does not know about; the next
process must settle it by probing SEI (no duplicate process or document), and nothing may be
lost. On SQLite (WAL, the embedded default) and on PostgreSQL.
"""

from __future__ import annotations

import functools
import json
import random
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from sei_bridge.sandboxes.sei import FaultConfig, RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from tests.acceptance.conftest import (
    Bridge,
    BridgeFactory,
    assert_end_state,
    fast_schedule,
    wait_until,
)
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory

pytestmark = pytest.mark.slow

REQUESTS = 36
SEED = 9156
KILLS = 14
#: a kill "anytime" lands after this many seconds from the start (startup, poll, plan, SEI)
ANYTIME = (0.3, 2.0)
#: a kill "while busy" lands this long after the process made its first SEI call
WHILE_BUSY = (0.0, 0.8)

#: every call takes a little while, so a kill while busy finds calls in flight; a few
#: ordinary faults on top
SEI_FAULTS = FaultConfig(latency=0.03, jitter=0.05, lost=0.02, reset=0.02, http503=0.02)


@dataclass
class Crashes:
    """What the kills hit."""

    #: kills at a random moment of the process's life
    anytime: int = 0
    #: kills while the process was calling SEI
    while_busy: int = 0
    #: lives that ended on their own before their kill moment
    finished: int = 0

    @property
    def kills(self) -> int:
        return self.anytime + self.while_busy


def _calls(sei: RunningSandbox) -> int:
    return sum(sei.state.counters().calls.values())


def _called_or_exited(
    sei: RunningSandbox, process: subprocess.Popen[bytes], calls_before: int
) -> bool:
    return _calls(sei) > calls_before or process.poll() is not None


def crash_repeatedly(
    bridge: Bridge, sei: RunningSandbox, *, kills: int, seed: int, command: tuple[str, ...]
) -> Crashes:
    """Start ``command`` (``sync --until-idle``, or the daemon) and SIGKILL it, ``kills`` times
    (fewer if a life finishes the work first): half the kills at a seeded random moment of its
    life, half a seeded random moment after it started calling SEI."""
    rng = random.Random(seed)
    crashes = Crashes()
    for life in range(kills):
        name = f"life-{life:02d}"
        busy = life % 2 == 1
        before = _calls(sei)
        process = bridge.start(*command, log_name=name)
        if busy:
            wait_until(
                functools.partial(_called_or_exited, sei, process, before),
                timeout=60,
                what="the restarted sync to call SEI",
            )
        # the kill moment is the point of the test: this sleep does not wait for anything
        time.sleep(rng.uniform(*(WHILE_BUSY if busy else ANYTIME)))
        if process.poll() is not None:
            crashes.finished += 1
            assert process.returncode == 0, (bridge.workdir / f"{name}.err").read_text()
            break
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
        if busy:
            crashes.while_busy += 1
        else:
            crashes.anytime += 1
    return crashes


def _crash_and_finish(
    bridge: Bridge,
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    *,
    seed: int,
    command: tuple[str, ...] = ("sync", "--until-idle"),
) -> None:
    crashes = crash_repeatedly(bridge, sei, kills=KILLS, seed=seed, command=command)
    # the work outlasted most lives: the kills interrupted it rather than a finished run
    assert crashes.while_busy >= KILLS // 3, crashes

    final = bridge.run("sync", "--until-idle", "--json")
    assert final.returncode == 0, final.stderr[-3000:]
    assert "Traceback" not in final.stderr
    report = json.loads(final.stdout)
    assert report["idle"] is True
    # the kills left work in flight that the last run took over
    assert report["attempts"], report

    assert_end_state(bridge, sigrc, sei)
    audit = bridge.run("audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr


@pytest.fixture
def sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    return sigrc_simulator_factory(
        requests=REQUESTS, seed=SEED, lag_seconds=1.0, duplicate_rate=0.05
    )


@pytest.fixture
def sei(sei_sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sei_sandbox_factory(seed=SEED, faults=SEI_FAULTS)


def test_sigkill_restarts_on_sqlite_leave_the_exact_end_state(
    sigrc: RunningSimulator, sei: RunningSandbox, bridge_factory: BridgeFactory, sqlite_url: str
) -> None:
    bridge = bridge_factory(sigrc, sei, sqlite_url)
    _crash_and_finish(bridge, sigrc, sei, seed=SEED)


def test_sigkill_restarts_of_the_daemon_leave_the_exact_end_state(
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
    tmp_path: Path,
) -> None:
    bridge = bridge_factory(sigrc, sei, sqlite_url)
    daemon = ("run", "--schedule", str(fast_schedule(tmp_path)))
    _crash_and_finish(bridge, sigrc, sei, seed=SEED + 2, command=daemon)


@pytest.mark.postgres
def test_sigkill_restarts_on_postgresql_leave_the_exact_end_state(
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    bridge_factory: BridgeFactory,
    postgres_schema_url: str,
) -> None:
    bridge = bridge_factory(sigrc, sei, postgres_schema_url)
    _crash_and_finish(bridge, sigrc, sei, seed=SEED + 1)
