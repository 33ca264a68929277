"""The two measured processes of ``bench/drain.py``; each writes one JSON object to ``--out``.

::

    python bench/_driver.py engine --out FILE [--record CALLS] [--max-seconds S]
                                   [--tracemalloc SECONDS]
    python bench/_driver.py bare --out FILE --record CALLS --concurrency C

``engine`` is what ``sei-bridge sync --until-idle`` runs (``app.build_runtime`` and
``Engine.sync_until_idle``, configured by the ``SEI_BRIDGE_*`` variables), with every public
``SeiClient`` method wrapped to note the call: the operation's name, and with ``--record`` its
keyword arguments, its answer and its error (a list append after the call; calls a method makes
through another one, such as ``buscar_procedimento`` → ``consultar_procedimento``, count once).
``--record`` pickles those calls at the end for ``bare``.

``bare`` replays the recorded calls with one plain ``SeiClient`` (the zeep stack and the
PHP-compatible encoding, nothing else: no ledger, no planning, no retries, no SIGRC) and
``--concurrency`` threads. The calls are grouped by the SEI process they act on; a thread takes a
whole group and makes its calls in the recorded order, so each request's calls stay in order
while different requests run in parallel, as in the engine. The ids the fresh sandbox answers for
a new process replace the recorded ones (``IdProcedimento`` and the formatted number) in the
calls that follow; with ``sei.numero_protocolo`` in the mappings they are the same anyway.

Both report their own wall time and CPU (``getrusage(RUSAGE_SELF)``, every thread) around the
drain or the replay alone; the parent measures the whole process with ``os.wait4``.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import functools
import inspect
import json
import logging
import os
import pickle
import queue
import resource
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

#: SeiClient attributes that are not SEI calls
_NOT_CALLS = frozenset({"load", "from_settings"})


@dataclasses.dataclass(slots=True)
class Call:
    """One SeiClient call as the engine made it."""

    name: str
    kwargs: dict[str, Any]
    result: Any = None
    error: str | None = None  #: the exception's class name, if the call raised


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _sei_methods() -> list[str]:
    from sei_bridge.sei.client import SeiClient

    return [
        name
        for name, value in vars(SeiClient).items()
        if inspect.isfunction(value) and not name.startswith("_") and name not in _NOT_CALLS
    ]


def _install_recorder(calls: list[Any], first: list[float], *, keep: bool) -> None:
    """Wrap SeiClient's public methods so each outermost call appends to ``calls``: a
    :class:`Call` if ``keep``, else only its name (nothing held but a string reference);
    ``first`` gets the time the first call ended."""
    from sei_bridge.sei.client import SeiClient

    depth = threading.local()

    for name in _sei_methods():
        original = getattr(SeiClient, name)

        @functools.wraps(original)
        def recorded(self: Any, *args: Any, __f: Any = original, __n: str = name, **kw: Any) -> Any:
            level = getattr(depth, "level", 0)
            depth.level = level + 1
            result, error = None, None
            try:
                result = __f(self, *args, **kw)
                return result
            except Exception as exc:  # noted and re-raised unchanged
                error = type(exc).__name__
                raise
            finally:
                depth.level = level
                if level == 0:
                    if not first:
                        first.append(time.monotonic())
                    calls.append(Call(__n, kw, result, error) if keep else __n)

        setattr(SeiClient, name, recorded)


class _MemorySampler:
    """Keeps the tracemalloc snapshot taken when traced memory was highest (checked every
    ``interval`` seconds), to diff against the snapshot taken before the drain."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.baseline = tracemalloc.take_snapshot()
        self.highest: tracemalloc.Snapshot | None = None
        self.highest_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-tracemalloc")
        self._thread.start()

    def _sample(self) -> None:
        current, _ = tracemalloc.get_traced_memory()
        if current > self.highest_bytes:
            self.highest, self.highest_bytes = tracemalloc.take_snapshot(), current

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def report(self, top: int = 12) -> dict[str, Any]:
        self._stop.set()
        self._thread.join()
        self._sample()
        assert self.highest is not None
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
        highest = self.highest.filter_traces(ignore)
        baseline = self.baseline.filter_traces(ignore)
        by_line = highest.compare_to(baseline, "lineno")[:top]
        by_trace = highest.compare_to(baseline, "traceback")[:3]
        return {
            "traced_mb_at_highest": round(self.highest_bytes / 2**20, 1),
            # the highest point between samples, transient peaks included
            "traced_mb_peak": round(tracemalloc.get_traced_memory()[1] / 2**20, 1),
            "growth_by_line": [
                {
                    "where": f"{s.traceback[0].filename}:{s.traceback[0].lineno}",
                    "mb": round(s.size_diff / 2**20, 2),
                    "blocks": s.count_diff,
                }
                for s in by_line
            ],
            "growth_by_traceback": [
                {"mb": round(s.size_diff / 2**20, 2), "traceback": s.traceback.format()}
                for s in by_trace
            ],
        }


