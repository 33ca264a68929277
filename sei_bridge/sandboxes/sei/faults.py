"""Seeded fault injection: what can go wrong between a client and SEI, on purpose.

Each SOAP call (optionally only some operations) draws once from a seeded generator and may get:

- ``latency`` (+ ``jitter``): seconds added before anything else;
- ``http503``: an Apache 503 page, nothing done;
- ``reset``: the connection reset (TCP RST, no answer), nothing done;
- ``infra_erro``: a SOAP fault with ``INFRA_ERRO`` (SEI failing on its side, e.g. its database),
  nothing done — the retryable kind of SEI fault;
- ``lost``: the operation COMMITS, then the connection is reset — the answer is lost;
- ``hang``: the request is held ``hang_seconds`` (longer than a client's read timeout), then
  the connection is dropped; ``hang_commits`` says whether the operation committed first;
- an outage window: from ``outage_start`` seconds for ``outage_duration`` seconds every
  request (the WSDL too) gets a 503 or a reset (``outage_mode``).

Probabilities are per call and exclusive (one draw decides among them, so they must add up to
at most 1). With the same seed and the same sequence of calls the same calls fail. Tests may also
:meth:`FaultInjector.schedule` an exact fault for the next matching call(s).

Spec accepted by ``--faults`` (:meth:`FaultConfig.parse`), comma-separated::

    latency=0.01[+JITTER],http503=0.02,reset=0.02,lost=0.02,hang=0.01,infra_erro=0.01,hang_seconds=30,
    hang_commits=yes,outage=START+DURATION,outage_mode=reset,ops=gerarProcedimento+incluirDocumento
"""

from __future__ import annotations

import dataclasses
import enum
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sei_bridge import errors

__all__ = ["FaultConfig", "FaultDecision", "FaultInjector", "FaultKind", "OutageMode"]


class FaultKind(enum.StrEnum):
    """What a call gets instead of (or besides) a normal answer."""

    #: HTTP 503 before any effect
    HTTP503 = "http503"
    #: TCP reset before any effect
    RESET = "reset"
    #: the effect commits, then a TCP reset: the answer is lost
    LOST = "lost"
    #: held past the client's timeout, then dropped
    HANG = "hang"
    #: a SOAP fault INFRA_ERRO before any effect (SEI-side failure, worth retrying)
    INFRA_ERRO = "infra_erro"


class OutageMode(enum.StrEnum):
    """What every call gets during an outage window."""

    HTTP503 = "http503"
    RESET = "reset"


_EXCLUSIVE = (
    FaultKind.HTTP503,
    FaultKind.RESET,
    FaultKind.LOST,
    FaultKind.HANG,
    FaultKind.INFRA_ERRO,
)


