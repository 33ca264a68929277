"""How long a reconciliation takes, and what it asks of SIGRC and SEI, per request.

Syncs N generated Fazenda requests (no hard cases, no faults) from the SIGRC simulator into the
SEI sandbox on a temporary SQLite store, then times ``Reconciler.run`` over all of them, with
the SEI leg and without (``--no-sei``), counting the SEI calls the run made by operation and the
peak RSS of this process. The simulator and the sandbox run in this process (their threads take
CPU from the measured run: the numbers are an upper bound of reconciliation's own cost).

    .venv/bin/python bench/reconcile.py [--requests 300] [--seed 156]
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import resource
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sei_bridge import config, mapping  # noqa: E402
from sei_bridge.engine import Engine, SeiGuard  # noqa: E402
from sei_bridge.reconcile import Reconciler  # noqa: E402
from sei_bridge.sandboxes.sei import SandboxConfig, start_sandbox  # noqa: E402
from sei_bridge.sandboxes.sigrc import SimulatorConfig, start_simulator  # noqa: E402
from sei_bridge.sandboxes.traffic import DEFAULT_START  # noqa: E402
from sei_bridge.sei.client import SeiClient  # noqa: E402
from sei_bridge.sigrc.client import SigrcClient  # noqa: E402
from sei_bridge.sigrc.feed import FeedReader  # noqa: E402
from sei_bridge.store import Store  # noqa: E402

TOKEN, SIGLA, SERVICO = "bench-token", "SEI_BRIDGE", "bench-key"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--seed", type=int, default=156)
    args = parser.parse_args()
    mappings = mapping.load_mappings(REPO / "mappings")
    sim_config = SimulatorConfig(
        token=TOKEN,
        seed=args.seed,
        requests=args.requests,
        hard_cases=frozenset(),
        hard_case_rate=0.0,
        ensure_hard_cases=False,
    )
    sandbox_config = SandboxConfig(sigla_sistema=SIGLA, identificacao_servico=SERVICO, seed=1)
    logging.basicConfig(level=logging.ERROR)
    with (
        tempfile.TemporaryDirectory() as tmp,
        start_simulator(sim_config, port=0) as sim,
        start_sandbox(sandbox_config, port=0) as sandbox,
    ):
        url = f"sqlite:///{tmp}/ledger.db"
        store = Store.from_url(url, pool_size=12)
        store.migrate()
        settings = config.load_settings(
            environ={}, overrides={"database_url": url, "work_dir": f"{tmp}/work"}
        )
        sigrc = SigrcClient(base_url=sim.base_url, token=TOKEN, orgao="SF")
        sei = SeiClient(
            endpoint_url=sandbox.endpoint_url, sigla_sistema=SIGLA, identificacao_servico=SERVICO
        )
        engine = Engine(
            store=store,
            feed=FeedReader(sigrc),
            sigrc=sigrc,
            sei=sei,
            mappings=mappings,
            settings=settings,
            guard=SeiGuard(rate_limit=0),
            poll_interval=0.2,
        )
        started = time.monotonic()
        sync = engine.sync_until_idle(max_seconds=600)
        print(
            f"sync of {args.requests} requests: {time.monotonic() - started:.1f} s, "
            f"idle {sync.idle}"
        )
        documents = sum(len(p.documents) for p in sandbox.state.processes())
        print(f"SEI holds {len(sandbox.state.processes())} processes, {documents} documents")
        for leg in ("with SEI", "without SEI"):
            before = Counter(sandbox.state.counters().calls)
            reconciler = Reconciler(
                store=store,
                sigrc=sigrc,
                sei=sei if leg == "with SEI" else None,
                mappings=mappings,
                orgao="SF",
                now=lambda: DEFAULT_START,
            )
            cpu0, t0 = time.process_time(), time.monotonic()
            report = reconciler.run(since=DEFAULT_START - dt.timedelta(days=1))
            wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
            calls = Counter(sandbox.state.counters().calls) - before
            n = max(report.requests_checked, 1)
            print(
                f"reconcile {leg}: {report.requests_checked} requests checked in {wall:.2f} s "
                f"({1000 * wall / n:.1f} ms/request, CPU {1000 * cpu / n:.1f} ms/request), "
                f"findings {report.findings_total}, pages {report.pages_read}"
            )
            print(
                "  findings by kind:",
                dict(sorted((k.value, v) for k, v in report.totals.items())),
            )
            if calls:
                total = sum(calls.values())
                print(
                    f"  SEI calls: {total} ({total / n:.1f}/request) {dict(sorted(calls.items()))}"
                )
        store.close()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of the process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
