"""How fast sei-bridge drains a backlog, against a bare SOAP client making the same SEI calls
(not part of the test run).

The product requirement: after an SEI outage the backlog can be tens of thousands of requests;
the engine must reach at least 0.9 of the throughput of a bare SOAP client making the same
calls, spend at most 2 ms of its own CPU per SEI call, and keep memory flat as the backlog grows
from 1,000 to 50,000 requests.

Every process runs on its own, so the CPU and memory measured are that process's alone: the
SIGRC simulator and the SEI sandbox (``bench/_servers.py``: free ports, the sandbox answering
every call after ``--latency`` seconds, no faults) and the measured one (``bench/_driver.py``),
whose resource use is read with ``os.wait4``.

1. **engine**: ``sync --until-idle`` (``Engine.sync_until_idle``, the code path of the command)
   over ``--requests`` generated requests, on SQLite (or a fresh schema of ``--postgres URL``),
   ``--concurrency`` SEI calls in flight, no rate limit. Its SEI calls are recorded for the
   replay (a list append per call) and counted by the sandbox per operation.
2. **bare**: the recorded calls replayed by a bare ``SeiClient`` against a fresh sandbox with
   the same latency: ``--concurrency`` threads, each taking the calls of one process at a time
   in their recorded order (see ``bench/_driver.py``).
3. **memory**: the engine again, without recording, at each of ``--memory-sizes`` (default
   1,000, 10,000 and 50,000 requests), each stopped after ``--max-seconds``: peak RSS, and how
   far it got. ``--tracemalloc SECONDS`` adds where Python memory grew (at the highest traced
   point against the start of the drain; it slows the engine and adds to its RSS).

Reported: SEI calls per second of each (calls counted by the sandbox ÷ the drain's or the
replay's wall time; the process wall time too), the ratio engine/bare (target ≥ 0.9), CPU per
SEI call of each process (user + sys over the whole process, startup included; and over the
drain or replay alone) and their difference, sei-bridge's own CPU per call (target ≤ 2 ms), and
the peak RSS at each backlog size. The engine's CPU also pays for what the bare client does not
do: SIGRC's feed, attachment downloads and the PUT of the SEI number, planning and the ledger.

Usage::

    .venv/bin/python bench/drain.py [--requests 1000] [--latency 0.02] [--concurrency 8]
        [--postgres URL] [--memory-sizes 1000,10000,50000 --max-seconds 120 | --skip-memory]
        [--tracemalloc 5] [--skip-bare] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from _servers import KEY, SIGLA, TOKEN  # noqa: E402  (a sibling module, not a package)

#: the product's targets
TARGET_RATIO, TARGET_CPU_MS = 0.9, 2.0


@dataclass
class Server:
    """A server process of ``bench/_servers.py``; ``counters`` is filled when it stops."""

    url: str
    events: int = 0  #: SIGRC events generated
    generated_s: float = 0.0  #: how long generating them took
    counters: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def _server(argv: list[str], counters: Path | None = None) -> Iterator[Server]:
    """Run ``bench/_servers.py ARGV`` until the block ends (SIGTERM, then its counters)."""
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "_servers.py"), *argv],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"_servers.py {argv[0]} exited before it was ready")
        server = Server(line[1])
        if len(line) > 2:
            server.events, server.generated_s = int(line[2]), float(line[3])
        # keep reading its output so it never blocks on a full pipe
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if counters is not None:
        server.counters = json.loads(counters.read_text())


def _sandbox(latency: float, tmp: Path, name: str) -> contextlib.AbstractContextManager[Server]:
    counters = tmp / f"{name}-sei-counters.json"
    return _server(["sei", "--latency", str(latency), "--counters", str(counters)], counters)


def _simulator(requests: int) -> contextlib.AbstractContextManager[Server]:
    return _server(["sigrc", "--requests", str(requests)])


@contextlib.contextmanager
def _database(tmp: Path, postgres: str | None, name: str) -> Iterator[str]:
    """A fresh SQLite file, or a fresh schema of ``postgres`` dropped afterwards."""
    if postgres is None:
        yield f"sqlite:///{tmp}/{name}.db"
        return
    import sqlalchemy as sa

    schema = f"bench_drain_{name}_{os.getpid()}"
    engine = sa.create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    try:
        separator = "&" if "?" in postgres else "?"
        yield f"{postgres}{separator}options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        engine.dispose()


def _measured(role: str, argv: list[str], env: dict[str, str], out: Path) -> dict[str, Any]:
    """Run ``bench/_driver.py ROLE ARGV``; its JSON plus its whole process's resource use."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "_driver.py"), role, "--out", str(out), *argv],
        env={**os.environ, **env},
        cwd=ROOT,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen
    if proc.returncode != 0:
        raise RuntimeError(f"the {role} run failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.read_text())
    result["process"] = {
        "wall_s": time.monotonic() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": usage.ru_maxrss / 1024,  # Linux: KiB
    }
    return result


def _engine_env(sigrc: str, sei: str, database_url: str, work: Path, c: int) -> dict[str, str]:
    return {
        "SEI_BRIDGE_DATABASE_URL": database_url,
        "SEI_BRIDGE_SIGRC_URL": sigrc,
        "SEI_BRIDGE_SIGRC_TOKEN": TOKEN,
        "SEI_BRIDGE_SEI_URL": sei,
        "SEI_BRIDGE_SEI_SIGLA_SISTEMA": SIGLA,
        "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": KEY,
        "SEI_BRIDGE_MAPPINGS": str(ROOT / "mappings"),
        "SEI_BRIDGE_SEI_CONCURRENCY": str(c),
        "SEI_BRIDGE_SEI_RATE_LIMIT": "0",
        "SEI_BRIDGE_WORK_DIR": str(work),
        "SEI_BRIDGE_LOG_LEVEL": "ERROR",
    }


def _engine_run(
    args: argparse.Namespace, tmp: Path, name: str, requests: int, driver_argv: list[str]
) -> tuple[dict[str, Any], Server, Server]:
    with (
        _simulator(requests) as sigrc,
        _sandbox(args.latency, tmp, name) as sei,
        _database(tmp, args.postgres, name) as url,
    ):
        env = _engine_env(sigrc.url, sei.url, url, tmp / name, args.concurrency)
        result = _measured("engine", driver_argv, env, tmp / f"{name}.json")
    return result, sigrc, sei


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def _per_call(seconds: float, calls: int) -> float:
    return round(1000 * seconds / calls, 2) if calls else float("nan")


def throughput(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The engine's drain, then the bare replay of its calls; both against a fresh sandbox."""
    record = tmp / "calls.pickle"
    engine, sigrc, sei = _engine_run(args, tmp, "drain", args.requests, ["--record", str(record)])
    calls = sum(sei.counters["calls"].values())
    out: dict[str, Any] = {
        "sigrc_events": sigrc.events,
        "engine": {
            "drain_s": round(engine["seconds"], 2),
            "first_sei_call_s": _round(engine["first_call_s"]),
            "process_wall_s": round(engine["process"]["wall_s"], 2),
            "idle": engine["report"]["idle"],
            "sei_calls": calls,
            "sei_calls_by_operation": sei.counters["calls"],
            "sei_faults_by_operation": sei.counters["soap_faults"],
            "client_calls_recorded": sum(engine["calls"].values()),
            "calls_per_s": round(calls / engine["seconds"], 1),
            "cpu_ms_per_call": _per_call(engine["process"]["cpu_s"], calls),
            "drain_cpu_ms_per_call": _per_call(engine["cpu_s"], calls),
            "actions_by_state": engine["report"]["actions_by_state"],
            # holds the recorded calls for the replay: the memory runs give its own footprint
            "max_rss_mb_with_recording": round(engine["process"]["max_rss_mb"], 1),
        },
    }
    if args.skip_bare:
        return out
    with _sandbox(args.latency, tmp, "bare") as sei:
        env = {
            "SEI_BRIDGE_SEI_URL": sei.url,
            "SEI_BRIDGE_SEI_SIGLA_SISTEMA": SIGLA,
            "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": KEY,
        }
        argv = ["--record", str(record), "--concurrency", str(args.concurrency)]
        bare = _measured("bare", argv, env, tmp / "bare.json")
    bare_calls = sum(sei.counters["calls"].values())
    out["bare"] = {
        "replay_s": round(bare["seconds"], 2),
        "process_wall_s": round(bare["process"]["wall_s"], 2),
        "sei_calls": bare_calls,
        "sei_calls_by_operation": sei.counters["calls"],
        "sei_faults_by_operation": sei.counters["soap_faults"],
        "outcomes_unlike_engine": bare["differences"],
        "outcomes_unlike_engine_examples": bare["difference_examples"],
        "calls_per_s": round(bare_calls / bare["seconds"], 1),
        "cpu_ms_per_call": _per_call(bare["process"]["cpu_s"], bare_calls),
        "replay_cpu_ms_per_call": _per_call(bare["cpu_s"], bare_calls),
    }
    e, b = out["engine"], out["bare"]
    out["throughput_ratio"] = round(e["calls_per_s"] / b["calls_per_s"], 3)
    out["own_cpu_ms_per_call"] = round(e["cpu_ms_per_call"] - b["cpu_ms_per_call"], 2)
    out["own_drain_cpu_ms_per_call"] = round(
        e["drain_cpu_ms_per_call"] - b["replay_cpu_ms_per_call"], 2
    )
    return out


def memory(args: argparse.Namespace, tmp: Path, size: int) -> dict[str, Any]:
    """The engine over ``size`` requests for at most ``--max-seconds``, not recording."""
    argv = ["--max-seconds", str(args.max_seconds)]
    if args.tracemalloc:
        argv += ["--tracemalloc", str(args.tracemalloc)]
    engine, sigrc, sei = _engine_run(args, tmp, f"memory{size}", size, argv)
    report = engine["report"]
    row = {
        "requests": size,
        "sigrc_events": sigrc.events,
        "sigrc_generated_s": round(sigrc.generated_s, 1),
        "max_rss_mb": round(engine["process"]["max_rss_mb"], 1),
        "drain_s": round(engine["seconds"], 1),
        "first_sei_call_s": _round(engine["first_call_s"]),
        "idle": report["idle"],
        "events_received": report["events_received"],
        "events_planned": report["events_planned"],
        "actions_planned": report["actions_planned"],
        "actions_done": report["actions_by_state"].get("DONE", 0),
        "sei_calls": sum(sei.counters["calls"].values()),
    }
    if "tracemalloc" in engine:
        row["tracemalloc"] = engine["tracemalloc"]
    return row


def drive(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requests": args.requests,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "database": "postgresql" if args.postgres else "sqlite",
        "cpus": os.cpu_count(),
    }
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sei-bridge-drain-") as tmp_name:
        tmp = Path(tmp_name)
        out.update(throughput(args, tmp))
        if not args.skip_memory:
            out["max_seconds"] = args.max_seconds
            out["memory"] = [memory(args, tmp, size) for size in args.memory_sizes]
    out["bench_seconds"] = round(time.monotonic() - started, 1)
    return out


def _verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _text(out: dict[str, Any]) -> str:
    e = out["engine"]
    lines = [
        f"{out['requests']} requests ({out['sigrc_events']} SIGRC events), SEI latency "
        f"{out['latency_s'] * 1000:g} ms, {out['concurrency']} calls in flight, "
        f"{out['database']}, {out['cpus']} CPUs",
        "",
        f"{'':8} {'SEI calls':>9} {'seconds':>8} {'calls/s':>8} {'CPU ms/call':>12} "
        f"{'(drain only)':>12}",
        f"{'engine':8} {e['sei_calls']:>9} {e['drain_s']:>8} {e['calls_per_s']:>8} "
        f"{e['cpu_ms_per_call']:>12} {e['drain_cpu_ms_per_call']:>12}",
    ]
    if "bare" in out:
        b = out["bare"]
        lines.append(
            f"{'bare':8} {b['sei_calls']:>9} {b['replay_s']:>8} {b['calls_per_s']:>8} "
            f"{b['cpu_ms_per_call']:>12} {b['replay_cpu_ms_per_call']:>12}"
        )
    lines += [
        "",
        f"engine: first SEI call {e['first_sei_call_s']} s into the drain; "
        f"SEI calls {e['sei_calls_by_operation']}",
    ]
    if e["sei_faults_by_operation"]:
        lines.append(f"engine SOAP faults: {e['sei_faults_by_operation']}")
    if not e["idle"]:
        lines.append("engine NOT idle at the end: the backlog was not drained")
    if e["client_calls_recorded"] != e["sei_calls"]:
        lines.append(
            f"(the SeiClient recorded {e['client_calls_recorded']} calls, the sandbox counted "
            f"{e['sei_calls']})"
        )
    if "bare" in out:
        b = out["bare"]
        unlike = b["outcomes_unlike_engine"] or "none"
        lines += [
            f"bare replay: calls unlike the engine's outcome: {unlike}",
            *(f"  {k}: {v}" for k, v in b["outcomes_unlike_engine_examples"].items()),
            "",
            f"throughput engine/bare: {out['throughput_ratio']} "
            f"(target >= {TARGET_RATIO}: {_verdict(out['throughput_ratio'] >= TARGET_RATIO)})",
            f"sei-bridge's own CPU per SEI call: {out['own_cpu_ms_per_call']} ms whole process, "
            f"{out['own_drain_cpu_ms_per_call']} ms drain only (target <= {TARGET_CPU_MS} ms: "
            f"{_verdict(out['own_cpu_ms_per_call'] <= TARGET_CPU_MS)})",
            "  (the engine's CPU includes SIGRC: feed reads, attachment downloads, the PUT of "
            "the SEI number)",
        ]
    if out.get("memory"):
        lines += [
            "",
            f"memory (engine without recording, each run stopped after {out['max_seconds']:g} s):",
            f"{'requests':>9} {'events':>7} {'peak RSS MB':>12} {'seconds':>8} {'received':>9} "
            f"{'planned':>8} {'actions':>8} {'done':>7} {'SEI calls':>9} {'1st call s':>10}",
        ]
        for m in out["memory"]:
            lines.append(
                f"{m['requests']:>9} {m['sigrc_events']:>7} {m['max_rss_mb']:>12} "
                f"{m['drain_s']:>8} {m['events_received']:>9} {m['events_planned']:>8} "
                f"{m['actions_planned']:>8} {m['actions_done']:>7} {m['sei_calls']:>9} "
                f"{m['first_sei_call_s']!s:>10}" + ("" if not m["idle"] else "  (drained)")
            )
        first, last = out["memory"][0], out["memory"][-1]
        growth = last["max_rss_mb"] / first["max_rss_mb"]
        lines.append(
            f"peak RSS at {last['requests']} / at {first['requests']} requests: {growth:.2f}"
        )
        for m in out["memory"]:
            if "tracemalloc" in m:
                t = m["tracemalloc"]
                lines.append(
                    f"tracemalloc, {m['requests']} requests (traced {t['traced_mb_at_highest']} "
                    f"MB at the highest sample, {t['traced_mb_peak']} MB peak), growth since the "
                    "drain started:"
                )
                lines += [
                    f"  {g['mb']:>8} MB {g['blocks']:>9} blocks  {g['where']}"
                    for g in t["growth_by_line"]
                ]
    lines.append(f"\nbench took {out['bench_seconds']} s")
    return "\n".join(lines)


def _sizes(value: str) -> list[int]:
    return [int(x) for x in value.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="backlog of the throughput run")
    parser.add_argument("--latency", type=float, default=0.02, help="SEI answer delay, seconds")
    parser.add_argument("--concurrency", type=int, default=8, help="SEI calls in flight")
    parser.add_argument("--postgres", help="PostgreSQL URL (a fresh schema per run, dropped)")
    parser.add_argument(
        "--memory-sizes",
        type=_sizes,
        default=[1000, 10000, 50000],
        help="comma-separated backlog sizes of the memory runs (default 1000,10000,50000)",
    )
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per memory run")
    parser.add_argument(
        "--tracemalloc",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="in the memory runs, trace Python allocations (sampled every SECONDS) and report "
        "where memory grew",
    )
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    if args.postgres and not re.match(r"postgresql(\+psycopg)?://", args.postgres):
        parser.error("--postgres takes a postgresql+psycopg:// URL")
    if not args.memory_sizes and not args.skip_memory:
        parser.error("--memory-sizes needs at least one size (or --skip-memory)")
    out = drive(args)
    print(json.dumps(out, indent=2) if args.json else _text(out))


if __name__ == "__main__":
    main()
