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

import datetime as dt
import logging
import math
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
#: events read per planning pass
_PLAN_BATCH = 500

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
        #: the last complete feed round of sync_until_idle: caught up, or why SIGRC could not
        #: be read
        self._round_caught_up = False
        self._feed_problem: str | None = None
        #: when SIGRC's Retry-After lets the feed be read again (clock time), if it sent one
        self._feed_retry_at: float | None = None
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
            # a call cannot outlast its deadline, whatever SEI trickles
            send_window_seconds=max(
                settings.sei_connect_timeout + settings.sei_read_timeout,
                settings.sei_call_deadline,
            ),
        )
        self._executor, self._prober = executor, prober
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

    def reload_mappings(self, mappings: mapping.Mappings) -> None:
        """Use ``mappings`` from now on, for planning, sending and probing alike (each job
        reads them when it starts an event or an action, so none mixes two versions)."""
        self.mappings = mappings
        self._planning.mappings = mappings
        self._executor.mappings = mappings
        self._prober.mappings = mappings

    @property
    def polled_elsewhere(self) -> bool:
        """True when the last poll found another worker holding the poller lock."""
        return self._polled_elsewhere

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
        or until ``max_seconds``. ``progress(done, total)`` is called as actions settle.

        The feed is read and planned on a thread of its own (:class:`_Feeder`) while this one
        dispatches, a batch of events at a time, so SEI works while a backlog is being planned
        (one after the other, SEI sat idle while 1,000 requests were planned: 8 s).
        """
        started = time.monotonic()
        deadline = None if max_seconds is None else started + max_seconds
        report = SyncReport(idle=False, seconds=0.0)
        tracker = _ProgressTracker(self.store, progress)
        feeder = _Feeder(self, report, tracker)
        feeder.start()
        try:
            while not self._stop.is_set():
                feeder.raise_error()
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                stats = self._dispatcher.run(max_seconds=remaining, on_finished=tracker.finished)
                report.outcomes.update(stats.outcomes)
                if stats.stopped is not None:
                    raise stats.stopped
                if deadline is not None and time.monotonic() >= deadline:
                    report.reason = self._why_not_idle("time limit reached")
                    break
                if stats.ran:
                    continue  # something moved: go round again before deciding to wait
                # nothing was due: idle only if a feed round begun after this found nothing
                quiet = feeder.next_round_is_quiet(deadline)
                feeder.raise_error()
                if not quiet:
                    continue
                wait = self._idle_wait(stats.circuit_open_until)
                if wait is None:
                    report.idle = True
                    report.reason = None
                    break
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if wait > left + 1.0:
                        # nothing can happen before the time runs out (SEI's circuit stays
                        # open, SIGRC asked to come back later, every retry is due later):
                        # waiting would only spend the budget
                        report.reason = self._why_not_idle(
                            f"time limit: the next retry, probe or feed read is due in "
                            f"{wait:.0f} s, past the {max(0.0, left):.0f} s left"
                        )
                        break
                    wait = min(wait, max(0.0, left))
                feeder.wait_for_work(wait)
        finally:
            feeder.stop()
        feeder.raise_error()
        if not report.idle and report.reason is None:
            report.reason = self._why_not_idle(
                "stop requested" if self._stop.is_set() else "stopped"
            )
        status = self.store.status()
        report.actions_by_state = status.actions_by_state()
        report.inbox_by_state = dict(status.inbox)
        report.seconds = time.monotonic() - started
        return report

    def _why_not_idle(self, head: str) -> str:
        """One line: why sync stops with work left (the SEI circuit, SIGRC, the time)."""
        text = head + (f" ({self._feed_problem})" if self._feed_problem else "")
        until = self.guard.open_until()
        if until is not None and until > self._clock():
            when = dt.datetime.fromtimestamp(until, dt.UTC)
            text += f"; SEI circuit open until {when:%H:%M:%S} UTC (SEI kept failing)"
        return text + ("; try later" if text != head else "")

    def _feed_hold(self) -> float:
        """Seconds SIGRC asked the feed to wait before it is read again (0: none)."""
        retry_at = self._feed_retry_at
        return 0.0 if retry_at is None else max(0.0, retry_at - self._clock())

    def _feed_round(
        self,
        report: SyncReport,
        tracker: _ProgressTracker,
        halt: threading.Event,
        on_planned: Callable[[], None],
    ) -> bool:
        """Read the feed until caught up, planning what has settled after each read (events
        settle as the feed's watermark passes them: on a backlog, from the second sweep on);
        SIGRC being unavailable ends the reading early. ``on_planned()`` is called after each
        planning batch that handled events. True when anything moved."""
        received = planned = 0
        self._caught_up = False
        problem: str | None = None
        retry_at: float | None = None
        try:
            for _ in range(_MAX_POLLS_PER_PASS):
                received += self.poll_once()
                planned += self._plan_settled(report, tracker, halt, on_planned)
                if self._caught_up or self._polled_elsewhere or halt.is_set():
                    break
        except errors.SigrcUnavailable as exc:
            problem = f"SIGRC feed unavailable: {exc}"
            log.warning("feed poll failed: %s", exc)
            if exc.retry_after is not None and math.isfinite(exc.retry_after):
                # honoured by the next round, clamped like any server-given delay
                hold = min(max(0.0, exc.retry_after), self.policy.maximum)
                retry_at = self._clock() + hold
        except errors.SigrcInvalidResponse as exc:
            # a page off the contract (not JSON, nested too deep, a broken envelope): nothing
            # of it is stored and the cursor stays, so the next round reads it again
            problem = f"SIGRC feed page unreadable: {exc}"
            log.warning("feed poll failed: %s", exc)
        # what _idle_wait reads: the last complete round's view, not one in progress
        self._round_caught_up, self._feed_problem = self._caught_up, problem
        self._feed_retry_at = retry_at
        # what settled meanwhile (another process polls, or the feed could not be read)
        planned += self._plan_settled(report, tracker, halt, on_planned)
        report.events_received += received
        return bool(received or planned)

    def _plan_settled(
        self,
        report: SyncReport,
        tracker: _ProgressTracker,
        halt: threading.Event,
        on_planned: Callable[[], None],
    ) -> int:
        """Plan every settled event, a batch per pass; returns the events handled."""
        handled = 0
        while not halt.is_set():
            planning = self._planning.run(limit=_PLAN_BATCH)
            if not planning.events:
                break
            handled += planning.events
            report.events_planned += planning.events
            report.actions_planned += planning.actions
            tracker.planned(planning.actions)
            on_planned()
        return handled

    def _idle_wait(self, circuit_until: float | None) -> float | None:
        """Seconds to wait before the next round, or None when there is nothing left to do."""
        now = self._clock()
        waits: list[float] = []
        if circuit_until is not None:
            waits.append(max(0.0, circuit_until - now))
        due = self.store.next_due_at()
        if due is not None:
            waits.append(max(0.0, due.timestamp() - now))
        pending_events = self.store.status().inbox.get("PENDING", 0)
        if pending_events or not self._round_caught_up or self._feed_problem:
            # events wait to settle (feed lag) or SIGRC must be asked again (when it said)
            waits.append(max(self._poll_interval, self._feed_hold()))
        if not waits:
            return None
        return min(waits)


class _Feeder:
    """The thread of :meth:`Engine.sync_until_idle` that reads the feed and plans, round after
    round, while the calling thread dispatches. After a round that moved nothing it waits a poll
    interval (events may be settling) unless the dispatching thread asks for a round at once.
    An error stops it and is raised in the dispatching thread by :meth:`raise_error`."""

    def __init__(self, engine: Engine, report: SyncReport, tracker: _ProgressTracker) -> None:
        self._engine = engine
        self._report = report
        self._tracker = tracker
        self._halt = threading.Event()
        #: wakes the thread from its wait between rounds
        self._nudge = threading.Event()
        #: set when a round moved something (the dispatcher may have work again)
        self._work = threading.Event()
        self._changed = threading.Condition()
        self._rounds = 0
        #: planning batches done (each may have made actions claimable)
        self._batches = 0
        self._last_moved = True
        self._in_round = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sei-bridge-feeder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        self._nudge.set()
        with self._changed:
            self._changed.notify_all()
        self._thread.join()

    def raise_error(self) -> None:
        if self._error is not None:
            raise self._error

    def next_round_is_quiet(self, deadline: float | None) -> bool:
        """Start a round now (or right after the one in progress) and wait for it; True when
        it found nothing new and planned nothing. False as soon as a planning batch ends (there
        may be work to dispatch), and at once on stop, error or deadline."""
        stop = self._engine._stop
        with self._changed:
            batches = self._batches
            # a round in progress may have begun before the caller last looked at the ledger:
            # only the next one counts
            target = self._rounds + (2 if self._in_round else 1)
            self._nudge.set()
            while self._rounds < target:
                if self._halt.is_set() or stop.is_set() or self._error is not None:
                    return False
                if self._engine._feed_hold() > 0:
                    # SIGRC asked the feed to wait: no round before then, nothing new to read
                    return not self._last_moved
                if self._batches != batches:
                    return False
                timeout = 1.0 if deadline is None else deadline - time.monotonic()
                if timeout <= 0:
                    return False
                self._changed.wait(min(timeout, 1.0))
            return not self._last_moved

    def wait_for_work(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when a round moves something or on stop."""
        self._work.clear()
        deadline = time.monotonic() + seconds
        while not self._engine._stop.is_set() and not self._halt.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self._work.wait(min(left, 0.2)):
                return

    def _planned(self) -> None:
        self._work.set()
        with self._changed:
            self._batches += 1
            self._changed.notify_all()

    def _run(self) -> None:
        engine = self._engine
        try:
            while not self._halt.is_set() and not engine._stop.is_set():
                with self._changed:
                    self._in_round = True
                    self._nudge.clear()
                moved = engine._feed_round(self._report, self._tracker, self._halt, self._planned)
                if moved:
                    self._work.set()
                with self._changed:
                    self._in_round = False
                    self._rounds += 1
                    self._last_moved = moved
                    self._changed.notify_all()
                hold = engine._feed_hold()
                if hold > 0:
                    # SIGRC's Retry-After: not even a nudge reads the feed before then
                    self._halt.wait(hold)
                elif not moved:
                    self._nudge.wait(engine._poll_interval)
        except BaseException as exc:  # thread boundary: handed to the dispatching thread
            self._error = exc
            with self._changed:
                self._changed.notify_all()


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
        with self._lock:  # held while reporting: the feeder and the dispatcher both report
            self._total += count
            self._progress(self._done, self._total)

    def finished(self, action: Action, outcome: outcomes.Outcome) -> None:
        if self._progress is None:
            return
        if outcome_name(outcome) not in ("done", "quarantined", "needs_person"):
            return
        with self._lock:
            self._done += 1
            # a batch's actions can settle before the planner reports the batch: show the
            # total as at least what is done, without counting those actions twice later
            self._progress(self._done, max(self._total, self._done))
