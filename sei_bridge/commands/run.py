"""``sei-bridge run``: the scheduler daemon. Runs the jobs of ``jobs/schedule.yaml`` until SIGINT
or SIGTERM, serving ``/metrics``, ``/healthz`` and ``/readyz`` when ``SEI_BRIDGE_METRICS_PORT``
is set. SIGRC refusing the token pauses polling (reported) instead of stopping SEI work."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sei_bridge import errors
from sei_bridge.commands import _common

if TYPE_CHECKING:
    from sei_bridge import scheduler
    from sei_bridge.engine import Engine
    from sei_bridge.ops import health

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _common.add_database_argument(parser)
    parser.add_argument(
        "--schedule", type=Path, default=None, help="schedule file (default: jobs/schedule.yaml)"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics, /healthz and /readyz on SEI_BRIDGE_METRICS_ADDR:PORT "
        "(env SEI_BRIDGE_METRICS_PORT)",
    )


#: longest pause between two polls while SIGRC refuses the token (seconds)
_AUTH_BACKOFF_MAX = 300.0


class _SigrcGate:
    """Polling while SIGRC refuses our token: one ERROR line, then polls backed off (5 s,
    doubling to 5 min) while SEI work goes on; the poll that gets through again logs and
    reports the recovery. Other jobs that reach SIGRC (planning asks for snapshots) report a
    refusal but never a recovery: only the poll's call says the token is accepted."""

    def __init__(self, signals: health.Signals, clock: Callable[[], float] = time.monotonic):
        self._signals = signals
        self._clock = clock
        self._refusals = 0
        self._next_poll = 0.0

    def poll(self, func: Callable[[], object]) -> None:
        if self._refusals and self._clock() < self._next_poll:
            return
        try:
            func()
        except errors.SigrcAuthError as exc:
            self._refused("poll", exc)
            self._next_poll = self._clock() + min(
                _AUTH_BACKOFF_MAX, 5.0 * 2 ** min(self._refusals - 1, 16)
            )
            return
        if self._refusals:
            log.info("SIGRC accepts the token again (after %d refused polls)", self._refusals)
            self._refusals = 0
            self._signals.sigrc_refused(None)
        self._signals.succeeded("poll")

    def other(self, step: str, func: Callable[[], object]) -> None:
        try:
            func()
        except errors.SigrcAuthError as exc:
            self._refused(step, exc)
            return
        self._signals.succeeded(step)

    def _refused(self, step: str, exc: errors.SigrcAuthError) -> None:
        self._refusals += 1
        if self._refusals == 1:
            log.error("%s: %s; SEI work goes on, polls paused", step, exc)
        self._signals.sigrc_refused(str(exc))


class _MappingWatch:
    """Notices a changed mapping folder (an edited, added or removed file) before each
    planning round and on SIGHUP, and reloads it: a service added and replayed is planned
    with the new mappings, not re-quarantined by the old ones. A folder that does not load is
    reported once (ERROR) and the mappings in use stay."""

    def __init__(self, folder: Path, engine: Engine, version: str | None) -> None:
        self._folder = folder
        self._engine = engine
        self.version = version
        self._refused: str | None = None
        self._lock = threading.Lock()
        _mappings_info(version)
        log.info("mappings version %s loaded from %s", version, folder)

    def check(self) -> None:
        from sei_bridge import mapping

        with self._lock:
            version = mapping.folder_version(self._folder)
            if version is None or version in (self.version, self._refused):
                return
            try:
                mappings = mapping.load_mappings(self._folder)
            except errors.MappingError as exc:
                self._refused = version
                log.error("mappings not reloaded, version %s stays: %s", self.version, exc)
                return
            self._engine.reload_mappings(mappings)
            log.info("mappings reloaded: version %s -> %s", self.version, version)
            self.version, self._refused = version, None
            _mappings_info(version)


