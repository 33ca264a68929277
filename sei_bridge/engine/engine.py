"""The engine facade: poll, plan, dispatch, and run all three until idle.

:class:`Engine` is what the commands and the scheduler call. Each step is one job that can run
on its own schedule (``jobs/schedule.yaml``) and in several processes against one PostgreSQL
database (the store's leases and advisory lock coordinate them):

- :meth:`Engine.poll_once` — one feed pass into the inbox, with the cursor, in one transaction;
- :meth:`Engine.plan_once` — settled inbox events into ledger actions;
- :meth:`Engine.dispatch_once` — due actions to SEI (threads, leases, probes);
- :meth:`Engine.sync_until_idle` — all of it until nothing is left to do (``sync --until-idle``);
- :meth:`Engine.refresh_catalog` — re-read SEI's catalogs and check the mappings.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sei_bridge import config, errors, mapping
from sei_bridge.engine import outcomes, ports
from sei_bridge.engine.dispatcher import DEFAULT_LEASE_SECONDS, Dispatcher, outcome_name
from sei_bridge.engine.executors import Executor, ExtensionCatalog
from sei_bridge.engine.planning import PlanningPass
from sei_bridge.engine.policy import GuardedSei, RetryPolicy, SeiGuard
from sei_bridge.engine.probes import Prober
from sei_bridge.engine.runner import ActionRunner
from sei_bridge.ops import metrics
from sei_bridge.store.types import Action

__all__ = ["DEFAULT_POLL_INTERVAL", "Engine", "Progress", "SyncReport"]

log = logging.getLogger(__name__)

#: how often ``sync_until_idle`` reads the feed again while events wait to settle (seconds)
DEFAULT_POLL_INTERVAL = 1.0
#: polls of one feed pass at most (each reads up to the reader's max_pages pages)
_MAX_POLLS_PER_PASS = 1000
#: events read per planning pass, and planned per round of sync_until_idle before dispatching
_PLAN_BATCH = 500
_PLAN_PER_ROUND = 5000

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class SyncReport:
    """What :meth:`Engine.sync_until_idle` did, and what is left."""

    #: True when it stopped because nothing was left to do (False: the time ran out, a stop
    #: was requested, or SIGRC could not be read)
    idle: bool
    seconds: float
    #: feed items stored new
    events_received: int = 0
    #: inbox events planned or quarantined by the planner
    events_planned: int = 0
    #: ledger actions planned
    actions_planned: int = 0
    #: attempts run, by outcome (done, retry, uncertain, quarantined, needs_person)
    outcomes: Counter[str] = field(default_factory=Counter)
    #: at the end: actions by state, inbox events by state
    actions_by_state: dict[str, int] = field(default_factory=dict)
    inbox_by_state: dict[str, int] = field(default_factory=dict)
    #: why it is not idle, when it is not
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view."""
        return {
            "idle": self.idle,
            "seconds": round(self.seconds, 3),
            "events_received": self.events_received,
            "events_planned": self.events_planned,
            "actions_planned": self.actions_planned,
            "attempts": dict(self.outcomes),
            "actions_by_state": dict(self.actions_by_state),
            "inbox_by_state": dict(self.inbox_by_state),
            "reason": self.reason,
        }

    def to_text(self) -> str:
        """A few lines for ``sei-bridge sync`` (ends with a newline)."""
        attempts = ", ".join(f"{k} {v}" for k, v in sorted(self.outcomes.items())) or "none"
        states = ", ".join(f"{k} {v}" for k, v in sorted(self.actions_by_state.items())) or "none"
        head = "idle" if self.idle else f"NOT idle: {self.reason or 'stopped'}"
        return (
            f"sync {head} after {self.seconds:.1f} s\n"
            f"  feed: {self.events_received} new event(s); planned {self.events_planned} "
            f"event(s) into {self.actions_planned} action(s)\n"
            f"  attempts: {attempts}\n"
            f"  ledger now: {states}\n"
        )