def _probability(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise errors.ConfigurationError(
            f"SEI sandbox faults: {name}={value} is not a probability between 0 and 1"
        )
    return value


@dataclass(frozen=True)
class FaultConfig:
    """The faults to inject (all off by default). See the module doc."""

    latency: float = 0.0
    jitter: float = 0.0
    http503: float = 0.0
    reset: float = 0.0
    lost: float = 0.0
    hang: float = 0.0
    infra_erro: float = 0.0
    hang_seconds: float = 30.0
    hang_commits: bool = False
    outage_start: float | None = None
    outage_duration: float = 0.0
    outage_mode: OutageMode = OutageMode.HTTP503
    #: operations the per-call faults apply to; None: every operation
    operations: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for kind in _EXCLUSIVE:
            _probability(kind.value, getattr(self, kind.value))
        total = sum(getattr(self, kind.value) for kind in _EXCLUSIVE)
        if total > 1.0 + 1e-9:
            raise errors.ConfigurationError(
                "SEI sandbox faults: http503+reset+lost+hang+infra_erro add up to "
                f"{total:g}, more than 1"
            )
        if min(self.latency, self.jitter, self.hang_seconds, self.outage_duration) < 0:
            raise errors.ConfigurationError(
                "SEI sandbox faults: latency, jitter, hang_seconds and outage durations must "
                "not be negative"
            )
        object.__setattr__(self, "outage_mode", OutageMode(self.outage_mode))
        if self.operations is not None:
            object.__setattr__(self, "operations", frozenset(self.operations))

    def probability(self, kind: FaultKind) -> float:
        return float(getattr(self, kind.value))

    @classmethod
    def parse(cls, spec: str) -> FaultConfig:
        """A config from a ``--faults`` spec (see the module doc); "" or "none": no faults."""
        values: dict[str, Any] = {}
        for item in (i.strip() for i in spec.split(",")):
            if not item or item == "none":
                continue
            name, sep, raw = item.partition("=")
            name, raw = name.strip(), raw.strip()
            try:
                if not sep:
                    raise ValueError
                if name == "latency":
                    fixed, _, jitter = raw.partition("+")
                    values["latency"] = float(fixed)
                    if jitter:
                        values["jitter"] = float(jitter)
                elif name in ("jitter", "hang_seconds", *(k.value for k in _EXCLUSIVE)):
                    values[name] = float(raw)
                elif name == "hang_commits":
                    if raw.lower() not in ("yes", "no", "true", "false", "1", "0"):
                        raise ValueError
                    values[name] = raw.lower() in ("yes", "true", "1")
                elif name == "outage":
                    start, _, duration = raw.partition("+")
                    values["outage_start"] = float(start)
                    values["outage_duration"] = float(duration)
                elif name == "outage_mode":
                    values[name] = OutageMode(raw)
                elif name in ("ops", "operations"):
                    values["operations"] = frozenset(o for o in raw.split("+") if o)
                else:
                    raise KeyError(name)
            except KeyError:
                raise errors.ConfigurationError(
                    f"SEI sandbox faults: unknown fault {name!r} in {item!r}; known: latency, "
                    "jitter, http503, reset, lost, hang, infra_erro, hang_seconds, hang_commits, "
                    "outage, outage_mode, ops"
                ) from None
            except ValueError:
                raise errors.ConfigurationError(
                    f"SEI sandbox faults: cannot read {item!r}; write e.g. reset=0.02, "
                    "latency=0.01+0.005, outage=30+10, hang_commits=yes, ops=gerarProcedimento"
                ) from None
        return cls(**values)

    def describe(self) -> str:
        """The config as a ``--faults`` spec ("none" when nothing is injected)."""
        parts = []
        if self.latency or self.jitter:
            parts.append(f"latency={self.latency:g}+{self.jitter:g}")
        parts.extend(
            f"{k.value}={self.probability(k):g}" for k in _EXCLUSIVE if self.probability(k)
        )
        if self.hang:
            parts.append(f"hang_seconds={self.hang_seconds:g}")
            parts.append(f"hang_commits={'yes' if self.hang_commits else 'no'}")
        if self.outage_start is not None and self.outage_duration:
            parts.append(f"outage={self.outage_start:g}+{self.outage_duration:g}")
            parts.append(f"outage_mode={self.outage_mode.value}")
        if self.operations is not None:
            parts.append("ops=" + "+".join(sorted(self.operations)))
        return ",".join(parts) or "none"


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What to do with one call: wait ``delay`` seconds, then ``kind`` (None: answer)."""

    delay: float = 0.0
    kind: FaultKind | None = None
    hold: float = 0.0  #: for HANG: seconds to hold the request
    commits: bool = False  #: for HANG: run the operation before holding


_NO_FAULT = FaultDecision()


class FaultInjector:
    """The faults of one running sandbox; thread-safe and adjustable while it serves."""

    def __init__(
        self,
        config: FaultConfig | None = None,
        *,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._random = random.Random(seed)
        self._config = config or FaultConfig()
        self._epoch = clock()
        self._outage: tuple[float, float, OutageMode] | None = None
        self._scheduled: deque[tuple[FaultKind, str | None]] = deque()
        self._history: deque[tuple[str, str]] = deque(maxlen=100_000)

    @property
    def config(self) -> FaultConfig:
        return self._config

    def configure(self, config: FaultConfig | None = None, **changes: Any) -> FaultConfig:
        """Replace the config (or change some fields of it); an ``outage_start`` counts from
        now. Returns the config in force."""
        with self._lock:
            base = config or self._config
            self._config = dataclasses.replace(base, **changes) if changes else base
            self._epoch = self._clock()
            return self._config

    def clear(self) -> None:
        """No faults from now on: config reset, outage ended, scheduled faults dropped."""
        with self._lock:
            self._config = FaultConfig()
            self._outage = None
            self._scheduled.clear()

    def start_outage(self, seconds: float, mode: OutageMode | str = OutageMode.HTTP503) -> None:
        """Every request fails (503 or reset) from now for ``seconds``."""
        with self._lock:
            now = self._clock()
            self._outage = (now, now + seconds, OutageMode(mode))

    def schedule(
        self, kind: FaultKind | str, *, operation: str | None = None, count: int = 1
    ) -> None:
        """Inject ``kind`` into the next ``count`` calls of ``operation`` (None: any call),
        before and regardless of the probabilities."""
        with self._lock:
            for _ in range(count):
                self._scheduled.append((FaultKind(kind), operation))

    def outage(self) -> OutageMode | None:
        """The outage mode in force now, if any."""
        with self._lock:
            now = self._clock()
            if self._outage is not None:
                start, end, mode = self._outage
                if start <= now < end:
                    return mode
            config = self._config
            if config.outage_start is not None and config.outage_duration > 0:
                start = self._epoch + config.outage_start
                if start <= now < start + config.outage_duration:
                    return config.outage_mode
        return None

    def decide(self, operation: str) -> FaultDecision:
        """The fate of one call of ``operation`` (outages are checked apart, by the server)."""
        with self._lock:
            for index, (kind, only) in enumerate(self._scheduled):
                if only is None or only == operation:
                    del self._scheduled[index]
                    return self._decision(operation, 0.0, kind)
            config = self._config
            if config.operations is not None and operation not in config.operations:
                return _NO_FAULT
            # Two draws per call whatever is enabled, so changing latency does not change
            # which calls fail.
            jitter_draw = self._random.random()
            draw = self._random.random()
            delay = config.latency + config.jitter * jitter_draw
            threshold = 0.0
            for kind in _EXCLUSIVE:
                threshold += config.probability(kind)
                if draw < threshold:
                    return self._decision(operation, delay, kind)
            return FaultDecision(delay=delay) if delay else _NO_FAULT

    def _decision(self, operation: str, delay: float, kind: FaultKind) -> FaultDecision:
        self._history.append((operation, kind.value))
        config = self._config
        if kind is FaultKind.HANG:
            return FaultDecision(delay, kind, hold=config.hang_seconds, commits=config.hang_commits)
        return FaultDecision(delay, kind)

    def history(self) -> list[tuple[str, str]]:
        """``(operation, fault kind)`` of every fault injected (outages apart), oldest first."""
        with self._lock:
            return list(self._history)

    def injected(self, operations: Iterable[str] | None = None) -> int:
        """How many per-call faults were injected (into ``operations`` only, if given)."""
        with self._lock:
            if operations is None:
                return len(self._history)
            wanted = set(operations)
            return sum(1 for op, _ in self._history if op in wanted)
