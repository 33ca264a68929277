"""The dispatcher: claims due actions and runs them on a pool of threads.

Why threads. Every unit of work is a blocking SOAP call to SEI (zeep on requests) or an HTTP
call to SIGRC, and nearly all of its time is spent waiting on the network, with the GIL
released in socket I/O. A small thread pool therefore keeps ``sei_concurrency`` calls in flight
with the libraries we already trust, where asyncio would need another SOAP stack and
processes would multiply memory and database connections for no gain.

How. The pool has ``THREADS_PER_SEI_CALL`` threads per SEI call allowed in flight
(``concurrency``); the SEI guard caps the calls themselves at ``concurrency``. An action spends
part of its time outside its SEI call (reading its ledger, downloading an attachment from
SIGRC, recording its outcome), and with exactly one thread per SEI slot that time left a slot
idle: measured on a 1,000-request backlog against a 50 ms SEI, 7 of 8 slots were busy on
average; the spare threads keep all of them busy. Whenever a thread is free the dispatcher
claims a batch (one transaction, enough that the threads never wait on the database), reads
the claimed requests' ledgers in one query, and each finished action is marked by its own
thread (one transaction). The store only hands out the head of each request, so actions of one
request run strictly in order while different requests run in parallel; when an action
finishes, the next one of its request becomes claimable and is picked up by the next claim.
Nothing per request is kept in memory beyond the batch in flight.

Leases: each claim leases its actions for ``lease_seconds``; a renewer thread extends the lease
of every action in flight for longer than a third of it, so a slow call is not taken over by
another worker. A worker that dies simply stops renewing; its actions become claimable when
their leases expire, and the runner probes before sending anything again.

An open circuit toward SEI stops claiming (nothing is marked, no item is blamed) until it lets
a trial call through; actions already in flight when it opened are rescheduled for that moment.
A configuration problem stops the dispatcher and is raised once the actions in flight end.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from sei_bridge import errors, logs
from sei_bridge.engine import outcomes, ports
from sei_bridge.engine.policy import RetryPolicy, SeiGuard
from sei_bridge.engine.runner import ActionRunner, attempt_error
from sei_bridge.ops import metrics
from sei_bridge.store.types import Action, ActionState, LedgerEntry

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "THREADS_PER_SEI_CALL",
    "DispatchStats",
    "Dispatcher",
    "OnFinished",
]

log = logging.getLogger(__name__)

#: lease of a claimed action; renewed while its call runs
DEFAULT_LEASE_SECONDS = 120.0
#: dispatcher threads per SEI call in flight (see the module doc)
THREADS_PER_SEI_CALL = 2

OnFinished = Callable[[Action, outcomes.Outcome], None]

_OUTCOME_NAMES: dict[type, str] = {
    outcomes.Done: "done",
    outcomes.Retry: "retry",
    outcomes.Uncertain: "uncertain",
    outcomes.Quarantine: "quarantined",
    outcomes.NeedsPerson: "needs_person",
    outcomes.StopDispatching: "stopped",
    outcomes.Released: "released",
}


def outcome_name(outcome: outcomes.Outcome) -> str:
    """``done``, ``retry``, ``uncertain``, ``quarantined``, ``needs_person``, ``stopped`` or
    ``released``."""
    return _OUTCOME_NAMES[type(outcome)]


@dataclass(slots=True)
class DispatchStats:
    """What one dispatch run did."""

    #: actions run, by outcome name
    outcomes: Counter[str] = field(default_factory=Counter)
    #: the configuration problem that stopped it, if any
    stopped: errors.ConfigurationError | None = None
    #: when the SEI circuit lets a trial call through, if it stopped claiming because of it
    circuit_open_until: float | None = None
    #: marks refused because another worker took the action over (lease lost)
    lost_leases: int = 0

    @property
    def ran(self) -> int:
        return sum(self.outcomes.values())


class _Leases:
    """The actions in flight and when each started, shared with the renewer thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started: dict[int, float] = {}

    def add(self, action_id: int) -> None:
        with self._lock:
            self._started[action_id] = time.monotonic()

    def remove(self, action_id: int) -> None:
        with self._lock:
            self._started.pop(action_id, None)

    def older_than(self, seconds: float) -> list[int]:
        limit = time.monotonic() - seconds
        with self._lock:
            return [i for i, started in self._started.items() if started <= limit]


