"""Settings of the SIGRC simulator, and the clocks it can run on."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sei_bridge import errors
from sei_bridge.sandboxes.traffic import ALL_HARD_CASES, HardCase, TrafficOptions

__all__ = [
    "DEFAULT_BASE_PATH",
    "DEFAULT_PORT",
    "DEV_TOKEN",
    "Clock",
    "ManualClock",
    "SimulatorConfig",
]

#: The token used when none is given (printed at start, so never use it outside a laptop).
DEV_TOKEN = "sigrc-dev-token"
DEFAULT_BASE_PATH = "/sigrc"
#: The port of the contract's example server (``http://127.0.0.1:8156/sigrc``).
DEFAULT_PORT = 8156

#: Seconds on a monotonic scale; the simulator reads time only through one of these.
Clock = Callable[[], float]


class ManualClock:
    """A clock that moves only when told to: makes commit lag and write schedules exact."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backward) and return the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backward: pass seconds >= 0")
        with self._lock:
            self._now += seconds
            return self._now


def _rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise errors.ConfigurationError(f"simulator {name}={value} must be between 0 and 1")


@dataclass(frozen=True)
class SimulatorConfig:
    """How the simulator behaves. Hazards are off by default; hard cases are on, at a low rate
    (see :class:`~sei_bridge.sandboxes.traffic.HardCase`). Every random choice is seeded."""

    token: str = field(default=DEV_TOKEN, repr=False)  #: the bearer token clients must send
    seed: int = 156  #: seed of the traffic and of every hazard
    requests: int = 100  #: generated Fazenda requests loaded at start
    #: longest commit lag in seconds; advertised (rounded up) as ``atraso_maximo_segundos``
    lag_seconds: float = 0.0
    #: share of writes that commit late (each by a random delay up to ``lag_seconds``)
    lagged_fraction: float = 0.3
    #: chance that a served event is delivered again later (same id_evento, new sequencia)
    duplicate_rate: float = 0.0
    #: chance that a call is refused with 429 or 503 and a Retry-After
    overload_rate: float = 0.0
    retry_after_seconds: int = 1  #: the Retry-After sent with 429 and 503
    #: chance that an attachment is served with wrong bytes its first ``corrupt_times`` fetches
    corrupt_attachment_rate: float = 0.0
    corrupt_times: int = 1
    #: events written per second after start; None writes the whole traffic at once
    write_rate: float | None = None
    hard_cases: frozenset[HardCase] = ALL_HARD_CASES  #: the hard cases generated traffic has
    hard_case_rate: float = 0.02  #: chance of each hard case in each request
    ensure_hard_cases: bool = True  #: every enabled hard case in at least one request
    other_orgao_rate: float = 0.0  #: requests of another órgão (SMSUB), for the orgao filter
    base_path: str = DEFAULT_BASE_PATH
    host: str = "127.0.0.1"
    threads: int = 8  #: requests served in parallel

    def __post_init__(self) -> None:
        for name in (
            "lagged_fraction",
            "duplicate_rate",
            "overload_rate",
            "corrupt_attachment_rate",
            "hard_case_rate",
            "other_orgao_rate",
        ):
            _rate(name, getattr(self, name))
        if self.requests < 0:
            raise errors.ConfigurationError("simulator requests must be 0 or more")
        if not (self.lag_seconds >= 0 and math.isfinite(self.lag_seconds)):
            raise errors.ConfigurationError("simulator lag_seconds must be a finite number >= 0")
        if self.retry_after_seconds < 0 or self.corrupt_times < 1:
            raise errors.ConfigurationError(
                "simulator retry_after_seconds must be >= 0 and corrupt_times >= 1"
            )
        if self.write_rate is not None and not self.write_rate > 0:
            raise errors.ConfigurationError(
                "simulator write_rate must be > 0 events per second, or None for all at once"
            )
        if not self.token:
            raise errors.ConfigurationError("simulator token must not be empty")
        if not self.base_path.startswith("/") or self.base_path.endswith("/"):
            raise errors.ConfigurationError(
                f"simulator base_path {self.base_path!r} must start and not end with '/'"
            )

    @property
    def atraso_maximo_segundos(self) -> int:
        """The commit lag the feed advertises: ``lag_seconds`` rounded up to whole seconds."""
        return math.ceil(self.lag_seconds)

    def traffic_options(self) -> TrafficOptions:
        """The generator options these settings stand for."""
        return TrafficOptions(
            hard_cases=self.hard_cases,
            hard_case_rate=self.hard_case_rate,
            ensure_hard_cases=self.ensure_hard_cases,
            other_orgao_rate=self.other_orgao_rate,
        )


def real_clock() -> float:
    """The default clock: monotonic seconds."""
    return time.monotonic()