def _worker_id() -> str:
    # host and pid tell an operator which process holds a lease; the suffix keeps two engines
    # of one process apart
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Engine:
    """Moves SIGRC events into SEI. Every collaborator is passed in (see ``sei_bridge.app``).

    ``sei`` is the bare SEI client: the engine wraps it with the rate limit and the circuit
    breaker. ``policy``, ``guard``, ``lease_seconds``, ``poll_interval`` and ``worker`` are for
    tuning and tests; the defaults suit production.
    """

    def __init__(
        self,
        *,
        store: ports.LedgerStore,
        feed: ports.Feed,
        sigrc: ports.SigrcGateway,
        sei: ports.SeiGateway,
        mappings: mapping.Mappings,
        settings: config.Settings,
        clock: Callable[[], float] = time.time,
        policy: RetryPolicy | None = None,
        guard: SeiGuard | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
        max_attachment_bytes: int | None = None,
        worker: str | None = None,
    ) -> None:
        self.store = store
        self.feed = feed
        self.mappings = mappings
        self.settings = settings
        self.worker = worker or _worker_id()
        self.policy = policy or RetryPolicy()
        self.guard = guard or SeiGuard(
            rate_limit=settings.sei_rate_limit, max_in_flight=settings.sei_concurrency, clock=clock
        )
        self.sei = GuardedSei(sei, self.guard)
        self._clock = clock
        self._poll_interval = poll_interval
        self._stop = threading.Event()
        self._caught_up = False
        #: the last poll found another process holding the poller lock
        self._polled_elsewhere = False
        self.catalog = ExtensionCatalog(self.sei, clock=clock)
        executor = Executor(
            sei=self.sei,
            sigrc=sigrc,
            mappings=mappings,
            catalog=self.catalog,
            work_dir=Path(settings.work_dir),
            max_attachment_bytes=max_attachment_bytes,
        )
        prober = Prober(
            sei=self.sei,
            mappings=mappings,
            send_window_seconds=settings.sei_connect_timeout + settings.sei_read_timeout,
        )
        runner = ActionRunner(executor=executor, prober=prober, read_ledger=store.ledger_of)
        self._dispatcher = Dispatcher(
            store=store,
            runner=runner,
            policy=self.policy,
            guard=self.guard,
            concurrency=settings.sei_concurrency,
            worker=self.worker,
            lease_seconds=lease_seconds,
            clock=clock,
            stop=self._stop,
        )
        self._planning = PlanningPass(store=store, sigrc=sigrc, mappings=mappings)

    # --- the jobs -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask a running :meth:`sync_until_idle` or :meth:`dispatch_once` to stop soon (the
        calls in flight finish and are recorded)."""
        self._stop.set()

    def poll_once(self) -> int:
        """Read one feed pass and store its items with the new cursor, in one transaction.
        Returns the number of new items (0 when another process holds the poller lock)."""
        with self.store.poller_lock() as got_it:
            self._polled_elsewhere = not got_it
            if not got_it:
                # another process polls this database: the feed is its job, and only it knows
                # whether the feed is drained, so this one is not caught up (sync_until_idle
                # asks again after a poll interval instead of calling itself idle at once)
                log.debug("poll skipped: another worker holds the poller lock")
                self._caught_up = False
                return 0
            batch = self.feed.poll(self.store.load_cursor())
            stored = self.store.record_feed_batch(batch.items, batch.cursor)
            self._caught_up = batch.caught_up
        if stored:
            metrics.EVENTS.labels(kind="new").inc(stored)
        return stored

    def plan_once(self, *, limit: int = _PLAN_BATCH) -> int:
        """Plan up to ``limit`` settled inbox events; returns how many were handled (planned,
        quarantined or skipped). Stops early, leaving the rest for later, when SIGRC cannot
        be asked for a snapshot."""
        return self._planning.run(limit=limit).events

    def dispatch_once(
        self,
        *,
        max_seconds: float | None = None,
        progress: Callable[[Action, Any], None] | None = None,
    ) -> int:
        """Run due actions until none is due or ``max_seconds`` pass; returns the attempts run.
        Raises the ConfigurationError that stopped it, if one did."""
        stats = self._dispatcher.run(max_seconds=max_seconds, on_finished=progress)
        if stats.stopped is not None:
            raise stats.stopped
        return stats.ran

    def refresh_catalog(self) -> list[str]:
        """Re-read SEI's allowed extensions and check every mapping id against SEI's catalogs;
        returns the problems found (also logged)."""
        self.catalog.refresh()
        problems = mapping.check_against_sei(self.mappings, self.sei)
        for problem in problems:
            log.warning("mapping problem: %s", problem)
        return problems

    # --- until idle ---------------------------------------------------------------------------

    def sync_until_idle(
        self, *, max_seconds: float | None = None, progress: Progress | None = None
    ) -> SyncReport:
        """Poll, plan and dispatch until the feed is drained, every settled event is planned
        and no action is due or waiting on a backoff timer (waiting for the timers as needed),
        or until ``max_seconds``. ``progress(done, total)`` is called as actions settle."""
        started = time.monotonic()
        deadline = None if max_seconds is None else started + max_seconds
        report = SyncReport(idle=False, seconds=0.0)
        tracker = _ProgressTracker(self.store, progress)
        while not self._stop.is_set():
            received = self._poll_pass(report)
            planned = 0
            # a bounded share per round, so a large backlog starts reaching SEI early
            while not self._stop.is_set() and planned < _PLAN_PER_ROUND:
                planning = self._planning.run(limit=_PLAN_BATCH)
                if not planning.events:
                    break
                planned += planning.events
                report.events_planned += planning.events
                report.actions_planned += planning.actions
                tracker.planned(planning.actions)
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            stats = self._dispatcher.run(max_seconds=remaining, on_finished=tracker.finished)
            report.outcomes.update(stats.outcomes)
            if stats.stopped is not None:
                raise stats.stopped
            if deadline is not None and time.monotonic() >= deadline:
                report.reason = "time limit reached"
                break
            if received or planned or stats.ran:
                continue  # something moved: go round again before deciding to wait
            wait = self._idle_wait(report, stats.circuit_open_until)
            if wait is None:
                report.idle = True
                report.reason = None
                break
            if deadline is not None:
                wait = min(wait, max(0.0, deadline - time.monotonic()))
            self._stop.wait(wait)
        if self._stop.is_set() and not report.idle:
            report.reason = report.reason or "stop requested"
        status = self.store.status()
        report.actions_by_state = status.actions_by_state()
        report.inbox_by_state = dict(status.inbox)
        report.seconds = time.monotonic() - started
        return report

    def _poll_pass(self, report: SyncReport) -> int:
        """Poll until the feed is caught up; SIGRC being unavailable ends the pass early."""
        received = 0
        self._caught_up = False
        try:
            for _ in range(_MAX_POLLS_PER_PASS):
                received += self.poll_once()
                if self._caught_up or self._polled_elsewhere or self._stop.is_set():
                    break
            report.reason = None
        except errors.SigrcUnavailable as exc:
            report.reason = f"SIGRC feed unavailable: {exc}"
            log.warning("feed poll failed: %s", exc)
        report.events_received += received
        return received

    def _idle_wait(self, report: SyncReport, circuit_until: float | None) -> float | None:
        """Seconds to wait before the next round, or None when there is nothing left to do."""
        now = self._clock()
        waits: list[float] = []
        if circuit_until is not None:
            waits.append(max(0.0, circuit_until - now))
        due = self.store.next_due_at()
        if due is not None:
            waits.append(max(0.0, due.timestamp() - now))
        pending_events = self.store.status().inbox.get("PENDING", 0)
        if pending_events or not self._caught_up or report.reason:
            # events wait to settle (feed lag) or SIGRC must be asked again
            waits.append(self._poll_interval)
        if not waits:
            return None
        return min(waits)


class _ProgressTracker:
    """Feeds ``progress(done, total)``: settled attempts against the work known so far."""

    def __init__(self, store: ports.LedgerStore, progress: Progress | None) -> None:
        self._progress = progress
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0
        if progress is not None:
            by_state = store.status().actions_by_state()
            self._total = by_state.get("PENDING", 0) + by_state.get("UNCERTAIN", 0)
            progress(0, self._total)

    def planned(self, count: int) -> None:
        if self._progress is None or not count:
            return
        with self._lock:
            self._total += count
            done, total = self._done, self._total
        self._progress(done, total)

    def finished(self, action: Action, outcome: outcomes.Outcome) -> None:
        if self._progress is None:
            return
        if outcome_name(outcome) not in ("done", "quarantined", "needs_person"):
            return
        with self._lock:
            self._done += 1
            self._total = max(self._total, self._done)
            done, total = self._done, self._total
        self._progress(done, total)
