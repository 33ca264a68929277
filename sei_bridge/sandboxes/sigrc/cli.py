"""``sei-bridge sandbox sigrc``: run the SIGRC simulator until SIGINT or SIGTERM.

Prints the base URL to give sei-bridge as ``SEI_BRIDGE_SIGRC_URL``. The bearer token is
``--token``, else ``SEI_BRIDGE_SIGRC_TOKEN``, else the fixed development token, which is then
printed (it protects nothing: use it on a laptop only).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from sei_bridge import serving
from sei_bridge.sandboxes.sigrc.config import (
    DEFAULT_BASE_PATH,
    DEFAULT_PORT,
    DEV_TOKEN,
    SimulatorConfig,
)
from sei_bridge.sandboxes.sigrc.server import start_simulator
from sei_bridge.sandboxes.traffic import ALL_HARD_CASES

__all__ = ["add_arguments", "main", "run"]

TOKEN_VARIABLE = "SEI_BRIDGE_SIGRC_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any)"
    )
    parser.add_argument(
        "--token",
        default=None,
        help=f"bearer token clients must send (env {TOKEN_VARIABLE}; "
        "default: a fixed development token, printed at start)",
    )
    parser.add_argument("--requests", type=int, default=100, help="generated Fazenda requests")
    parser.add_argument("--seed", type=int, default=156, help="seed of traffic and hazards")
    parser.add_argument(
        "--lag", type=float, default=0.0, metavar="SECONDS", help="longest commit lag"
    )
    parser.add_argument(
        "--duplicates", type=float, default=0.0, metavar="RATE", help="re-delivered events"
    )
    parser.add_argument(
        "--overload", type=float, default=0.0, metavar="RATE", help="calls refused with 429/503"
    )
    parser.add_argument(
        "--corrupt",
        type=float,
        default=0.0,
        metavar="RATE",
        help="attachments served with wrong bytes on the first fetch",
    )
    parser.add_argument(
        "--write-rate",
        type=float,
        default=None,
        metavar="EVENTS_PER_SECOND",
        help="write the traffic progressively (default: all at once)",
    )
    parser.add_argument(
        "--no-hard-cases", action="store_true", help="no unicode, markup, malformed, ... cases"
    )
    parser.add_argument("--base-path", default=DEFAULT_BASE_PATH, help="path prefix of the API")


def _config(args: argparse.Namespace) -> SimulatorConfig:
    token = args.token or os.environ.get(TOKEN_VARIABLE) or DEV_TOKEN
    return SimulatorConfig(
        token=token,
        seed=args.seed,
        requests=args.requests,
        lag_seconds=args.lag,
        duplicate_rate=args.duplicates,
        overload_rate=args.overload,
        corrupt_attachment_rate=args.corrupt,
        write_rate=args.write_rate,
        hard_cases=frozenset() if args.no_hard_cases else ALL_HARD_CASES,
        base_path=args.base_path,
        host=args.host,
    )


def run(args: argparse.Namespace) -> int:
    config = _config(args)
    print(f"generating {config.requests} Fazenda requests (seed {config.seed}) ...", flush=True)
    simulator = serving.listening(
        lambda: start_simulator(config, port=args.port), config.host, args.port
    )
    with serving.until_signalled() as stop:
        try:
            print(f"SIGRC simulator: {simulator.base_url}", flush=True)
            if config.token == DEV_TOKEN:
                print(
                    f"token: {DEV_TOKEN} (development token; set {TOKEN_VARIABLE} or --token "
                    "for another)",
                    flush=True,
                )
            else:
                print(f"token: as given by --token or {TOKEN_VARIABLE} (not shown)", flush=True)
            written = len(simulator.state.written)
            print(f"{written} events written, {simulator.state.pending_count} to come", flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            simulator.stop()
    state = simulator.state
    served = sum(state.served.values())
    print(f"stopped: {served} events served, overloads {state.overloads}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the simulator without the rest of the ``sei-bridge`` command."""
    return serving.standalone("sei-bridge sandbox sigrc", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
