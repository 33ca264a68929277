"""``sei-bridge sandbox proxy``: a fault-injecting proxy in front of any SEI, until SIGINT or
SIGTERM.

Prints the proxy's SOAP endpoint (give it as ``SEI_BRIDGE_SEI_URL``), its WSDL URL
(``SEI_BRIDGE_SEI_WSDL``) and its stats URL; on stop, one line of what it did. Every option also
reads an environment variable (shown in --help). Values are checked here rather than by argparse
so that a wrong one is a single ``sei-bridge: error:`` line and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence

from sei_bridge import errors, serving
from sei_bridge.sandboxes.proxy import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PORT,
    DEFAULT_SEED,
    DEFAULT_TIMEOUT,
    start_proxy,
)
from sei_bridge.sei.sandbox.faults import FaultConfig

__all__ = ["add_arguments", "main", "run"]

_ENV = "SEI_BRIDGE_SANDBOX_PROXY_"
_MB = 1024 * 1024

FAULTS_HELP = (
    "faults to inject, comma-separated, as for 'sandbox sei': latency=SECONDS[+JITTER] (then "
    "forwarded), and per-call probabilities http503=P, reset=P, infra_erro=P (answered by the "
    "proxy, nothing reaches SEI), lost=P (forwarded, SEI's answer awaited, then the client's "
    "connection reset), hang=P (held hang_seconds=30, then dropped; forwarded first only with "
    "hang_commits=yes); outage=START+DURATION seconds from start (every request fails, the WSDL "
    "too; outage_mode=http503|reset); ops=OP1+OP2 (per-call faults only for these operations). "
    f"Example: reset=0.02,lost=0.02,http503=0.02,outage=60+20 (env {_ENV}FAULTS)"
)


def _env(name: str, default: str) -> str:
    return os.environ.get(_ENV + name, default)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--upstream",
        default=_env("UPSTREAM", ""),
        metavar="URL",
        help="the SEI to proxy, required: its base (http://127.0.0.1:8080/sei), its SOAP "
        "endpoint (https://HOST/sei/ws/SeiWS.php) or just http(s)://HOST:PORT. Clients call the "
        f"proxy at SEI's own paths (/sei/ws/SeiWS.php) (env {_ENV}UPSTREAM)",
    )
    parser.add_argument(
        "--host", default=_env("HOST", "127.0.0.1"), help=f"address to listen on (env {_ENV}HOST)"
    )
    parser.add_argument(
        "--port",
        default=_env("PORT", str(DEFAULT_PORT)),
        help=f"port (default {DEFAULT_PORT}; 0: any free port, printed; env {_ENV}PORT)",
    )
    parser.add_argument("--faults", default=_env("FAULTS", ""), metavar="SPEC", help=FAULTS_HELP)
    parser.add_argument(
        "--seed",
        default=_env("SEED", str(DEFAULT_SEED)),
        help=f"seed of the fault draws: the same seed and calls fail the same calls (default "
        f"{DEFAULT_SEED}; env {_ENV}SEED)",
    )
    parser.add_argument(
        "--connect-timeout",
        default=_env("CONNECT_TIMEOUT", f"{DEFAULT_CONNECT_TIMEOUT:g}"),
        metavar="SECONDS",
        help="to connect to SEI; failing it answers 502, nothing sent (default "
        f"{DEFAULT_CONNECT_TIMEOUT:g}; env {_ENV}CONNECT_TIMEOUT)",
    )
    parser.add_argument(
        "--timeout",
        default=_env("TIMEOUT", f"{DEFAULT_TIMEOUT:g}"),
        metavar="SECONDS",
        help="for a whole exchange with SEI; failing it answers 504, outcome unknown (default "
        f"{DEFAULT_TIMEOUT:g}; env {_ENV}TIMEOUT)",
    )
    parser.add_argument(
        "--max-body-mb",
        default=_env("MAX_BODY_MB", str(DEFAULT_MAX_BODY_BYTES // _MB)),
        metavar="MB",
        help="largest request or answer body in MiB (413 / 504 beyond) (default "
        f"{DEFAULT_MAX_BODY_BYTES // _MB}; env {_ENV}MAX_BODY_MB)",
    )


def _number(flag: str, text: str, *, integer: bool = False, minimum: float = 0.0) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise errors.ConfigurationError(f"{flag} {text!r} is not {kind}") from None
    if not math.isfinite(value) or value < minimum:
        raise errors.ConfigurationError(f"{flag} {text!r} must be at least {minimum:g}")
    return value


def run(args: argparse.Namespace) -> int:
    if not args.upstream:
        raise errors.ConfigurationError(
            f"--upstream URL is required (or {_ENV}UPSTREAM), e.g. http://127.0.0.1:8080/sei"
        )
    port = int(_number("--port", args.port, integer=True))
    if port > 65535:
        raise errors.ConfigurationError(f"--port {args.port!r} is not a port number (0-65535)")
    seed = int(_number("--seed", args.seed, integer=True, minimum=-math.inf))
    connect_timeout = _number("--connect-timeout", args.connect_timeout, minimum=0.001)
    timeout = _number("--timeout", args.timeout, minimum=0.001)
    max_body_mb = _number("--max-body-mb", args.max_body_mb, minimum=0.001)
    faults = FaultConfig.parse(args.faults or "")
    proxy = serving.listening(
        lambda: start_proxy(
            args.upstream,
            faults=faults,
            seed=seed,
            host=args.host,
            port=port,
            connect_timeout=connect_timeout,
            timeout=timeout,
            max_body_bytes=int(max_body_mb * _MB),
        ),
        args.host,
        port,
    )
    with serving.until_signalled() as stop:
        try:
            print(f"SEI fault proxy endpoint: {proxy.endpoint_url}", flush=True)
            print(f"SEI fault proxy WSDL:     {proxy.wsdl_url}", flush=True)
            print(f"stats:                    {proxy.stats_url}", flush=True)
            print(
                f"upstream {proxy.target.base_url}, faults {faults.describe()} (seed {seed})",
                flush=True,
            )
            while not stop.wait(0.5):
                pass
        finally:
            proxy.stop()
    print(f"stopped: {proxy.stats().summary()}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the proxy without the rest of the ``sei-bridge`` command."""
    return serving.standalone("sei-bridge sandbox proxy", __doc__, add_arguments, run, argv)


if __name__ == "__main__":
    sys.exit(main())
