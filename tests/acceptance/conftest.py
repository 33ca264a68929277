"""The ``sei-bridge`` command as a subprocess, against the SEI sandbox and the SIGRC simulator
running in this test process (real HTTP on 127.0.0.1), so a test can inspect both.

- ``bridge_factory(sigrc, sei, database_url, *, mappings=..., **settings)``: a :class:`Bridge`,
  i.e. the environment (``SEI_BRIDGE_*``) of a sei-bridge installation pointed at them, able to
  run any subcommand to completion (:meth:`Bridge.run`) or start one in the background
  (:meth:`Bridge.start`, e.g. to SIGKILL it). ``sei`` is a sandbox or any :class:`SeiAt`
  (another SEI, e.g. a real one, by URL and credentials). Commands other than ``migrate`` refuse
  a database that is not at the current schema: give a fresh one as
  ``tests.support.db.migrated(url)``.
- ``fazenda_mappings``: the repository's mappings/ (``sei.numero_protocolo`` set).
- ``mappings_copy``: a temp copy of mappings/ a test may edit.
- ``end_state_problems(bridge, sigrc, sei)``: :func:`tests.support.end_state.check_end_state`
  with the status read through ``sei-bridge status --json``.

Every subprocess is killed at teardown if a test left it running.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Protocol

import pytest

from sei_bridge import mapping
from sei_bridge.sandboxes.sei import RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from tests.support import end_state

REPO = Path(__file__).resolve().parents[2]
MAPPINGS_DIR = REPO / "mappings"

#: seconds a SEI call may take before sei-bridge calls its outcome unknown: short, so the
#: sandbox's "hang" fault (held longer than this) costs little time
READ_TIMEOUT = 2.0
#: how long the work a killed worker held waits before another takes it over (default 120 s)
LEASE_SECONDS = 5.0
#: how long the SEI circuit stays open after repeated failures (default 30 s)
BREAKER_RESET_SECONDS = 2.0
#: a command that takes longer than this is stuck: the test fails instead of hanging CI
COMMAND_TIMEOUT = 150.0


def _clean_environment() -> dict[str, str]:
    """This process's environment without any SEI_BRIDGE_* setting (a developer's own
    settings must not leak into the tests)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("SEI_BRIDGE_")}


class SeiEndpoint(Protocol):
    """What a Bridge needs of a SEI: a :class:`RunningSandbox` is one, :class:`SeiAt` too."""

    @property
    def endpoint_url(self) -> str: ...

    @property
    def credentials(self) -> tuple[str, str]: ...


@dataclass(frozen=True)
class SeiAt:
    """Any SEI by its SOAP endpoint and ``(SiglaSistema, IdentificacaoServico)``."""

    endpoint_url: str
    credentials: tuple[str, str]


