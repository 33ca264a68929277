"""``sei-bridge demo``: the whole product on embedded defaults, in one command.

Starts the SIGRC simulator and the SEI sandbox on free local ports, runs the engine on a temporary
SQLite database over a few hundred generated Fazenda requests with moderate faults switched on
(lost responses after commit, connection resets, 503s, feed lag, duplicate deliveries), shows a
progress bar, and prints what happened.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from sei_bridge import config

if TYPE_CHECKING:
    from sei_bridge.engine.engine import SyncReport
    from sei_bridge.sandboxes.sei import FaultConfig
    from sei_bridge.store import StatusReport

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
    from sei_bridge.sandboxes.sei import FaultConfig

    if not enabled:
        return FaultConfig()
    return FaultConfig(latency=0.002, http503=0.02, reset=0.01, lost=0.01)


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from tqdm import tqdm

    from sei_bridge import app
    from sei_bridge.sandboxes.sei import SandboxConfig, start_sandbox
    from sei_bridge.sandboxes.sigrc import SimulatorConfig, start_simulator

    started = time.monotonic()
    if args.log_level is None and "SEI_BRIDGE_LOG_LEVEL" not in os.environ:
        # the summary says what happened; per-item log lines would only bury the progress bar
        logging.getLogger().setLevel(logging.ERROR)
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
        app.migrate_store(settings)  # the demo's own fresh database, nobody else's
        with (
            app.build_runtime(settings) as rt,
            tqdm(
                total=0, unit="action", desc="syncing", dynamic_ncols=True, mininterval=0.5
            ) as bar,
        ):

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            report = rt.engine.sync_until_idle(max_seconds=args.max_seconds, progress=progress)
            status = rt.store.status(limit=_QUARANTINE_LISTED)
        print()
        print(_summary(report, status, time.monotonic() - started), end="")
        print(f"  SEI sandbox holds: {sei.state.summary()}")
    return 0 if report.idle else 3


_QUARANTINE_LISTED = 100_000


def _summary(report: SyncReport, status: StatusReport, elapsed: float) -> str:
    """What a newcomer wants to know after the demo, in a dozen lines."""
    from sei_bridge.store import ActionKind

    done = {kind: states.get("DONE", 0) for kind, states in status.actions.items()}
    documents = {
        "solicitação": done.get(ActionKind.SOLICITACAO_DOC.value, 0),
        "interação": done.get(ActionKind.INTERACAO_DOC.value, 0),
        "anexo": done.get(ActionKind.ANEXO.value, 0),
        "SP 156 Finalizado": done.get(ActionKind.FINALIZADO_DOC.value, 0),
    }
    reasons: Counter[str] = Counter()
    example: dict[str, str] = {}
    for entry in status.quarantine:
        if entry.what == "request":
            continue  # its events are listed already
        reason = entry.reason or "unknown"
        category = reason.split(":", 1)[0] if ":" in reason else reason
        reasons[category] += 1
        example.setdefault(category, reason.split(" | ", 1)[0])
    attempts = report.outcomes
    lines = [
        f"demo {'finished' if report.idle else 'NOT finished: ' + str(report.reason)} "
        f"in {elapsed:.1f} s",
        f"  processes opened in SEI:   {done.get(ActionKind.OPEN.value, 0)}",
        f"  documents added:           {sum(documents.values())} ("
        + ", ".join(f"{k} {v}" for k, v in documents.items())
        + ")",
        f"  concluded / reopened:      {done.get(ActionKind.CONCLUIR.value, 0)} / "
        f"{done.get(ActionKind.REABRIR.value, 0)}",
        f"  SEI number sent to SIGRC:  {done.get(ActionKind.SIGRC_PROCESSO.value, 0)}",
        f"  retries: {attempts.get('retry', 0)}; uncertain outcomes probed: "
        f"{attempts.get('uncertain', 0)}; waiting for a person: {len(status.attention)}",
        f"  quarantined: {sum(reasons.values())}",
    ]
    lines += [f"    {n:4d}  {example[c]}" for c, n in reasons.most_common()]
    return "\n".join(lines) + "\n"
