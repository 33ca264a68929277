"""``sei-bridge demo``: the whole product on embedded defaults, in one command.

Starts the SIGRC simulator and the SEI sandbox on free local ports, runs the engine on a temporary
SQLite database over a few hundred generated Fazenda requests with moderate faults switched on
(lost responses after commit, connection resets, 503s, feed lag, duplicate deliveries), shows a
progress bar, and prints what happened.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from sei_bridge import app, config
from sei_bridge.sei.sandbox import FaultConfig, SandboxConfig, start_sandbox
from sei_bridge.sigrc.simulator import SimulatorConfig, start_simulator

DEFAULT_REQUESTS = 300
DEMO_TOKEN = "demo-token"
DEMO_SIGLA = "SEI_BRIDGE"
DEMO_SERVICO = "demo-key"
MAPPINGS_DIR = Path(__file__).resolve().parent.parent / "data" / "mappings"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--requests", type=int, default=DEFAULT_REQUESTS, help="generated SP156 requests"
    )
    parser.add_argument("--seed", type=int, default=156, help="seed of traffic and faults")
    parser.add_argument("--no-faults", action="store_true", help="a fault-free run")
    parser.add_argument(
        "--max-seconds", type=float, default=600.0, help="give up after this many seconds"
    )


def _faults(enabled: bool) -> FaultConfig:
    if not enabled:
        return FaultConfig()
    return FaultConfig(latency=0.002, http503=0.02, reset=0.01, lost=0.01)


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    sim_config = SimulatorConfig(
        token=DEMO_TOKEN,
        seed=args.seed,
        requests=args.requests,
        lag_seconds=1.0,
        duplicate_rate=0.0 if args.no_faults else 0.05,
        overload_rate=0.0 if args.no_faults else 0.02,
    )
    sandbox_config = SandboxConfig(
        sigla_sistema=DEMO_SIGLA,
        identificacao_servico=DEMO_SERVICO,
        faults=_faults(not args.no_faults),
        seed=args.seed,
    )
    with (
        tempfile.TemporaryDirectory(prefix="sei-bridge-demo-") as tmp,
        start_simulator(sim_config) as sigrc,
        start_sandbox(sandbox_config) as sei,
    ):
        print(f"SIGRC simulator: {sigrc.base_url}  ({args.requests} requests)")
        print(f"SEI sandbox:     {sei.endpoint_url}")
        settings = config.load_settings(
            environ={},
            overrides={
                "database_url": f"sqlite:///{tmp}/demo.db",
                "sigrc_url": sigrc.base_url,
                "sigrc_token": DEMO_TOKEN,
                "sei_url": sei.endpoint_url,
                "sei_sigla_sistema": DEMO_SIGLA,
                "sei_identificacao_servico": DEMO_SERVICO,
                "mappings": str(MAPPINGS_DIR),
                "work_dir": f"{tmp}/work",
                "sei_read_timeout": 5.0,
                "sei_concurrency": 8,
                "sei_rate_limit": 0,
            },
        )
        with (
            app.build_runtime(settings) as rt,
            tqdm(total=0, unit="action", desc="syncing", dynamic_ncols=True) as bar,
        ):

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            report = rt.engine.sync_until_idle(max_seconds=args.max_seconds, progress=progress)
            status = rt.store.status()
        elapsed = time.monotonic() - started
        print()
        print(report.to_text(), end="")
        print(status.to_text(), end="")
        print(f"SEI sandbox now holds: {sei.state.summary()}")
        print(f"elapsed: {elapsed:.1f} s")
    return 0 if report.idle else 3
