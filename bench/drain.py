"""How fast sei-bridge drains a backlog, against a bare SOAP client making the same calls
(not part of the test run).

Three processes per run, so each one's CPU and memory are its own: the SIGRC simulator and the
SEI sandbox (``sei-bridge sandbox ...``, on free ports, the sandbox answering every call after
``--latency`` seconds, no faults) and the measured one:

1. **engine**: ``Engine.sync_until_idle`` over ``--requests`` generated requests, SQLite (or
   ``--postgres URL``), ``--concurrency`` SEI calls in flight, no rate limit. Every call of the
   ``SeiClient`` is recorded (operation and arguments: a list append, after the call) and counted.
2. **bare**: the recorded calls replayed by a bare ``SeiClient`` (the same zeep stack, no ledger,
   no planning, no SIGRC) against a fresh sandbox with the same latency: ``--concurrency``
   threads, each taking whole requests, so a request's calls stay in their order as in the
   engine. The processes are numbered from the SP156 protocolo (``sei.numero_protocolo`` in
   ``mappings/fazenda.yaml``), so the replayed documents reach the same processes by number.

Reported: wall time, SEI calls per second, the ratio engine/bare (the product target is at
least 0.9), CPU (user + sys of that process alone) per SEI call for both and their difference,
and the engine's peak RSS. The engine's CPU also pays for what the bare client does not do:
reading the feed, planning, the ledger, downloading attachments from SIGRC and the PUT of the
SEI number. ``--memory-sizes 1000,10000`` repeats the engine run at those sizes (each limited to
``--max-seconds``) and reports the peak RSS of each, to show that memory does not grow with the
backlog.

Usage::

    .venv/bin/python bench/drain.py [--requests 1000] [--latency 0.05] [--concurrency 8]
        [--postgres URL] [--memory-sizes 1000,10000 --max-seconds 120] [--json]
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import logging
import os
import pickle
import queue
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIGLA, KEY, TOKEN = "SEI_BRIDGE", "bench-key", "bench-token"
#: SeiClient methods that reach SEI, and where each finds the process it acts on
_RECORDED = (
    "gerar_procedimento",
    "incluir_documento",
    "concluir_processo",
    "reabrir_processo",
    "consultar_procedimento",
    "consultar_documento",
    "listar_contatos",
    "listar_extensoes_permitidas",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli() -> list[str]:
    return [sys.executable, "-m", "sei_bridge.cli"]


@contextlib.contextmanager
def _server(args: list[str], ready: str) -> Iterator[None]:
    """Run ``sei-bridge ARGS`` until the block ends; wait for the line containing ``ready``."""
    proc = subprocess.Popen(
        _cli() + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if ready in line:
                break
        else:
            raise RuntimeError(f"{' '.join(args[:2])} exited before it was ready")
        # keep draining its output so it never blocks on a full pipe
        threading.Thread(target=proc.stdout.read, daemon=True).start()
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def _sandbox(latency: float) -> Iterator[str]:
    port = _free_port()
    faults = ["--faults", f"latency={latency}"] if latency else []
    args = ["sandbox", "sei", "--port", str(port), "--sigla-sistema", SIGLA]
    with _server([*args, "--identificacao-servico", KEY, *faults], "endpoint"):
        yield f"http://127.0.0.1:{port}/sei/ws/SeiWS.php"


@contextlib.contextmanager
def _simulator(requests: int) -> Iterator[str]:
    port = _free_port()
    args = ["sandbox", "sigrc", "--port", str(port), "--token", TOKEN, "--lag", "0"]
    with _server([*args, "--requests", str(requests), "--no-hard-cases"], "events written"):
        yield f"http://127.0.0.1:{port}/sigrc"


def _measured(argv: list[str], env: dict[str, str]) -> tuple[dict[str, Any], dict[str, float]]:
    """Run ``python bench/drain.py ARGV`` and return its JSON line and its own resource use."""
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, *argv],
        stdout=subprocess.PIPE,
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{argv[0]} run failed (exit {os.waitstatus_to_exitcode(status)})")
    resources = {
        "wall_s": time.monotonic() - started,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "max_rss_mb": usage.ru_maxrss / 1024,
    }
    return json.loads(out.decode().strip().splitlines()[-1]), resources


# --- the measured processes ---------------------------------------------------------------------


def _process_key(name: str, kwargs: dict[str, Any]) -> str:
    if name == "gerar_procedimento":
        return str(kwargs["procedimento"].numero_protocolo)
    if name == "incluir_documento":
        return str(kwargs["documento"].protocolo_procedimento)
    return str(kwargs.get("protocolo_procedimento") or "")


def engine_role(record: Path | None, max_seconds: float | None) -> None:
    """The engine over the configured SIGRC and SEI; prints one JSON line. With ``record``
    the calls are kept (with their documents: memory) for the bare replay; else only counted."""
    from sei_bridge import app, config
    from sei_bridge.sei.client import SeiClient

    logging.basicConfig(level=logging.ERROR)
    calls: list[tuple[str, str, dict[str, Any]]] = []
    for name in _RECORDED:
        original = getattr(SeiClient, name)

        def recorded(self: Any, *a: Any, __f: Any = original, __n: str = name, **kw: Any) -> Any:
            value = __f(self, *a, **kw)
            calls.append((__n, _process_key(__n, kw), kw if record is not None else {}))
            return value

        setattr(SeiClient, name, recorded)
    settings = config.load_settings()
    with app.build_runtime(settings) as rt:
        started = time.monotonic()
        report = rt.engine.sync_until_idle(max_seconds=max_seconds)
        seconds = time.monotonic() - started
    if record is not None:
        with record.open("wb") as f:
            pickle.dump(calls, f)
    counts = collections.Counter(name for name, _, _ in calls)
    print(json.dumps({"seconds": seconds, "calls": dict(counts), "report": report.to_dict()}))


def bare_role(record: Path, concurrency: int) -> None:
    """Replay the recorded calls with a bare SeiClient; prints one JSON line."""
    from sei_bridge.sei.client import SeiClient

    with record.open("rb") as f:
        calls: list[tuple[str, str, dict[str, Any]]] = pickle.load(f)
    by_process: dict[str, list[tuple[str, dict[str, Any]]]] = collections.defaultdict(list)
    for name, key, kwargs in calls:
        by_process[key].append((name, kwargs))
    client = SeiClient(
        endpoint_url=os.environ["SEI_BRIDGE_SEI_URL"],
        sigla_sistema=SIGLA,
        identificacao_servico=KEY,
    )
    work: queue.Queue[list[tuple[str, dict[str, Any]]]] = queue.Queue()
    for sequence in by_process.values():
        work.put(sequence)
    failures = collections.Counter[str]()

    def worker() -> None:
        while True:
            try:
                sequence = work.get_nowait()
            except queue.Empty:
                return
            for name, kwargs in sequence:
                try:
                    getattr(client, name)(**kwargs)
                except Exception as exc:  # the engine had answers: say what differs
                    failures[f"{name}: {type(exc).__name__}"] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": seconds, "calls": len(calls), "failures": dict(failures)}))


# --- the driver -----------------------------------------------------------------------------


def _engine_env(
    sigrc: str, sei: str, database_url: str, work: Path, concurrency: int
) -> dict[str, str]:
    return {
        "SEI_BRIDGE_DATABASE_URL": database_url,
        "SEI_BRIDGE_SIGRC_URL": sigrc,
        "SEI_BRIDGE_SIGRC_TOKEN": TOKEN,
        "SEI_BRIDGE_SEI_URL": sei,
        "SEI_BRIDGE_SEI_SIGLA_SISTEMA": SIGLA,
        "SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO": KEY,
        "SEI_BRIDGE_MAPPINGS": str(ROOT / "mappings"),
        "SEI_BRIDGE_SEI_CONCURRENCY": str(concurrency),
        "SEI_BRIDGE_SEI_RATE_LIMIT": "0",
        "SEI_BRIDGE_WORK_DIR": str(work / "files"),
        "SEI_BRIDGE_LOG_LEVEL": "ERROR",
    }


@contextlib.contextmanager
def _database(tmp: Path, postgres: str | None, name: str) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{tmp}/{name}.db"
        return
    import sqlalchemy as sa

    schema = f"bench_{name}_{os.getpid()}"
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


def _engine_run(
    args: argparse.Namespace,
    tmp: Path,
    name: str,
    requests: int,
    *,
    record: Path | None = None,
    max_seconds: float | None = None,
) -> tuple[dict[str, Any], dict[str, float]]:
    with (
        _simulator(requests) as sigrc,
        _sandbox(args.latency) as sei,
        _database(tmp, args.postgres, name) as url,
    ):
        env = _engine_env(sigrc, sei, url, tmp / name, args.concurrency)
        argv = ["--role", "engine"]
        if record is not None:
            argv += ["--record", str(record)]
        if max_seconds is not None:
            argv += ["--max-seconds", str(max_seconds)]
        return _measured(argv, env)


def drive(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {
        "requests": args.requests,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "database": "postgresql" if args.postgres else "sqlite",
    }
    with tempfile.TemporaryDirectory(prefix="sei-bridge-bench-") as tmp_name:
        tmp = Path(tmp_name)
        record = tmp / "calls.pickle"
        engine, engine_usage = _engine_run(args, tmp, "drain", args.requests, record=record)
        calls = sum(engine["calls"].values())
        out["engine"] = {
            "sync_seconds": round(engine["seconds"], 2),
            "sei_calls": calls,
            "calls_by_operation": engine["calls"],
            "actions": engine["report"]["actions_by_state"],
            "calls_per_s": round(calls / engine["seconds"], 1),
            "cpu_ms_per_call": round(1000 * engine_usage["cpu_s"] / calls, 2),
            # includes the recorded calls with their documents, kept for the replay: see the
            # memory runs for the engine's own footprint
            "max_rss_mb_with_recording": round(engine_usage["max_rss_mb"], 1),
        }
        if not args.skip_bare:
            with _sandbox(args.latency) as sei:
                bare, bare_usage = _measured(
                    [
                        "--role",
                        "bare",
                        "--record",
                        str(record),
                        "--concurrency",
                        str(args.concurrency),
                    ],
                    {"SEI_BRIDGE_SEI_URL": sei},
                )
            out["bare"] = {
                "seconds": round(bare["seconds"], 2),
                "sei_calls": bare["calls"],
                "failures": bare["failures"],
                "calls_per_s": round(bare["calls"] / bare["seconds"], 1),
                "cpu_ms_per_call": round(1000 * bare_usage["cpu_s"] / bare["calls"], 2),
            }
            out["throughput_ratio"] = round(
                out["engine"]["calls_per_s"] / out["bare"]["calls_per_s"], 3
            )
            out["engine_cpu_ms_per_call_beyond_bare"] = round(
                out["engine"]["cpu_ms_per_call"] - out["bare"]["cpu_ms_per_call"], 2
            )
        memory = []
        for size in args.memory_sizes:
            result, usage = _engine_run(
                args, tmp, f"memory{size}", size, max_seconds=args.max_seconds
            )
            memory.append(
                {
                    "requests": size,
                    "max_rss_mb": round(usage["max_rss_mb"], 1),
                    "seconds": round(result["seconds"], 1),
                    "events_received": result["report"]["events_received"],
                    "actions": result["report"]["actions_by_state"],
                    "sei_calls": sum(result["calls"].values()),
                }
            )
        out["memory"] = memory
    return out


def _text(out: dict[str, Any]) -> str:
    e = out["engine"]
    lines = [
        f"{out['requests']} requests, SEI latency {out['latency_s'] * 1000:.0f} ms, "
        f"{out['concurrency']} calls in flight, {out['database']}",
        f"  engine: {e['sei_calls']} SEI calls in {e['sync_seconds']} s = {e['calls_per_s']}/s; "
        f"CPU {e['cpu_ms_per_call']} ms per call",
        f"          calls: {e['calls_by_operation']}",
    ]
    if "bare" in out:
        b = out["bare"]
        lines += [
            f"  bare:   {b['sei_calls']} SEI calls in {b['seconds']} s = {b['calls_per_s']}/s; "
            f"CPU {b['cpu_ms_per_call']} ms per call; failures {b['failures'] or 'none'}",
            f"  throughput engine/bare: {out['throughput_ratio']} (target >= 0.9); engine CPU "
            f"beyond bare: {out['engine_cpu_ms_per_call_beyond_bare']} ms per call",
        ]
    for m in out["memory"]:
        lines.append(
            f"  memory: {m['requests']} requests -> peak RSS {m['max_rss_mb']} MB "
            f"({m['events_received']} events, {m['sei_calls']} SEI calls in {m['seconds']} s)"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.05, help="SEI answer delay, seconds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--postgres", help="PostgreSQL URL (a fresh schema per run)")
    parser.add_argument("--skip-bare", action="store_true")
    parser.add_argument(
        "--memory-sizes",
        type=lambda v: [int(x) for x in v.split(",") if x],
        default=[],
        help="comma-separated backlog sizes for the memory runs, e.g. 1000,10000",
    )
    parser.add_argument("--max-seconds", type=float, default=120.0, help="per memory run")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--role", choices=["engine", "bare"], help=argparse.SUPPRESS)
    parser.add_argument("--record", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "engine":
        engine_role(args.record, None if "--max-seconds" not in sys.argv else args.max_seconds)
        return
    if args.role == "bare":
        bare_role(args.record, args.concurrency)
        return
    if args.postgres and not re.match(r"postgresql(\+psycopg)?://", args.postgres):
        parser.error("--postgres takes a postgresql+psycopg:// URL")
    out = drive(args)
    print(json.dumps(out, indent=2) if args.json else _text(out))


if __name__ == "__main__":
    main()
