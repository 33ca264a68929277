"""Three ``sei-bridge sync --until-idle`` processes at once against ONE PostgreSQL schema, over
the same SIGRC feed and the same SEI (invariant 5): they share the work through leases
(``FOR UPDATE SKIP LOCKED``), only one of them polls the feed at a time (the advisory lock),
and together they leave the same exact end state as one process would — no duplicate effect,
nothing lost."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from sqlalchemy.engine import make_url

from sei_bridge.sandboxes.sei import FaultConfig, RunningSandbox
from sei_bridge.sandboxes.sigrc import RunningSimulator
from tests.acceptance.conftest import BridgeFactory, assert_end_state, wait_exit
from tests.fixtures.sei import SandboxFactory
from tests.fixtures.sigrc import SimulatorFactory
from tests.support.db import migrated

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

WORKERS = 3
REQUESTS = 45
SEED = 4156
SEI_FAULTS = FaultConfig(latency=0.01, jitter=0.02, lost=0.03, reset=0.02, http503=0.02)
#: the store's advisory lock purpose for the feed poller (sei_bridge.store.locking.POLLER_LOCK)
POLLER_LOCK = 1


@dataclass
class LockWatch:
    """Who holds the poller's advisory lock, sampled while the workers run."""

    samples: int = 0
    #: the most sessions seen holding it at once
    most_holders: int = 0
    #: every backend pid seen holding it
    holders: set[int] = field(default_factory=set)


def _schema(url: str) -> str:
    options = str(make_url(url).query["options"])
    return options.split("search_path=", 1)[1]


@pytest.fixture
def poller_lock_watch(postgres_schema_url: str) -> Iterator[LockWatch]:
    """Samples pg_locks every few milliseconds for the poller lock of the test's schema."""
    value = zlib.crc32(f"sei-bridge:{_schema(postgres_schema_url)}".encode())
    # pg_locks shows the two int4 keys as unsigned oids (classid, objid), objsubid 2
    query = (
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = %s AND objid = %s AND objsubid = 2"
    )
    conninfo = make_url(postgres_schema_url).set(drivername="postgresql", query={})
    watch = LockWatch()
    stop = threading.Event()

    def sample() -> None:
        with psycopg.connect(conninfo.render_as_string(hide_password=False)) as conn:
            conn.autocommit = True
            while not stop.wait(0.005):
                pids = [row[0] for row in conn.execute(query, (value, POLLER_LOCK))]
                watch.samples += 1
                watch.most_holders = max(watch.most_holders, len(pids))
                watch.holders.update(pids)

    thread = threading.Thread(target=sample, name="poller-lock-watch", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join(timeout=10)


@pytest.fixture
def sigrc(sigrc_simulator_factory: SimulatorFactory) -> RunningSimulator:
    return sigrc_simulator_factory(
        requests=REQUESTS, seed=SEED, lag_seconds=1.0, duplicate_rate=0.05, overload_rate=0.02
    )


@pytest.fixture
def sei(sei_sandbox_factory: SandboxFactory) -> RunningSandbox:
    return sei_sandbox_factory(seed=SEED, faults=SEI_FAULTS)


def test_three_workers_on_one_schema_leave_the_exact_end_state(
    sigrc: RunningSimulator,
    sei: RunningSandbox,
    bridge_factory: BridgeFactory,
    postgres_schema_url: str,
    poller_lock_watch: LockWatch,
) -> None:
    bridge = bridge_factory(sigrc, sei, migrated(postgres_schema_url), sei_concurrency=3)
    # all three start together, so they also race to create the schema
    workers = [
        bridge.start("sync", "--until-idle", "--json", log_name=f"worker-{n}")
        for n in range(WORKERS)
    ]
    codes = [wait_exit(w) for w in workers]

    errors = [(bridge.workdir / f"worker-{n}.err").read_text() for n in range(WORKERS)]
    assert codes == [0] * WORKERS, [e[-2000:] for e in errors]
    assert not any("Traceback" in e for e in errors), errors
    reports = [json.loads((bridge.workdir / f"worker-{n}.out").read_text()) for n in range(WORKERS)]
    assert all(r["idle"] for r in reports), reports
    # the work was shared: every worker ran SEI attempts of its own
    attempts = [sum(r["attempts"].values()) for r in reports]
    assert all(a > 0 for a in attempts), attempts
    # every feed item was stored once, whoever polled
    assert sum(r["events_received"] for r in reports) == len(
        {e.id_evento for e in sigrc.state.written}
    )

    # one poller at a time: the three contended for the same lock, never held twice at once
    assert poller_lock_watch.holders, poller_lock_watch
    assert poller_lock_watch.most_holders == 1, poller_lock_watch

    assert_end_state(bridge, sigrc, sei)
    audit = bridge.run("audit", "verify")
    assert audit.returncode == 0, audit.stdout + audit.stderr
