"""``sei-bridge run``: the scheduler daemon. Runs the jobs of ``jobs/schedule.yaml`` until SIGINT
or SIGTERM, exposing Prometheus metrics when ``SEI_BRIDGE_METRICS_PORT`` is set."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sei_bridge.commands import _common

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
        help="serve Prometheus metrics on 127.0.0.1:PORT (env SEI_BRIDGE_METRICS_PORT)",
    )


def run(args: argparse.Namespace) -> int:
    # imported when the command runs, not for its --help (see sei_bridge.commands)
    from sei_bridge import app, scheduler
    from sei_bridge.ops import metrics
    from sei_bridge.reconcile import DEFAULT_BUDGET, Budget, Reconciler, publish
    from sei_bridge.reports import reconciliation as render

    settings = _common.settings_from(args, metrics_port=args.metrics_port)
    specs = scheduler.load_schedule(args.schedule)
    stopped = threading.Event()
    with app.build_runtime(settings) as rt:
        engine = rt.engine

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

        jobs: dict[str, scheduler.JobFunc] = {
            "poll": lambda o: engine.poll_once(),
            "plan": lambda o: engine.plan_once(),
            "dispatch": lambda o: engine.dispatch_once(max_seconds=o.get("max_seconds")),
            "retry_sweep": lambda o: engine.dispatch_once(max_seconds=o.get("max_seconds")),
            "catalog_refresh": lambda o: engine.refresh_catalog(),
            "reconcile": reconcile,
        }
        sched = scheduler.build_scheduler(jobs, specs, stop_event=stopped)
        if settings.metrics_port:
            metrics.serve(settings.metrics_port)
            log.info("metrics on http://127.0.0.1:%d/metrics", settings.metrics_port)

        def shutdown(signum: int, frame: object) -> None:
            log.info("signal %d: stopping after the running jobs", signum)
            sched.shutdown(wait=True)

        signal.signal(signal.SIGTERM, shutdown)
        signal.signal(signal.SIGINT, shutdown)
        log.info("scheduler started with jobs: %s", ", ".join(s.name for s in specs))
        sched.start()
    return 2 if stopped.is_set() else 0