class Dispatcher:
    """Runs due actions until none is due (or a deadline, a stop request, an open circuit)."""

    def __init__(
        self,
        *,
        store: ports.LedgerStore,
        runner: ActionRunner,
        policy: RetryPolicy,
        guard: SeiGuard,
        concurrency: int,
        worker: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.time,
        stop: threading.Event | None = None,
    ) -> None:
        if concurrency < 1:
            raise errors.ConfigurationError("SEI_BRIDGE_SEI_CONCURRENCY must be at least 1")
        self._store = store
        self._runner = runner
        self._policy = policy
        self._guard = guard
        self._threads = concurrency * THREADS_PER_SEI_CALL
        #: claimed actions waiting for a thread, so none waits on the database
        self._queued = concurrency
        self._worker = worker
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._stop = stop or threading.Event()

    def run(
        self, *, max_seconds: float | None = None, on_finished: OnFinished | None = None
    ) -> DispatchStats:
        """Claim and run due actions until nothing is due. Returns what was done; the caller
        raises ``stats.stopped`` (a ConfigurationError) when set."""
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        stats = DispatchStats()
        leases = _Leases()
        renewer_stop = threading.Event()
        renewer = threading.Thread(
            target=self._renew, args=(leases, renewer_stop), name="sei-bridge-leases", daemon=True
        )
        renewer.start()
        in_flight: dict[Future[tuple[outcomes.Outcome, bool]], Action] = {}
        # set when dispatching must stop: actions claimed but not started are released
        halt = threading.Event()
        try:
            with ThreadPoolExecutor(
                max_workers=self._threads, thread_name_prefix="sei-bridge-dispatch"
            ) as pool:
                while True:
                    if len(in_flight) < self._threads and self._may_claim(stats, deadline):
                        claimed = self._claim(self._threads + self._queued - len(in_flight))
                        ledgers = self._ledgers(claimed)
                        for action in claimed:
                            leases.add(action.id)
                            entries = ledgers.get(action.protocolo)
                            future = pool.submit(self._attempt, action, entries, halt)
                            in_flight[future] = action
                    if not in_flight:
                        break
                    finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in finished:
                        action = in_flight.pop(future)
                        leases.remove(action.id)
                        outcome, marked = future.result()
                        self._account(stats, action, outcome, marked)
                        if stats.stopped is not None or self._stop.is_set():
                            halt.set()
                        if on_finished is not None:
                            on_finished(action, outcome)
        finally:
            renewer_stop.set()
            renewer.join()
        return stats

    def _may_claim(self, stats: DispatchStats, deadline: float | None) -> bool:
        if stats.stopped is not None or self._stop.is_set():
            return False
        if deadline is not None and time.monotonic() >= deadline:
            return False
        until = self._guard.open_until()
        if until is not None and until > self._clock():
            stats.circuit_open_until = until
            return False
        return True

    def _claim(self, limit: int) -> list[Action]:
        return self._store.claim_due_actions(
            self._worker, limit=limit, lease_seconds=self._lease_seconds, now=self._clock()
        )

    def _ledgers(self, claimed: list[Action]) -> dict[str, list[LedgerEntry]]:
        """The claimed requests' ledgers in one read (taken after the claim, so each shows
        every earlier action of its request settled); on a store error each attempt reads its
        own and records the error as its outcome."""
        if not claimed:
            return {}
        try:
            return self._store.ledgers_of([a.protocolo for a in claimed])
        except errors.StoreError as exc:
            log.warning("reading the claimed requests' ledgers failed: %s", exc)
            return {}

    def _attempt(
        self,
        action: Action,
        ledger_entries: list[LedgerEntry] | None,
        halt: threading.Event,
    ) -> tuple[outcomes.Outcome, bool]:
        """Run in a pool thread: one attempt and its mark."""
        with logs.context(
            protocolo=action.protocolo,
            action_id=action.id,
            kind=action.kind.value,
            attempt=action.attempts,
        ):
            if halt.is_set() or self._stop.is_set():
                outcome: outcomes.Outcome = outcomes.Released("dispatching stopped")
            else:
                outcome = self._runner.run(action, ledger_entries)
            try:
                marked = self._mark(action, outcome)
            except errors.StoreError as exc:
                # the lease will expire and the next claim probes before sending again
                log.error("action %d: could not record its outcome: %s", action.id, exc)
                marked = False
            return outcome, marked

    def _mark(self, action: Action, outcome: outcomes.Outcome) -> bool:
        store, worker, now = self._store, self._worker, self._clock()
        if isinstance(outcome, outcomes.Done):
            return store.mark_done(action.id, worker, outcome.result)
        if isinstance(outcome, outcomes.Retry):
            if outcome.immediate:
                at = now
            elif outcome.until is not None:
                # everyone comes back when the circuit half-opens, spread over a few seconds
                at = outcome.until + random.uniform(0, self._policy.jitter)
            else:
                at = self._policy.next_attempt(action.attempts, now=now, at_least=outcome.at_least)
            return store.mark_retry(action.id, worker, attempt_error(action, outcome.error), at)
        if isinstance(outcome, outcomes.Uncertain):
            at = self._policy.probe_at(action.attempts, now=now)
            return store.mark_uncertain(action.id, worker, attempt_error(action, outcome.error), at)
        if isinstance(outcome, outcomes.Quarantine):
            return store.mark_quarantined(action.id, worker, outcome.reason)
        if isinstance(outcome, outcomes.NeedsPerson):
            return store.mark_needs_person(action.id, worker, outcome.evidence)
        if isinstance(outcome, outcomes.Released):
            text = attempt_error(action, f"not run: {outcome.why}")
            if self._runner.must_probe(action):
                return store.mark_uncertain(action.id, worker, text, now)
            return store.mark_retry(action.id, worker, text, now)
        text = attempt_error(action, f"not run: {outcome.error}")
        at = now + self._policy.initial
        if outcome.while_probing or action.state is ActionState.UNCERTAIN:
            return store.mark_uncertain(action.id, worker, text, at)
        return store.mark_retry(action.id, worker, text, at)

    def _account(
        self, stats: DispatchStats, action: Action, outcome: outcomes.Outcome, marked: bool
    ) -> None:
        name = outcome_name(outcome)
        stats.outcomes[name] += 1
        metrics.ACTIONS.labels(kind=action.kind.value, outcome=name).inc()
        if not marked:
            stats.lost_leases += 1
            log.warning(
                "action %d %s %s: outcome %s not recorded (lease lost to another worker)",
                action.id,
                action.kind.value,
                action.protocolo,
                name,
            )
        if isinstance(outcome, outcomes.StopDispatching):
            if stats.stopped is None:
                log.error("dispatch stopped: %s", outcome.error)
            stats.stopped = stats.stopped or outcome.error
        elif isinstance(outcome, outcomes.Done | outcomes.Released):
            log.debug("action %d %s %s: %s", action.id, action.kind.value, action.protocolo, name)
        elif isinstance(outcome, outcomes.Quarantine):
            log.warning(
                "action %d %s %s: quarantined: %s",
                action.id,
                action.kind.value,
                action.protocolo,
                outcome.reason,
            )
        elif isinstance(outcome, outcomes.NeedsPerson):
            log.warning(
                "action %d %s %s: needs a person (see sei-bridge status)",
                action.id,
                action.kind.value,
                action.protocolo,
            )
        else:
            error = (
                outcome.error if isinstance(outcome, outcomes.Retry | outcomes.Uncertain) else ""
            )
            log.info(
                "action %d %s %s: %s after attempt %d: %s",
                action.id,
                action.kind.value,
                action.protocolo,
                name,
                action.attempts,
                error,
            )

    def _renew(self, leases: _Leases, stop: threading.Event) -> None:
        interval = max(0.05, self._lease_seconds / 3)
        while not stop.wait(interval):
            for action_id in leases.older_than(interval):
                try:
                    if not self._store.renew_lease(action_id, self._worker, self._lease_seconds):
                        log.warning("action %d: lease lost while its call runs", action_id)
                except Exception as exc:  # loop boundary: the next tick tries again
                    log.error("action %d: lease renewal failed: %s", action_id, exc)
