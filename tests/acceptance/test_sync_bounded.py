"""``sei-bridge sync --until-idle --max-seconds N`` returns within about N plus one call
deadline whatever SEI or SIGRC does — trickle bytes, refuse connections, ask to come back in
an hour — says in one line why it stopped, exits 3 ("try later"), and loses nothing."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass

import pytest

from sei_bridge.sandboxes.sigrc import RunningSimulator
from sei_bridge.store import ActionKind, ActionState, Store
from tests.acceptance.conftest import BridgeFactory, SeiAt
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.hostile_http import Answer, HostileServer
from tests.support.hostile_sei import Drip, HostileSei

pytestmark = pytest.mark.slow

CREDENTIALS = ("SEI_BRIDGE", "identificacao-do-servico")
#: the answer SEI would give, had it the time (any answer does: it never arrives whole)
_ANSWER = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV='
    b'"http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body/></SOAP-ENV:Envelope>'
)


@dataclass(frozen=True)
class _SigrcAt:
    """A SIGRC by URL and token (what a Bridge needs of the simulator)."""

    base_url: str
    token: str = "sigrc-token"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _reason(stdout: str) -> str:
    head = stdout.splitlines()[0] if stdout else ""
    assert head.startswith("sync NOT idle: "), stdout
    return head


def test_a_dripping_sei_is_cut_at_the_call_deadline_and_nothing_is_lost(
    sigrc_simulator_factory: SimulatorFactory,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
) -> None:
    sigrc: RunningSimulator = sigrc_simulator_factory(requests=3, seed=5, hard_case_rate=0.0)
    # a byte every 0.5 s: never idle for the 2 s read timeout; each answer would take minutes
    with HostileSei([Drip(200, _ANSWER, every=0.5, whole=True)]) as sei:
        bridge = bridge_factory(
            sigrc,
            SeiAt(sei.endpoint_url, CREDENTIALS),
            sqlite_url,
            sei_call_deadline=5,
            log_level="INFO",
        )
        started = time.monotonic()
        result = bridge.run("sync", "--until-idle", "--max-seconds", "20", timeout=120)
        took = time.monotonic() - started
        assert sei.calls >= 1, result.stderr[-3000:]
    assert result.returncode == 3, result.stderr[-3000:]
    assert took < 32, f"sync took {took:.0f} s with --max-seconds 20 and a 5 s call deadline"
    reason = _reason(result.stdout)
    assert "time limit" in reason or "SEI circuit open" in reason, reason
    assert "Traceback" not in result.stderr
    assert "call deadline (SEI_BRIDGE_SEI_CALL_DEADLINE)" in result.stderr

    store = Store.from_url(sqlite_url)
    try:
        opens = [
            a
            for protocolo in sigrc.state.protocolos()
            for a in store.actions_of(protocolo)
            if a.kind is ActionKind.OPEN
        ]
        unmapped = {
            q.protocolo for q in store.status().quarantine if str(q.reason).startswith("unmapped")
        }
    finally:
        store.close()
    # every request is still there to be done: retryable, or uncertain and to be probed (the
    # simulator's service 9999 has no mapping: quarantined by the planner, as ever)
    assert opens
    assert {a.protocolo for a in opens} | unmapped == set(sigrc.state.protocolos())
    assert {a.state for a in opens} <= {ActionState.PENDING, ActionState.UNCERTAIN}, opens
    assert all(a.lease_owner is None for a in opens), "a lease outlived the sync"


def test_a_dead_sei_ends_the_sync_within_its_budget_saying_so(
    sigrc_simulator_factory: SimulatorFactory,
    bridge_factory: BridgeFactory,
    sqlite_url: str,
) -> None:
    sigrc: RunningSimulator = sigrc_simulator_factory(requests=3, seed=5, hard_case_rate=0.0)
    dead = f"http://127.0.0.1:{_closed_port()}/sei/ws/SeiWS.php"
    bridge = bridge_factory(
        sigrc, SeiAt(dead, CREDENTIALS), sqlite_url, sei_breaker_reset_seconds=60
    )
    started = time.monotonic()
    result = bridge.run("sync", "--until-idle", "--max-seconds", "15", timeout=120)
    took = time.monotonic() - started
    assert result.returncode == 3, result.stderr[-3000:]
    assert took < 20, f"sync took {took:.0f} s with --max-seconds 15"
    assert "SEI circuit open" in _reason(result.stdout)


def test_a_dead_sigrc_ends_the_sync_within_its_budget_saying_so(
    bridge_factory: BridgeFactory, sqlite_url: str
) -> None:
    with HostileSei([(200, _ANSWER)]) as sei:
        bridge = bridge_factory(
            _SigrcAt(f"http://127.0.0.1:{_closed_port()}/sigrc"),
            SeiAt(sei.endpoint_url, CREDENTIALS),
            sqlite_url,
        )
        started = time.monotonic()
        result = bridge.run("sync", "--until-idle", "--max-seconds", "10", timeout=120)
        took = time.monotonic() - started
    assert result.returncode == 3, result.stderr[-3000:]
    assert took < 15, f"sync took {took:.0f} s with --max-seconds 10"
    assert "SIGRC feed unavailable" in _reason(result.stdout)


def test_a_feed_retry_after_past_the_budget_ends_the_sync_at_once(
    bridge_factory: BridgeFactory, sqlite_url: str
) -> None:
    with (
        HostileServer() as sigrc,
        HostileSei([(200, _ANSWER)]) as sei,
    ):
        sigrc.script("/sigrc/v1/eventos", Answer(503, b"{}", headers={"Retry-After": "3600"}))
        bridge = bridge_factory(
            _SigrcAt(sigrc.url + "/sigrc"), SeiAt(sei.endpoint_url, CREDENTIALS), sqlite_url
        )
        started = time.monotonic()
        result = bridge.run("sync", "--until-idle", "--max-seconds", "60", timeout=120)
        took = time.monotonic() - started
        hits = sigrc.hits["/sigrc/v1/eventos"]
    assert result.returncode == 3, result.stderr[-3000:]
    # SIGRC asked for an hour: waiting out the minute would not help, asking again is rude
    assert took < 15, f"sync took {took:.0f} s"
    assert hits == 1
    reason = _reason(result.stdout)
    assert "retry after 3600 s" in reason and "try later" in reason, reason


def test_a_dripping_sigrc_feed_ends_the_sync_within_budget_plus_one_call_deadline(
    bridge_factory: BridgeFactory, sqlite_url: str
) -> None:
    with (
        HostileServer() as sigrc,
        HostileSei([(200, _ANSWER)]) as sei,
    ):
        # a byte every 0.5 s: never idle for the read timeout, a page would take minutes
        sigrc.script("/sigrc/v1/eventos", Answer(200, b'{"eventos": []' + b" " * 500, drip=0.5))
        bridge = bridge_factory(
            _SigrcAt(sigrc.url + "/sigrc"),
            SeiAt(sei.endpoint_url, CREDENTIALS),
            sqlite_url,
            sigrc_call_deadline=4,
        )
        started = time.monotonic()
        result = bridge.run("sync", "--until-idle", "--max-seconds", "10", timeout=120)
        took = time.monotonic() - started
        hits = sigrc.hits["/sigrc/v1/eventos"]
    assert result.returncode == 3, result.stderr[-3000:]
    assert took < 10 + 4 + 4, f"sync took {took:.0f} s with --max-seconds 10, deadline 4 s"
    assert hits >= 2, "each feed read should end at its deadline and be tried again"
    reason = _reason(result.stdout)
    assert "SIGRC feed unavailable" in reason and "SEI_BRIDGE_SIGRC_CALL_DEADLINE" in reason
