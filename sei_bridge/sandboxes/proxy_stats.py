"""What the fault proxy counts: one :class:`Outcome` per request, per operation, and the
requests in flight. Served as JSON at ``/_proxy/stats`` and summed up in one line on stop."""

from __future__ import annotations

import enum
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["Counters", "Outcome", "ProxyStats"]


class Outcome(enum.StrEnum):
    """What the proxy did with one request (exactly one per request)."""

    #: passed to SEI, its answer relayed
    FORWARDED = "forwarded"
    #: answered 503, not forwarded
    HTTP503 = "http503"
    #: connection reset, not forwarded
    RESET = "reset"
    #: forwarded, SEI answered, then the connection reset
    LOST = "lost"
    #: held past the client's timeout, then dropped (forwarded first with hang_commits)
    HANG = "hang"
    #: answered a SOAP fault INFRA_ERRO, not forwarded
    INFRA_ERRO = "infra_erro"
    #: inside an outage window: 503 or reset, not forwarded
    OUTAGE = "outage"
    #: request body over the size limit: 413, not forwarded
    TOO_LARGE = "too_large"
    #: SEI could not be reached: 502, nothing sent
    UNREACHABLE = "unreachable"
    #: sent, but SEI's answer never came whole (timeout, reset, over the limit): 504
    UPSTREAM_FAILED = "upstream_failed"


@dataclass(frozen=True)
class ProxyStats:
    """Counts since the proxy started: ``counts[operation][outcome]``; the operation is the
    SOAP operation, or the HTTP method for anything else (``GET`` for the WSDL)."""

    counts: Mapping[str, Mapping[str, int]]
    #: requests delayed by ``latency``, per operation (they also have an outcome)
    delayed: Mapping[str, int]
    in_flight: int
    peak_in_flight: int

    def count(self, outcome: Outcome | str, operation: str | None = None) -> int:
        """Requests with ``outcome`` (of ``operation`` only, if given)."""
        key = Outcome(outcome).value
        rows = [self.counts.get(operation, {})] if operation is not None else self.counts.values()
        return sum(row.get(key, 0) for row in rows)

    @property
    def requests(self) -> int:
        return sum(sum(row.values()) for row in self.counts.values())

    def totals(self) -> dict[str, int]:
        """Requests per outcome, every operation together (outcomes never seen left out)."""
        return {o.value: n for o in Outcome if (n := self.count(o))}

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "in_flight": self.in_flight,
            "peak_in_flight": self.peak_in_flight,
            "totals": self.totals(),
            "operations": {op: dict(row) for op, row in sorted(self.counts.items())},
            "delayed": dict(sorted(self.delayed.items())),
        }

    def summary(self) -> str:
        """One line: ``12 requests: forwarded 9, lost 2, reset 1; 4 delayed``."""
        totals = ", ".join(f"{k} {n}" for k, n in self.totals().items()) or "none"
        delayed = sum(self.delayed.values())
        return f"{self.requests} requests: {totals}" + (f"; {delayed} delayed" if delayed else "")


class Counters:
    """The proxy's counts, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, int]] = {}
        self._delayed: dict[str, int] = {}
        self._in_flight = 0
        self._peak = 0

    def record(self, operation: str, outcome: Outcome) -> None:
        with self._lock:
            row = self._counts.setdefault(operation, {})
            row[outcome.value] = row.get(outcome.value, 0) + 1

    def delayed(self, operation: str) -> None:
        with self._lock:
            self._delayed[operation] = self._delayed.get(operation, 0) + 1

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def snapshot(self) -> ProxyStats:
        with self._lock:
            return ProxyStats(
                counts={op: dict(row) for op, row in self._counts.items()},
                delayed=dict(self._delayed),
                in_flight=self._in_flight,
                peak_in_flight=self._peak,
            )