def _mappings_info(version: str | None) -> None:
    from sei_bridge.ops import metrics

    metrics.MAPPINGS_INFO.clear()
    metrics.MAPPINGS_INFO.labels(version=version or "unknown").set(1)


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app, mapping, scheduler
    from sei_bridge.ops import health
    from sei_bridge.ops.server import OpsServer
    from sei_bridge.reconcile import DEFAULT_BUDGET, Budget, Reconciler, publish
    from sei_bridge.reports import reconciliation as render

    settings = _common.settings_from(args, metrics_port=args.metrics_port)
    specs = scheduler.load_schedule(args.schedule)
    stopped = threading.Event()
    # bound before anything else starts: a port in use is one line, not a half-started daemon
    ops = None
    if settings.metrics_port is not None:
        ops = OpsServer(addr=settings.metrics_addr, port=settings.metrics_port)
    with contextlib.ExitStack() as cleanup, app.build_runtime(settings) as rt:
        if ops is not None:
            cleanup.callback(ops.close)
        engine = rt.engine
        signals = health.Signals()
        watch = _MappingWatch(
            Path(settings.mappings), engine, mapping.folder_version(Path(settings.mappings))
        )
        gate = _SigrcGate(signals)

        def reconcile(options: Mapping[str, Any]) -> None:
            days = float(options.get("since_days", 7))
            since = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
            budget = Budget(
                max_pages=int(options.get("max_pages", DEFAULT_BUDGET.max_pages)),
                max_seconds=float(options.get("max_seconds", DEFAULT_BUDGET.max_seconds)),
                max_findings=int(options.get("max_findings", DEFAULT_BUDGET.max_findings)),
            )
            report = Reconciler(
                store=rt.store,
                sigrc=rt.sigrc,
                sei=rt.sei,
                mappings=rt.mappings,
                orgao=settings.sigrc_orgao,
                budget=budget,
            ).run(since=since)
            publish(report)
            folder = Path(str(options.get("report_dir", "reports")))
            folder.mkdir(parents=True, exist_ok=True)
            stem = f"reconcile-{report.generated_at:%Y%m%dT%H%M%SZ}"
            (folder / f"{stem}.txt").write_text(render.to_text(report), encoding="utf-8")
            (folder / f"{stem}.html").write_text(render.to_html(report), encoding="utf-8")
            log.info(
                "reconcile: %d checked, %d findings%s",
                report.requests_checked,
                report.findings_total,
                "" if report.complete else " (incomplete)",
            )

        def poll(options: Mapping[str, Any]) -> None:
            gate.poll(engine.poll_once)
            signals.holds_poll_lock(not engine.polled_elsewhere)

        def plan(options: Mapping[str, Any]) -> None:
            watch.check()
            gate.other("plan", engine.plan_once)

        def dispatch(options: Mapping[str, Any]) -> None:
            engine.dispatch_once(max_seconds=options.get("max_seconds"))
            signals.succeeded("dispatch")

        running = _RunningJobs()
        jobs: dict[str, scheduler.JobFunc] = {
            name: running.tracked(func)
            for name, func in {
                "poll": poll,
                "plan": plan,
                "dispatch": dispatch,
                "retry_sweep": dispatch,
                "catalog_refresh": lambda o: engine.refresh_catalog(),
                "reconcile": reconcile,
            }.items()
        }
        sched = scheduler.build_scheduler(jobs, specs, stop_event=stopped)
        if ops is not None:
            checks = health.Health(
                store=rt.store,
                circuit=engine.guard,
                signals=signals,
                poll_stale_seconds=settings.poll_stale_seconds,
            )
            ops.start(checks)
            log.info(
                "operations endpoint on http://%s:%d (/metrics, /healthz, /readyz)",
                settings.metrics_addr,
                ops.port,
            )

        def shutdown(signum: int, frame: object) -> None:
            # nothing new is claimed; actions claimed but not started go back to the ledger;
            # the calls in flight (each bounded by its deadline) finish and are recorded
            log.info(
                "signal %d: stopping (calls in flight get %.0f s to finish)",
                signum,
                settings.stop_seconds,
            )
            engine.stop()
            sched.shutdown(wait=False)

        def reload(signum: int, frame: object) -> None:
            threading.Thread(target=watch.check, name="sei-bridge-reload", daemon=True).start()

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        signal.signal(signal.SIGHUP, reload)
        log.info("scheduler started with jobs: %s", ", ".join(s.name for s in specs))
        sched.start()
        engine.stop()  # a job's configuration error stopped the scheduler
        left = running.wait(settings.stop_seconds)
        if left:
            # the process must end within the time its supervisor allows: what is still in
            # flight is abandoned; its leases expire after SEI_BRIDGE_LEASE_SECONDS and the
            # next worker probes each such effect before sending it again (never a duplicate)
            log.warning(
                "stopped with %d job(s) still running after %.0f s; their actions are probed "
                "by the next worker once their leases expire",
                left,
                settings.stop_seconds,
            )
            logging.shutdown()
            os._exit(2 if stopped.is_set() else 0)
    log.info("stopped")
    return 2 if stopped.is_set() else 0


class _RunningJobs:
    """Counts the jobs running, so that a stop can wait for them, for a bounded time."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    def tracked(self, func: scheduler.JobFunc) -> scheduler.JobFunc:
        def run(options: Mapping[str, Any]) -> None:
            with self._changed:
                self._count += 1
            try:
                func(options)
            finally:
                with self._changed:
                    self._count -= 1
                    self._changed.notify_all()

        return run

    def wait(self, seconds: float) -> int:
        """Wait until no job runs or ``seconds`` pass; the number still running."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while self._count and (remaining := deadline - time.monotonic()) > 0:
                self._changed.wait(remaining)
            return self._count
