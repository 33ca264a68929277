"""How hard to push SEI: retry backoff, the circuit breaker and the rate limit.

- :class:`RetryPolicy` says *when* a failed action is tried again: exponential backoff with
  jitter (tenacity's ``wait_exponential_jitter``), capped, never giving up — an item is never
  dropped, it waits in the ledger with its ``next_attempt_at``.
- :class:`SeiGuard` wraps every SEI call: a rate limit (pyrate-limiter) so a backlog of 50,000
  requests does not flood SEI, and a circuit breaker (pybreaker) so an SEI that is down is
  left alone for a while instead of being hammered by every worker thread. Only failures of
  SEI itself (not sent, infrastructure, no answer) count toward opening it; SEI refusing a
  request is a correct answer from a healthy SEI.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pybreaker
import tenacity
from pyrate_limiter import Limiter, Rate

from sei_bridge import errors, logs
from sei_bridge.engine import ports
from sei_bridge.ops import metrics
from sei_bridge.sei import types

__all__ = [
    "DEFAULT_BREAKER_FAIL_MAX",
    "DEFAULT_BREAKER_RESET_SECONDS",
    "CircuitOpenError",
    "GuardedSei",
    "RetryPolicy",
    "SeiGuard",
    "is_sei_outage",
]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: consecutive SEI failures that open the circuit
DEFAULT_BREAKER_FAIL_MAX = 5
#: seconds the circuit stays open before a trial call
DEFAULT_BREAKER_RESET_SECONDS = 30.0
#: longest wait for a rate-limit slot before the call is treated as not sent (seconds)
_RATE_WAIT_MAX = 60.0


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter for actions that failed transiently.

    The n-th failure waits about ``initial * 2**(n-1)`` seconds plus up to ``jitter`` seconds,
    capped at ``maximum``. Jitter spreads the retries of many items that failed together (an
    SEI outage) so they do not all come back in the same second.
    """

    initial: float = 2.0
    maximum: float = 300.0
    jitter: float = 2.0
    #: wait before probing an UNCERTAIN action: SEI may still be running the call that timed
    #: out, and a probe that runs before it commits would wrongly prove it absent
    probe_delay: float = 5.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1, 2, ...)."""
        wait = tenacity.wait_exponential_jitter(
            multiplier=self.initial, max=self.maximum, jitter=self.jitter
        )
        state = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})
        state.attempt_number = max(1, failures)
        return float(wait(state))

    def next_attempt(self, failures: int, *, now: float, at_least: float = 0.0) -> float:
        """POSIX time of the next attempt: the backoff, or ``at_least`` seconds if longer
        (a server's Retry-After), but never more than ``maximum``: a server cannot park an
        action (and its request behind it) beyond the policy, nor overflow the clock."""
        server = at_least if math.isfinite(at_least) else self.maximum
        return now + max(self.delay(failures), min(max(0.0, server), self.maximum))

    def probe_at(self, failures: int, *, now: float) -> float:
        """POSIX time to probe an UNCERTAIN action (never before ``probe_delay``)."""
        return now + max(self.probe_delay, self.delay(failures))


class CircuitOpenError(errors.SeiNotSentError):
    """The circuit toward SEI is open: the call was not sent. ``until`` is when a trial call
    will be let through (POSIX time)."""

    def __init__(self, message: str, *, operation: str, until: float) -> None:
        super().__init__(message, operation=operation)
        self.until = until


def is_sei_outage(exc: BaseException) -> bool:
    """True for failures that say something about SEI's health (they open the circuit)."""
    if isinstance(exc, errors.ConfigurationError | CircuitOpenError):
        return False
    return isinstance(
        exc,
        errors.SeiNotSentError | errors.SeiInfrastructureFault | errors.SeiOutcomeUnknownError,
    )


def _rate(calls_per_second: float) -> Rate:
    # pyrate-limiter counts whole calls per interval in milliseconds
    calls = max(1, int(calls_per_second))
    return Rate(calls, max(1, round(1000 * calls / calls_per_second)))


class SeiGuard:
    """Runs SEI calls under the rate limit, the circuit breaker and the cap on calls in flight
    (``max_in_flight``: ``SEI_BRIDGE_SEI_CONCURRENCY``); thread-safe.

    pybreaker's own ``call()`` holds the breaker's lock for the whole call, which would let
    only one SEI call run at a time; here the lock is held only to read and update the
    breaker's state, and the call itself runs outside it.
    """

    def __init__(
        self,
        *,
        rate_limit: float = 20.0,
        fail_max: int = DEFAULT_BREAKER_FAIL_MAX,
        reset_timeout: float = DEFAULT_BREAKER_RESET_SECONDS,
        max_in_flight: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._in_flight = (
            threading.BoundedSemaphore(max_in_flight) if max_in_flight is not None else None
        )
        self._breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_timeout,
            exclude=[lambda exc: not is_sei_outage(exc)],
            name="sei",
        )
        self._limiter = Limiter(_rate(rate_limit)) if rate_limit > 0 else None
        self._clock = clock
        self._reset_timeout = reset_timeout
        self._lock = threading.Lock()
        #: monotonic time the current outage began (the circuit opened), None while closed
        self._outage_since: float | None = None

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open``."""
        return str(self._breaker.current_state)

    def open_until(self) -> float | None:
        """When an open circuit lets a trial call through (POSIX time); None when closed."""
        if self._breaker.current_state != pybreaker.STATE_OPEN:
            return None
        opened = self._breaker._state_storage.opened_at
        if opened is None:
            return None
        return opened.timestamp() + self._reset_timeout

    def call(self, operation: str, func: Callable[[], _T]) -> _T:
        """Run ``func`` (one SEI operation) if the circuit lets it, once fewer than
        ``max_in_flight`` calls are running, after a rate-limit slot."""
        if self._in_flight is None:
            return self._call(operation, func)
        with self._in_flight:
            return self._call(operation, func)

    def _call(self, operation: str, func: Callable[[], _T]) -> _T:
        with logs.context(operation=operation):
            return self._guarded(operation, func)

    def _guarded(self, operation: str, func: Callable[[], _T]) -> _T:
        self._before(operation)
        if self._limiter is not None and not self._limiter.try_acquire(
            "sei", blocking=True, timeout=_RATE_WAIT_MAX
        ):
            raise errors.SeiNotSentError(
                f"{operation} not sent: no rate-limit slot within {_RATE_WAIT_MAX:.0f} s "
                "(lower SEI_BRIDGE_SEI_CONCURRENCY or raise SEI_BRIDGE_SEI_RATE_LIMIT)",
                operation=operation,
            )
        started = time.monotonic()
        try:
            value = func()
        except BaseException as exc:
            self._after(operation, exc, time.monotonic() - started)
            raise
        self._after(operation, None, time.monotonic() - started)
        return value

    def _circuit_moved(self, was: str, now: str, operation: str) -> None:
        """An outage is an ERROR when it starts and an INFO line when it ends."""
        if now == pybreaker.STATE_OPEN and was == pybreaker.STATE_CLOSED:
            self._outage_since = time.monotonic()
            log.error(
                "SEI unavailable: the circuit opened after %s failed (trial call in %.0f s)",
                operation,
                self._reset_timeout,
            )
        elif now == pybreaker.STATE_OPEN:
            log.warning("SEI still unavailable: the trial call %s failed", operation)
        elif now == pybreaker.STATE_CLOSED:
            since, self._outage_since = self._outage_since, None
            took = "" if since is None else f" after {time.monotonic() - since:.0f} s"
            log.info("SEI reachable again: the circuit closed%s (%s answered)", took, operation)
        else:
            log.debug("SEI circuit %s -> %s (%s)", was, now, operation)

    def _before(self, operation: str) -> None:
        breaker = self._breaker
        # pybreaker's state objects are not thread-safe; its lock guards them
        with breaker._lock:
            try:
                breaker.state.before_call(lambda: None)
            except pybreaker.CircuitBreakerError:
                until = self.open_until() or (self._clock() + self._reset_timeout)
                raise CircuitOpenError(
                    f"{operation} not sent: SEI failed repeatedly and the circuit is open until "
                    f"{dt.datetime.fromtimestamp(until, dt.UTC):%H:%M:%S} UTC",
                    operation=operation,
                    until=until,
                ) from None

    def _after(self, operation: str, exc: BaseException | None, seconds: float) -> None:
        breaker = self._breaker
        was_open = breaker.current_state
        with breaker._lock:
            try:
                if exc is None:
                    breaker.state._handle_success()
                else:
                    breaker.state._handle_error(exc, reraise=False)
            except pybreaker.CircuitBreakerError:
                pass  # the breaker just opened; the caller re-raises the call's own error
        now_state = breaker.current_state
        if now_state != was_open:
            self._circuit_moved(was_open, now_state, operation)
        metrics.CIRCUIT_OPEN.set(1 if now_state == pybreaker.STATE_OPEN else 0)
        outcome = "ok" if exc is None else type(exc).__name__
        metrics.SEI_CALLS.labels(operation=operation, outcome=outcome).inc()
        metrics.SEI_CALL_SECONDS.labels(operation=operation).observe(seconds)


class GuardedSei:
    """An SEI gateway whose every call goes through a :class:`SeiGuard` (same methods as
    :class:`sei_bridge.engine.ports.SeiGateway`)."""

    def __init__(self, sei: ports.SeiGateway, guard: SeiGuard) -> None:
        self._sei = sei
        self.guard = guard

    def gerar_procedimento(
        self,
        *,
        id_unidade: str,
        procedimento: types.NovoProcedimento,
        documentos: Sequence[types.NovoDocumento] = (),
    ) -> types.ProcedimentoGerado:
        return self.guard.call(
            "gerarProcedimento",
            lambda: self._sei.gerar_procedimento(
                id_unidade=id_unidade, procedimento=procedimento, documentos=documentos
            ),
        )

    def incluir_documento(
        self, *, id_unidade: str, documento: types.NovoDocumento
    ) -> types.DocumentoIncluido:
        return self.guard.call(
            "incluirDocumento",
            lambda: self._sei.incluir_documento(id_unidade=id_unidade, documento=documento),
        )

    def consultar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado:
        return self.guard.call(
            "consultarProcedimento",
            lambda: self._sei.consultar_procedimento(
                id_unidade=id_unidade, protocolo_procedimento=protocolo_procedimento
            ),
        )

    def buscar_procedimento(
        self, *, id_unidade: str, protocolo_procedimento: str
    ) -> types.ProcedimentoConsultado | None:
        return self.guard.call(
            "consultarProcedimento",
            lambda: self._sei.buscar_procedimento(
                id_unidade=id_unidade, protocolo_procedimento=protocolo_procedimento
            ),
        )

    def consultar_documento(
        self, *, id_unidade: str, protocolo_documento: str
    ) -> types.DocumentoConsultado:
        return self.guard.call(
            "consultarDocumento",
            lambda: self._sei.consultar_documento(
                id_unidade=id_unidade, protocolo_documento=protocolo_documento
            ),
        )

    def concluir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None:
        self.guard.call(
            "concluirProcesso",
            lambda: self._sei.concluir_processo(
                id_unidade=id_unidade, protocolo_procedimento=protocolo_procedimento
            ),
        )

    def reabrir_processo(self, *, id_unidade: str, protocolo_procedimento: str) -> None:
        self.guard.call(
            "reabrirProcesso",
            lambda: self._sei.reabrir_processo(
                id_unidade=id_unidade, protocolo_procedimento=protocolo_procedimento
            ),
        )

    def listar_andamentos(
        self,
        *,
        id_unidade: str,
        protocolo_procedimento: str,
        tarefas: Sequence[str] = ("1", "2", "13", "28", "29"),
    ) -> list[types.Andamento]:
        return self.guard.call(
            "listarAndamentos",
            lambda: self._sei.listar_andamentos(
                id_unidade=id_unidade,
                protocolo_procedimento=protocolo_procedimento,
                tarefas=tarefas,
            ),
        )

    def listar_contatos(self, *, id_unidade: str, sigla: str | None = None) -> list[types.Contato]:
        return self.guard.call(
            "listarContatos",
            lambda: self._sei.listar_contatos(id_unidade=id_unidade, sigla=sigla),
        )

    def listar_extensoes_permitidas(self) -> list[types.ExtensaoPermitida]:
        return self.guard.call(
            "listarExtensoesPermitidas", lambda: self._sei.listar_extensoes_permitidas()
        )

    def listar_unidades(self) -> list[types.Unidade]:
        return self.guard.call("listarUnidades", lambda: self._sei.listar_unidades())

    def listar_tipos_procedimento(self) -> list[types.TipoProcedimento]:
        return self.guard.call(
            "listarTiposProcedimento", lambda: self._sei.listar_tipos_procedimento()
        )

    def listar_series(self) -> list[types.Serie]:
        return self.guard.call("listarSeries", lambda: self._sei.listar_series())

    def listar_hipoteses_legais(
        self, *, nivel_acesso: types.NivelAcesso | None = None
    ) -> list[types.HipoteseLegal]:
        return self.guard.call(
            "listarHipotesesLegais",
            lambda: self._sei.listar_hipoteses_legais(nivel_acesso=nivel_acesso),
        )