@dataclass
class Bridge:
    """One sei-bridge installation: its settings, run as ``python -m sei_bridge.cli``."""

    env: dict[str, str]
    workdir: Path
    _started: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _logs: list[IO[bytes]] = field(default_factory=list)

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "sei_bridge.cli", *args]

    def run(
        self, *args: str, timeout: float = COMMAND_TIMEOUT, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``sei-bridge ARGS`` to completion; output captured as text."""
        return subprocess.run(
            self.command(*args),
            env={**self.env, **(env or {})},
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, *args: str, log_name: str = "bridge") -> subprocess.Popen[bytes]:
        """Start ``sei-bridge ARGS`` in the background; output goes to files in the work dir
        (a pipe nobody reads would block it)."""
        out = (self.workdir / f"{log_name}.out").open("ab")
        err = (self.workdir / f"{log_name}.err").open("ab")
        self._logs += [out, err]
        process = subprocess.Popen(
            self.command(*args), env=self.env, cwd=self.workdir, stdout=out, stderr=err
        )
        self._started.append(process)
        return process

    def status(self) -> dict[str, Any]:
        """``sei-bridge status --json``, parsed (the command must succeed)."""
        result = self.run("status", "--json")
        assert result.returncode == 0, result.stderr
        data: dict[str, Any] = json.loads(result.stdout)
        return data

    def close(self) -> None:
        for process in self._started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        for log in self._logs:
            log.close()


def wait_exit(process: subprocess.Popen[bytes], timeout: float = COMMAND_TIMEOUT) -> int:
    """The exit code of ``process``, waiting at most ``timeout`` seconds (then fail)."""
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        pytest.fail(f"sei-bridge {process.args!r} did not finish within {timeout:.0f} s")


def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    """Wait for ``condition()`` (polled) or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def assert_one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The error line of a failed command: exit 2, no traceback, one ``sei-bridge: error:``
    line on stderr containing every needle."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("sei-bridge: error:")]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (for the daemon's endpoint)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


#: a schedule for tests of ``sei-bridge run``: the worker's jobs every second
FAST_SCHEDULE = """\
defaults: {coalesce: true, max_instances: 1, misfire_grace_time: 30}
jobs:
  poll: {trigger: {type: interval, seconds: 1}}
  plan: {trigger: {type: interval, seconds: 1}}
  dispatch: {trigger: {type: interval, seconds: 1}, options: {max_seconds: 30}}
"""


def fast_schedule(folder: Path) -> Path:
    """:data:`FAST_SCHEDULE` written to ``folder``; pass it to ``run --schedule``."""
    path = folder / "schedule.yaml"
    path.write_text(FAST_SCHEDULE, encoding="utf-8")
    return path


BridgeFactory = Callable[..., Bridge]


@pytest.fixture
def bridge_factory(tmp_path: Path) -> Iterator[BridgeFactory]:
    made: list[Bridge] = []

    def make(
        sigrc: RunningSimulator,
        sei: SeiEndpoint,
        database_url: str,
        *,
        mappings: Path = MAPPINGS_DIR,
        name: str = "bridge",
        **settings: Any,
    ) -> Bridge:
        workdir = tmp_path / name
        workdir.mkdir(exist_ok=True)
        sigla, servico = sei.credentials
        values: dict[str, Any] = {
            "database_url": database_url,
            "sigrc_url": sigrc.base_url,
            "sigrc_token": sigrc.token,
            "sei_url": sei.endpoint_url,
            "sei_sigla_sistema": sigla,
            "sei_identificacao_servico": servico,
            "mappings": str(mappings),
            "work_dir": str(workdir / "work"),
            "sei_read_timeout": READ_TIMEOUT,
            "sei_connect_timeout": 1.0,
            "sei_concurrency": 4,
            "sei_rate_limit": 0,
            "lease_seconds": LEASE_SECONDS,
            "sei_breaker_reset_seconds": BREAKER_RESET_SECONDS,
            "log_level": "WARNING",
            **settings,
        }
        env = _clean_environment()
        env.update({f"SEI_BRIDGE_{k.upper()}": str(v) for k, v in values.items()})
        bridge = Bridge(env=env, workdir=workdir)
        made.append(bridge)
        return bridge

    yield make
    for bridge in made:
        bridge.close()


@pytest.fixture(scope="session")
def fazenda_mappings() -> mapping.Mappings:
    return mapping.load_mappings(MAPPINGS_DIR)


@pytest.fixture
def mappings_copy(tmp_path: Path) -> Path:
    """A copy of mappings/ the test may change."""
    target = tmp_path / "mappings"
    shutil.copytree(MAPPINGS_DIR, target)
    return target


def end_state_problems(
    bridge: Bridge,
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    *,
    mappings: Path = MAPPINGS_DIR,
) -> list[str]:
    """Every difference between the end state (SEI, SIGRC's back-links, the ledger as
    ``status --json`` shows it) and what SIGRC's events call for."""
    return end_state.check_end_state(
        sigrc=sigrc.state,
        sei=sei.state,
        mappings=mapping.load_mappings(mappings),
        status=bridge.status(),
    )


def assert_end_state(
    bridge: Bridge,
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    *,
    mappings: Path = MAPPINGS_DIR,
) -> None:
    """Fail with every discrepancy, one per line, unless the end state is exact."""
    problems = end_state_problems(bridge, sigrc, sei, mappings=mappings)
    assert not problems, f"{len(problems)} discrepancies:\n" + "\n".join(problems)


def kinds(entries: Sequence[dict[str, Any]]) -> set[str]:
    """Reason codes ("unmapped", "attachment-refused", ...) of quarantine entries."""
    return {str(e["reason"]).split(":", 1)[0] for e in entries}


def expected_state(
    sigrc: RunningSimulator, sei: RunningSandbox, mappings: mapping.Mappings
) -> end_state.ExpectedState:
    """What SEI must hold for everything ``sigrc`` wrote (see tests.support.end_state)."""
    return end_state.expected_end_state(
        sigrc.state.written,
        mappings,
        allowed_extension=lambda ext: sei.state.catalog.extensao(ext) is not None,
    )
