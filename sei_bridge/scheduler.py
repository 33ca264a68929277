"""APScheduler 3 wiring of the declarative schedule in ``jobs/schedule.yaml``.

The schedule file says *which* job runs on *which* trigger with *which* options; this module only
turns it into APScheduler jobs. The reasons for the coalescing and misfire settings are written in
the schedule file itself, next to the values, so that an operator changing them sees why.

Every job body is wrapped by :func:`_guarded`: a job never raises into APScheduler (which would
only log it), it logs one line, counts the failure in the metrics and lets the next tick try again.
A configuration error (bad credentials, bad mapping) stops the daemon instead, since retrying it
every few seconds would only hide it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from sei_bridge import chars, errors, safe_yaml
from sei_bridge.ops import metrics

__all__ = ["DEFAULT_SCHEDULE", "JobSpec", "build_scheduler", "load_schedule"]

log = logging.getLogger(__name__)

#: ``jobs/schedule.yaml``, found through the ``sei_bridge/data/jobs`` link (see sei.wsdl).
DEFAULT_SCHEDULE = Path(__file__).resolve().parent / "data" / "jobs" / "schedule.yaml"

_APS_OPTIONS = ("coalesce", "max_instances", "misfire_grace_time")

JobFunc = Callable[[Mapping[str, Any]], object]

#: an interval trigger's bounds, seconds (APScheduler accepts a negative one, and nan crashes)
_MIN_INTERVAL = 1.0
_MAX_INTERVAL = 366 * 24 * 3600.0
#: the options the jobs of run.py read, and their bounds (other options pass as they are)
_NUMERIC_OPTIONS: Mapping[str, tuple[float, float]] = {
    "max_seconds": (1.0, 86_400.0),
    "since_days": (0.001, 3660.0),
}


@dataclasses.dataclass(frozen=True)
class JobSpec:
    """One job of the schedule file."""

    name: str
    trigger: IntervalTrigger | CronTrigger
    coalesce: bool
    max_instances: int
    misfire_grace_time: int
    options: Mapping[str, Any]


def _trigger(name: str, raw: Mapping[str, Any]) -> IntervalTrigger | CronTrigger:
    if not isinstance(raw, Mapping):
        raise errors.ConfigurationError(
            f"jobs: job {safe_yaml.excerpt(name)} trigger must be a mapping with a type"
        )
    spec = dict(raw)
    kind = spec.pop("type", None)
    try:
        if kind == "interval":
            interval = IntervalTrigger(**spec)
            seconds = interval.interval.total_seconds()
            if not _MIN_INTERVAL <= seconds <= _MAX_INTERVAL:
                raise ValueError(
                    f"the interval must be from {_MIN_INTERVAL:g} s to {_MAX_INTERVAL:g} s"
                )
            return interval
        if kind == "cron":
            return CronTrigger(**spec)
    except (TypeError, ValueError, OverflowError) as exc:
        raise errors.ConfigurationError(
            f"jobs: job {safe_yaml.excerpt(name)} has an invalid trigger: "
            f"{safe_yaml.excerpt(str(exc), 120)}"
        ) from exc
    raise errors.ConfigurationError(
        f"jobs: job {safe_yaml.excerpt(name)} trigger type must be 'interval' or 'cron', "
        f"not {safe_yaml.excerpt(kind)}"
    )


def load_schedule(path: Path | None = None) -> list[JobSpec]:
    """Read and validate the schedule file (default: ``jobs/schedule.yaml``)."""
    if path is None:
        path = DEFAULT_SCHEDULE
    data = safe_yaml.load_file(path, error=errors.ConfigurationError)
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        raise errors.ConfigurationError(f"schedule {path} must have a 'jobs' mapping")
    defaults = data.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise errors.ConfigurationError(f"schedule {path}: 'defaults' must be a mapping")
    specs = []
    for name, raw in data["jobs"].items():
        if not isinstance(raw, dict) or "trigger" not in raw:
            raise errors.ConfigurationError(
                f"schedule {path}: job {safe_yaml.excerpt(name)} needs a trigger"
            )
        merged = {**defaults, **{k: v for k, v in raw.items() if k in _APS_OPTIONS}}
        specs.append(
            JobSpec(
                name=str(name),
                trigger=_trigger(str(name), raw["trigger"]),
                coalesce=bool(merged.get("coalesce", True)),
                max_instances=_whole(path, name, merged, "max_instances", 1),
                misfire_grace_time=_whole(path, name, merged, "misfire_grace_time", 30),
                options=_options(path, name, raw.get("options")),
            )
        )
    return specs


def _options(path: Path, job: object, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise errors.ConfigurationError(
            f"schedule {path}: job {safe_yaml.excerpt(job)} options must be a mapping"
        )
    for key, (low, high) in _NUMERIC_OPTIONS.items():
        if key not in raw:
            continue
        value = raw[key]
        number = (
            float(value)
            if isinstance(value, int | float) and not isinstance(value, bool)
            else math.nan
        )
        if not low <= number <= high:  # also refuses nan and inf
            raise errors.ConfigurationError(
                f"schedule {path}: job {safe_yaml.excerpt(job)} option {key} must be a number "
                f"from {low:g} to {high:g}, not {safe_yaml.excerpt(value)}"
            )
    report_dir = raw.get("report_dir")
    if report_dir is not None and (
        not isinstance(report_dir, str) or not report_dir or chars.first_control(report_dir)
    ):
        raise errors.ConfigurationError(
            f"schedule {path}: job {safe_yaml.excerpt(job)} option report_dir must be a folder "
            "path without control characters"
        )
    return dict(raw)


def _whole(path: Path, job: object, options: Mapping[str, Any], key: str, default: int) -> int:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 86_400:
        raise errors.ConfigurationError(
            f"schedule {path}: job {safe_yaml.excerpt(job)} {key} must be a whole number "
            f"from 1 to 86400, not {safe_yaml.excerpt(value)}"
        )
    return value


def _guarded(name: str, func: JobFunc, options: Mapping[str, Any], stop: Callable[[], None]):  # type: ignore[no-untyped-def]
    def run() -> None:
        try:
            with metrics.JOB_SECONDS.labels(job=name).time():
                func(options)
        except errors.ConfigurationError as exc:
            log.error("job %s: configuration error, stopping: %s", name, exc)
            metrics.JOB_FAILURES.labels(job=name).inc()
            stop()
        except Exception as exc:  # loop boundary: log, count, next tick retries
            log.error("job %s failed: %s: %s", name, type(exc).__name__, exc)
            metrics.JOB_FAILURES.labels(job=name).inc()

    return run


def build_scheduler(
    jobs: Mapping[str, JobFunc], specs: list[JobSpec], *, stop_event: threading.Event | None = None
) -> BlockingScheduler:
    """A BlockingScheduler with one job per spec; ``jobs`` maps job names to callables."""
    scheduler = BlockingScheduler(timezone="America/Sao_Paulo")
    unknown = [s.name for s in specs if s.name not in jobs]
    if unknown:
        raise errors.ConfigurationError(
            f"schedule names unknown job(s) {', '.join(unknown)}; known: {', '.join(sorted(jobs))}"
        )

    def stop() -> None:
        if stop_event is not None:
            stop_event.set()
        scheduler.shutdown(wait=False)

    for spec in specs:
        scheduler.add_job(
            _guarded(spec.name, jobs[spec.name], spec.options, stop),
            trigger=spec.trigger,
            id=spec.name,
            name=spec.name,
            coalesce=spec.coalesce,
            max_instances=spec.max_instances,
            misfire_grace_time=spec.misfire_grace_time,
        )
    return scheduler
