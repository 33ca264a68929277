"""The SEI sandbox and the SIGRC simulator for ``bench/drain.py``, each in a process of its own
(so their CPU and memory are not counted against the process being measured).

::

    python bench/_servers.py sei --latency 0.02 --counters FILE
    python bench/_servers.py sigrc --requests 1000

Each serves on a free port and prints one line ``ready URL`` (the SEI endpoint, or the SIGRC
base URL) once it answers, then serves until SIGTERM or SIGINT. At SIGTERM the sandbox writes
its counters (SOAP calls per operation, SOAP faults per operation) to ``--counters`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

#: the credentials the bench's sandbox accepts and its engine and bare client send
SIGLA, KEY, TOKEN = "SEI_BRIDGE", "bench-key", "bench-token"


def _wait_for_signal() -> None:
    from sei_bridge import serving

    with serving.until_signalled() as stop:
        while not stop.wait(0.5):
            pass


def serve_sei(latency: float, counters: Path | None) -> None:
    from sei_bridge.sandboxes.sei.config import SandboxConfig
    from sei_bridge.sandboxes.sei.faults import FaultConfig
    from sei_bridge.sandboxes.sei.server import start_sandbox

    config = SandboxConfig(
        sigla_sistema=SIGLA,
        identificacao_servico=KEY,
        faults=FaultConfig(latency=latency),
        # the bench never reads documents back: do not let 50,000 requests' content pile up
        keep_content=False,
    )
    sandbox = start_sandbox(config)
    try:
        print(f"ready {sandbox.endpoint_url}", flush=True)
        _wait_for_signal()
    finally:
        sandbox.stop()
        if counters is not None:
            seen = sandbox.state.counters()
            counters.write_text(json.dumps({"calls": seen.calls, "soap_faults": seen.soap_faults}))


def serve_sigrc(requests: int) -> None:
    from sei_bridge.sandboxes.sigrc import SimulatorConfig, start_simulator

    config = SimulatorConfig(
        token=TOKEN, requests=requests, lag_seconds=0.0, hard_cases=frozenset()
    )
    started = time.monotonic()
    simulator = start_simulator(config)
    try:
        generated = time.monotonic() - started
        events = len(simulator.state.written)
        print(f"ready {simulator.base_url} {events} {generated:.2f}", flush=True)
        _wait_for_signal()
    finally:
        simulator.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("system", choices=["sei", "sigrc"])
    parser.add_argument("--latency", type=float, default=0.02, help="SEI answer delay, seconds")
    parser.add_argument("--counters", type=Path, help="where the sandbox writes its counters")
    parser.add_argument("--requests", type=int, default=1000, help="SIGRC requests generated")
    args = parser.parse_args()
    if args.system == "sei":
        serve_sei(args.latency, args.counters)
    else:
        serve_sigrc(args.requests)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