def engine_role(args: argparse.Namespace) -> dict[str, Any]:
    from sei_bridge import app, config

    logging.basicConfig(level=os.environ.get("SEI_BRIDGE_LOG_LEVEL", "ERROR"))
    if args.tracemalloc:
        tracemalloc.start(12)
    calls: list[Any] = []
    first: list[float] = []
    _install_recorder(calls, first, keep=args.record is not None)
    settings = config.load_settings()
    app.migrate_store(settings)
    with app.build_runtime(settings) as rt:
        sampler = _MemorySampler(args.tracemalloc) if args.tracemalloc else None
        cpu, started = _cpu(), time.monotonic()
        report = rt.engine.sync_until_idle(max_seconds=args.max_seconds)
        seconds, cpu = time.monotonic() - started, _cpu() - cpu
    if args.record is not None:
        with args.record.open("wb") as f:
            pickle.dump(calls, f, protocol=pickle.HIGHEST_PROTOCOL)
    names = [c.name if isinstance(c, Call) else c for c in calls]
    out: dict[str, Any] = {
        "seconds": seconds,
        "cpu_s": cpu,
        "first_call_s": first[0] - started if first else None,
        "calls": dict(collections.Counter(names)),
        "errors": dict(
            collections.Counter(f"{c.name}: {c.error}" for c in calls if getattr(c, "error", None))
        ),
        "report": report.to_dict(),
    }
    if sampler is not None:
        out["tracemalloc"] = sampler.report()
    return out


# --- the replay ---------------------------------------------------------------------------------


def _process_ref(call: Call) -> str:
    documento = call.kwargs.get("documento")
    if documento is not None:
        return str(documento.protocolo_procedimento or documento.id_procedimento or "")
    return str(call.kwargs.get("protocolo_procedimento") or "")


def group_by_process(calls: list[Call]) -> list[list[Call]]:
    """The calls of each SEI process in recorded order (calls about no process: one group)."""
    groups: dict[str, list[Call]] = collections.defaultdict(list)
    alias: dict[str, str] = {}
    for call in calls:
        if call.name == "gerar_procedimento" and call.result is not None:
            key = call.result.procedimento_formatado
            alias[call.result.id_procedimento] = key
            numero = call.kwargs["procedimento"].numero_protocolo
            if numero:
                alias[numero] = key
        else:
            ref = _process_ref(call)
            key = alias.get(ref, ref)
        groups[key].append(call)
    return list(groups.values())


#: where a recorded call names its process (keyword argument, or field of a documento)
_PROCESS_FIELDS = ("protocolo_procedimento", "id_procedimento")


def _substitute(kwargs: dict[str, Any], new: dict[str, str]) -> dict[str, Any]:
    """``kwargs`` with the recorded process ids replaced by the fresh sandbox's (only where a
    process is named: other ids, a série's say, may look the same)."""
    if not new:
        return kwargs
    out = dict(kwargs)
    for name in _PROCESS_FIELDS:
        if isinstance(value := out.get(name), str):
            out[name] = new.get(value, value)
    documento = out.get("documento")
    if documento is not None:
        changes = {
            name: new[value]
            for name in _PROCESS_FIELDS
            if isinstance(value := getattr(documento, name), str) and value in new
        }
        if changes:
            out["documento"] = dataclasses.replace(documento, **changes)
    return out


def bare_role(args: argparse.Namespace) -> dict[str, Any]:
    from sei_bridge.sei.client import SeiClient

    with args.record.open("rb") as f:
        calls: list[Call] = pickle.load(f)
    work: queue.SimpleQueue[list[Call]] = queue.SimpleQueue()
    for group in group_by_process(calls):
        work.put(group)
    client = SeiClient(
        endpoint_url=os.environ["SEI_BRIDGE_SEI_URL"],
        sigla_sistema=os.environ["SEI_BRIDGE_SEI_SIGLA_SISTEMA"],
        identificacao_servico=os.environ["SEI_BRIDGE_SEI_IDENTIFICACAO_SERVICO"],
    )
    client.load()  # the WSDL, as the engine loads it before its first call
    differences: collections.Counter[str] = collections.Counter()
    examples: dict[str, str] = {}
    lock = threading.Lock()

    def worker() -> None:
        while True:
            try:
                group = work.get_nowait()
            except queue.Empty:
                return
            new: dict[str, str] = {}
            for call in group:
                error, text = None, ""
                try:
                    result = getattr(client, call.name)(**_substitute(call.kwargs, new))
                except Exception as exc:  # compared with what the engine got, below
                    error, text, result = type(exc).__name__, str(exc), None
                if error != call.error:
                    key = f"{call.name}: {call.error} -> {error}"
                    with lock:
                        differences[key] += 1
                        examples.setdefault(key, f"{text} ({_process_ref(call)})"[:300])
                if call.name == "gerar_procedimento" and result is not None:
                    old = call.result
                    new[old.id_procedimento] = result.id_procedimento
                    new[old.procedimento_formatado] = result.procedimento_formatado

    cpu, started = _cpu(), time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds, cpu = time.monotonic() - started, _cpu() - cpu
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "calls": dict(collections.Counter(c.name for c in calls)),
        "differences": dict(differences),
        "difference_examples": examples,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=["engine", "bare"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--max-seconds", type=float)
    parser.add_argument("--tracemalloc", type=float, default=0.0, metavar="SECONDS")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    if args.role == "bare" and args.record is None:
        parser.error("bare needs --record")
    out = engine_role(args) if args.role == "engine" else bare_role(args)
    args.out.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
