"""The reconciliation run: SIGRC's requests page by page, each compared three ways, under a
budget of pages, time and findings kept, so a year of requests runs in bounded memory and a
SIGRC that claims a billion pages stops at the budget and says so.

A request that cannot be read (SIGRC or SEI unavailable, an answer off the contract) is
reported *unchecked* with the class of error, and the run goes on with the next one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from sei_bridge import errors, mapping
from sei_bridge.engine import executors
from sei_bridge.reconcile import checks, sei_view
from sei_bridge.reconcile.findings import Finding, FindingKind, Report, Unchecked
from sei_bridge.sigrc import models
from sei_bridge.store.types import (
    Action,
    ActionKind,
    ActionState,
    InboxEvent,
    NewAction,
    RequestRow,
)

__all__ = ["DEFAULT_BUDGET", "Budget", "Reconciler"]

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Budget:
    """Limits of one run."""

    #: SIGRC list pages read at most (500 requests each)
    max_pages: int = 2000
    #: seconds the run may take; it stops before the next request after that
    max_seconds: float = 3600.0
    #: findings kept for the report (all are counted in its totals)
    max_findings: int = 20000

    def __post_init__(self) -> None:
        if self.max_pages < 1 or self.max_seconds <= 0 or self.max_findings < 0:
            raise errors.ConfigurationError(
                "reconcile budget: --max-pages must be >= 1, --max-seconds > 0 and "
                "--max-findings >= 0"
            )


DEFAULT_BUDGET = Budget()


class _Sigrc(Protocol):
    def solicitacoes_page(
        self, *, atualizadas_desde: dt.datetime, pagina: int, orgao: str | None = None
    ) -> models.SolicitacoesPage: ...

    def get_solicitacao(self, protocolo: str) -> models.Solicitacao: ...


class _Store(Protocol):
    def get_request(self, protocolo: str) -> RequestRow | None: ...
    def actions_of(self, protocolo: str) -> list[Action]: ...
    def events_of(self, protocolo: str) -> list[InboxEvent]: ...
    def enqueue_repairs(
        self,
        protocolo: str,
        *,
        servico_codigo: str,
        actions: Sequence[NewAction],
        actor: str = ...,
    ) -> list[Action]: ...


class _Stop(Exception):
    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclasses.dataclass(slots=True)
class _Tally:
    checked: int = 0
    consistent: int = 0
    pages: int = 0
    pages_total: int | None = None
    repairs: int = 0
    totals: Counter[FindingKind] = dataclasses.field(default_factory=Counter)
    findings: list[Finding] = dataclasses.field(default_factory=list)
    unchecked: list[Unchecked] = dataclasses.field(default_factory=list)
    unchecked_total: int = 0


class Reconciler:
    """Compares SIGRC ↔ ledger ↔ SEI. ``sei=None`` skips the SEI leg (offline);
    ``fix=True`` enqueues the safe repairs through the ledger."""

    def __init__(
        self,
        *,
        store: _Store,
        sigrc: _Sigrc,
        sei: sei_view.SeiReader | None,
        mappings: mapping.Mappings,
        orgao: str | None = None,
        budget: Budget = DEFAULT_BUDGET,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._sigrc = sigrc
        self._sei = sei
        self._mappings = mappings
        self._orgao = orgao
        self._budget = budget
        self._now = now
        self._monotonic = monotonic

    def run(
        self,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        protocolos: Sequence[str] = (),
        fix: bool = False,
    ) -> Report:
        """Reconcile the requests SIGRC changed in [since, until], or the given protocolos."""
        if not protocolos and since is None:
            raise errors.ConfigurationError("reconcile needs --since (or --protocolo)")
        started = self._monotonic()
        now = self._now()
        tally = _Tally()
        stopped: str | None = None
        try:
            items = (
                self._listed(tally, since, until, started)
                if not protocolos
                else ((p, None) for p in dict.fromkeys(protocolos))
            )
            for protocolo, resumo in items:
                self._deadline(started)
                self._one(tally, protocolo, resumo, now, fix)
        except _Stop as stop:
            stopped = stop.why
            log.warning("reconcile stopped early: %s", stopped)
        return Report(
            generated_at=now,
            since=since,
            until=until,
            protocolos=tuple(protocolos),
            requests_checked=tally.checked,
            consistent=tally.consistent,
            findings=tuple(tally.findings),
            totals=dict(tally.totals),
            unchecked=tuple(tally.unchecked),
            unchecked_total=tally.unchecked_total,
            pages_read=tally.pages,
            pages_total=tally.pages_total,
            stopped=stopped,
            repairs_enqueued=tally.repairs if fix else None,
            elapsed_seconds=round(self._monotonic() - started, 3),
        )

    def _deadline(self, started: float) -> None:
        if self._monotonic() - started >= self._budget.max_seconds:
            raise _Stop(f"time budget of {self._budget.max_seconds:g} s reached")

    def _listed(
        self,
        tally: _Tally,
        since: dt.datetime | None,
        until: dt.datetime | None,
        started: float,
    ) -> Iterator[tuple[str, models.SolicitacaoResumo | None]]:
        assert since is not None
        seen: set[str] = set()  # numbered pages may show a request changed meanwhile twice
        pagina = 1
        while True:
            if pagina > self._budget.max_pages:
                raise _Stop(
                    f"page budget of {self._budget.max_pages} page(s) reached; SIGRC announced "
                    f"{tally.pages_total} page(s)"
                )
            self._deadline(started)
            page = self._sigrc.solicitacoes_page(
                atualizadas_desde=since, pagina=pagina, orgao=self._orgao
            )
            tally.pages += 1
            tally.pages_total = page.total_paginas
            for resumo in page.resumos:
                if resumo.protocolo in seen:
                    continue
                seen.add(resumo.protocolo)
                if until is None or resumo.atualizada_em <= until:
                    yield resumo.protocolo, resumo
            if pagina >= page.total_paginas or not page.resumos:
                return
            pagina += 1

    def _one(
        self,
        tally: _Tally,
        protocolo: str,
        resumo: models.SolicitacaoResumo | None,
        now: dt.datetime,
        fix: bool,
    ) -> None:
        if (
            resumo is not None
            and self._mappings.servico(resumo.servico_codigo) is None
            and self._store.get_request(protocolo) is None
        ):
            return  # a service that opens no process, which sei-bridge never saw
        try:
            inputs = self._inputs(protocolo, resumo, now)
        except errors.ConfigurationError:
            raise  # a wrong credential or endpoint: no request can be read
        except (errors.SigrcError, errors.SeiError) as exc:
            tally.unchecked_total += 1
            if len(tally.unchecked) < self._budget.max_findings:
                tally.unchecked.append(Unchecked(protocolo, _why(exc)))
            log.warning("reconcile: %s not checked: %s", protocolo, _why(exc))
            return
        result = checks.check_request(inputs, self._mappings)
        tally.checked += 1
        tally.consistent += not result.findings
        for f in result.findings:
            tally.totals[f.kind] += 1
            if len(tally.findings) < self._budget.max_findings:
                tally.findings.append(f)
        if fix and result.repairs:
            added = self._store.enqueue_repairs(
                protocolo,
                servico_codigo=inputs.snapshot.servico_codigo,
                actions=result.repairs,
                actor="reconcile",
            )
            tally.repairs += len(added)

    def _inputs(
        self, protocolo: str, resumo: models.SolicitacaoResumo | None, now: dt.datetime
    ) -> checks.Inputs:
        snapshot = self._sigrc.get_solicitacao(protocolo)
        if snapshot.protocolo != protocolo:
            raise errors.SigrcInvalidResponse(f"SIGRC answered another request for {protocolo}")
        request = self._store.get_request(protocolo)
        actions = self._store.actions_of(protocolo)
        events = self._store.events_of(protocolo)
        sei: sei_view.SeiProcess | None = None
        read = False
        opened = _opened(actions)
        m = self._mappings.servico(snapshot.servico_codigo)
        if self._sei is not None and opened is not None and m is not None:
            numero, unidade = opened
            sei = sei_view.read_process(self._sei, unidade=unidade or m.unidade, numero=numero)
            read = True
        return checks.Inputs(
            snapshot=snapshot,
            sigrc_numero=resumo.processo_sei if resumo is not None else snapshot.processo_sei,
            request=request,
            actions=actions,
            events=events,
            sei=sei,
            sei_read=read,
            now=now,
        )


def _opened(actions: Iterable[Action]) -> tuple[str, str | None] | None:
    for a in actions:
        if a.kind is ActionKind.OPEN and a.state is ActionState.DONE:
            numero = a.result.get(executors.R_PROCEDIMENTO_FORMATADO)
            if numero:
                unidade = a.result.get(executors.R_UNIDADE)
                return str(numero), str(unidade) if unidade else None
    return None


def _why(exc: BaseException) -> str:
    """The class of a read error, without its text (SEI's texts can echo what was sent)."""
    return f"{type(exc).__name__} ({getattr(exc, 'operation', None) or 'read'})"
