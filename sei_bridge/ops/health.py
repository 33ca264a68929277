"""What ``/healthz``, ``/readyz`` and the store-derived gauges of ``/metrics`` say.

- **Live** (``/healthz``): the process answers and its database answers. An orchestrator
  restarts a worker that is not live.
- **Ready** (``/readyz``): live, and the schema is the one this code expects, the SEI circuit
  is closed, SIGRC accepts our token, and the feed was polled — by whichever worker holds the
  poller lock — within ``poll_stale_seconds``. A worker that is not ready needs attention but
  keeps doing what it can (dispatching while SIGRC refuses the token, for instance).

Every check is bounded by the database's own timeouts and never raises; a failed check says
why in one line with no personal data (store errors carry no statement parameters).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from sei_bridge import errors
from sei_bridge.ops import metrics
from sei_bridge.store.types import ActionState

__all__ = ["Check", "Health", "Report", "Signals"]

#: seconds between two reads of the store for the gauges (a scrape every second costs one)
REFRESH_SECONDS = 10.0


class _Store(Protocol):
    def ping(self) -> None: ...

    def schema_is_current(self) -> bool: ...

    def cursor_updated_at(self) -> dt.datetime | None: ...

    def status(self, *, limit: int = 100) -> Any: ...

    def load_cursor(self) -> Any: ...


class _Circuit(Protocol):
    def open_until(self) -> float | None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ok else "failing",
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in self.checks},
        }


class Signals:
    """What the daemon's jobs tell the health checks (each write a single assignment)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.started_at = clock()
        #: step (poll, plan, dispatch) → when it last completed without error
        self.last_success: dict[str, float] = {}
        #: SIGRC's refusal of our token, while it lasts
        self.sigrc_auth_error: str | None = None
        self._lock_held = False

    def succeeded(self, step: str) -> None:
        now = self._clock()
        self.last_success[step] = now
        metrics.LAST_SUCCESS.labels(step=step).set(now)

    def sigrc_refused(self, message: str | None) -> None:
        self.sigrc_auth_error = message
        metrics.SIGRC_AUTH_FAILING.set(0 if message is None else 1)

    def holds_poll_lock(self, held: bool) -> None:
        """Whether this worker's last poll held the poller lock."""
        if held and not self._lock_held:
            metrics.POLL_LOCK_SINCE.set(self._clock())
        elif not held:
            metrics.POLL_LOCK_SINCE.set(0)
        self._lock_held = held
        metrics.POLL_LOCK_HELD.set(1 if held else 0)


def _guarded(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except errors.SeiBridgeError as exc:
        return Check(name, False, str(exc).splitlines()[0][:300] if str(exc) else name)
    except Exception as exc:  # a health check never raises: it reports
        return Check(name, False, f"{type(exc).__name__} while checking")


def _utc(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Health:
    """The checks behind /healthz and /readyz, and the store-derived gauges."""

    def __init__(
        self,
        *,
        store: _Store,
        circuit: _Circuit,
        signals: Signals,
        poll_stale_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._circuit = circuit
        self._signals = signals
        self._poll_stale = poll_stale_seconds
        self._clock = clock
        self._refresh_lock = threading.Lock()
        self._refreshed_at = float("-inf")
        self._reasons_seen: set[tuple[str, str]] = set()

    # --- checks ---------------------------------------------------------------------------

    def live(self) -> Report:
        return Report((self._database(),))

    def ready(self) -> Report:
        report = Report(
            (
                self._database(),
                _guarded("schema", self._schema),
                self._sei_circuit(),
                self._sigrc_credentials(),
                _guarded("poller", self._poller),
            )
        )
        metrics.READY.set(1 if report.ok else 0)
        return report

    def _database(self) -> Check:
        def ping() -> Check:
            self._store.ping()
            return Check("database", True)

        return _guarded("database", ping)

    def _schema(self) -> Check:
        if self._store.schema_is_current():
            return Check("schema", True)
        return Check("schema", False, "the schema is not this version's: run sei-bridge migrate")

    def _sei_circuit(self) -> Check:
        until = self._circuit.open_until()
        if until is None:
            return Check("sei_circuit", True)
        return Check("sei_circuit", False, f"SEI failed repeatedly; trial call at {_utc(until)}")

    def _sigrc_credentials(self) -> Check:
        refused = self._signals.sigrc_auth_error
        return Check("sigrc_credentials", refused is None, refused or "")

    def _poller(self) -> Check:
        now = self._clock()
        updated = self._store.cursor_updated_at()
        if updated is None:
            waited = now - self._signals.started_at
            if waited <= self._poll_stale:
                return Check("poller", True, "no poll yet (starting)")
            return Check("poller", False, f"the feed was never polled in {waited:.0f} s")
        age = now - updated.timestamp()
        if age <= self._poll_stale:
            return Check("poller", True)
        return Check(
            "poller",
            False,
            f"no worker polled the feed for {age:.0f} s (limit {self._poll_stale:.0f} s, "
            "SEI_BRIDGE_POLL_STALE_SECONDS)",
        )

    # --- gauges ---------------------------------------------------------------------------

    def refresh_metrics(self, *, force: bool = False) -> None:
        """Set the store-derived gauges, reading the store at most every REFRESH_SECONDS."""
        with self._refresh_lock:
            now = self._clock()
            if not force and now - self._refreshed_at < REFRESH_SECONDS:
                return
            self._refreshed_at = now
            # /healthz reports the database; the gauges keep their last values
            with contextlib.suppress(errors.StoreError):
                self._read_store(now)

    def _read_store(self, now: float) -> None:
        status = self._store.status(limit=0)
        by_state = status.actions_by_state()
        for state in ActionState:
            metrics.ACTIONS_BY_STATE.labels(state=state.value).set(by_state.get(state.value, 0))
        for state, count in status.inbox.items():
            metrics.INBOX_BY_STATE.labels(state=state).set(count)
        metrics.UNCERTAIN.set(by_state.get(ActionState.UNCERTAIN.value, 0))
        metrics.NEEDS_PERSON.set(by_state.get(ActionState.NEEDS_PERSON.value, 0))
        oldest = status.oldest_due_at
        age = 0.0 if oldest is None else max(0.0, now - oldest.timestamp())
        metrics.OLDEST_DUE_SECONDS.set(age)
        # a series seen once stays, at 0, when its items are replayed (codes are few)
        counts = dict(status.quarantine_counts)
        for key in self._reasons_seen - set(counts):
            metrics.QUARANTINE.labels(item=key[0], reason=key[1]).set(0)
        for (item, reason), count in counts.items():
            metrics.QUARANTINE.labels(item=item, reason=reason).set(count)
        self._reasons_seen |= set(counts)
        cursor = self._store.load_cursor()
        if cursor is not None:
            highest = max((seq for seq, _ in cursor.window.values()), default=cursor.watermark)
            if cursor.sweep is not None:
                highest = max(highest, cursor.sweep.position)
            metrics.FEED_WATERMARK.set(cursor.watermark)
            metrics.FEED_LAG.set(max(0, highest - cursor.watermark))
        updated = self._store.cursor_updated_at()
        if updated is not None:
            metrics.FEED_UPDATED.set(updated.timestamp())
